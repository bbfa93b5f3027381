"""Assembling the Jupyter Book: chapters from templates + results, then Sphinx.

Layout of a build folder ``OUT``::

    OUT/src/            generated book sources (pages, _toc.yml, _config.yml)
    OUT/src/_static/media/SLUG.{mp4,png,vtt}   videos, posters, captions
    OUT/src/data/SLUG.json                     each concept's metrics
    OUT/_build/html/    the HTML book (index.html is what `course build` prints)
    OUT/.sphinx/        Sphinx's incremental work folder
    OUT/reproduction.json  the reproduction report's claims (see course.pages.reproduction_document)
    OUT/build.log       tracebacks of the last build's failures (absent if none)
    OUT/sphinx.log      Sphinx's output when it failed
    OUT/.lock           held while a build writes OUT
    OUT/.course-build   marks OUT as a build folder; lists the files the build wrote in src

Every file in ``OUT/src`` and the whole of ``OUT/_build/html`` is replaced in
one rename, and only when its content changed: an interrupted build leaves the
previous book in place, and the next one picks up where it stopped. A build
goes only into a new or empty folder, or one an earlier build marked
(:func:`course.outdir.prepare`), and removes only files it recorded there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from course import cache, outdir, pages, pipeline, sphinx, toc
from course.chapters import ChapterOutput, write_chapter, write_failed_chapter
from course.markup import render_template
from course.plugins import Course, PluginError
from course.progress import Emit, Record, Tracker
from course.render import Rendered
from course.words import WordsError


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
        if item.name.startswith(("__", ".")) or item.name == "templates":
            continue  # templates/: the words of the generated pages (course.pages)
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


def write_generated_pages(course: Course, src: Path, report: BuildReport) -> None:
    """Roadmap, glossary and reproduction report, from hooks and results; then
    the hand-written ``*.md.j2`` pages (see :func:`render_static_pages`)."""
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
    context = pages.page_context(chapters)
    for template in sorted(src.rglob("*.md.j2")):
        try:
            page = render_template(template.read_text(encoding="utf-8"), template.name, **context)
        except WordsError as exc:
            raise RuntimeError(f"hand-written page {exc}") from exc
        template.with_suffix("").write_text(page, encoding="utf-8")
        template.unlink()


class SphinxFailed(RuntimeError):
    """Sphinx failed; ``report`` is what the build had done until then."""

    def __init__(self, message: str, report: BuildReport) -> None:
        super().__init__(message)
        self.report = report


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
    outdir.prepare(out)  # refuses a folder that is not the build's own
    with outdir.output_lock(out):
        log = out / "build.log"
        report = BuildReport(errors=list(course.errors), log=log)
        try:
            cache.check_writable()
            if course.errors and not keep_going:
                raise course.errors[0]
            cache.sweep()
            outdir.sweep(out)
            report.chapters, report.records = _build_pages(course, out, quality, seed, device, keep_going, jobs, emit, quick, report,
                                                          download_quality)
            pipeline.write_json(out / "reproduction.json", pages.reproduction_document(report.chapters))
            if report.errors:
                outdir.write_log(log, report.errors)
            else:
                log.unlink(missing_ok=True)
            tracker = Tracker("book", emit)
            try:
                with tracker.stage("sphinx") as h:
                    if not fresh and sphinx.html_up_to_date(out / "src", out):
                        h.cached()  # no page changed since the HTML was built: nothing for Sphinx to do
                        report.index = out / "_build" / "html" / "index.html"
                    else:
                        report.index = sphinx.run_sphinx(out / "src", out, fresh=fresh)
            except RuntimeError as exc:
                raise SphinxFailed(str(exc), report) from exc
            report.sphinx_seconds = tracker.records[-1].seconds
            report.sphinx_skipped = tracker.records[-1].status == "cached"
        except PluginError as exc:
            with contextlib.suppress(OSError):
                outdir.write_log(log, [*report.errors, exc])
            raise
        except OSError as exc:  # a full disk, a folder made read-only under the build
            if cache.in_cache(exc):
                raise cache.cache_error(exc) from None
            raise outdir.OutputError(f"cannot write the build folder {out}: {cache.describe_os_error(exc)}; "
                                     "the previous book is unchanged") from None
    report.seconds = time.perf_counter() - t0
    return report


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
                                              built=course.slugs(),
                                              training=pages.training_note(reg, art.profile, art.settings)))
            except PluginError as exc:
                if not keep_going:
                    raise
                report.errors.append(exc)
                failed[reg.concept.slug] = exc
        report.chapters = chapters
        write_generated_pages(course, staging, report)
        stand_ins = [write_failed_chapter(reg, failed[reg.concept.slug], staging)
                     for reg in course.concepts if reg.concept.slug in failed]
        toc.write_toc(staging, chapters + stand_ins)
        made = {p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file()}
        report.files = len(made)
        own = outdir.recorded(out)
        outdir.record(out, own | made)  # first: a build killed while syncing still knows its files
        report.files_written, report.files_removed = outdir.sync_tree(staging, out / "src", own)
        outdir.record(out, made)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return chapters, records
