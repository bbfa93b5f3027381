"""Assembling the Jupyter Book: chapters from templates + results, then Sphinx.

Layout of a build folder ``OUT``::

    OUT/src/            generated book sources (pages, _toc.yml, _config.yml)
    OUT/src/_static/media/SLUG.{mp4,png,vtt}   videos, posters, captions
    OUT/src/data/SLUG.json                     each concept's metrics
    OUT/_build/html/    the HTML book (index.html is what `course build` prints)
"""

from __future__ import annotations

import html
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from course import pipeline
from course.concept import Claim, Figure
from course.plugins import Course, PluginError, Registered
from course.render import Rendered

#: hand-written pages, in book order before and after the concept chapters
PAGES_BEFORE = ["intro"]
PAGES_AFTER = ["open-questions", "roadmap", "glossary", "references", "reproduction", "plugin-guide"]


@dataclass
class ChapterOutput:
    """What building one concept produced."""

    reg: Registered
    metrics: dict[str, Any]
    figures: list[Figure]
    video: Rendered | None
    claims: list[Claim]
    cached: bool = False


@dataclass
class BuildReport:
    index: Path | None = None
    chapters: list[ChapterOutput] = field(default_factory=list)
    errors: list[PluginError] = field(default_factory=list)


# --------------------------------------------------------------------------- templates


def num(x: float, digits: int = 2) -> str:
    """A number for prose: fixed ``digits`` decimals."""
    return f"{float(x):.{digits}f}"


def figure_markdown(fig: Figure, rel: str) -> str:
    """A MyST figure directive with alt text and caption."""
    alt = " ".join(fig.alt.split())
    return f":::{{figure}} {rel}\n:alt: {alt}\n:name: fig-{Path(rel).stem}\n\n{fig.caption}\n:::\n"


def video_markdown(rendered: Rendered, description: str, title: str, static_rel: str) -> str:
    """An HTML5 video with poster, captions track and a text description."""
    name = rendered.video.name
    kind = {".mp4": "video/mp4", ".webm": "video/webm"}.get(rendered.video.suffix, "")
    track = ""
    if rendered.captions is not None:
        track = (
            f'  <track kind="captions" src="{static_rel}/{rendered.captions.name}" '
            f'srclang="en" label="English" default>\n'
        )
    desc = html.escape(" ".join(description.split()))
    return (
        '<figure class="course-video">\n'
        f'<video controls preload="metadata" width="100%" poster="{static_rel}/{rendered.poster.name}" '
        f'aria-describedby="desc-{rendered.video.stem}">\n'
        f'  <source src="{static_rel}/{name}" type="{kind}">\n'
        f"{track}"
        "</video>\n"
        f'<figcaption id="desc-{rendered.video.stem}"><strong>{html.escape(title)}.</strong> '
        f"What the video shows: {desc}</figcaption>\n"
        "</figure>\n"
    )


def render_template(text: str, **context: Any) -> str:
    """Render a MyST chapter template with Jinja2 (undefined names are errors)."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["num"] = num
    env.globals["num"] = num
    return env.from_string(text).render(**context)


# --------------------------------------------------------------------------- chapters


def build_chapter(reg: Registered, src: Path, quality: str = "low", seed: int = 0, device: str = "cpu") -> ChapterOutput:
    """Run one concept through every stage and write its page into ``src``."""
    from course import render

    c = reg.concept
    result, cached = pipeline.experiment(reg, seed=seed, device=device)
    metrics = pipeline.metrics(reg, result)
    pipeline.write_json(src / "data" / f"{c.slug}.json", {"concept": c.slug, **metrics})

    fig_dir = src / "concepts" / "figures" / c.slug
    figures = pipeline.stage(reg, "figures", c.figures, result, metrics, fig_dir) or []
    for f in figures:
        if not isinstance(f, Figure) or not Path(f.path).exists():
            raise PluginError(reg.plugin.name, f"{c.slug}.figures()", f"returned {f!r}: expected course.Figure objects whose files exist")

    video = None
    anim = pipeline.stage(reg, "animation", c.animation, result, metrics)
    media = src / "_static" / "media"
    if anim is not None:
        video = pipeline.stage(reg, "render", render.render, anim, media, c.slug, quality)

    claims = pipeline.stage(reg, "claims", c.claims, metrics) or []
    ctx = {
        "concept": c,
        "metrics": metrics,
        "runs": metrics["runs"],
        "figures": {f.name: figure_markdown(f, f"figures/{c.slug}/{Path(f.path).name}") for f in figures},
        "video": video_markdown(video, anim.description, anim.title or c.title, "../_static/media") if video and anim else "",
        "claims": claims,
    }
    template = pipeline.stage(reg, "chapter", c.chapter)
    page = pipeline.stage(reg, "chapter template", render_template, template, **ctx)
    (src / "concepts").mkdir(parents=True, exist_ok=True)
    (src / "concepts" / f"{c.slug}.md").write_text(page, encoding="utf-8")
    return ChapterOutput(reg, metrics, figures, video, claims, cached)


# --------------------------------------------------------------------------- whole book


def copy_static_pages(src: Path) -> None:
    """Copy the hand-written pages and configuration from ``course_book``."""
    root = resources.files("course_book")
    for item in root.iterdir():
        if item.name.startswith(("__", ".")):
            continue
        _copy_tree(item, src / item.name)


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
    for ch in sorted(chapters, key=lambda c: (c.reg.concept.order, c.reg.concept.slug)):
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
    """Roadmap, glossary and reproduction report, from hooks and results."""
    from course import pages

    (src / "roadmap.md").write_text(pages.roadmap(course), encoding="utf-8")
    (src / "glossary.md").write_text(pages.glossary(course), encoding="utf-8")
    (src / "reproduction.md").write_text(pages.reproduction(report.chapters, report.errors), encoding="utf-8")


def run_sphinx(src: Path, out: Path) -> Path:
    """Build HTML with Jupyter Book 1, failing on any Sphinx warning."""
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(src), "--path-output", str(out),
           "--builder", "html", "-W", "-n", "--keep-going", "--all", "-q"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        log = out / "sphinx.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"jupyter-book build failed (full log: {log}):\n{tail}")
    return out / "_build" / "html" / "index.html"


def build(
    course: Course,
    out: Path,
    quality: str = "low",
    seed: int = 0,
    device: str = "cpu",
    keep_going: bool = False,
) -> BuildReport:
    """Build the whole book into ``out``; returns what was built and what failed."""
    out = Path(out)
    src = out / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    report = BuildReport(errors=list(course.errors))
    if course.errors and not keep_going:
        raise course.errors[0]
    copy_static_pages(src)
    for reg in course.concepts:
        try:
            report.chapters.append(build_chapter(reg, src, quality=quality, seed=seed, device=device))
        except PluginError as exc:
            if not keep_going:
                raise
            report.errors.append(exc)
    write_generated_pages(course, src, report)
    write_toc(src, report.chapters)
    report.index = run_sphinx(src, out)
    return report
