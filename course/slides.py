"""A lecture deck from the rendered videos: ``course slides``.

The deck is one HTML page (reveal.js) in a folder that holds everything it
loads, so it presents from a laptop with no network::

    OUT/index.html          the deck: a title slide, then one slide per narration step
    OUT/deck.js, deck.css   what plays each slide's part of the video and stops it
    OUT/reveal/             reveal.js (its script, styles, fonts, speaker-notes plugin)
    OUT/media/              the videos and the still frames of each step
    OUT/handout.pdf         with --pdf: one page per slide, its frame, narration and notes

Each concept's video is cut at its narration cues: the slide of cue *i*
plays the video from that cue's start to the next cue's start (the last to
the end of the video) and pauses on the step's last frame. Its speaker notes
are the cue's narration (the plugin's words), what the video shows (the
video description, with this build's numbers) and the claims with what this
build measured. reveal.js comes from the ``sphinx-revealjs`` distribution,
which ships reveal.js's built files (a dependency of this package); nothing
is downloaded when a deck is written.
"""

from __future__ import annotations

import filecmp
import html
import json
import os
import re
import shutil
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from course import chapters, pipeline
from course.markup import QUALITY_LABELS
from course.plugins import PluginError, Registered
from course.words import WordsError

#: the folder of the deck that holds reveal.js, and the parts of reveal.js's
#: package copied into it (the built script and styles, the themes' fonts,
#: the speaker-notes plugin, the licence)
REVEAL_DIR = "reveal"
REVEAL_PARTS = (
    "LICENSE",
    "dist/reveal.js",
    "dist/reveal.css",
    "dist/reset.css",
    "dist/theme/black.css",
    "dist/theme/white.css",
    "dist/theme/fonts/source-sans-pro",
    "plugin/notes/notes.js",
)
MEDIA_DIR = "media"
HANDOUT = "handout.pdf"
#: the file listing what the last deck written into a folder wrote there
#: (a new deck removes what the old one had and it has not)
MANIFEST = ".course-slides.json"
#: the widest still frame kept (posters and handout pictures), in pixels
FRAME_WIDTH = 1280


# --------------------------------------------------------------------------- what a deck holds


@dataclass
class Step:
    """One slide of a concept: a part of its video and what the lecturer says."""

    start: float  # seconds into the video
    end: float  # where the next step starts (the video's end for the last)
    narration: str
    last: float = 0.0  # the time of the step's last frame (where it pauses)
    poster: str = ""  # the frame at ``start`` (relative to the deck folder)
    frame: str = ""  # the step's last frame


@dataclass
class Section:
    """One concept's part of the deck."""

    slug: str
    title: str  # the concept's
    video_title: str
    description: str  # what the video shows, with this build's numbers
    video: Path  # the rendered video (in the cache)
    steps: list[Step]
    measured: list[str] = field(default_factory=list)  # "statement: measured" per claim

    @property
    def notes(self) -> list[str]:
        """What every slide of this section adds under its narration."""
        out = [f"What the video shows: {self.description}"] if self.description else []
        if self.measured:
            out.append("Measured in this build: " + " · ".join(self.measured))
        return out


@dataclass
class Deck:
    title: str
    quality: str
    sections: list[Section]
    background: str = "#000000"  # the videos' background, sampled from their first frame

    @property
    def slides(self) -> int:
        """How many slides the deck has: the title slide and one per step."""
        return 1 + sum(len(s.steps) for s in self.sections)

    def title_notes(self) -> list[str]:
        label = QUALITY_LABELS.get(self.quality, self.quality)
        lines = [f"{len(self.sections)} concept(s), {self.slides - 1} steps, videos at {label}."]
        lines += [f"{s.title}: {len(s.steps)} steps. {s.video_title}." for s in self.sections]
        lines.append(KEYS)
        return lines


KEYS = (
    "Keys: → or Space the next step, ← the one before, R plays the step again, "
    "S the speaker view (notes, timer, next slide), F full screen, Esc the overview."
)


def _say(reg: Registered, what: str, fn: Any, *args: Any, **kwargs: Any) -> str:
    try:
        return fn(*args, **kwargs)
    except WordsError as exc:
        raise PluginError(reg.plugin.name, f"{reg.concept.slug}.words ({what})", str(exc)) from exc


