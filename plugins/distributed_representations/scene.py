"""The distributed-representations animation: turning a basis, then squeezing in a feature."""

from __future__ import annotations

from typing import Any

import numpy as np
from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    FadeIn,
    FadeOut,
    GrowArrow,
    Scene,
    Transform,
    ValueTracker,
    VGroup,
    Write,
    always_redraw,
)

from course import metrics as M
from course_animations import palette
from course_animations.mobjects import axes_cross, feature_arrows, gram_heatmap, label, unit_circle
from course_plugins.distributed_representations import rotation_matrix

SCALE = 2.2
ORIGIN = LEFT * 3.3 + DOWN * 0.5
PANEL = RIGHT * 3.3


def _table(W: np.ndarray) -> VGroup:
    """Rows "feature i · participation · interference" for the code W, in feature colours."""
    part = M.participation(W)
    interf = M.interference(W)
    cells = [label(h, 22, palette.MUTED) for h in ("feature", "participation", "interference")]
    for i in range(W.shape[1]):
        color = palette.feature_color(i)
        cells += [label(str(i + 1), 24, color), label(f"{part[i]:.2f}", 24, color),
                  label(f"{interf[i]:.2f}", 24, color)]
    return VGroup(*cells).arrange_in_grid(rows=W.shape[1] + 1, cols=3, buff=(0.45, 0.15))


def _opposite_pair(W: np.ndarray) -> tuple[int, int, float]:
    """The two features whose directions are closest to opposite, and their cosine."""
    U = W / np.maximum(np.linalg.norm(W, axis=0, keepdims=True), 1e-9)
    C = U.T @ U
    np.fill_diagonal(C, np.inf)
    i, j = np.unravel_index(np.argmin(C), C.shape)
    return int(min(i, j)), int(max(i, j)), float(C[i, j])


class DistributedScene(Scene):
    """Two trained arrows turn together (distributed, no interference); then three
    trained arrows share the plane (superposition, interference)."""

    def __init__(self, W_plane: np.ndarray, W_squeezed: np.ndarray, metrics: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.W_plane = np.asarray(W_plane, dtype=float)
        self.W_squeezed = np.asarray(W_squeezed, dtype=float)
        self.metrics = metrics

    def _panel(self, W: np.ndarray, heading: str) -> VGroup:
        table = _table(W)
        gram = gram_heatmap(W.T @ W, cell=0.55, vmax=1.0)
        gram_title = label("WᵀW", 24, palette.MUTED)
        block = VGroup(label(heading, 26), table, VGroup(gram_title, gram).arrange(DOWN, buff=0.15))
        return block.arrange(DOWN, buff=0.35).move_to(PANEL + DOWN * 0.3)

    def construct(self) -> None:
        mt = self.metrics
        turn = np.radians(mt["plane_turn_deg"])
        spread = mt["plane_spread"]
        W = self.W_plane

        title = label("Spread out is not squeezed in", 36).to_edge(UP)
        self.add_subcaption(
            "A model trained with two features and two hidden units; the arrows are its learned directions.",
            duration=3)
        self.play(Write(title), run_time=1.0)
        frame = VGroup(axes_cross(SCALE), unit_circle(SCALE)).move_to(ORIGIN)
        names = VGroup(
            label("unit 1", 20, palette.MUTED).next_to(ORIGIN + RIGHT * SCALE * 1.2, DOWN, buff=0.1),
            label("unit 2", 20, palette.MUTED).next_to(ORIGIN + UP * SCALE * 1.2, RIGHT, buff=0.1),
        )
        angle = ValueTracker(0.0)
        arrows = always_redraw(lambda: feature_arrows(rotation_matrix(angle.get_value()) @ W, SCALE).shift(ORIGIN))
        self.play(FadeIn(frame), FadeIn(names), run_time=0.6)
        grown = feature_arrows(W, SCALE).shift(ORIGIN)
        self.play(*(GrowArrow(a) for a in grown), run_time=0.8)
        self.remove(*grown)
        self.add(arrows)
        panel = self._panel(W, "2 features, 2 units")
        live = always_redraw(lambda: _table(rotation_matrix(angle.get_value()) @ W).move_to(panel[1]))
        self.play(FadeIn(panel[0]), FadeIn(panel[2]), FadeIn(live), run_time=0.8)
        self.wait(1.2)

        self.add_subcaption(
            f"Turn the basis by {abs(mt['plane_turn_deg']):.0f}°: each unit now mixes both features "
            f"(participation {spread['participation'][0]:.2f}), yet the arrows stay at right angles "
            f"(interference {spread['max_interference']:.2f}) and WᵀW does not change.", duration=5)
        self.play(angle.animate.set_value(turn), run_time=3.0)
        self.wait(2.0)
        self.add_subcaption("Distributed, and no superposition: as many features as dimensions.", duration=2.5)
        self.wait(2.5)

        # the third feature: a second trained model, 3 sparse features in 2 dimensions
        Wq = self.W_squeezed
        sq = mt["runs"][mt["by_name"]["squeezed"]]
        i, j, cos = _opposite_pair(Wq)
        new_panel = self._panel(Wq, f"{Wq.shape[1]} features, 2 units")
        new_arrows = feature_arrows(Wq, SCALE).shift(ORIGIN)
        self.remove(arrows, live)
        still = feature_arrows(rotation_matrix(turn) @ W, SCALE).shift(ORIGIN)
        still_table = _table(rotation_matrix(turn) @ W).move_to(panel[1])
        self.add(still, still_table)
        self.add_subcaption(
            f"Now squeeze a third feature into the same two dimensions (a model trained on sparse "
            f"features): features {i + 1} and {j + 1} end up pointing in opposite directions "
            f"(cosine {cos:.2f}).", duration=4)
        self.play(Transform(still, new_arrows), FadeOut(still_table), FadeOut(panel),
                  FadeIn(new_panel), run_time=1.5)
        self.wait(2.5)
        self.add_subcaption(
            f"{sq['features_per_dimension']:.2f} features per dimension, and interference "
            f"{sq['max_interference']:.2f}: that is superposition. Spreading a feature over units "
            f"and squeezing features in are different things.", duration=4.5)
        self.wait(4.5)
