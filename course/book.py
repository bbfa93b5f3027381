"""Assembling the Jupyter Book: chapters from templates + results, then Sphinx.

Layout of a build folder ``OUT``::

    OUT/src/            generated book sources (pages, _toc.yml, _config.yml)
    OUT/src/_static/media/SLUG.{mp4,png,vtt}   videos, posters, captions
    OUT/src/data/SLUG.json                     each concept's metrics
    OUT/_build/html/    the HTML book (index.html is what `course build` prints)
    OUT/.sphinx/        Sphinx's incremental work folder
    OUT/build.log       tracebacks of the last build's failures (absent if none)
    OUT/sphinx.log      Sphinx's output when it failed
    OUT/.lock           held while a build writes OUT

Every file in ``OUT/src`` and the whole of ``OUT/_build/html`` is replaced in
one rename, and only when its content changed: an interrupted build leaves the
previous book in place, and the next one picks up where it stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from course import cache, pipeline
from course.chapters import ChapterOutput, write_chapter, write_failed_chapter
from course.markup import render_template
from course.plugins import Course, PluginError, concept_order
from course.progress import Emit, Record, Tracker
from course.render import Rendered
from course.words import WordsError

#: hand-written pages, in book order before and after the concept chapters
PAGES_BEFORE = ["intro"]
PAGES_AFTER = ["open-questions", "roadmap", "glossary", "references", "reproduction", "plugin-guide"]


@dataclass
class BuildReport:
    """What a build made: the index page, the chapters, what failed, and how long it took."""

    index: Path | None = None
    chapters: list[ChapterOutput] = field(default_factory=list)
    errors: list[PluginError] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    log: Path | None = None
    files: int = 0
    files_written: int = 0
    files_removed: int = 0
    sphinx_seconds: float = 0.0
    sphinx_skipped: bool = False
    seconds: float = 0.0


# --------------------------------------------------------------------------- whole book


def copy_static_pages(src: Path) -> None:
    """Copy the hand-written pages and configuration from ``course_book``,
    and MathJax into ``_static`` so the book renders math offline."""
    from course import assets

    root = resources.files("course_book")
    for item in root.iterdir():
        if item.name.startswith(("__", ".")):
            continue
        _copy_tree(item, src / item.name)
    assets.install_mathjax(src / "_static")


def _copy_tree(item: Any, dest: Path) -> None:
    if item.is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        for child in item.iterdir():
            if not child.name.startswith(("__", ".")):
                _copy_tree(child, dest / child.name)
    else:
        dest.write_bytes(item.read_bytes())


def write_toc(src: Path, chapters: list[ChapterOutput]) -> None:
    """Write ``_toc.yml``: the intro as root, then one part per concept ``part``.

    Parts follow :data:`course.concept.PARTS` (foundations, then concepts),
    then any other part names alphabetically; chapters inside a part follow
    their ``order``. Hand-written pages of ``PAGES_BEFORE`` close the
    Foundations part and those of ``PAGES_AFTER`` form the last part.
    """
    from course.concept import PARTS

    before = [p for p in PAGES_BEFORE[1:] if (src / f"{p}.md").exists()]
    after = [p for p in PAGES_AFTER if (src / f"{p}.md").exists()]
    parts: dict[str, list[str]] = {name: [] for name in PARTS}
    for ch in sorted(chapters, key=lambda c: concept_order(c.reg.concept)):
        parts.setdefault(ch.reg.concept.part, []).append(f"concepts/{ch.reg.concept.slug}")
    parts["foundations"] += before
    extra = sorted(name for name in parts if name not in PARTS)
    lines = ["format: jb-book", f"root: {PAGES_BEFORE[0]}", "parts:"]
    for name in [*PARTS, *extra]:
        if parts[name]:
            caption = PARTS.get(name, name.replace("-", " ").capitalize())
            lines += [f"  - caption: {caption}", "    chapters:"] + [f"      - file: {p}" for p in parts[name]]
    if after:
        lines += ["  - caption: Beyond the chapters", "    chapters:"] + [f"      - file: {p}" for p in after]
    (src / "_toc.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_generated_pages(course: Course, src: Path, report: BuildReport) -> None:
    """Roadmap, glossary and reproduction report, from hooks and results; then
    the hand-written ``*.md.j2`` pages (see :func:`render_static_pages`)."""
    from course import pages

    built = [ch.reg.concept.slug for ch in report.chapters]
    (src / "roadmap.md").write_text(pages.roadmap(course), encoding="utf-8")
    (src / "glossary.md").write_text(pages.glossary(course, built), encoding="utf-8")
    (src / "reproduction.md").write_text(pages.reproduction(report.chapters, report.errors), encoding="utf-8")
    render_static_pages(src, report.chapters)


def render_static_pages(src: Path, chapters: list[ChapterOutput]) -> None:
    """Render each hand-written page ``NAME.md.j2`` in ``src`` to ``NAME.md``.

    Hand-written pages that quote measured numbers are Jinja2 templates
    (plain ``.md`` pages are copied as they are). Their context is
    :func:`course.pages.page_context`: ``concepts`` (slug -> concept,
    metrics, runs, claims of each chapter this build made), ``claims_held``,
    ``claims_total``, and the ``num`` filter.
    """
    from course import pages

    context = pages.page_context(chapters)
    for template in sorted(src.rglob("*.md.j2")):
        try:
            page = render_template(template.read_text(encoding="utf-8"), template.name, **context)
        except WordsError as exc:
            raise RuntimeError(f"hand-written page {exc}") from exc
        template.with_suffix("").write_text(page, encoding="utf-8")
        template.unlink()


def sync_tree(new: Path, dest: Path) -> tuple[int, int]:
    """Make ``dest`` hold exactly the files of ``new``, touching only what differs.

    Changed files are moved over in one rename each (``new`` must be on the
    same file system); files whose content is unchanged keep their time
    stamp, so Sphinx rebuilds only the pages that changed. Returns
    (files written, files removed).
    """
    import filecmp

    dest.mkdir(parents=True, exist_ok=True)
    seen: set[Path] = set()
    written = removed = 0
    for p in sorted(new.rglob("*")):
        if p.is_dir():
            continue
        rel = p.relative_to(new)
        seen.add(rel)
        d = dest / rel
        if d.is_file() and filecmp.cmp(p, d, shallow=False):
            continue
        if d.is_dir():
            shutil.rmtree(d)
        d.parent.mkdir(parents=True, exist_ok=True)
        os.replace(p, d)
        written += 1
    for d in sorted(dest.rglob("*"), reverse=True):
        if d.is_file() and d.relative_to(dest) not in seen:
            d.unlink()
            removed += 1
        elif d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    return written, removed


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

    h = hashlib.sha256(repr(cache.library_versions(("jupyter-book", "sphinx", "sphinx-book-theme", "myst-parser"))).encode())
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
    ``OUT/_build/html`` in one rename, so the published book is never half
    written. After a failed or interrupted run the work folder is discarded,
    so the next build reads every page again and reports the same warnings.
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
        log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
        shutil.rmtree(work, ignore_errors=True)
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"jupyter-book build failed (full log: {log}):\n{tail}")
    log.unlink(missing_ok=True)
    html_dir = out / "_build" / "html"
    html_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = html_dir.parent / cache.tmp_name("html")
    try:
        shutil.copytree(work / "_build" / "html", tmp)
        cache.replace_dir(tmp, html_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    (work / "BUILT").write_text(_sources_fingerprint(src), encoding="utf-8")
    stamp.write_text(layout, encoding="utf-8")
    marker.unlink()
    return html_dir / "index.html"


class SphinxFailed(RuntimeError):
    """Sphinx failed; ``report`` is what the build had done until then."""

    def __init__(self, message: str, report: BuildReport) -> None:
        super().__init__(message)
        self.report = report


class BuildLocked(RuntimeError):
    """Another ``course`` command is writing the same build folder."""


@contextlib.contextmanager
def output_lock(out: Path, command: str = "build") -> Iterator[None]:
    """Hold ``OUT/.lock`` for the whole build; if another process holds it, fail at once."""
    from filelock import FileLock, Timeout

    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out / ".lock"))
    owner = out / ".lock-owner"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        who = owner.read_text(encoding="utf-8").strip() if owner.exists() else "another process"
        raise BuildLocked(
            f"{out} is in use by another course command ({who}); wait for it to finish, "
            "or build into another folder with --out"
        ) from None
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


def build(
    course: Course,
    out: Path,
    quality: str = "low",
    seed: int = 0,
    device: str = "cpu",
    keep_going: bool = False,
    jobs: int | None = None,
    emit: Emit | None = None,
    quick: bool = False,
    fresh: bool = False,
    download_quality: str | None = None,
) -> BuildReport:
    """Build the whole book into ``out``; returns what was built and what failed.

    With ``download_quality`` (a name from :data:`course.render.QUALITIES`)
    every video is also rendered at that quality and linked for download
    beside the embedded one.

    The heavy stages of every concept come from the cache or run in ``jobs``
    worker processes (see :func:`course.pipeline.produce_all`); the pages
    are generated into a staging folder and synced into ``OUT/src``;
    Sphinx then rebuilds the pages that changed. The build holds
    ``OUT/.lock``. Failures (with ``keep_going``) and their tracebacks go
    to ``OUT/build.log``; without ``keep_going`` the first failure is
    raised at once (its traceback is in the log too).
    """
    t0 = time.perf_counter()
    out = Path(out)
    emit = emit or (lambda e: None)
    with output_lock(out):
        report = BuildReport(errors=list(course.errors), log=out / "build.log")
        try:
            if course.errors and not keep_going:
                raise course.errors[0]
            cache.sweep()
            _sweep_output(out)
            report.chapters, report.records = _build_pages(course, out, quality, seed, device, keep_going, jobs, emit, quick, report,
                                                          download_quality)
            if report.errors:
                write_log(report.log, report.errors)
            else:
                report.log.unlink(missing_ok=True)
            tracker = Tracker("book", emit)
            try:
                with tracker.stage("sphinx") as h:
                    if not fresh and html_up_to_date(out / "src", out):
                        h.cached()  # no page changed since the HTML was built: nothing for Sphinx to do
                        report.index = out / "_build" / "html" / "index.html"
                    else:
                        report.index = run_sphinx(out / "src", out, fresh=fresh)
            except RuntimeError as exc:
                raise SphinxFailed(str(exc), report) from exc
            report.sphinx_seconds = tracker.records[-1].seconds
            report.sphinx_skipped = tracker.records[-1].status == "cached"
        except PluginError as exc:
            write_log(report.log, [*report.errors, exc])
            raise
    report.seconds = time.perf_counter() - t0
    return report


def _sweep_output(out: Path) -> None:
    """Remove what a killed build left in ``out`` (we hold its lock, so it is not in use)."""
    for folder in (out, out / "_build"):
        for p in folder.glob(".*-*-*"):
            if p.name.startswith((".staging-", ".tmp-", ".old-", ".html-")):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


def _build_pages(course: Course, out: Path, quality: str, seed: int, device: str, keep_going: bool,
                 jobs: int | None, emit: Emit, quick: bool, report: BuildReport,
                 download_quality: str | None = None) -> tuple[list[ChapterOutput], list[Record]]:
    staging = out / cache.tmp_name("staging")
    staging.mkdir(parents=True)
    try:
        copy_static_pages(staging)
        opts = pipeline.Options(seed=seed, device=device, quick=quick, quality=quality)
        outcome = pipeline.produce_all(course, course.concepts, opts, jobs=jobs, emit=emit, keep_going=keep_going)
        report.errors += outcome.errors
        records = list(outcome.records)
        downloads: dict[str, Rendered] = {}
        if download_quality and download_quality != quality:
            with_video = [r for r in course.concepts
                          if (a := outcome.artifacts.get(r.concept.slug)) is not None and a.video is not None]
            label = f"video {download_quality}"  # progress and summary tell the two renders apart
            hq = pipeline.produce_all(course, with_video, dataclasses.replace(opts, quality=download_quality),
                                      jobs=jobs, keep_going=keep_going,
                                      emit=lambda e: emit(dataclasses.replace(e, stage=label) if e.stage == "video" else e))
            report.errors += hq.errors
            records += [dataclasses.replace(r, stage=label) for r in hq.records if r.stage == "video"]
            downloads = {slug: a.video for slug, a in hq.artifacts.items() if a.video is not None}
        chapters = []
        failed = dict(outcome.failed)
        for reg in course.concepts:
            art = outcome.artifacts.get(reg.concept.slug)
            if art is None:
                continue
            hq_video = downloads.get(reg.concept.slug)
            try:
                chapters.append(write_chapter(reg, art, staging,
                                              (hq_video, download_quality) if hq_video and download_quality else None,
                                              built=course.slugs()))
            except PluginError as exc:
                if not keep_going:
                    raise
                report.errors.append(exc)
                failed[reg.concept.slug] = exc
        report.chapters = chapters
        write_generated_pages(course, staging, report)
        stand_ins = [write_failed_chapter(reg, failed[reg.concept.slug], staging)
                     for reg in course.concepts if reg.concept.slug in failed]
        write_toc(staging, chapters + stand_ins)
        report.files = sum(1 for p in staging.rglob("*") if p.is_file())
        report.files_written, report.files_removed = sync_tree(staging, out / "src")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return chapters, records