def section(reg: Registered, art: pipeline.Artifacts) -> Section:
    """The slides of one rendered concept: its narration cues with their words.

    Words come from the plugin as in the book (:func:`course.chapters.describe`
    checks the video's title, description and captions against the contract).
    """
    if art.video is None:
        raise ValueError(f"concept {art.slug!r} has no video")
    c = reg.concept
    described = chapters.describe(reg, art.metrics, [], art.animation, art.timeline, True)
    words = pipeline.stage(reg, "words", c.words)
    ctx = c.words_context(art.metrics)
    cues = sorted(art.timeline, key=lambda cue: float(cue[0]))
    steps = []
    for i, (start, _end, text) in enumerate(cues):
        begin = 0.0 if i == 0 else float(start)
        end = float(cues[i + 1][0]) if i + 1 < len(cues) else float("inf")
        steps.append(Step(begin, end, _say(reg, "narration", words.narration, text, **ctx)))
    if not steps:
        steps = [Step(0.0, float("inf"), described.description)]
    measured = [f"{cl.statement} ({cl.measured})" for cl in chapters.claims_of(reg, art.metrics)]
    return Section(c.slug, c.title, described.title, described.description, art.video.video, steps, measured)


# --------------------------------------------------------------------------- frames


def _hex(rgb: Sequence[int]) -> str:
    return "#" + "".join(f"{int(v):02x}" for v in rgb[:3])


def _save(frame: Any, path: Path) -> None:
    image = frame.to_image()
    if image.width > FRAME_WIDTH:
        image = image.resize((FRAME_WIDTH, round(image.height * FRAME_WIDTH / image.width)))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def extract_frames(video: Path, steps: list[Step], folder: Path, stem: str) -> str:
    """Write each step's first and last frame as PNGs ``folder/STEM-NN-start.png``
    and ``-end.png`` (one pass through the video with PyAV), set the steps'
    ``poster``, ``frame``, ``last`` and the last step's ``end`` (the video's
    length), and return the colour of the first frame's corner (the videos'
    background)."""
    import av

    first: list[Any] = [None] * len(steps)
    last: list[Any] = [None] * len(steps)
    last_time = [0.0] * len(steps)
    duration = 0.0
    corner = (0, 0, 0)
    eps = 1e-3
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 15)
        for n, frame in enumerate(container.decode(stream)):
            t = float(frame.time) if frame.time is not None else n / rate
            if n == 0:
                corner = frame.to_ndarray(format="rgb24")[1, 1]
            duration = max(duration, t + 1 / rate)
            for i, s in enumerate(steps):
                if first[i] is None and t >= s.start - eps:
                    first[i] = frame
                if t < s.end - eps and t >= s.start - eps:
                    last[i], last_time[i] = frame, t
    if duration == 0.0:
        raise RuntimeError(f"{video} has no frames")
    for i, s in enumerate(steps):
        if s.end == float("inf") or s.end > duration:
            s.end = round(duration, 3)
        if first[i] is None or last[i] is None:  # a cue past the video's end: show its last frame
            if first[i] is None:
                first[i] = last[max(0, i - 1)]
            last[i] = first[i]
            last_time[i] = max(0.0, duration - 1 / rate)
        s.last = round(last_time[i], 4)
        start_png, end_png = folder / f"{stem}-{i + 1:02d}-start.png", folder / f"{stem}-{i + 1:02d}-end.png"
        _save(first[i], start_png)
        _save(last[i], end_png)
        s.poster = f"{MEDIA_DIR}/{start_png.name}"
        s.frame = f"{MEDIA_DIR}/{end_png.name}"
    return _hex(corner)


# --------------------------------------------------------------------------- reveal.js


def reveal_source() -> Path:
    """The folder of reveal.js's built files (from the ``sphinx-revealjs`` distribution)."""
    try:
        root = resources.files("sphinx_revealjs") / "_static" / "revealjs"
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            "reveal.js is missing: install the 'sphinx-revealjs' package (a dependency of superposition-course)"
        ) from exc
    path = Path(str(root))
    if not (path / "dist" / "reveal.js").is_file():
        raise RuntimeError(f"reveal.js at {path} has no dist/reveal.js; reinstall sphinx-revealjs")
    return path


