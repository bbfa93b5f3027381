"""``course build --pdf``: the whole book as one PDF, printed by headless
Chromium with every request off the machine refused, each video replaced by
its poster frame and its description.

The fast tests check the page order and the message when Chromium is
missing; the browser tests print a two-page book made here (with a request
for a remote image that must be refused) and the session's built book.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import pytest

from course import pdf as pdf_mod


def _squash(text: str) -> str:
    """Text to compare across PDF line breaks: ligatures undone, no whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return _squash("".join(p.extract_text() or "" for p in PdfReader(str(path)).pages))


def _page(title: str, body: str, nxt: str | None = None) -> str:
    link = f'<link rel="next" title="next" href="{nxt}" />' if nxt else ""
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>{link}</head>" \
           f"<body><h1>{title}<a class='headerlink' href='#'>#</a></h1>{body}</body></html>"


def _tiny_book(root: Path) -> Path:
    """A built book of two pages: the second has a video (poster + description)
    and an image that would come from another machine."""
    import matplotlib.pyplot as plt
    import numpy as np

    (root / "concepts").mkdir(parents=True)
    (root / "_static").mkdir()
    plt.imsave(root / "_static" / "poster.png", np.linspace(0, 1, 64 * 48).reshape(48, 64), cmap="viridis")
    (root / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=intro.html" />', encoding="utf-8")
    (root / "intro.html").write_text(_page("Opening page", "<p>Welcome to the book.</p>", "concepts/a.html"),
                                     encoding="utf-8")
    video = ('<figure class="course-video"><video controls poster="../_static/poster.png" '
             'aria-describedby="d"><source src="../_static/missing.mp4" type="video/mp4"></video>'
             '<figcaption id="d"><strong>Arrows spread out.</strong> What the video shows: five arrows '
             'turning in the plane until they form a pentagon.</figcaption></figure>'
             '<img alt="remote" src="http://example.invalid/remote.png">')
    (root / "concepts" / "a.html").write_text(_page("Chapter with a video", video), encoding="utf-8")
    return root


# --------------------------------------------------------------------------- fast


def test_page_order_follows_next_links_from_the_root(tmp_path: Path) -> None:
    html = _tiny_book(tmp_path / "html")
    assert pdf_mod.page_order(html) == ["intro.html", "concepts/a.html"]
    # a next link back to a printed page (a loop) ends the walk instead of printing forever
    (html / "concepts" / "a.html").write_text(_page("Loop", "", "../intro.html"), encoding="utf-8")
    assert pdf_mod.page_order(html) == ["intro.html", "concepts/a.html"]


def test_missing_chromium_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("playwright.sync_api")
    monkeypatch.delenv("COURSE_CHROMIUM", raising=False)
    monkeypatch.setattr(pdf_mod.shutil, "which", lambda name: None)
    with pytest.raises(pdf_mod.PdfError, match=r"setup\.sh --pdf"):
        pdf_mod.find_chromium()


def test_build_pdf_without_chromium_stops_before_any_work(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from course.cli.main import cli

    monkeypatch.setenv("COURSE_CHROMIUM", str(tmp_path / "no-such-chromium"))
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["build", "--quick", "--pdf", "--out", str(out)])
    assert res.exit_code == 1
    assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)
    assert "scripts/setup.sh --pdf" in res.output
    assert len(res.output.strip().splitlines()) == 1, res.output
    assert not out.exists()  # nothing was trained or built


def test_build_help_says_where_the_pdf_goes() -> None:
    from click.testing import CliRunner

    from course.cli.main import cli

    text = CliRunner().invoke(cli, ["build", "--help"]).output
    assert "--pdf" in text and "OUT/book.pdf" in text


# --------------------------------------------------------------------------- in a browser


def _need_chromium() -> None:
    try:
        pdf_mod.find_chromium()
    except pdf_mod.PdfError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.mark.browser
def test_tiny_book_prints_posters_descriptions_and_refuses_remote_requests(tmp_path: Path) -> None:
    _need_chromium()
    html = _tiny_book(tmp_path / "html")
    target = tmp_path / "out" / "book.pdf"
    target.parent.mkdir()
    printed = pdf_mod.write_book_pdf(html, target)
    assert target.is_file() and target.read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in target.parent.iterdir()) == ["book.pdf"]  # no temporary file left
    assert printed.pages == ["intro.html", "concepts/a.html"]
    # the remote image was asked for and refused: nothing left the machine
    assert printed.blocked == ["http://example.invalid/remote.png"]
    text = _pdf_text(target)
    assert _squash("Opening page") in text and _squash("Chapter with a video") in text
    assert _squash("five arrows turning in the plane until they form a pentagon") in text
    assert "#" not in text  # the heading's permalink is hidden

    from pypdf import PdfReader

    reader = PdfReader(str(target))
    # the poster frame is in the PDF as a picture (the video itself cannot be)
    assert any(page.images for page in reader.pages[printed.page_counts["intro.html"]:])
    assert [o.title for o in reader.outline] == ["Opening page", "Chapter with a video"]


@pytest.mark.slow
@pytest.mark.browser
def test_built_book_prints_every_chapter(built_book: Path, tmp_path: Path) -> None:
    _need_chromium()
    from pypdf import PdfReader

    target = tmp_path / "book.pdf"
    printed = pdf_mod.write_book_pdf(built_book, target)
    assert printed.blocked == []
    chapters = sorted(p.relative_to(built_book).as_posix() for p in (built_book / "concepts").glob("*.html"))
    assert chapters and set(chapters) <= set(printed.pages)
    reader = PdfReader(str(target))
    starts = [reader.get_destination_page_number(o) for o in reader.outline]
    # one outline entry per page of the book, each starting on a later PDF page: every page printed to at least one
    assert len(starts) == len(printed.pages) and starts == sorted(set(starts))
    assert len(reader.pages) > starts[-1]
    text = _pdf_text(target)
    page = (built_book / "concepts" / "superposition.html").read_text(encoding="utf-8")
    title = re.sub(r"<[^>]+>|#", "", re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1))
    assert _squash(title) in text
    description = re.search(r'<figure class="course-video">.*?<figcaption[^>]*>(.*?)</figcaption>', page, re.S)
    assert description, "the Superposition chapter has no video description"
    words = re.sub(r"<[^>]+>", "", description.group(1))
    import html as html_mod

    assert _squash(html_mod.unescape(words))[:200] in text


@pytest.mark.slow
@pytest.mark.browser
def test_course_build_pdf_writes_the_book_beside_the_html(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command a user types: `course build --pdf` (here with the test plugin and its video)."""
    _need_chromium()
    from click.testing import CliRunner

    from course.cli.main import cli

    monkeypatch.setenv("FAKE_VIDEO", "1")
    course = fake.load("alpha")
    res = CliRunner().invoke(cli, ["build", "--pdf", "--quiet", "--jobs", "1", "--out", str(fake.out)],
                             obj={"course": course})
    assert res.exit_code == 0, res.output
    target = fake.out / pdf_mod.BOOK_PDF
    assert res.stdout.strip().splitlines()[-1] == str(target)
    assert not list(fake.out.glob(".book.pdf*"))  # written whole, nothing left over
    text = _pdf_text(target)
    assert _squash("A square grows to the mean weight.") in text  # the video's description
