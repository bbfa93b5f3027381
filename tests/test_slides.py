"""``course slides``: the lecture deck, its handout, and the deck in a browser with no network.

The quick tests build decks from a small video made here with PyAV, and from
the test plugins of ``fakeplugins`` (a tiny Manim scene) through the real
``course`` script; the slow ones build the Superposition deck (and every
concept's, on quick settings) and present it in headless Chromium with every
request that is not to 127.0.0.1 blocked.
"""

from __future__ import annotations

import http.server
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import fakeplugins
import numpy as np
import pytest
from helpers import chromium, serve

from course import slides

COURSE = str(Path(sys.executable).with_name("course"))


def pdf_pages(path: Path) -> int:
    """The pages of a PDF that matplotlib wrote (its page objects are not compressed)."""
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", path.read_bytes()))


class _Deck(HTMLParser):
    """The slides of a deck's index.html and every file it names."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[dict[str, str]] = []
        self.notes: list[str] = []
        self.refs: list[str] = []
        self._in_notes = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "section":
            self.sections.append(a)
            self.notes.append("")
        if tag == "aside" and "notes" in a.get("class", ""):
            self._in_notes = True
        if tag == "video":
            self.sections[-1].update(video=a["data-src"], start=a["data-start"], end=a["data-end"], last=a["data-last"])
        for key in ("src", "href", "data-src", "poster"):
            if a.get(key):
                self.refs.append(a[key])

    def handle_endtag(self, tag: str) -> None:
        if tag == "aside":
            self._in_notes = False

    def handle_data(self, data: str) -> None:
        if self._in_notes:
            self.notes[-1] += data


def read_deck(index: Path) -> _Deck:
    parser = _Deck()
    parser.feed(index.read_text(encoding="utf-8"))
    return parser


def assert_self_contained(folder: Path, deck: _Deck) -> None:
    """Every file the deck and its styles name is inside ``folder``."""
    refs = list(deck.refs)
    for css in folder.rglob("*.css"):
        for url in re.findall(r"""url\(\s*['"]?([^'")]+)""", css.read_text(encoding="utf-8")):
            target = url.split("?")[0].split("#")[0]
            if url.startswith("data:"):
                continue  # inline
            refs.append(url if re.match(r"^[a-z]+:|//", url) else os.path.relpath(css.parent / target, folder))
    for ref in refs:
        assert not re.match(r"^[a-z]+:", ref) and not ref.startswith("//"), f"the deck loads {ref} from elsewhere"
        path = (folder / ref.split("#")[0]).resolve()
        assert path.is_relative_to(folder.resolve()) and path.is_file(), f"{ref} is not in the deck"


# --------------------------------------------------------------------------- a deck from a video made here


def make_video(path: Path, seconds: float = 3.0, fps: int = 10) -> Path:
    """An H.264 video whose frame k is grey level 8k (frame times are k / fps)."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for k in range(int(seconds * fps)):
            img = np.full((48, 64, 3), 8 * k, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_a_deck_cuts_the_video_at_the_cues_and_holds_everything_it_loads(tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4")
    steps = [slides.Step(0.0, 1.0, "First."), slides.Step(1.0, 2.2, "Second."), slides.Step(2.2, float("inf"), "Last.")]
    sec = slides.Section("alpha", "Alpha", "A grey ramp", "The frames get lighter.", video, steps, ["A claim (0.5)"])
    deck = slides.Deck("A test deck", "low", [sec])
    written = slides.write(deck, tmp_path / "deck", pdf=True)

    assert [(s.start, s.end, s.last) for s in steps] == [(0.0, 1.0, 0.9), (1.0, 2.2, 2.1), (2.2, 3.0, 2.9)]
    parsed = read_deck(written.index)
    assert len(parsed.sections) == written.slides == 4
    assert [s.get("start") for s in parsed.sections[1:]] == ["0", "1", "2.2"]
    assert parsed.sections[1]["video"] == "media/alpha-low.mp4#t=0,1"
    assert all(n.strip() for n in parsed.notes), "every slide has speaker notes"
    assert "Second." in parsed.notes[2] and "The frames get lighter." in parsed.notes[2] and "(0.5)" in parsed.notes[2]
    assert_self_contained(tmp_path / "deck", parsed)
    assert pdf_pages(written.handout) == written.slides

    from PIL import Image

    with (
        Image.open(tmp_path / "deck" / steps[1].frame) as end,
        Image.open(tmp_path / "deck" / steps[1].poster) as start,
    ):
        assert abs(end.getpixel((32, 24))[0] - 8 * 21) < 8  # the last frame of step 2 is frame 21
        assert abs(start.getpixel((32, 24))[0] - 8 * 10) < 8  # its first is frame 10

    # a deck of fewer steps removes the files of the old one, and the handout without --pdf
    sec.steps = [slides.Step(0.0, float("inf"), "All of it.")]
    again = slides.write(deck, tmp_path / "deck")
    assert again.slides == 2 and not (tmp_path / "deck" / "handout.pdf").exists()
    assert sorted(p.name for p in (tmp_path / "deck" / "media").iterdir()) == [
        "alpha-low-01-end.png",
        "alpha-low-01-start.png",
        "alpha-low.mp4",
    ]


def test_reveal_js_comes_from_an_installed_package() -> None:
    assert slides.reveal_version().startswith("5.")
    assert (slides.reveal_source() / "plugin" / "notes" / "notes.js").is_file()


# --------------------------------------------------------------------------- the command, on the test plugins


@pytest.fixture
def sub(tmp_path: Path):
    """The real `course` script seeing only the test plugins, which render a short video."""

    class Sub:
        log = tmp_path / "fake.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_")}
        env.update(fakeplugins.install(tmp_path / "site"))
        env.update(
            COURSE_CACHE_DIR=str(tmp_path / "cache"),
            FAKE_LOG=str(log),
            FAKE_VIDEO="1",
            FAKE_CONCEPTS="alpha,beta",
            OMP_NUM_THREADS="1",
        )

        @classmethod
        def run(cls, *args: str) -> subprocess.CompletedProcess:
            proc = subprocess.run([COURSE, *args], capture_output=True, text=True, env=cls.env, timeout=600)
            assert proc.returncode == 0, proc.stderr
            return proc

        @classmethod
        def renders(cls) -> list[str]:
            return [line for line in fakeplugins.logged(cls.log) if line.startswith("animation")]

    return Sub


def test_course_slides_all_reuses_the_renders_and_writes_a_handout(sub, tmp_path: Path) -> None:
    sub.run("render", "alpha", "--out", str(tmp_path / "media"), "--quiet")
    assert sub.renders() == ["animation alpha"]

    out = tmp_path / "deck"
    proc = sub.run("slides", "--all", "--out", str(out), "--pdf", "-j", "1")
    assert proc.stdout.splitlines() == [str(out / "index.html"), str(out / "handout.pdf")]
    assert sub.renders() == ["animation alpha", "animation beta"]  # alpha came from the cache
    deck = read_deck(out / "index.html")
    assert len(deck.sections) == 3  # the title, and one narration step each
    assert [s.get("data-concept") for s in deck.sections[1:]] == ["alpha", "beta"]
    assert all(n.strip() for n in deck.notes)
    assert "A square whose side is" in deck.notes[1]  # the narration
    assert "A square grows to the mean weight." in deck.notes[1]  # what the video shows
    assert "The mean lies in [0, 1]." in deck.notes[1]  # the claim, measured
    assert_self_contained(out, deck)
    assert pdf_pages(out / "handout.pdf") == 3

    again = sub.run("slides", "alpha", "beta", "--out", str(out))
    assert sub.renders() == ["animation alpha", "animation beta"]  # a deck of rendered concepts renders nothing
    assert "0 rebuilt" in again.stderr


def test_course_slides_needs_concepts_or_all(sub, tmp_path: Path) -> None:
    proc = subprocess.run(
        [COURSE, "slides", "--out", str(tmp_path / "d")], capture_output=True, text=True, env=sub.env, timeout=120
    )
    assert proc.returncode == 2 and "name a concept" in proc.stderr


# --------------------------------------------------------------------------- the Superposition deck in a browser


@pytest.fixture(scope="module")
def decks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`course slides superposition --out DIR --pdf` and `course slides --all --quick --out DIR2`, as typed."""
    out = tmp_path_factory.mktemp("slides")
    made = {}
    for name, args in {"superposition": ["superposition", "--pdf"], "all": ["--all", "--quick"]}.items():
        proc = subprocess.run(
            [COURSE, "slides", *args, "--out", str(out / name)], capture_output=True, text=True, timeout=1800
        )
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert proc.stdout.splitlines()[0] == str(out / name / "index.html")
        made[name] = out / name
    return made


@pytest.mark.slow
def test_the_superposition_deck_has_a_slide_per_narration_step_and_a_handout_page_per_slide(decks) -> None:
    folder = decks["superposition"]
    deck = read_deck(folder / "index.html")
    steps = deck.sections[1:]
    assert len(steps) >= 5
    assert all(s["data-concept"] == "superposition" for s in steps)
    for a, b in zip(steps, steps[1:], strict=False):
        assert a["end"] == b["start"]  # each step plays to where the next begins
    assert all(n.strip() for n in deck.notes)
    assert_self_contained(folder, deck)
    assert pdf_pages(folder / "handout.pdf") == len(deck.sections)


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Files with byte ranges (a browser seeks in a video only where its server
    answers ranges, as a file opened from disk does)."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def copyfile(self, source, outputfile) -> None:  # type: ignore[no-untyped-def]
        try:
            super().copyfile(source, outputfile)
        except (BrokenPipeError, ConnectionResetError):  # the browser stopped loading a video it no longer shows
            pass

    def send_head(self):  # type: ignore[no-untyped-def]
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if not m or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        start = int(m.group(1)) if m.group(1) else max(0, size - int(m.group(2) or 0))
        end = min(size - 1, int(m.group(2))) if m.group(1) and m.group(2) else size - 1
        if start >= size:
            self.send_error(416)
            return None
        fh = path.open("rb")
        fh.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return _Slice(fh, end - start + 1)


class _Slice:
    """The first ``n`` bytes of an open file, as ``copyfile`` reads them."""

    def __init__(self, fh, n: int) -> None:  # type: ignore[no-untyped-def]
        self.fh, self.left = fh, n

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        data = self.fh.read(size)
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.fh.close()


@pytest.fixture(scope="module")
def server(decks) -> Iterator[str]:
    with serve(next(iter(decks.values())).parent, _RangeHandler) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


#: the current slide: its notes, and what its video did (played from its
#: start, and paused at its end); videos run at 4x to keep the test short
_STEP = """
async () => {
  const slide = Reveal.getCurrentSlide();
  const out = {index: Reveal.getIndices().h, notes: Reveal.getSlideNotes(slide) || '', last: Reveal.isLastSlide()};
  const v = slide.querySelector('video');
  if (!v) return out;
  const wait = (cond, ms) => new Promise((resolve, reject) => {
    const t0 = performance.now();
    const tick = () => cond() ? resolve() : (performance.now() - t0 > ms ? reject(new Error('timeout')) : setTimeout(tick, 20));
    tick();
  });
  out.video = {start: +v.dataset.start, end: +v.dataset.end, last: +v.dataset.last};
  try {
    await wait(() => v.readyState >= 1, 20000);
    v.defaultPlaybackRate = 4; v.playbackRate = 4;
    let furthest = 0;
    await wait(() => { furthest = Math.max(furthest, v.currentTime); return v.dataset.state === 'done'; }, 30000);
    Object.assign(out.video, {state: v.dataset.state, at: v.currentTime, paused: v.paused, furthest: furthest,
                              duration: v.duration, width: v.videoWidth});
  } catch (e) { out.video.error = String(e) + ' (state ' + v.dataset.state + ', at ' + v.currentTime + ')'; }
  return out;
}
"""


def _present(browser, url: str, server: str) -> tuple[list[dict], list[str], list[str]]:
    """Open the deck with every request not to ``server`` blocked, step through
    every slide with the right arrow, and return (slides, requests that left
    the machine, failures)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    outside: list[str] = []
    failures: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith(server + "/") or r.request.url.startswith(("data:", "blob:", "about:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda exc: failures.append(f"script error {exc}"))

    def on_failed(req) -> None:
        # reveal.js unloads the videos of slides out of view, and the browser then aborts their loading
        if not (req.failure == "net::ERR_ABORTED" and req.resource_type == "media"):
            failures.append(f"request failed {req.url} ({req.failure})")

    page.on("requestfailed", on_failed)
    page.on("response", lambda resp: failures.append(f"HTTP {resp.status} {resp.url}") if resp.status >= 400 else None)
    page.goto(url, wait_until="load")
    page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=20000)
    total = page.evaluate("Reveal.getTotalSlides()")
    seen = []
    for _ in range(total):
        seen.append(page.evaluate(_STEP))
        page.keyboard.press("ArrowRight")
    # the speaker view: a window with the current slide's notes
    with page.expect_popup() as popup_info:
        page.keyboard.press("s")
    popup = popup_info.value
    popup.wait_for_selector(".speaker-controls-notes .value", timeout=20000)
    popup.wait_for_function(
        "document.querySelector('.speaker-controls-notes .value').textContent.trim().length > 0", timeout=20000
    )
    context.close()
    return seen, outside, failures


def _check_presented(seen: list[dict], outside: list[str], failures: list[str], total: int) -> None:
    assert len(seen) == total and seen[-1]["last"], "the right arrow reaches every slide"
    assert [s["index"] for s in seen] == list(range(total))
    problems = list(failures) + [f"a request left the machine: {u}" for u in outside]
    for s in seen:
        if not s["notes"].strip():
            problems.append(f"slide {s['index']} has no speaker notes")
        v = s.get("video")
        if s["index"] == 0:
            continue
        if v is None:
            problems.append(f"slide {s['index']} has no video")
        elif "error" in v:
            problems.append(f"slide {s['index']}: the video did not play to its end: {v['error']}")
        elif not (
            v["paused"]
            and v["width"] > 0
            and v["furthest"] > v["start"] + 0.05
            and v["last"] - 0.1 <= v["at"] <= v["end"] + 0.01
        ):
            problems.append(f"slide {s['index']}: the video did not play its part and stop there: {v}")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("name", ["superposition", "all"])
def test_the_deck_presents_offline_step_by_step(browser, server, decks, name: str) -> None:
    total = len(read_deck(decks[name] / "index.html").sections)
    seen, outside, failures = _present(browser, f"{server}/{name}/index.html", server)
    _check_presented(seen, outside, failures, total)
