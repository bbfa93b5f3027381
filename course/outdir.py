"""The build folder: one writer at a time, marked as the build's own, the
sources synced file by file, failures logged, and what a killed build left
swept away.

A build folder carries a marker, :data:`MARKER`, that the first build writes
and that records every file the build put in ``OUT/src``. ``course build``
refuses a non-empty folder without the marker and ``course clean`` any
folder without it; the file system root, the home folder and a repository's
root are refused outright. Inside a marked folder a build removes only files
it recorded as its own, so a file someone else put there is never deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from course.cache import aside_of, describe_os_error, remove_path, size
from course.plugins import PluginError

#: the file that marks a folder as a build folder and records the build's files
MARKER = ".course-build"
#: the files a build writes at the top of its folder (see :mod:`course.book`)
TOP_FILES = ("build.log", "sphinx.log", "reproduction.json")
#: everything a build writes at the top of its folder
BUILD_NAMES = ("src", "_build", ".sphinx", ".lock", ".lock-owner", MARKER, *TOP_FILES)
#: prefixes of the temporary names a build uses in OUT and OUT/_build
TEMP_PREFIXES = (".staging-", ".tmp-", ".old-", ".html-", ".course-build.tmp-")


class OutputError(RuntimeError):
    """The folder cannot be written or used as asked; the message says why and what to do."""


# --------------------------------------------------------------------------- which folders


def _repository_roots() -> list[Path]:
    """The course's own checkout and the git work tree holding the current folder."""
    roots = []
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").is_file() or (here / ".git").exists():
        roots.append(here)
    with contextlib.suppress(OSError):
        cwd = Path.cwd().resolve()
        for folder in (cwd, *cwd.parents):
            if (folder / ".git").exists():
                roots.append(folder)
                break
    return roots


def refused(out: Path) -> str:
    """Why ``out`` may never be a build folder ("" if it may): the file system
    root, the home folder, a repository's root (a folder holding ``.git``)."""
    try:
        r = Path(out).resolve()
    except (OSError, RuntimeError):
        return ""
    if r == Path(r.anchor):
        return "the root of the file system"
    with contextlib.suppress(RuntimeError, KeyError):
        if r == Path.home().resolve():
            return "your home folder"
    if (r / ".git").exists() or r in _repository_roots():
        return "the root of a repository"
    return ""


def is_marked(out: Path) -> bool:
    """True if ``out`` carries the build-folder marker."""
    return (Path(out) / MARKER).is_file()


def _looks_like_old_build(out: Path) -> bool:
    """A build folder of a course version before the marker: only the names a
    build writes, with a table of contents and Sphinx's work or HTML."""
    names = {p.name for p in out.iterdir()}
    return (names <= set(BUILD_NAMES) and (out / "src" / "_toc.yml").is_file()
            and ((out / ".sphinx").is_dir() or (out / "_build" / "html" / "index.html").is_file()))


def recorded(out: Path) -> set[str]:
    """The files (relative to ``OUT/src``, POSIX) the build recorded as its own."""
    try:
        doc = json.loads((Path(out) / MARKER).read_text(encoding="utf-8"))
        files = doc.get("src", []) if isinstance(doc, dict) else []
        return {f for f in files if isinstance(f, str) and _safe_relative(f)}
    except (OSError, ValueError):
        return set()


def _safe_relative(rel: str) -> bool:
    parts = Path(rel).parts
    return bool(parts) and not Path(rel).is_absolute() and ".." not in parts


def record(out: Path, files: Iterable[str]) -> None:
    """Write the marker of ``out`` with ``files`` (relative to ``OUT/src``) as the build's own, in one rename."""
    doc = {
        "about": "This folder is a course build folder: `course build` writes it, `course clean` removes "
                 "what the build recorded here. Keep your own files elsewhere.",
        "src": sorted(set(files)),
    }
    tmp = Path(out) / f"{MARKER}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, Path(out) / MARKER)


