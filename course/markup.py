"""The markup the book puts around what plugins produce: figure directives,
video elements, links between chapters, and template rendering."""

from __future__ import annotations

import html
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from course.concept import Figure
from course.render import Rendered
from course.words import num, plain, render_page

__all__ = ["QUALITY_LABELS", "chapter_linker", "figure_markdown", "num", "render_template", "video_markdown"]

#: how a video quality is named for readers
QUALITY_LABELS = {"low": "480p", "medium": "720p", "high": "1080p", "production": "1440p", "4k": "4K (2160p)"}


def figure_markdown(fig: Figure, rel: str) -> Markup:
    """A MyST figure directive with alt text (an attribute, which Sphinx
    escapes) and caption (MyST markup may stay, raw HTML is escaped)."""
    alt = " ".join(str(fig.alt).split())
    caption = plain(" ".join(str(fig.caption).split()))
    return Markup(f":::{{figure}} {rel}\n:alt: {alt}\n:name: fig-{Path(rel).stem}\n\n{caption}\n:::\n")


def video_markdown(rendered: Rendered, description: str, title: str, static_rel: str,
                   download: tuple[str, str] | None = None, captions: str | None = None) -> Markup:
    """An HTML5 video with poster, captions track and a text description;
    ``download`` = (file name in ``static_rel``, label) adds a download link;
    ``captions`` names the WebVTT file in ``static_rel`` (default: the
    rendered captions' name)."""
    name = rendered.video.name
    kind = {".mp4": "video/mp4", ".webm": "video/webm"}.get(rendered.video.suffix, "")
    track = ""
    vtt = captions or (rendered.captions.name if rendered.captions is not None else None)
    if vtt:
        track = f'  <track kind="captions" src="{static_rel}/{vtt}" srclang="en" label="English" default>\n'
    desc = html.escape(" ".join(description.split()))
    link = ""
    if download is not None:
        link = (f'<br><a class="course-video-download" href="{static_rel}/{download[0]}" download>'
                f"Download this video in {html.escape(download[1])}</a>")
    return Markup(
        '<figure class="course-video">\n'
        f'<video controls preload="metadata" width="100%" poster="{static_rel}/{rendered.poster.name}" '
        f'aria-describedby="desc-{rendered.video.stem}">\n'
        f'  <source src="{static_rel}/{name}" type="{kind}">\n'
        f"{track}"
        "</video>\n"
        f'<figcaption id="desc-{rendered.video.stem}"><strong>{html.escape(title)}.</strong> '
        f"What the video shows: {desc}{link}</figcaption>\n"
        "</figure>\n"
    )


def render_template(text: str, source: str = "<template>", **context: Any) -> str:
    """Render a MyST page template with Jinja2 in its sandbox (undefined names
    are errors that name the line and the names that exist). Every value is
    written as plain text (``<``, ``>``, ``&`` escaped) unless it is markup
    the course made: figures, the video, chapter links (or ``|safe``)."""
    context.setdefault("chapter_link", chapter_linker(None))
    return render_page(text, source, **context)


def chapter_linker(built: Collection[str] | None) -> Callable[[str, str], Markup]:
    """The template function ``chapter_link(slug, text)``: a link to another
    concept's chapter when that chapter is in this book (``built``; None: always),
    plain text otherwise, so a book built without it has no broken link."""

    def chapter_link(slug: str, text: str) -> Markup:
        if built is None or slug in built:
            return Markup(f"[{plain(text)}]({quote(str(slug))}.md)")
        return plain(text)

    return chapter_link
