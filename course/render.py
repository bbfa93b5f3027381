"""The one module that talks to Manim's configuration and renderer.

Each render runs inside its own ``tempconfig`` with its own ``output_file``
and a private media folder; the finished video, its poster frame (PNG) and
its captions (WebVTT, from the scene's subcaptions) are moved into place only
when complete, so an interrupted render leaves nothing half-written.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course.concept import Animation

#: quality presets a user can name, mapped to Manim's names
QUALITIES: dict[str, str] = {
    "low": "low_quality",  # 480p15
    "medium": "medium_quality",  # 720p30
    "high": "high_quality",  # 1080p60
    "production": "production_quality",  # 1440p60
    "4k": "fourk_quality",  # 2160p60
}
FORMATS = ("mp4", "webm", "gif")
#: video themes (``course_animations.palette.THEMES``): light is white like the figures
THEMES = ("light", "dark")


@dataclass
class Rendered:
    """The files one render produced."""

    video: Path
    poster: Path
    captions: Path | None


def _config(media_dir: Path, name: str, quality: str, fmt: str, **extra: Any) -> dict[str, Any]:
    """Manim's settings for one render, in the current theme (see :func:`themed`)."""
    from course_animations import palette

    if quality not in QUALITIES:
        raise ValueError(f"invalid quality {quality!r}; choose one of {', '.join(QUALITIES)}")
    if fmt not in FORMATS:
        raise ValueError(f"invalid format {fmt!r}; choose one of {', '.join(FORMATS)}")
    cfg = {
        "quality": QUALITIES[quality],
        "media_dir": str(media_dir),
        "output_file": name,
        "disable_caching": True,
        "verbosity": "ERROR",
        "progress_bar": "none",
        "background_color": palette.theme().background,
        "format": fmt,
        "write_to_movie": True,
        "save_last_frame": False,
    }
    cfg.update(extra)
    return cfg


@contextmanager
def themed(theme: str | None) -> Iterator[None]:
    """Construct and render scenes in video theme ``theme`` (None: the current
    one, ``$COURSE_THEME`` or dark) inside the block: the scenes' colours, the
    background, and the colour of anything drawn without one."""
    from manim import Mobject

    from course_animations import palette

    with palette.use_theme(theme) as current:
        init = Mobject.__init__
        Mobject.set_default(color=current.foreground)
        try:
            yield
        finally:
            Mobject.__init__ = init  # type: ignore[method-assign]


@contextmanager
def shared_svg_paths() -> Iterator[None]:
    """Inside the block, a copy of a glyph shares the parsed SVG path it was
    drawn from instead of deep-copying it.

    Manim copies whatever it animates (Transform, FadeIn, Create, and every
    copy of a typeset label), and a copy of text deep-copies each glyph's
    ``path_obj``, the svgelements path its points were made from: nine tenths
    of copying a label, and a fifth of the course's render time. The path is
    read once, when the glyph is made (``generate_points``), and never
    changed after, so sharing it changes no frame.
    """
    from manim.mobject.svg.svg_mobject import VMobjectFromSVGPath

    own = VMobjectFromSVGPath.__dict__.get("__deepcopy__")
    if getattr(own, "_shares_path", False):  # already inside such a block
        yield
        return
    inherited = VMobjectFromSVGPath.__deepcopy__

    def __deepcopy__(self: Any, memo: dict[int, Any]) -> Any:
        path = self.__dict__.get("path_obj")
        if path is not None:
            memo.setdefault(id(path), path)
        return inherited(self, memo)

    __deepcopy__._shares_path = True  # type: ignore[attr-defined]
    VMobjectFromSVGPath.__deepcopy__ = __deepcopy__  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        if own is None:
            del VMobjectFromSVGPath.__deepcopy__
        else:
            VMobjectFromSVGPath.__deepcopy__ = own  # type: ignore[method-assign]


def _silence_manim() -> None:
    import logging

    logging.getLogger("manim").setLevel(logging.ERROR)


def render(
    animation: Animation,
    out_dir: Path,
    name: str,
    quality: str = "low",
    fmt: str = "mp4",
    progress: Callable[[float], None] | None = None,
    theme: str | None = None,
) -> Rendered:
    """Render ``animation`` to ``out_dir/name.{fmt}`` with poster and captions,
    in video theme ``theme`` (:data:`THEMES`; None: ``$COURSE_THEME`` or dark).

    ``progress`` is called after each ``play``/``wait`` of the scene with the
    seconds of video rendered so far.
    """
    from manim import tempconfig

    _silence_manim()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".render-{name}-", dir=out_dir) as tmp:
        media = Path(tmp)
        with themed(theme), shared_svg_paths(), tempconfig(_config(media, name, quality, fmt)):
            scene = animation.scene()
            if progress is not None:
                _report_plays(scene, progress)
            scene.render()
            movie = Path(scene.renderer.file_writer.movie_file_path)
        if not movie.exists():
            raise RuntimeError(f"Manim finished without writing {movie.name}")
        poster_tmp = media / f"{name}.poster.png"
        save_last_frame(movie, poster_tmp)
        srt = movie.with_suffix(".srt")
        vtt_tmp = None
        if srt.exists() and srt.read_text(encoding="utf-8").strip():
            vtt_tmp = media / f"{name}.vtt"
            vtt_tmp.write_text(srt_to_vtt(srt.read_text(encoding="utf-8")), encoding="utf-8")
        video = out_dir / f"{name}.{fmt}"
        poster = out_dir / f"{name}.png"
        captions = out_dir / f"{name}.vtt" if vtt_tmp else None
        # poster and captions first, video last: a video present means all are
        shutil.move(poster_tmp, poster)
        if vtt_tmp and captions:
            shutil.move(vtt_tmp, captions)
        shutil.move(movie, video)
    return Rendered(video, poster, captions)


