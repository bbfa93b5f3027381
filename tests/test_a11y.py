"""An axe-core accessibility scan of every page of the built book, in the same
headless Chromium as the browser tests (axe-playwright-python ships axe.min.js
inside the package, so nothing is fetched; every request that is not to the
local server is blocked and fails the test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import QuietHandler, chromium, serve

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SKIP_DIRS = {"_static", "_sources", "_images"}


@pytest.fixture(scope="module")
def server(built_book: Path) -> Iterator[str]:
    with serve(built_book, QuietHandler) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


def _pages(html_dir: Path) -> list[str]:
    return [p.relative_to(html_dir).as_posix() for p in sorted(html_dir.rglob("*.html"))
            if p.relative_to(html_dir).parts[0] not in SKIP_DIRS and p.name not in ("genindex.html", "search.html")]


def _scan(page, url: str) -> list[dict]:
    axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright")
    page.goto(url, wait_until="networkidle")
    return axe_sync.Axe().run(page).response["violations"]


def _describe(name: str, violations: list[dict]) -> list[str]:
    out = []
    for v in violations:
        where = "; ".join(" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                          for n in v["nodes"][:3])
        out.append(f"{name}: {v['id']} ({v['impact']}, {len(v['nodes'])} element(s)): {v['help']} at {where}")
    return out


def test_every_page_passes_an_axe_core_scan_offline(browser, server, built_book):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def only_local(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    found: list[str] = []
    names = _pages(built_book)
    for name in names:
        found += _describe(name, _scan(page, f"{server}/{name}"))
    page.close()
    assert len(names) >= 10, names
    assert not outside, f"pages asked for files outside the book: {outside}"
    assert not found, "\n".join(found)


def test_the_scan_finds_a_violation_it_is_shown(browser, server, built_book):
    # negative control: an image without alt text and a table with an empty
    # header cell, added to a real page, are reported
    page = browser.new_page()
    page.goto(f"{server}/{_pages(built_book)[0]}", wait_until="networkidle")
    page.evaluate("""() => {
      const main = document.querySelector('main') || document.body;
      const img = document.createElement('img'); img.src = '_static/course.css'; main.appendChild(img);
      const t = document.createElement('table'); t.innerHTML = '<thead><tr><th></th><th>x</th></tr></thead>'
        + '<tbody><tr><td>1</td><td>2</td></tr></tbody>'; main.appendChild(t);
    }""")
    axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright")
    ids = {v["id"] for v in axe_sync.Axe().run(page).response["violations"]}
    page.close()
    assert {"image-alt", "empty-table-header"} <= ids, ids
