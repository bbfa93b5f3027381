"""The superposition animation: the learned columns of W, sparsity level by level."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    UR,
    Create,
    FadeIn,
    FadeOut,
    MathTex,
    Scene,
    Transform,
    ValueTracker,
    VGroup,
    Write,
    always_redraw,
)

from course import Animation, Result, step
from course_animations import palette
from course_animations.mobjects import axes_cross, feature_arrows, label, unit_circle

SCALE = 2.4


def animation(result: Result, metrics: dict[str, Any]) -> Animation:
    """The video of the chapter: its title, description and narration are in words.md.j2."""
    return Animation(scene=partial(SuperpositionScene, result["W"], metrics["runs"]))


class SuperpositionScene(Scene):
    """Arrows W_i in the 2-D hidden space, from dense to sparse data."""

    def __init__(self, W: np.ndarray, runs: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.W = np.asarray(W, dtype=float)
        self.runs = runs

    def construct(self) -> None:
        title = label("Five features, two dimensions", 36).to_edge(UP)
        self.add_subcaption(step("intro"), duration=2)
        self.play(Write(title), run_time=1.5)
        origin = LEFT * 3
        frame = VGroup(axes_cross(SCALE), unit_circle(SCALE)).move_to(origin)
        self.play(Create(frame), run_time=1)

        # the arrows are always the weights at a (fractional) level: between two
        # levels they move along the straight line from one solution to the next
        level = ValueTracker(0.0)

        def weights_at(t: float) -> np.ndarray:
            k = min(int(t), len(self.runs) - 2) if len(self.runs) > 1 else 0
            frac = t - k
            if len(self.runs) == 1:
                return self.W[0]
            return (1 - frac) * self.W[k] + frac * self.W[k + 1]

        arrows = always_redraw(lambda: feature_arrows(weights_at(level.get_value()), SCALE).shift(origin))
        tag = label(f"sparsity S = {self.runs[0]['sparsity']:g}", 28).next_to(frame, DOWN)
        self.add_subcaption(step("level", 0), duration=3)
        self.play(FadeIn(arrows), FadeIn(tag), run_time=1)
        self.wait(2)

        formula = MathTex(
            r"D_i = \frac{\|W_i\|^2}{\sum_j (\hat W_i \cdot W_j)^2}",
            color=palette.FOREGROUND,
        ).scale(0.9).move_to(RIGHT * 3.2 + UP * 1.6)
        self.add_subcaption(step("formula"), duration=2)
        self.play(Write(formula), run_time=1.5)
        values = self._values(0).next_to(formula, DOWN, buff=0.5)
        self.play(FadeIn(values), run_time=0.5)

        for k in range(1, len(self.runs)):
            new_tag = label(f"sparsity S = {self.runs[k]['sparsity']:g}", 28).next_to(frame, DOWN)
            new_values = self._values(k).next_to(formula, DOWN, buff=0.5)
            self.add_subcaption(step("level", k), duration=2.5)
            self.play(
                level.animate.set_value(float(k)),
                Transform(tag, new_tag),
                Transform(values, new_values),
                run_time=1.5,
            )
            self.wait(1)
        self.add_subcaption(step("end"), duration=2)
        self.play(FadeOut(values), formula.animate.set_opacity(0.6), run_time=0.5)
        self.wait(1.5)

    def _values(self, k: int) -> VGroup:
        rows = VGroup()
        for i, d in enumerate(self.runs[k]["feature_dimensionality"]):
            rows.add(label(f"D{i + 1} = {d:.2f}", 24, palette.feature_color(i)))
        rows.arrange(DOWN, aligned_edge=LEFT, buff=0.12)
        return rows.to_corner(UR, buff=0.0).shift(DOWN * 0.0)