def reveal_version() -> str:
    head = (reveal_source() / "dist" / "reveal.js").read_text(encoding="utf-8")[:200]
    m = re.search(r"reveal\.js (\d[\w.-]*)", head)
    return m.group(1) if m else "?"


def _reveal_files() -> list[tuple[Path, str]]:
    """(source file, path in the deck) for every part of reveal.js a deck carries."""
    src = reveal_source()
    out = []
    for part in REVEAL_PARTS:
        p = src / part
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        out += [(f, f"{REVEAL_DIR}/{f.relative_to(src).as_posix()}") for f in files]
    return out


# --------------------------------------------------------------------------- the page


def _luminance(color: str) -> float:
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _notes(lines: Iterable[str]) -> str:
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines if line)


def _seconds(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".") or "0"


def page(deck: Deck, videos: dict[str, str]) -> str:
    """The deck's ``index.html``; ``videos`` maps a section's slug to its video's path in the deck."""
    dark = _luminance(deck.background) < 0.5
    theme = "black" if dark else "white"
    slides = [
        f'<section class="title-slide" data-background-color="{deck.background}">\n'
        f"<h1>{html.escape(deck.title)}</h1>\n"
        '<ol class="contents">'
        + "".join(f"<li>{html.escape(s.title)}: {len(s.steps)} steps</li>" for s in deck.sections)
        + "</ol>\n"
        f'<p class="keys">{html.escape(KEYS)}</p>\n'
        f'<aside class="notes">{_notes(deck.title_notes())}</aside>\n'
        "</section>"
    ]
    for sec in deck.sections:
        src = videos[sec.slug]
        n = len(sec.steps)
        for i, st in enumerate(sec.steps, 1):
            heading = (
                f"<h2>{html.escape(sec.title)}</h2>" if i == 1 else f'<p class="concept">{html.escape(sec.title)}</p>'
            )
            slides.append(
                f'<section class="step" data-concept="{html.escape(sec.slug)}" data-step="{i}" '
                f'data-background-color="{deck.background}">\n'
                f'<header>{heading}<span class="count">step {i} of {n}</span></header>\n'
                f'<video class="step-video" data-src="{html.escape(src)}#t={_seconds(st.start)},{_seconds(st.end)}" '
                f'data-start="{_seconds(st.start)}" data-end="{_seconds(st.end)}" data-last="{_seconds(st.last)}" '
                f'poster="{html.escape(st.poster)}" muted playsinline preload="auto" '
                f'aria-label="{html.escape(sec.video_title)}, step {i} of {n}"></video>\n'
                f'<p class="narration">{html.escape(st.narration)}</p>\n'
                f'<aside class="notes">{_notes([st.narration, *sec.notes])}</aside>\n'
                "</section>"
            )
    body = "\n".join(slides)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(deck.title)}</title>
<link rel="stylesheet" href="{REVEAL_DIR}/dist/reset.css">
<link rel="stylesheet" href="{REVEAL_DIR}/dist/reveal.css">
<link rel="stylesheet" href="{REVEAL_DIR}/dist/theme/{theme}.css">
<link rel="stylesheet" href="deck.css">
</head>
<body>
<div class="reveal"><div class="slides">
{body}
</div></div>
<script src="{REVEAL_DIR}/dist/reveal.js"></script>
<script src="{REVEAL_DIR}/plugin/notes/notes.js"></script>
<script src="deck.js"></script>
</body>
</html>
"""


DECK_CSS = """\
.reveal .slides section.step { height: 100%; padding: 0; }
.reveal section.step header { display: flex; justify-content: space-between; align-items: baseline;
  margin: 0 0 0.3em 0; font-size: 0.55em; opacity: 0.85; }