def _report_plays(scene: Any, progress: Callable[[float], None]) -> None:
    """Call ``progress(seconds rendered)`` after each of ``scene``'s plays
    (``Scene.wait`` goes through ``play`` too)."""
    play = scene.play

    def reporting_play(*args: Any, **kwargs: Any) -> Any:
        out = play(*args, **kwargs)
        progress(float(scene.renderer.time))
        return out

    scene.play = reporting_play


def construct(animation: Animation, quality: str = "low", theme: str | None = None) -> Any:
    """Build the scene and play it without writing a video (a dry run), in
    video theme ``theme`` (None: ``$COURSE_THEME`` or dark).

    Returns the scene, whose ``renderer.get_frame()`` is the last frame as
    an RGBA array: tests check its content instead of golden images.
    """
    from manim import tempconfig

    _silence_manim()
    with tempfile.TemporaryDirectory(prefix="course-dry-") as tmp:
        with (
            themed(theme),  # first: the configuration reads the theme's background
            shared_svg_paths(),
            tempconfig(_config(Path(tmp), "dry", quality, "mp4", write_to_movie=False)),
        ):
            scene = animation.scene()
            scene.render()
    return scene


def save_last_frame(video: Path, png: Path) -> Path:
    """Write the last frame of ``video`` as a PNG (the poster)."""
    video = Path(video)
    if video.suffix == ".gif":
        from PIL import Image

        with Image.open(video) as im:
            im.seek(getattr(im, "n_frames", 1) - 1)
            im.convert("RGB").save(png)
        return Path(png)
    import av

    last = None
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            last = frame
    if last is None:
        raise RuntimeError(f"{video} has no frames")
    last.to_image().save(png)
    return Path(png)


_CUE_TIMES = re.compile(r"(\d+):(\d\d):(\d\d)[,.](\d\d\d)\s*-->\s*(\d+):(\d\d):(\d\d)[,.](\d\d\d)")


def timeline(srt: str) -> list[list[Any]]:
    """The cues of SubRip captions as ``[start, end, text]`` (seconds), in order;
    a cue that would overlap the next one ends where the next begins."""
    cues: list[list[Any]] = []
    for block in re.split(r"\n\s*\n", srt.replace("\r\n", "\n").strip()):
        lines = block.strip().splitlines()
        for i, line in enumerate(lines):
            m = _CUE_TIMES.search(line)
            if m:
                g = [int(x) for x in m.groups()]
                start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
                end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
                cues.append([start, end, "\n".join(lines[i + 1:]).strip()])
                break
    cues.sort(key=lambda c: c[0])
    for a, b in zip(cues, cues[1:], strict=False):
        a[1] = min(a[1], b[0])
    return cues


def _stamp(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def timeline_to_vtt(cues: list[list[Any]]) -> str:
    """WebVTT captions from ``[start, end, text]`` cues (text already in words),
    in order of their start; a cue that would overlap the next ends where the next begins."""
    ordered = sorted(([float(c[0]), float(c[1]), c[2]] for c in cues), key=lambda c: c[0])
    for a, b in zip(ordered, ordered[1:], strict=False):
        a[1] = min(a[1], b[0])
    parts = ["WEBVTT", ""]
    for i, (start, end, text) in enumerate(ordered, 1):
        parts += [str(i), f"{_stamp(start)} --> {_stamp(end)}", str(text), ""]
    return "\n".join(parts)


def srt_to_vtt(srt: str) -> str:
    """Convert SubRip captions (what Manim writes) to WebVTT (what browsers read),
    in order and without overlap: Manim ends a cue when its duration is up,
    which can be after the next step's cue has begun (by a frame or more);
    such a cue ends where the next begins (:func:`timeline`)."""
    return timeline_to_vtt(timeline(srt))


def overlaps(vtt: str) -> list[tuple[int, float, float]]:
    """Where consecutive cues of WebVTT captions overlap: (cue number, its end,
    the next cue's start) for each cue that ends after the next one begins."""
    cues = [c for c in (_CUE_TIMES.search(line) for line in vtt.splitlines()) if c]
    times = []
    for m in cues:
        g = [int(x) for x in m.groups()]
        times.append((g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000, g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000))
    return [(i + 1, a[1], b[0]) for i, (a, b) in enumerate(zip(times, times[1:], strict=False)) if a[1] > b[0]]


#: system programs the renderer runs, with the Debian packages that provide them
SYSTEM_PROGRAMS: dict[str, str] = {
    "latex": "texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended",
    "dvisvgm": "dvisvgm",
}


def missing_system_tools(path: str | None = None) -> list[tuple[str, str]]:
    """System dependencies Manim needs that are absent: (what, the command that installs it).

    Programs are looked up on ``path`` (default: ``$PATH``); cairo and pango
    are checked by importing their Python bindings, which fail to build or
    load without the system libraries.
    """
    missing = []
    for prog, pkgs in SYSTEM_PROGRAMS.items():
        if shutil.which(prog, path=path) is None:
            missing.append((prog, f"sudo apt-get install {pkgs}  (or: bash scripts/install-system-deps.sh)"))
    try:
        import cairo  # noqa: F401
        import manimpango  # noqa: F401
    except ImportError as exc:
        missing.append((
            "cairo/pango",
            "sudo apt-get install libcairo2-dev libpango1.0-dev pkg-config, then "
            f"pip install --force-reinstall --no-cache-dir pycairo manimpango  ({exc})",
        ))
    return missing
