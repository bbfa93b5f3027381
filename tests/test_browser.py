"""The built book in a real browser: Debian's chromium, headless, driven by Playwright.

The book is served over HTTP on 127.0.0.1 (a thread with :mod:`http.server`).
Every page is opened; every video must load its metadata, play, and load a
captions track with cues; every image must load; nothing the page requests may
fail; equations must be typeset; and Sphinx's search must find a chapter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import QuietHandler, chromium, serve

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SKIP_DIRS = {"_static", "_sources", "_images"}
#: a word from a concept chapter that Sphinx's search must find
SEARCH_TERM = "antipodal"


@pytest.fixture(scope="module")
def server(built_book: Path) -> Iterator[str]:
    with serve(built_book, QuietHandler) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


def _page_names(html_dir: Path) -> list[str]:
    names = []
    for p in sorted(html_dir.rglob("*.html")):
        rel = p.relative_to(html_dir)
        if rel.parts[0] not in SKIP_DIRS:
            names.append(rel.as_posix())
    return names


_IMAGES_LOADED = """
async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(img => img.complete ? null :
    new Promise(r => { img.addEventListener('load', r); img.addEventListener('error', r); })));
  return imgs.map(img => ({src: img.currentSrc || img.src, ok: img.complete && img.naturalWidth > 0}));
}
"""

_VIDEOS_PLAY = """
async () => {
  const wait = (cond, ms) => new Promise((resolve, reject) => {
    const t0 = performance.now();
    const tick = () => cond() ? resolve() : (performance.now() - t0 > ms ? reject(new Error('timeout')) : setTimeout(tick, 50));
    tick();
  });
  const out = [];
  for (const v of Array.from(document.querySelectorAll('video'))) {
    const r = {src: v.currentSrc || (v.querySelector('source') || {}).src, poster: v.poster};
    try {
      v.muted = true;
      await wait(() => v.readyState >= 1, 20000);
      r.duration = v.duration;
      await v.play();
      await wait(() => v.currentTime > 0.3, 20000);
      r.played = v.currentTime;
      v.pause();
    } catch (e) { r.error = String(e); }
    const track = v.querySelector('track');
    if (track) {
      track.track.mode = 'showing';
      try {
        await wait(() => track.readyState === 2 || track.readyState === 3, 20000);
      } catch (e) { r.trackError = String(e); }
      r.trackState = track.readyState;
      r.cues = track.track.cues ? track.track.cues.length : 0;
    }
    out.push(r);
  }
  return out;
}
"""


def test_every_page_loads_with_its_images_videos_and_captions(browser, server, built_book):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    failures: list[str] = []
    current = {"name": ""}

    def on_failed(request):
        failures.append(f"{current['name']}: request failed {request.url} ({request.failure})")

    def on_response(response):
        if response.url.startswith(server) and response.status >= 400:
            failures.append(f"{current['name']}: HTTP {response.status} for {response.url}")

    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    page.on("pageerror", lambda exc: failures.append(f"{current['name']}: script error {exc}"))

    videos_seen = images_seen = 0
    for name in _page_names(built_book):
        current["name"] = name
        page.goto(f"{server}/{name}", wait_until="networkidle")  # index.html redirects to the intro
        for img in page.evaluate(_IMAGES_LOADED):
            images_seen += 1
            if not img["ok"]:
                failures.append(f"{name}: image did not load: {img['src']}")
        for v in page.evaluate(_VIDEOS_PLAY):
            videos_seen += 1
            if "error" in v or not v.get("duration", 0) > 0:
                failures.append(f"{name}: video {v['src']} did not load or play: {v.get('error')}")
            if not v.get("poster"):
                failures.append(f"{name}: video {v['src']} has no poster")
            if v.get("trackState") != 2 or not v.get("cues"):
                failures.append(f"{name}: captions of {v['src']} did not load (state {v.get('trackState')}, {v.get('cues')} cues)")
    page.close()
    assert videos_seen >= 2, f"expected the chapters' videos, saw {videos_seen}"
    assert images_seen >= 3, f"expected the chapters' figures, saw {images_seen}"
    assert not failures, "\n".join(failures)


def test_equations_are_typeset_offline(browser, server):
    page = browser.new_page()
    page.goto(f"{server}/concepts/features-as-directions.html", wait_until="load")
    page.wait_for_selector("mjx-container", timeout=20000)
    assert page.locator("mjx-container").count() >= 1
    page.close()


def test_search_finds_a_term_from_a_chapter(browser, server):
    page = browser.new_page()
    page.goto(f"{server}/search.html?q={SEARCH_TERM}", wait_until="load")
    page.wait_for_selector("ul.search li a", timeout=30000)
    hrefs = page.eval_on_selector_all("ul.search li a", "els => els.map(e => e.getAttribute('href'))")
    page.close()
    assert any(h and h.startswith("concepts/") for h in hrefs), f"no chapter among the results: {hrefs}"