.reveal section.step header h2 { font-size: 1.6em; margin: 0; text-transform: none; }
.reveal section.step header .concept { margin: 0; font-size: 1.2em; }
.reveal section.step header .count { font-size: 0.9em; opacity: 0.7; }
.reveal video.step-video { display: block; width: 100%; max-height: 78%; margin: 0 auto; cursor: pointer; }
.reveal p.narration { font-size: 0.55em; line-height: 1.35; margin: 0.5em 0 0 0; opacity: 0.9; }
.reveal .title-slide h1 { text-transform: none; font-size: 2.2em; }
.reveal .title-slide ol.contents { font-size: 0.7em; }
.reveal .title-slide p.keys { font-size: 0.45em; opacity: 0.7; }
"""

# Each step's video plays from data-start and pauses on its last frame
# (data-last) once it reaches data-end; R or a click plays it again. A video
# reports what it did in data-state: "playing", then "done".
DECK_JS = """\
(function () {
  'use strict';
  var EPS = 0.02;
  function num(v, name) { return parseFloat(v.getAttribute('data-' + name)); }
  function watch(v) {
    var end = num(v, 'end'), last = num(v, 'last');
    var tick = function () {
      if (v.getAttribute('data-state') !== 'playing') return;
      if (v.currentTime >= end - EPS || v.ended) {
        v.pause();
        v.currentTime = Math.min(last + 0.001, end);
        v.setAttribute('data-state', 'done');
        return;
      }
      window.requestAnimationFrame(tick);
    };
    window.requestAnimationFrame(tick);
  }
  function play(v) {
    if (!v) return;
    var go = function () {
      v.currentTime = num(v, 'start');
      v.setAttribute('data-state', 'playing');
      var p = v.play();
      if (p && p.catch) p.catch(function (e) { v.setAttribute('data-state', 'blocked'); });
      watch(v);
    };
    if (v.readyState >= 1) go(); else v.addEventListener('loadedmetadata', go, {once: true});
  }
  function current() {
    var s = Reveal.getCurrentSlide();
    return s ? s.querySelector('video.step-video') : null;
  }
  Reveal.initialize({
    hash: true,
    width: 1280,
    height: 800,
    margin: 0.03,
    transition: 'none',
    autoPlayMedia: false,
    viewDistance: 2,
    plugins: [RevealNotes],
    keyboard: { 82: function () { play(current()); } }
  });
  Reveal.on('ready', function () { play(current()); });
  Reveal.on('slidechanged', function () { play(current()); });
  document.addEventListener('click', function (e) {
    if (e.target && e.target.matches && e.target.matches('video.step-video')) play(e.target);
  });
})();
"""


# --------------------------------------------------------------------------- writing a deck


@dataclass
class Written:
    """What :func:`write` put into the deck folder."""

    index: Path
    slides: int
    files: list[str]
    handout: Path | None = None


def _replace(dest: Path, write: Any) -> None:
    """Write ``dest`` through a temporary file and one rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _copy(src: Path, dest: Path) -> None:
    if dest.is_file() and filecmp.cmp(src, dest, shallow=False):
        return
    _replace(dest, lambda tmp: shutil.copyfile(src, tmp))


def _text(dest: Path, text: str) -> None:
    if dest.is_file() and dest.read_text(encoding="utf-8") == text:
        return
    _replace(dest, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _previous(out: Path) -> list[str]:
    try:
        files = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]
        return [f for f in files if isinstance(f, str)]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def plan(items: Sequence[tuple[Registered, pipeline.Artifacts]], quality: str, title: str) -> Deck:
    """The deck of these rendered concepts (words only; no file is written)."""
    return Deck(title, quality, [section(reg, art) for reg, art in items])


