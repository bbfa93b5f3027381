"""The whole book as one PDF (``course build --pdf``): every page of the built
HTML book, in the order of its table of contents, printed by headless
Chromium and joined into ``OUT/book.pdf``.

Each page is served from 127.0.0.1 and printed once MathJax has typeset it;
every request for anything not on that server is refused, so printing loads
nothing from the network. Each ``<video>`` is swapped for its poster frame
(its text description, the figure's caption, stays under it), and
``book/_static/print.css`` hides the navigation.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

#: the file ``course build --pdf`` writes inside its --out folder
BOOK_PDF = "book.pdf"

#: how to get what printing needs
INSTALL_HINT = "install it with: bash scripts/setup.sh --pdf (Playwright and Chromium)"

#: where Chromium is looked for when $COURSE_CHROMIUM does not name it
_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: Chromium flags: no network of its own, no GPU (a headless server has none)
_CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: swaps each video for an <img> of its poster and waits until every image has loaded
_POSTERS_JS = """
async () => {
  for (const v of Array.from(document.querySelectorAll('video'))) {
    const img = document.createElement('img');
    img.className = 'course-video-poster';
    img.alt = '';
    if (v.getAttribute('poster')) img.src = v.getAttribute('poster');
    v.replaceWith(img);
  }
  await Promise.all(Array.from(document.images).map(i => i.complete ? null :
    new Promise(done => { i.addEventListener('load', done); i.addEventListener('error', done); })));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  if (document.fonts && document.fonts.ready) await document.fonts.ready;
}
"""


class PdfError(RuntimeError):
    """Printing failed or cannot start (Playwright, Chromium or pypdf is missing); the message says why."""


@dataclass
class Printed:
    """What :func:`write_book_pdf` wrote."""

    path: Path
    pages: list[str]
    #: page → the number of PDF pages it printed to
    page_counts: dict[str, int] = field(default_factory=dict)
    #: every request the browser tried to send off this machine (all refused)
    blocked: list[str] = field(default_factory=list)


def find_chromium() -> str:
    """The Chromium executable to print with; :class:`PdfError` (with
    how to install it) if Playwright, pypdf or Chromium is missing."""
    try:
        import playwright.sync_api  # noqa: F401
        import pypdf  # noqa: F401
    except ImportError as exc:
        raise PdfError(f"--pdf needs the Python package {exc.name}; {INSTALL_HINT}") from None
    named = os.environ.get("COURSE_CHROMIUM")
    if named:
        found = shutil.which(named) or (named if Path(named).is_file() else None)
        if not found:
            raise PdfError(f"--pdf: COURSE_CHROMIUM={named} is not a Chromium executable; {INSTALL_HINT}")
        return found
    for name in _CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise PdfError(f"--pdf needs Chromium, and none was found; {INSTALL_HINT} (or set COURSE_CHROMIUM)")


def page_order(html: Path) -> list[str]:
    """The book's pages (paths relative to ``html``) in table-of-contents
    order: the root page, then each page's ``rel="next"`` link in turn."""
    index = (html / "index.html").read_text(encoding="utf-8")
    m = re.search(r'url=([^"\s>]+)', index)
    first = m.group(1) if m else "index.html"
    pages: list[str] = []
    page = first
    while page and page not in pages and (html / page).is_file():
        pages.append(page)
        text = (html / page).read_text(encoding="utf-8")
        nxt = re.search(r'<link rel="next"[^>]*href="([^"#]+)"', text)
        page = os.path.normpath(os.path.join(os.path.dirname(page), nxt.group(1))).replace(os.sep, "/") if nxt else ""
    return pages


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A static file handler that does not log each request to stderr."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serve(root: Path, handler: type[http.server.SimpleHTTPRequestHandler] = QuietHandler) -> Iterator[str]:
    """Serve the folder ``root`` on 127.0.0.1 (a free port) with ``handler``;
    yields the base URL, without a trailing slash. The browser tests serve
    the book with it too."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _print_css() -> str:
    return resources.files("course_book").joinpath("_static", "print.css").read_text(encoding="utf-8")


def write_book_pdf(html: Path, pdf: Path, emit: Callable[[str], None] | None = None,
                   title: str | None = None) -> Printed:
    """Print every page of the built book in ``html`` and join them into
    ``pdf`` (written whole: a temporary file renamed into place).

    Raises :class:`PdfError` if Chromium cannot be started.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader, PdfWriter

    chromium = find_chromium()
    pages = page_order(html)
    if not pages:
        raise PdfError(f"no built book in {html}: run `course build` first")
    css = _print_css()
    parts = pdf.parent / f".{pdf.name}.parts"
    shutil.rmtree(parts, ignore_errors=True)
    parts.mkdir(parents=True)
    printed = Printed(pdf, pages)
    try:
        with serve(html) as root_url, sync_playwright() as p:
            base = root_url + "/"
            try:
                browser = p.chromium.launch(executable_path=chromium, args=_CHROMIUM_ARGS, headless=True)
            except PlaywrightError as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no reason given"
                raise PdfError(f"--pdf could not start Chromium ({chromium}): {first}; {INSTALL_HINT}") from None
            try:
                context = browser.new_context(service_workers="block")

                def route(r: Any) -> None:
                    if r.request.url.startswith(base) or r.request.url.startswith("data:"):
                        r.continue_()
                    else:
                        printed.blocked.append(r.request.url)
                        r.abort()

                context.route("**/*", route)
                tab = context.new_page()
                for i, name in enumerate(pages):
                    if emit:
                        emit(f"pdf: {name}")
                    try:
                        tab.goto(base + name, wait_until="load")
                        tab.add_style_tag(content=css)
                        tab.evaluate(_POSTERS_JS)
                        tab.pdf(path=str(parts / f"{i:04d}.pdf"), print_background=True, prefer_css_page_size=True)
                    except PlaywrightError as exc:
                        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no reason given"
                        raise PdfError(f"--pdf: printing {name} failed: {first}") from None
            finally:
                browser.close()
        writer = PdfWriter()
        for i, name in enumerate(pages):
            reader = PdfReader(str(parts / f"{i:04d}.pdf"))
            start = len(writer.pages)
            writer.append(reader)
            printed.page_counts[name] = len(writer.pages) - start
            heading = _title_of(html / name) or name
            writer.add_outline_item(title=heading, page_number=start)
        writer.add_metadata({"/Title": title or _title_of(html / pages[0]) or "The book"})
        tmp = pdf.with_name(f".{pdf.name}.tmp")
        with open(tmp, "wb") as fh:
            writer.write(fh)
        os.replace(tmp, pdf)
    finally:
        shutil.rmtree(parts, ignore_errors=True)
    return printed


def _title_of(page: Path) -> str:
    """A page's title (its first heading), from the HTML."""
    import html as html_mod

    text = page.read_text(encoding="utf-8")
    m = re.search(r"<h1[^>]*>(.*?)</h1>", text, re.S)
    if not m:
        return ""
    return html_mod.unescape(re.sub(r"<[^>]+>", "", m.group(1))).replace("#", "").strip()
