"""One palette and typography for figures and animations.

The figures are always drawn on white paper (:data:`PAPER`, :data:`INK`).
The videos have two themes (:data:`THEMES`): ``light``, white like the
figures, so that white means zero on the WᵀW scale in both, and ``dark``.
Scenes read their colours from :func:`theme` while they are constructed, so
the theme is chosen at render time (:func:`use_theme`, or ``$COURSE_THEME``),
never at import time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from course import palette as _features

#: muted lines and labels of the figures (and of the dark videos)
MUTED = "#94a3b8"
#: background of figures in the (light) book pages
PAPER = "#ffffff"
INK = "#1e293b"

#: one colour per feature, in importance order; cycles for more features
#: (course.palette: twelve colours that stay apart for common colour-vision deficiencies)
FEATURES = list(_features.FEATURES)

#: diverging scale for WᵀW: negative blue, zero white/grey, positive red (as in the paper)
NEGATIVE = "#2563eb"
ZERO_LIGHT = "#f8fafc"
ZERO_DARK = "#3f3f46"  # neutral, so that small negative (blue) entries show on it
POSITIVE = "#dc2626"

#: sequential scale for interference (0 = orthogonal to all others)
INTERFERENCE_LOW = "#1e3a8a"
INTERFERENCE_HIGH = "#fde047"

FONT = "DejaVu Sans"
FONT_SIZE = 11


@dataclass(frozen=True)
class Theme:
    """The colours of one video theme."""

    name: str
    #: the frame's background, and text and strokes on it
    background: str
    foreground: str
    muted: str
    #: the WᵀW scale's zero, and the outline of its cells
    zero: str
    grid: str


THEMES: dict[str, Theme] = {
    "light": Theme("light", background=PAPER, foreground=INK, muted="#64748b", zero=ZERO_LIGHT, grid="#cbd5e1"),
    "dark": Theme("dark", background="#0f172a", foreground="#e2e8f0", muted=MUTED, zero=ZERO_DARK, grid=ZERO_DARK),
}
#: the theme of a scene constructed outside :func:`use_theme` with no ``$COURSE_THEME``
DEFAULT_THEME = "dark"
#: the theme of the book's videos: light, like its figures
BOOK_THEME = "light"
_chosen: list[str] = []


def check_theme(name: str) -> str:
    """``name`` if it is a theme, else a ValueError naming the themes."""
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r}; choose one of {', '.join(THEMES)}")
    return name


def theme() -> Theme:
    """The theme videos are being drawn in: the innermost :func:`use_theme`,
    else ``$COURSE_THEME``, else :data:`DEFAULT_THEME`."""
    name = _chosen[-1] if _chosen else os.environ.get("COURSE_THEME") or DEFAULT_THEME
    return THEMES[check_theme(name)]


@contextmanager
def use_theme(name: str | None) -> Iterator[Theme]:
    """Draw in theme ``name`` inside the block (None: keep the current one)."""
    _chosen.append(check_theme(name) if name is not None else theme().name)
    try:
        yield theme()
    finally:
        _chosen.pop()


def __getattr__(name: str) -> str:
    """``BACKGROUND`` and ``FOREGROUND``: the current theme's (read at draw time)."""
    if name == "BACKGROUND":
        return theme().background
    if name == "FOREGROUND":
        return theme().foreground
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def feature_color(i: int) -> str:
    """The colour of feature ``i`` (0-based), shared by every figure and video."""
    return _features.feature_color(i)


def mix(c1: str, c2: str, t: float) -> str:
    """Linear blend of two hex colours, t in [0, 1]."""
    t = min(1.0, max(0.0, float(t)))
    a = [int(c1[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(c2[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


def interference_color(value: float) -> str:
    """Colour for an interference value: 0 dark blue, ≥ 1 yellow."""
    return mix(INTERFERENCE_LOW, INTERFERENCE_HIGH, value)


def diverging_color(value: float, vmax: float = 1.0, dark: bool = False) -> str:
    """Colour for a WᵀW entry on the blue–zero–red scale."""
    zero = ZERO_DARK if dark else ZERO_LIGHT
    t = max(-1.0, min(1.0, value / vmax if vmax else 0.0))
    return mix(zero, POSITIVE, t) if t >= 0 else mix(zero, NEGATIVE, -t)


def gram_color(value: float, vmax: float = 1.0) -> str:
    """Colour of a WᵀW cell in a video, in the current theme: the blue–zero–red
    scale with the square root of ``|value| / vmax``, so that a small entry
    (0.05 of the largest) is still told apart from zero on a projector."""
    zero = theme().zero
    t = max(-1.0, min(1.0, value / vmax if vmax else 0.0))
    s = abs(t) ** 0.5
    return mix(zero, POSITIVE, s) if t >= 0 else mix(zero, NEGATIVE, s)