def write(deck: Deck, out: Path, pdf: bool = False) -> Written:
    """Write ``deck`` into ``out`` (see the module's docstring); with ``pdf``,
    the handout too. Files a previous deck wrote there and this one has not
    are removed; the page is written last, so a deck whose ``index.html``
    exists has every file it names."""
    out = Path(out)
    media = out / MEDIA_DIR
    files: list[str] = []
    videos: dict[str, str] = {}
    for i, sec in enumerate(deck.sections):
        stem = f"{sec.slug}-{deck.quality}"
        name = f"{stem}{sec.video.suffix}"
        _copy(sec.video, media / name)
        videos[sec.slug] = f"{MEDIA_DIR}/{name}"
        files.append(videos[sec.slug])
        background = extract_frames(sec.video, sec.steps, media, stem)
        if i == 0:
            deck.background = background
        files += [p for st in sec.steps for p in (st.poster, st.frame)]
    for src, rel in _reveal_files():
        _copy(src, out / rel)
        files.append(rel)
    _text(out / "deck.css", DECK_CSS)
    _text(out / "deck.js", DECK_JS)
    files += ["deck.css", "deck.js"]
    handout = None
    if pdf:
        handout = out / HANDOUT
        _replace(handout, lambda tmp: write_handout(deck, out, tmp))
        files.append(HANDOUT)
    files.append("index.html")
    for old in set(_previous(out)) - set(files):
        p = out / old
        if ".." not in Path(old).parts and p.is_file():
            p.unlink()
    _text(out / MANIFEST, json.dumps({"files": sorted(files)}, indent=1))
    _text(out / "index.html", page(deck, videos))
    return Written(out / "index.html", deck.slides, files, handout)


# --------------------------------------------------------------------------- the handout


def _wrapped(text: str, size: float, width_in: float) -> list[str]:
    chars = max(20, int(width_in * 72 / (size * 0.55)))
    return textwrap.wrap(" ".join(text.split()), chars) or [""]


def _text_block(fig: Any, paragraphs: list[tuple[str, bool]], top: float, bottom: float, size: float) -> None:
    """Write ``paragraphs`` ((text, bold)) from ``top`` down to ``bottom`` (figure
    fractions), shrinking the type until they fit."""
    width_in, height_in = fig.get_size_inches()
    text_width = width_in * 0.9
    while True:
        lines = [(_wrapped(t, size, text_width), bold) for t, bold in paragraphs]
        needed = sum(len(ls) + 0.6 for ls, _ in lines) * size * 1.35 / 72 / height_in
        if needed <= top - bottom or size <= 5:
            break
        size -= 0.5
    y = top
    step = size * 1.35 / 72 / height_in
    for ls, bold in lines:
        for line in ls:
            fig.text(0.05, y, line, fontsize=size, weight="bold" if bold else "normal", va="top", parse_math=False)
            y -= step
        y -= 0.6 * step


def write_handout(deck: Deck, root: Path, pdf: Path) -> Path:
    """A PDF with one page per slide: the title page, then for each step its
    last frame, its narration and its speaker notes (matplotlib's PDF backend)."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure
    from PIL import Image

    size = (11.69, 8.27)  # A4 landscape
    label = QUALITY_LABELS.get(deck.quality, deck.quality)
    with PdfPages(pdf, metadata={"Title": deck.title, "Subject": "Handout of the slides"}) as pages:
        fig = Figure(figsize=size)
        fig.text(0.05, 0.9, deck.title, fontsize=24, weight="bold", va="top", parse_math=False)
        _text_block(
            fig,
            [(f"Handout: one page per slide; videos at {label}.", False)]
            + [
                (f"{i}. {s.title} ({len(s.steps)} steps): {s.video_title}", False)
                for i, s in enumerate(deck.sections, 1)
            ],
            0.78,
            0.05,
            12,
        )
        pages.savefig(fig)
        for sec in deck.sections:
            n = len(sec.steps)
            for i, st in enumerate(sec.steps, 1):
                fig = Figure(figsize=size)
                fig.text(
                    0.05,
                    0.965,
                    f"{sec.title} · step {i} of {n}",
                    fontsize=14,
                    weight="bold",
                    va="top",
                    parse_math=False,
                )
                fig.text(
                    0.95,
                    0.965,
                    f"{_seconds(st.start)}–{_seconds(st.end)} s",
                    fontsize=10,
                    ha="right",
                    va="top",
                    parse_math=False,
                )
                with Image.open(root / st.frame) as im:
                    pixels = im.convert("RGB")
                aspect = pixels.height / pixels.width
                h = 0.58
                w = h * size[1] / size[0] / aspect
                ax = fig.add_axes((0.5 - w / 2, 0.36, w, h))
                ax.imshow(pixels)
                ax.set_axis_off()
                _text_block(fig, [(st.narration, True), *[(note, False) for note in sec.notes]], 0.33, 0.02, 11)
                pages.savefig(fig)
    return pdf
