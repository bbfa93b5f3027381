"""One palette and typography for figures and animations."""

from __future__ import annotations

from course import palette as _features

#: background of the videos, and text on it
BACKGROUND = "#0f172a"
FOREGROUND = "#e2e8f0"
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
ZERO_DARK = "#334155"
POSITIVE = "#dc2626"

#: sequential scale for interference (0 = orthogonal to all others)
INTERFERENCE_LOW = "#1e3a8a"
INTERFERENCE_HIGH = "#fde047"

FONT = "DejaVu Sans"
FONT_SIZE = 11


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
