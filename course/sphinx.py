"""Running Jupyter Book 1 (Sphinx) on the book's sources, and publishing the HTML whole."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from course import cache

#: runs jupyter-book in a child process that exits if the build that started it
#: dies (a killed build must not leave Sphinx writing into OUT behind its back)
_SPHINX_CHILD = """\
import os, sys, threading, time

def _watch(parent):
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)

threading.Thread(target=_watch, args=(os.getppid(),), daemon=True).start()
from jupyter_book.cli.main import main
sys.argv[0] = "jupyter-book"
sys.exit(main())
"""


def _sources_fingerprint(src: Path) -> str:
    """What the HTML is made from: every source file's name, size and time
    stamp (sync_tree keeps those of unchanged files), and the versions of
    the packages that turn them into HTML."""
    import hashlib

    h = hashlib.sha256(repr(cache.library_versions(("jupyter-book", "sphinx", "sphinx-book-theme", "myst-parser", "sphinx-exercise"))).encode())
    for p in sorted(src.rglob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(src).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def html_up_to_date(src: Path, out: Path) -> bool:
    """True if ``OUT/_build/html`` was built from exactly the sources in ``src``."""
    stamp = out / ".sphinx" / "BUILT"
    if not stamp.is_file() or (out / ".sphinx" / "INCOMPLETE").exists():
        return False
    if not (out / "_build" / "html" / "index.html").is_file():
        return False
    return stamp.read_text(encoding="utf-8") == _sources_fingerprint(src)


def run_sphinx(src: Path, out: Path, fresh: bool = False) -> Path:
    """Build HTML with Jupyter Book 1, failing on any Sphinx warning; publish it whole.

    Sphinx works incrementally in ``OUT/.sphinx`` (only pages whose source
    changed are rebuilt); the finished HTML is then copied and swapped into
    ``OUT/_build/html`` in one step (:func:`publish`), so the published book
    is never half written and never missing. After a failed or interrupted
    run the work folder is discarded, so the next build reads every page
    again and reports the same warnings.
    """
    work = out / ".sphinx"
    marker = work / "INCOMPLETE"
    # Every page's navigation comes from _toc.yml (and its look from _config.yml),
    # but Sphinx only rewrites pages whose own source changed: when either file
    # changed (say, a plugin added a chapter), rebuild every page, so that no
    # page keeps a stale sidebar.
    layout = "\n".join((src / n).read_text(encoding="utf-8") for n in ("_toc.yml", "_config.yml") if (src / n).is_file())
    stamp = work / "LAYOUT"
    if not stamp.is_file() or stamp.read_text(encoding="utf-8") != layout:
        fresh = True
    if fresh or marker.exists():
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    marker.touch()
    (work / "BUILT").unlink(missing_ok=True)
    cmd = [sys.executable, "-c", _SPHINX_CHILD, "build", str(src), "--path-output", str(work),
           "--builder", "html", "-W", "-n", "--keep-going", "-q"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    log = out / "sphinx.log"
    if proc.returncode != 0:
        with contextlib.suppress(OSError):  # a full disk: the tail below still says what failed
            log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
        shutil.rmtree(work, ignore_errors=True)
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"jupyter-book build failed (full log: {log}):\n{tail}")
    log.unlink(missing_ok=True)
    index = publish(work / "_build" / "html", out)
    (work / "BUILT").write_text(_sources_fingerprint(src), encoding="utf-8")
    stamp.write_text(layout, encoding="utf-8")
    marker.unlink()
    return index


def publish(built: Path, out: Path) -> Path:
    """Copy the HTML Sphinx ``built`` beside ``OUT/_build/html`` and put it in
    place in one step (:func:`course.cache.replace_dir`): a reader, or a build
    killed at any moment, finds the previous book or the new one, whole. A
    copy that fails (a full disk) leaves the previous book as it was.
    Returns the new ``index.html``.
    """
    html_dir = out / "_build" / "html"
    tmp = html_dir.parent / cache.tmp_name("html")
    try:
        html_dir.parent.mkdir(parents=True, exist_ok=True)
        cache.recover_dir(html_dir)  # a publish killed halfway: the previous book first
        shutil.copytree(built, tmp, symlinks=True)
        cache.replace_dir(tmp, html_dir)
    except OSError as exc:
        raise RuntimeError(f"cannot publish the HTML into {html_dir}: {cache.describe_os_error(exc)}; "
                           "the previous book is unchanged") from None
    finally:
        if os.path.lexists(tmp):
            cache.discard(tmp)
    return html_dir / "index.html"
