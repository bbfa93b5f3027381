"""The feature colours: one qualitative palette for up to twelve features.

Every figure and scene that colours features takes them from here, in
importance order (feature 1 amber, 2 blue, 3 pink, ...). The colours were
chosen to stay apart for people with normal colour vision and with the
common red-green deficiencies: the smallest CIEDE2000 difference between any
two of them, as seen with normal vision and through Machado et al.'s (2009)
simulations of deuteranopia and protanopia, is checked by the tests
(:func:`min_difference`). Each also stands out on the book's white figures and
on the videos' dark background (CIELAB lightness between :data:`L_RANGE`).

The colour science is small enough to carry here with numpy: sRGB to CIELAB
(D65), the CIEDE2000 difference (Sharma, Wu and Dalal 2005), and the
Machado, Oliveira and Fernandes (2009) matrices for full-severity
dichromacy, applied to linear RGB.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np

#: one colour per feature, in importance order
FEATURES: tuple[str, ...] = (
    "#e1a52d",  # amber
    "#69b4ff",  # blue
    "#d26996",  # pink
    "#3c692d",  # green
    "#a500b4",  # purple
    "#d20f69",  # crimson
    "#a55aff",  # violet
    "#f096a5",  # salmon
    "#b4875a",  # tan
    "#007869",  # teal
    "#2d8700",  # leaf green
    "#a55aa5",  # mauve
)
#: CIELAB lightness range of the feature colours: visible on white and on the dark video background
L_RANGE = (39.0, 73.0)
#: how many features the palette tells apart; more cycle round
MAX_FEATURES = len(FEATURES)


def feature_color(i: int) -> str:
    """The colour of feature ``i`` (0-based), shared by every figure and video;
    cycles after :data:`MAX_FEATURES`."""
    return FEATURES[i % len(FEATURES)]


def feature_colors(n: int) -> list[str]:
    """The colours of ``n`` features."""
    return [feature_color(i) for i in range(n)]


def legacy_to_feature(color: str) -> str:
    """The colour of this palette for a feature colour of ``course_animations.palette``
    (the shared Manim pieces, such as its feature arrows and neuron bars, still
    colour features from there); any other colour is returned as it is."""
    from course_animations import palette as legacy

    old = [c.lower() for c in legacy.FEATURES]
    c = color.lower()
    return feature_color(old.index(c)) if c in old else color


def repaint(mobject: Any) -> Any:
    """Give every part of a Manim ``mobject`` coloured in a legacy feature colour
    (see :func:`legacy_to_feature`) the colour of the same feature here;
    opacities stay. Returns ``mobject``. Once ``course_animations`` takes its
    feature colours from this module, this changes nothing."""
    for part in mobject.get_family():
        stroke = part.get_stroke_color().to_hex()[:7]
        fill = part.get_fill_color().to_hex()[:7]
        if legacy_to_feature(stroke) != stroke:
            part.set_stroke(color=legacy_to_feature(stroke))
        if legacy_to_feature(fill) != fill:
            part.set_fill(color=legacy_to_feature(fill))
    return mobject


# --------------------------------------------------------------------------- colour science


def to_rgb(colors: Sequence[str]) -> np.ndarray:
    """(k, 3) sRGB values in [0, 1] of ``#rrggbb`` strings."""
    out = []
    for c in colors:
        c = c.strip()
        if not (len(c) == 7 and c.startswith("#")):
            raise ValueError(f"a colour is #rrggbb, got {c!r}")
        out.append([int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.asarray(out, dtype=float)


def _linear(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _gamma(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0.0, 1.0)
    return np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)


_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                 [0.2126729, 0.7151522, 0.0721750],
                 [0.0193339, 0.1191920, 0.9503041]])
_WHITE = _XYZ @ np.ones(3)


def lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of sRGB values in [0, 1], shape (..., 3)."""
    xyz = _linear(rgb) @ _XYZ.T / _WHITE
    d = 6 / 29
    f = np.where(xyz > d**3, np.cbrt(xyz), xyz / (3 * d**2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


#: Machado, Oliveira and Fernandes (2009), severity 1, on linear RGB
MACHADO: dict[str, np.ndarray] = {
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}


def simulate(rgb: np.ndarray, deficiency: str | None) -> np.ndarray:
    """sRGB values as seen with ``deficiency`` (a key of :data:`MACHADO`; None: normal vision)."""
    if deficiency is None:
        return np.asarray(rgb, dtype=float)
    if deficiency not in MACHADO:
        raise ValueError(f"unknown colour-vision deficiency {deficiency!r}; choose one of {', '.join(MACHADO)}")
    return _gamma(_linear(rgb) @ MACHADO[deficiency].T)


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """The CIEDE2000 colour difference of CIELAB values (broadcast over leading axes)."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=float), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=float), -1, 0)
    C1, C2 = np.hypot(a1, b1), np.hypot(a2, b2)
    Cm7 = ((C1 + C2) / 2) ** 7
    G = 0.5 * (1 - np.sqrt(Cm7 / (Cm7 + 25.0**7)))
    a1p, a2p = (1 + G) * a1, (1 + G) * a2
    C1p, C2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dLp, dCp = L2 - L1, C2p - C1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(C1p * C2p == 0, 0.0, dh)
    dHp = 2 * np.sqrt(C1p * C2p) * np.sin(np.radians(dh / 2))
    Lpm, Cpm = (L1 + L2) / 2, (C1p + C2p) / 2
    hsum = h1p + h2p
    hpm = np.where(np.abs(h1p - h2p) > 180, np.where(hsum < 360, hsum + 360, hsum - 360), hsum) / 2
    hpm = np.where(C1p * C2p == 0, hsum, hpm)
    T = (1 - 0.17 * np.cos(np.radians(hpm - 30)) + 0.24 * np.cos(np.radians(2 * hpm))
         + 0.32 * np.cos(np.radians(3 * hpm + 6)) - 0.20 * np.cos(np.radians(4 * hpm - 63)))
    dtheta = 30 * np.exp(-(((hpm - 275) / 25) ** 2))
    Cpm7 = Cpm**7
    RC = 2 * np.sqrt(Cpm7 / (Cpm7 + 25.0**7))
    SL = 1 + 0.015 * (Lpm - 50) ** 2 / np.sqrt(20 + (Lpm - 50) ** 2)
    SC, SH = 1 + 0.045 * Cpm, 1 + 0.015 * Cpm * T
    RT = -np.sin(np.radians(2 * dtheta)) * RC
    return np.sqrt((dLp / SL) ** 2 + (dCp / SC) ** 2 + (dHp / SH) ** 2 + RT * (dCp / SC) * (dHp / SH))


def differences(colors: Sequence[str], deficiency: str | None = None) -> dict[tuple[int, int], float]:
    """CIEDE2000 between every pair of ``colors`` as seen with ``deficiency``."""
    L = lab(simulate(to_rgb(colors), deficiency))
    return {(i, j): float(ciede2000(L[i], L[j])) for i, j in combinations(range(len(colors)), 2)}


def min_difference(colors: Sequence[str], deficiency: str | None = None) -> tuple[float, tuple[int, int]]:
    """The smallest CIEDE2000 difference between two of ``colors`` and the pair that has it."""
    d = differences(colors, deficiency)
    pair = min(d, key=lambda k: d[k])
    return d[pair], pair


def lightness(colors: Sequence[str]) -> list[float]:
    """CIELAB L* of each colour."""
    return [float(v) for v in lab(to_rgb(colors))[:, 0]]
