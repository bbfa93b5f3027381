"""The built book as a reader meets it: every page in the table of contents exists,
no local link or media file is missing, figures and videos carry their words,
pages are not empty, and nothing is fetched from the network."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

pytestmark = pytest.mark.slow

#: pages the book must have besides one page per installed concept
REQUIRED_PAGES = [
    "intro",
    "concepts/features-as-directions",
    "concepts/terminology",
    "open-questions",
    "roadmap",
    "glossary",
    "references",
    "reproduction",
]
#: (tag, attribute) pairs that point at a file the page loads or links to
URL_ATTRS = {
    ("a", "href"), ("link", "href"), ("script", "src"), ("img", "src"), ("video", "src"),
    ("video", "poster"), ("source", "src"), ("track", "src"), ("iframe", "src"),
}
SKIP_DIRS = {"_static", "_sources", "_images"}


@dataclass
class Page:
    """What the tests need from one HTML file."""

    path: Path
    urls: list[tuple[str, str, str]] = field(default_factory=list)  # (tag, attr, value)
    ids: set[str] = field(default_factory=set)
    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    article_text: str = ""
    figures: list[dict[str, object]] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.article_depth = 0
        self.text: list[str] = []
        self.figure: dict[str, object] | None = None
        self.in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        self.page.tags.append((tag, a))
        if "id" in a:
            self.page.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.page.ids.add(a["name"])
        for key, value in a.items():
            if (tag, key) in URL_ATTRS and value:
                self.page.urls.append((tag, key, value))
        if tag == "article":
            self.article_depth += 1
        if tag == "figure":
            self.figure = {"class": a.get("class", ""), "caption": "", "img": [], "video": []}
        elif self.figure is not None:
            if tag == "figcaption":
                self.in_caption = True
            elif tag in ("img", "video"):
                self.figure[tag].append(a)  # type: ignore[union-attr]

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self.article_depth -= 1
        elif tag == "figcaption":
            self.in_caption = False
        elif tag == "figure" and self.figure is not None:
            self.page.figures.append(self.figure)
            self.figure = None

    def handle_data(self, data: str) -> None:
        if self.article_depth:
            self.text.append(data)
        if self.in_caption and self.figure is not None:
            self.figure["caption"] = str(self.figure["caption"]) + data


def parse(path: Path) -> Page:
    page = Page(path)
    parser = _Parser(page)
    parser.feed(path.read_text(encoding="utf-8"))
    page.article_text = " ".join(" ".join(parser.text).split())
    return page


@pytest.fixture(scope="module")
def html_dir(built_book: Path) -> Path:
    return built_book


@pytest.fixture(scope="module")
def pages(html_dir: Path) -> dict[str, Page]:
    out = {}
    for p in sorted(html_dir.rglob("*.html")):
        rel = p.relative_to(html_dir)
        if rel.parts[0] in SKIP_DIRS:
            continue
        out[rel.with_suffix("").as_posix()] = parse(p)
    return out


@pytest.fixture(scope="module")
def toc_pages(html_dir: Path) -> list[str]:
    toc = yaml.safe_load((html_dir.parents[1] / "src" / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [ch["file"] for ch in part.get("chapters", [])]
    return files


def _local_target(page: Path, value: str) -> tuple[Path, str] | None:
    """The file a local URL points at and its fragment; None for external URLs."""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith(("mailto:", "data:", "javascript:")):
        return None
    if not parts.path:  # "#fragment" on the same page
        return page, unquote(parts.fragment)
    return (page.parent / unquote(parts.path)).resolve(), unquote(parts.fragment)


def test_every_toc_page_exists_and_the_book_is_whole(html_dir, toc_pages):
    from course import plugins

    missing = [f for f in toc_pages if not (html_dir / f"{f}.html").is_file()]
    assert not missing, f"pages in _toc.yml without HTML: {missing}"
    concepts = [f"concepts/{slug}" for slug in plugins.load().slugs()]
    absent = [p for p in REQUIRED_PAGES + concepts if p not in toc_pages]
    assert not absent, f"pages missing from the table of contents: {absent}"
    assert toc_pages[0] == "intro"


def test_every_page_links_every_toc_page_in_its_navigation(html_dir, pages, toc_pages):
    """Each page's sidebar reaches the whole book (no page keeps a stale table of contents)."""
    stale = {}
    for name in toc_pages:
        page = pages[name]
        linked = {t[0] for tag, _attr, value in page.urls if tag == "a" and (t := _local_target(page.path, value))}
        missing = [f for f in toc_pages if f != name and (html_dir / f"{f}.html").resolve() not in linked]
        if missing:
            stale[name] = missing
    assert not stale, f"pages whose navigation misses chapters: {stale}"


