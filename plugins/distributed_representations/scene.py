"""The distributed-representations animation: turning a basis, then squeezing in a feature."""

from __future__ import annotations

from functools import partial
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

from course import Animation, Result, step
from course import metrics as M
from course.palette import feature_color, repaint
from course_animations import palette
from course_animations.mobjects import axes_cross, feature_arrows, gram_heatmap, label, unit_circle

from .rotation import rotation_matrix

SCALE = 2.2
ORIGIN = LEFT * 3.3 + DOWN * 0.5
PANEL = RIGHT * 3.3


def animation(result: Result, metrics: dict[str, Any]) -> Animation:
    """The video of the chapter: its title, description and narration are in words.md.j2."""
    return Animation(scene=partial(DistributedScene, result["W_plane"].astype(np.float64),
                                   result["W_squeezed"].astype(np.float64), metrics))


def _table(W: np.ndarray) -> VGroup:
    """Rows "feature i · participation · interference" for the code W, in feature colours."""
    part = M.participation(W)
    interf = M.interference(W)
    cells = [label(h, 22, palette.theme().muted) for h in ("feature", "participation", "interference")]
    for i in range(W.shape[1]):
        color = feature_color(i)
        cells += [label(str(i + 1), 24, color), label(f"{part[i]:.2f}", 24, color),
                  label(f"{interf[i]:.2f}", 24, color)]
    return VGroup(*cells).arrange_in_grid(rows=W.shape[1] + 1, cols=3, buff=(0.45, 0.15))


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
        gram_title = label("WᵀW", 24, palette.theme().muted)
        block = VGroup(label(heading, 26), table, VGroup(gram_title, gram).arrange(DOWN, buff=0.15))
        return block.arrange(DOWN, buff=0.35).move_to(PANEL + DOWN * 0.3)

    def construct(self) -> None:
        mt = self.metrics
        turn = np.radians(mt["plane_turn_deg"])
        W = self.W_plane

        title = label("Spread out is not squeezed in", 36).to_edge(UP)
        self.add_subcaption(step("intro"), duration=3)
        self.play(Write(title), run_time=1.0)
        frame = VGroup(axes_cross(SCALE), unit_circle(SCALE)).move_to(ORIGIN)
        names = VGroup(
            label("unit 1", 20, palette.theme().muted).next_to(ORIGIN + RIGHT * SCALE * 1.2, DOWN, buff=0.1),
            label("unit 2", 20, palette.theme().muted).next_to(ORIGIN + UP * SCALE * 1.2, RIGHT, buff=0.1),
        )
        angle = ValueTracker(0.0)
        arrows = always_redraw(lambda: repaint(feature_arrows(rotation_matrix(angle.get_value()) @ W, SCALE)).shift(ORIGIN))
        self.play(FadeIn(frame), FadeIn(names), run_time=0.6)
        grown = repaint(feature_arrows(W, SCALE)).shift(ORIGIN)
        self.play(*(GrowArrow(a) for a in grown), run_time=0.8)
        self.remove(*grown)
        self.add(arrows)
        panel = self._panel(W, "2 features, 2 units")
        live = always_redraw(lambda: _table(rotation_matrix(angle.get_value()) @ W).move_to(panel[1]))
        self.play(FadeIn(panel[0]), FadeIn(panel[2]), FadeIn(live), run_time=0.8)
        self.wait(1.2)

        self.add_subcaption(step("turn"), duration=5)
        self.play(angle.animate.set_value(turn), run_time=3.0)
        self.wait(2.0)
        self.add_subcaption(step("distributed"), duration=2.5)
        self.wait(2.5)

        # the third feature: a second trained model, 3 sparse features in 2 dimensions
        Wq = self.W_squeezed
        new_panel = self._panel(Wq, f"{Wq.shape[1]} features, 2 units")
        new_arrows = repaint(feature_arrows(Wq, SCALE)).shift(ORIGIN)
        self.remove(arrows, live)
        still = repaint(feature_arrows(rotation_matrix(turn) @ W, SCALE)).shift(ORIGIN)
        still_table = _table(rotation_matrix(turn) @ W).move_to(panel[1])
        self.add(still, still_table)
        self.add_subcaption(step("squeeze"), duration=4)
        self.play(Transform(still, new_arrows), FadeOut(still_table), FadeOut(panel),
                  FadeIn(new_panel), run_time=1.5)
        self.wait(2.5)
        self.add_subcaption(step("squeezed"), duration=4.5)
        self.wait(4.5)
