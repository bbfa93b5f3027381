"""One concept's page: its words filled in, its files copied, its template rendered.

This is the cheap part of a build that runs every time: what the heavy
stages made (:class:`course.pipeline.Artifacts`, from the cache or fresh)
plus the plugin's words (:mod:`course.words`) and chapter template. Editing
either rewrites the page (and the captions file) and nothing else.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from course import contract, interactive, pipeline
from course.concept import Claim, Figure, block_name
from course.lab import chapter_box, with_link
from course.markup import (
    QUALITY_LABELS,
    chapter_linker,
    figure_markdown,
    render_template,
    video_markdown,
)
from course.plugins import PluginError, Registered
from course.render import Rendered, timeline_to_vtt
from course.words import Words, WordsError, plain, safe_url

#: what ``course build`` passes to a chapter template
CONTEXT_NAMES = ("concept", "metrics", "runs", "figures", "video", "claims", "chapter_link")
#: the plugin's optional exercises and key takeaways, rendered like the
#: chapter and appended to its page (words only: no stage's cache reads it)
PRACTICE_FILE = "practice.md.j2"


@dataclass
class ChapterOutput:
    """What building one concept produced."""

    reg: Registered
    metrics: dict[str, Any]
    figures: list[Figure]
    video: Rendered | None
    claims: list[Claim]
    cached: bool = False
    #: the settings the experiment was trained with (empty: unknown, e.g. a failed chapter)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class Described:
    """A concept's heavy outputs with their words filled in."""

    figures: list[Figure]
    title: str
    description: str
    captions: str | None  # WebVTT text, None without a video


def _words(reg: Registered) -> Words:
    return pipeline.stage(reg, "words", reg.concept.words)


def _say(reg: Registered, what: str, fn: Any, *args: Any, **kwargs: Any) -> str:
    try:
        return fn(*args, **kwargs)
    except WordsError as exc:
        raise PluginError(reg.plugin.name, f"{reg.concept.slug}.words ({what})", str(exc)) from exc


def describe(reg: Registered, metrics: dict[str, Any], figures: list[Figure],
             animation: dict[str, str] | None, timeline: list[list[Any]], video: bool) -> Described:
    """Fill in the words a figure or video left empty, from the plugin's words
    file, and check the result against the contract (captions and alt texts,
    the video's title and description, its captions)."""
    c = reg.concept
    words = _words(reg)
    ctx = c.words_context(metrics)
    filled = []
    for f in figures:
        block = f"figure_{block_name(f.name)}"
        caption = f.caption or _say(reg, f"figure {f.name!r}", words.get, f"{block}_caption", **ctx)
        alt = f.alt or _say(reg, f"figure {f.name!r}", words.get, f"{block}_alt", **ctx)
        filled.append(replace(f, caption=caption, alt=alt))
    problems = contract.described_figures(filled)
    if problems:
        raise contract.error(reg, "figures", problems[0])
    title = description = ""
    captions = None
    if animation is not None and video:
        title = animation.get("title") or _say(reg, "video", words.get, "video_title", **ctx) or c.title
        description = animation.get("description") or _say(reg, "video", words.get, "video_description", **ctx)
        problems = contract.described_video(title, description) + contract.captions(len(timeline))
        if problems:
            raise contract.error(reg, "animation", problems[0])
        cues = [[start, end, _say(reg, "narration", words.narration, text, **ctx)] for start, end, text in timeline]
        captions = timeline_to_vtt(cues)
    return Described(filled, title, description, captions)


def captions_vtt(reg: Registered, art: pipeline.Artifacts) -> str | None:
    """The WebVTT captions of ``art``'s video, narration in the plugin's words."""
    return describe(reg, art.metrics, [], art.animation, art.timeline, art.video is not None).captions