def test_no_broken_local_links_or_media(html_dir, pages):
    broken = []
    for name, page in pages.items():
        for tag, attr, value in page.urls:
            target = _local_target(page.path, value)
            if target is None:
                continue
            path, fragment = target
            if path.is_dir():
                path = path / "index.html"
            if not path.is_file():
                broken.append(f"{name}: <{tag} {attr}={value!r}> -> missing file")
            elif path.stat().st_size == 0:
                broken.append(f"{name}: <{tag} {attr}={value!r}> -> empty file")
            elif fragment and path.suffix == ".html" and tag == "a":
                rel = path.relative_to(html_dir.resolve()).with_suffix("").as_posix()
                if rel in pages and fragment not in pages[rel].ids:
                    broken.append(f"{name}: <a href={value!r}> -> no id {fragment!r} in {rel}")
    assert not broken, "broken local links:\n" + "\n".join(broken)


def test_nothing_is_loaded_from_the_network(pages):
    remote = []
    for name, page in pages.items():
        for tag, a in page.tags:
            if tag == "link":
                rel = a.get("rel", "").lower()
                url = a.get("href", "") if any(r in rel for r in ("stylesheet", "preload", "icon", "modulepreload")) else ""
            else:
                url = a.get("src", "") if tag in ("script", "img", "video", "source", "track", "iframe") else ""
            if url.startswith("//") or urlsplit(url).scheme in ("http", "https"):
                remote.append(f"{name}: <{tag}> {url}")
    assert not remote, "the book fetches from the network:\n" + "\n".join(remote)


def test_math_is_typeset_by_the_books_own_mathjax(html_dir, pages):
    with_math = [p for p in pages.values() if any(t == "script" and "mathjax" in v.lower() for t, _, v in p.urls)]
    assert with_math, "no page loads MathJax, but the chapters contain equations"
    for page in with_math:
        scripts = [v for t, _, v in page.urls if t == "script" and "mathjax" in v.lower()]
        assert scripts and all(not urlsplit(s).scheme for s in scripts), (page.path, scripts)
        for s in scripts:
            assert _local_target(page.path, s)[0].is_file()
    fonts = list((html_dir / "_static" / "mathjax" / "output" / "chtml" / "fonts").rglob("*.woff"))
    assert fonts, "MathJax's fonts are not in the book"


def test_pages_are_not_empty(pages, toc_pages):
    thin = {f: len(pages[f].article_text) for f in toc_pages if len(pages[f].article_text) < 400}
    assert not thin, f"pages with almost no text (characters): {thin}"


def test_every_video_has_poster_captions_and_description(pages):
    videos = 0
    problems = []
    for name, page in pages.items():
        for fig in page.figures:
            for v in fig["video"]:  # type: ignore[union-attr]
                videos += 1
                if not v.get("poster"):
                    problems.append(f"{name}: video without poster")
                if len(str(fig["caption"]).strip()) < 80:
                    problems.append(f"{name}: video without a written description")
        srcs = [a for t, a in page.tags if t == "source"]
        tracks = [a for t, a in page.tags if t == "track"]
        n_video = sum(1 for t, _ in page.tags if t == "video")
        if n_video and len([s for s in srcs if s.get("type", "").startswith("video/")]) < n_video:
            problems.append(f"{name}: a video without a typed <source>")
        if n_video and len([t for t in tracks if t.get("kind") == "captions" and t.get("srclang")]) < n_video:
            problems.append(f"{name}: a video without a captions track")
        for t in tracks:
            vtt = _local_target(page.path, t["src"])[0]
            if vtt.is_file() and not vtt.read_text(encoding="utf-8").startswith("WEBVTT"):
                problems.append(f"{name}: {t['src']} is not WebVTT")
    assert videos >= 2, f"expected the chapters' videos, found {videos}"
    assert not problems, "\n".join(problems)


def test_every_figure_has_alt_text_and_a_caption(pages):
    problems = []
    figures = 0
    for name, page in pages.items():
        for fig in page.figures:
            for img in fig["img"]:  # type: ignore[union-attr]
                figures += 1
                if len(img.get("alt", "").strip()) < 20:
                    problems.append(f"{name}: figure {img.get('src')} without alt text")
                if len(str(fig["caption"]).strip()) < 40:
                    problems.append(f"{name}: figure {img.get('src')} without a caption")
        for tag, a in page.tags:
            if tag == "img" and "_images/" in a.get("src", "") and not a.get("alt", "").strip():
                problems.append(f"{name}: image {a['src']} without alt text")
    assert figures >= 3, f"expected the chapters' figures, found {figures}"
    assert not problems, "\n".join(problems)


def test_generated_pages_say_what_they_are(pages):
    roadmap = pages["roadmap"].article_text
    assert "In the future sections that will be written, we will focus on sections 5" in roadmap
    assert "Towards Monosemanticity" in roadmap and "Scaling Monosemanticity" in roadmap
    glossary = pages["glossary"]
    assert any(i.startswith("term-") for i in glossary.ids), "the glossary has no term anchors"
    report = pages["reproduction"].article_text
    assert "checked claims hold in this build" in report


def test_search_index_covers_the_chapters(html_dir):
    index = (html_dir / "searchindex.js").read_text(encoding="utf-8")
    for word in ("antipod", "superposit", "polysemant"):
        assert word in index, f"{word!r} is not in the search index"