def prepare(out: Path) -> None:
    """Make sure ``out`` may be a build folder, and mark it.

    A new or empty folder is marked; a marked one is used as it is (a
    build folder of a version before the marker is adopted, its ``src``
    recorded). Anything else raises :class:`OutputError` saying why.
    """
    out = Path(out)
    why = refused(out)
    if why:
        raise OutputError(f"refusing to build into {out}: it is {why}. Build into a new or empty folder "
                          "with --out DIR (the default is _build/book)")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} is a file, not a folder: give --out a new or empty folder")
    if is_marked(out):
        return
    check_writable(out, "the build folder", "choose a folder you can write with --out DIR")
    if any(out.iterdir()):
        if _looks_like_old_build(out):
            record(out, (p.relative_to(out / "src").as_posix() for p in (out / "src").rglob("*") if p.is_file()))
            return
        raise OutputError(f"{out} is not empty and is not a course build folder (it has no {MARKER} file): "
                          "a build would mix its files with what is there. Build into a new or empty "
                          "folder with --out DIR")
    record(out, ())


def check_writable(folder: Path, what: str, hint: str) -> None:
    """Create ``folder`` if needed and write a file in it, or raise :class:`OutputError`
    with one line: ``what`` it is, why it cannot be written, and ``hint``."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".tmp-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write {what} {folder}: {describe_os_error(exc)}; {hint}") from None


# --------------------------------------------------------------------------- removing


def remove(path: Path) -> bool:
    """:func:`course.cache.remove_path` (a link goes, never what it points to; a
    folder without permissions gets them back first). True if ``path`` is
    gone; raises :class:`OutputError` if it cannot go."""
    try:
        remove_path(path)
    except OSError as exc:
        raise OutputError(f"cannot remove {path}: {describe_os_error(exc)}; fix its permissions "
                          f"(chmod -R u+rwX {path}) or remove it yourself") from None
    return not os.path.lexists(path)


def clean(out: Path) -> tuple[int, list[Path]]:
    """Remove what the build wrote in the build folder ``out``: the files it
    recorded in ``src``, the HTML, Sphinx's work folder, the logs and the
    leftovers of killed builds; then ``out`` itself if nothing else is left
    (else it stays marked, recording no file).

    Returns (bytes freed, what was kept: paths the build did not write).
    Refuses (:class:`OutputError`) a folder without the marker, and the
    folders :func:`refused` names.
    """
    out = Path(out)
    why = refused(out)
    if why:
        raise OutputError(f"refusing to clean {out}: it is {why}")
    if not out.is_dir():
        raise OutputError(f"{out} is not a folder")
    if not is_marked(out) and not _looks_like_old_build(out):
        raise OutputError(f"{out} is not a course build folder (it has no {MARKER} file), so clean leaves it "
                          "alone; remove it yourself if you mean to, or give --out the folder that "
                          "`course build --out` wrote")
    freed = 0

    def gone(p: Path) -> None:
        nonlocal freed
        with contextlib.suppress(OSError):
            freed += size(p)
        remove(p)

    src = out / "src"
    own = recorded(out) if is_marked(out) else {
        p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file()}
    with output_lock(out, "clean"):
        for rel in sorted(own):
            p = src / rel
            if os.path.lexists(p) and not p.is_dir():
                gone(p)
                _prune(p.parent, src)
        if src.is_dir() and not any(src.iterdir()):
            src.rmdir()
        build = out / "_build"
        if build.is_dir() and not build.is_symlink():
            leftovers = [q for q in build.iterdir() if q.name.startswith(TEMP_PREFIXES)]
            for p in [build / "html", aside_of(build / "html"), *leftovers]:
                if os.path.lexists(p):
                    gone(p)
            if not any(build.iterdir()):
                build.rmdir()
        for name in (".sphinx", *TOP_FILES, *(f".{n}.tmp" for n in TOP_FILES)):
            if os.path.lexists(out / name):
                gone(out / name)
        for p in list(out.iterdir()):
            if p.name.startswith(TEMP_PREFIXES):
                gone(p)
        kept = sorted(p for p in out.rglob("*") if (not p.is_dir() or p.is_symlink())
                      and p.relative_to(out).as_posix() not in (MARKER, ".lock", ".lock-owner"))
        if kept:  # still a build folder (a later build may use it), that now records no file
            record(out, ())
        else:
            (out / MARKER).unlink(missing_ok=True)
    for name in (".lock", ".lock-owner"):
        (out / name).unlink(missing_ok=True)
    if not kept:
        shutil.rmtree(out, ignore_errors=True)  # only empty folders are left
    return freed, kept


def _prune(folder: Path, top: Path) -> None:
    """Remove ``folder`` and its parents up to (not including) ``top`` while they are empty."""
    while folder != top and top in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


# --------------------------------------------------------------------------- syncing


def sync_tree(new: Path, dest: Path, own: set[str] | None = None) -> tuple[int, int]:
    """Make ``dest`` hold the files of ``new``, touching only what differs.

    Changed files are moved over in one rename each (``new`` must be on the
    same file system); files whose content is unchanged keep their time
    stamp, so Sphinx rebuilds only the pages that changed. Of the files
    ``new`` does not have, only those in ``own`` (paths relative to
    ``dest``: what an earlier build wrote) are removed; ``own=None`` means
    every file in ``dest`` is the caller's. Returns (files written, files
    removed).
    """
    import filecmp

    dest.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    written = removed = 0
    for p in sorted(new.rglob("*")):
        if p.is_dir():
            continue
        rel = p.relative_to(new).as_posix()
        seen.add(rel)
        d = dest / rel
        if d.is_file() and not d.is_symlink() and filecmp.cmp(p, d, shallow=False):
            continue
        if d.is_dir() and not d.is_symlink():
            for q in sorted(d.rglob("*"), reverse=True):  # a folder where a page goes: only if it is ours
                qrel = q.relative_to(dest).as_posix()
                if not q.is_dir() and (own is None or qrel in own):
                    q.unlink()
                    removed += 1
                elif q.is_dir():
                    with contextlib.suppress(OSError):
                        q.rmdir()
            try:
                d.rmdir()
            except OSError:
                raise OutputError(f"{d} is a folder holding files the build did not write, where the build "
                                  "writes a file; move it out of the build folder") from None
        d.parent.mkdir(parents=True, exist_ok=True)
        os.replace(p, d)
        written += 1
    for d in sorted(dest.rglob("*"), reverse=True):
        rel = d.relative_to(dest).as_posix()
        if rel in seen or not os.path.lexists(d) or (d.is_dir() and not d.is_symlink()):
            continue
        if own is None or rel in own:
            d.unlink()
            removed += 1
            _prune(d.parent, dest)
    return written, removed


class BuildLocked(RuntimeError):
    """Another ``course`` command is writing the same build folder."""


@contextlib.contextmanager
def output_lock(out: Path, command: str = "build", lock_dir: Path | None = None) -> Iterator[None]:
    """Hold the lock of the folder ``out`` for the whole command; if another
    process holds it, fail at once (:class:`BuildLocked`).

    The lock is ``OUT/.lock`` (a build folder is the build's own), or, with
    ``lock_dir``, a file there named after ``out``'s path, so that a folder
    that is not the course's (``course render --out``) is left as it was.
    """
    from filelock import FileLock, Timeout

    out = Path(out)
    if lock_dir is None:
        path, owner = out / ".lock", out / ".lock-owner"
    else:
        name = "out-" + hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
        path, owner = lock_dir / f"{name}.lock", lock_dir / f"{name}.owner"
    lock = FileLock(str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=0)
    except Timeout:
        who = owner.read_text(encoding="utf-8").strip() if owner.exists() else "another process"
        raise BuildLocked(
            f"{out} is in use by another course command ({who}); wait for it to finish, "
            "or build into another folder with --out"
        ) from None
    except OSError as exc:
        raise OutputError(f"cannot write {path.parent}: {describe_os_error(exc)}; choose a folder you can "
                          "write with --out DIR, or fix its permissions") from None
    try:
        owner.write_text(f"course {command}, pid {os.getpid()}, started {time.strftime('%H:%M:%S')}", encoding="utf-8")
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


def write_log(path: Path, errors: list[PluginError]) -> Path:
    """Write each failure with its traceback to ``path`` (the build log)."""
    parts = []
    for e in errors:
        parts.append(f"== plugin {e.plugin!r} failed in {e.where}\n{e.message}\n\n{e.tb or '(no traceback)'}\n")
    text = "\n".join(parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def sweep(out: Path) -> list[Path]:
    """Put back the book a killed publish left aside, then remove what killed
    builds left in ``out`` (the caller holds its lock, so it is not in use).
    Returns what was removed; a link is removed, never what it points to."""
    from course import cache

    cache.recover_dir(out / "_build" / "html")
    removed = []
    for folder in (out, out / "_build"):
        if not folder.is_dir() or folder.is_symlink():
            continue
        for p in folder.glob(".*"):
            if p.name.startswith(TEMP_PREFIXES) and remove(p):
                removed.append(p)
    return removed