def _copy(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


def claims_of(reg: Registered, metrics: dict[str, Any]) -> list[Claim]:
    """The concept's claims on ``metrics``, checked against the contract."""
    c = reg.concept
    problems = contract.judgements(pipeline.stage(reg, "claims", c.judgements, metrics))
    if not problems:
        claims = pipeline.stage(reg, "claims", c.claims, metrics)
        problems = contract.claims(claims)
    if problems:
        raise contract.error(reg, "claims", problems[0])
    # a claim's source becomes a link on the pages: http(s) or relative only
    return [replace(cl, source=safe_url(cl.source)) for cl in claims or []]


def write_chapter(reg: Registered, art: pipeline.Artifacts, src: Path,
                  download: tuple[Rendered, str] | None = None,
                  built: Collection[str] | None = None, training: str = "") -> ChapterOutput:
    """Write one concept's page, data, figures, video and captions into ``src``.

    ``download`` is the same video rendered at a higher quality, with that
    quality's name: it is copied beside the embedded one and linked.
    ``built`` is the slugs of the chapters in this book, for ``chapter_link``.
    ``training`` is the box that ends the chapter before its exercises (the
    build profile that made it: :func:`course.pages.training_note`).
    """
    c = reg.concept
    metrics = art.metrics
    pipeline.write_json(src / "data" / f"{c.slug}.json", {"concept": c.slug, **metrics})
    described = describe(reg, metrics, art.figures, art.animation, art.timeline, art.video is not None)

    fig_dir = src / "concepts" / "figures" / c.slug
    figures = [replace(f, path=_copy(f.path, fig_dir / Path(f.path).name)) for f in described.figures]

    video = None
    media = src / "_static" / "media"
    download_link = None
    if art.video is not None and download is not None:
        hq, quality = download
        name = f"{c.slug}-{quality}{hq.video.suffix}"
        _copy(hq.video, media / name)
        download_link = (name, QUALITY_LABELS.get(quality, quality))
    if art.video is not None:
        v = art.video
        vtt = None
        if described.captions is not None:
            vtt = media / f"{v.video.stem}.vtt"
            vtt.parent.mkdir(parents=True, exist_ok=True)
            vtt.write_text(described.captions, encoding="utf-8")
        video = Rendered(_copy(v.video, media / v.video.name), _copy(v.poster, media / v.poster.name), vtt)

    claims = claims_of(reg, metrics)
    ctx = {
        "concept": c,
        "metrics": metrics,
        "runs": metrics["runs"],
        "figures": {f.name: figure_markdown(f, f"figures/{c.slug}/{Path(f.path).name}") for f in figures},
        "video": video_markdown(video, described.description, described.title, "../_static/media", download_link)
        if video else "",
        "claims": claims,
        "chapter_link": chapter_linker(built),
    }
    page = render_chapter(reg, ctx) + ("\n" + training if training else "") + render_practice(reg, ctx)
    interactive.write_data(reg, art, page, src)
    (src / "concepts").mkdir(parents=True, exist_ok=True)
    page = with_link(page, chapter_box(reg, src))  # the plugin's notebook.py, as _static/notebooks/SLUG.ipynb
    (src / "concepts" / f"{c.slug}.md").write_text(page, encoding="utf-8")
    cached = all(r.status in ("cached", "none") for r in art.records)
    return ChapterOutput(reg, metrics, figures, video, claims, cached, settings=art.settings)


def render_chapter(reg: Registered, ctx: dict[str, Any]) -> str:
    """The concept's chapter template rendered with ``ctx``, checked against the contract."""
    c = reg.concept
    template = pipeline.stage(reg, "chapter", c.chapter)
    if not isinstance(template, str):
        raise PluginError(reg.plugin.name, f"{c.slug}.chapter()",
                          f"returned {type(template).__name__}, expected the template text (str)")
    try:
        page = render_template(template, f"{c.slug}/chapter.md", **ctx)
    except WordsError as exc:
        raise PluginError(reg.plugin.name, f"{c.slug}.chapter template", str(exc)) from exc
    problems = contract.chapter_page(page, ctx["figures"], ctx["video"])
    if problems:
        raise PluginError(reg.plugin.name, f"{c.slug}.chapter template", problems[0].text())
    return page


def render_practice(reg: Registered, ctx: dict[str, Any]) -> str:
    """The concept's ``practice.md.j2`` (its "Try it" exercises and key
    takeaways) rendered with the chapter's ``ctx``; empty if it has none."""
    c = reg.concept
    path = c.source_dir() / PRACTICE_FILE
    if not path.is_file():
        return ""
    try:
        page = render_template(path.read_text(encoding="utf-8"), f"{c.slug}/{PRACTICE_FILE}", **ctx)
    except WordsError as exc:
        raise PluginError(reg.plugin.name, f"{c.slug}.practice template", str(exc)) from exc
    problems = contract.practice_page(page)
    if problems:
        raise PluginError(reg.plugin.name, f"{c.slug}.practice template", problems[0].text())
    return "\n" + page


def write_failed_chapter(reg: Registered, error: PluginError, src: Path) -> ChapterOutput:
    """The page of a concept that failed in a ``--keep-going`` build: it says
    what failed, and keeps the other chapters' links to it working."""
    c = reg.concept
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", error.message)), default=0))

    def code(text: str) -> str:  # an inline code span that no text can end early
        return "`" + " ".join(str(text).replace("`", "'").split()) + "`"

    page = (
        f"# {plain(' '.join(str(c.title).split()))}\n\n"
        f"**This chapter did not build.** Its plugin {code(error.plugin)} failed in {code(error.where)}, "
        "so this build has no results for it; the other chapters were built without it "
        "(`course build --keep-going`). The traceback is in the build folder's `build.log`.\n\n"
        f"{fence}text\n{error.message}\n{fence}\n"
    )
    (src / "concepts").mkdir(parents=True, exist_ok=True)
    (src / "concepts" / f"{c.slug}.md").write_text(page, encoding="utf-8")
    return ChapterOutput(reg, {"runs": []}, [], None, [])


def build_chapter(reg: Registered, src: Path, quality: str = "low", seed: int = 0, device: str = "cpu") -> ChapterOutput:
    """Run one concept through every stage (in this process) and write its page into ``src``."""
    art = pipeline.produce(reg, pipeline.Options(seed=seed, device=device, quality=quality))
    assert art is not None
    return write_chapter(reg, art, src)
