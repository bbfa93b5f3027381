"""Manim pieces built from weights. Coordinates come from W, never typed in."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    Arrow,
    Circle,
    DashedLine,
    Rectangle,
    Square,
    Text,
    VGroup,
)

from course_animations import palette

#: labels already typeset, by (text, size, colour, font): a scene that redraws a
#: table every frame asks for the same few strings hundreds of times, and
#: typesetting one (Pango, then parsing its SVG) costs far more than a copy
_LABELS: dict[tuple[str, float, str, str], Text] = {}
_LABELS_MAX = 1024


def label(text: str, size: float = 28, color: str | None = None) -> Text:
    """Text in the course font (by default in the current theme's foreground):
    a fresh copy each call, typeset once per text, size and colour."""
    key = (str(text), float(size), str(color or palette.theme().foreground), palette.FONT)
    made = _LABELS.get(key)
    if made is None:
        made = Text(key[0], font=key[3], font_size=key[1], color=key[2])
        if len(_LABELS) >= _LABELS_MAX:
            _LABELS.clear()
        _LABELS[key] = made
    return made.copy()


def feature_arrows(W: np.ndarray, scale: float = 2.0, min_norm: float = 0.05) -> VGroup:
    """One arrow per column of a (2, n) weight matrix, coloured by feature.

    Columns shorter than ``min_norm`` (features the model did not learn)
    become invisible zero-length arrows so the group keeps one arrow per feature
    and can be transformed between sparsity levels.
    """
    W = np.asarray(W, dtype=float)
    if W.shape[0] != 2:
        raise ValueError(f"feature_arrows needs a (2, n) matrix, got {W.shape}")
    arrows = VGroup()
    for i in range(W.shape[1]):
        end = np.array([W[0, i], W[1, i], 0.0]) * scale
        visible = np.linalg.norm(end) >= min_norm * scale
        if not visible:
            end = np.array([1e-3, 0.0, 0.0])
        arrow = Arrow(
            start=np.zeros(3),
            end=end,
            buff=0,
            color=palette.feature_color(i),
            stroke_width=6,
            max_tip_length_to_length_ratio=0.18,
        )
        arrow.set_opacity(1.0 if visible else 0.0)
        arrows.add(arrow)
    return arrows


def unit_circle(scale: float = 2.0) -> Circle:
    """The circle ‖W_i‖ = 1 in the arrows' coordinates."""
    return Circle(radius=scale, color=palette.theme().muted, stroke_width=2, stroke_opacity=0.6, fill_opacity=0)


def axes_cross(scale: float = 2.0) -> VGroup:
    """Dashed hidden-dimension axes h₁, h₂."""
    return VGroup(
        DashedLine(LEFT * scale * 1.2, RIGHT * scale * 1.2, color=palette.theme().muted, stroke_width=1.5),
        DashedLine(DOWN * scale * 1.2, UP * scale * 1.2, color=palette.theme().muted, stroke_width=1.5),
    )


def gram_heatmap(G: np.ndarray, cell: float = 0.45, vmax: float | None = None) -> VGroup:
    """A WᵀW heat map: one square per entry on the blue–zero–red scale (:func:`palette.gram_color`)."""
    G = np.asarray(G, dtype=float)
    vmax = vmax or max(1e-9, float(np.abs(G).max()))
    n = G.shape[0]
    cells = VGroup()
    for i in range(n):
        for j in range(n):
            sq = Square(side_length=cell, stroke_width=0.5, stroke_color=palette.theme().grid)
            sq.set_fill(palette.gram_color(G[i, j], vmax), opacity=1.0)
            sq.move_to(np.array([(j - (n - 1) / 2) * cell, ((n - 1) / 2 - i) * cell, 0.0]))
            cells.add(sq)
    return cells


def norm_bars(
    norms: Sequence[float],
    interference: Sequence[float],
    width: float = 3.0,
    height: float = 0.3,
) -> VGroup:
    """Horizontal bars of ‖W_i‖ coloured by interference (dark blue = none)."""
    bars = VGroup()
    top = max(1.0, max(norms) if len(norms) else 1.0)
    for i, (nrm, itf) in enumerate(zip(norms, interference, strict=True)):
        w = max(1e-3, width * float(nrm) / top)
        bar = Rectangle(width=w, height=height * 0.8, stroke_width=0)
        bar.set_fill(palette.interference_color(float(itf)), opacity=1.0)
        bar.move_to(np.array([w / 2, -i * height, 0.0]))
        bars.add(bar)
    return bars


def neuron_bars(W: np.ndarray, width: float = 0.5, scale: float = 1.5) -> VGroup:
    """Per-neuron stacked bars: each feature's |W_ki| in its colour,
    positive weights above the axis, negative below (the paper's neuron plot)."""
    W = np.asarray(W, dtype=float)
    m, n = W.shape
    group = VGroup()
    for k in range(m):
        up, down = 0.0, 0.0
        x = (k - (m - 1) / 2) * width * 1.6
        for i in range(n):
            v = W[k, i] * scale
            if abs(v) < 1e-3:
                continue
            rect = Rectangle(width=width, height=abs(v), stroke_width=0)
            rect.set_fill(palette.feature_color(i), opacity=1.0)
            if v > 0:
                rect.move_to(np.array([x, up + abs(v) / 2, 0.0]))
                up += abs(v)
            else:
                rect.move_to(np.array([x, down - abs(v) / 2, 0.0]))
                down -= abs(v)
            group.add(rect)
    return group
