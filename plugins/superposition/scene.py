"""The superposition animation: the learned columns of W, sparsity level by level.

Each level is a model trained on its own, in a hidden basis of its own. The
video first fits every level to the one before it (orthogonal Procrustes,
:func:`course.align.align_chain`; the five features have different
importances, so none is relabelled), then moves between levels arrow by
arrow (:func:`course.align.interpolate`): an arrow drawn in both models turns
along the shorter arc and changes length linearly, so it never shrinks
through the origin; an arrow drawn in one model only fades in or out.
"""

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

from course import Animation, Result, align, step
from course.palette import feature_color, repaint
from course_animations import palette
from course_animations.mobjects import axes_cross, feature_arrows, label, unit_circle

SCALE = 2.4


def levels(W: np.ndarray) -> list[np.ndarray]:
    """The levels' models in one frame: the densest as trained, turned so that
    feature 1 points up; each sparser one fitted to the one before it."""
    return align.align_chain(list(np.asarray(W, dtype=float)), start=0, up=0)


def arrows_at(aligned: list[np.ndarray], position: float) -> tuple[np.ndarray, np.ndarray]:
    """The arrows (2, n) and their opacities at a fractional level ``position``."""
    return align.along(aligned, position)


def animation(result: Result, metrics: dict[str, Any]) -> Animation:
    """The video of the chapter: its title, description and narration are in words.md.j2."""
    return Animation(scene=partial(SuperpositionScene, result["W"], metrics["runs"]))


class SuperpositionScene(Scene):
    """Arrows W_i in the 2-D hidden space, from dense to sparse data."""

    def __init__(self, W: np.ndarray, runs: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.W = np.asarray(W, dtype=float)
        self.runs = runs
        self.aligned = levels(self.W)

    def _arrows(self, position: float) -> VGroup:
        W, alpha = arrows_at(self.aligned, position)
        arrows = repaint(feature_arrows(W, SCALE))
        for arrow, a in zip(arrows, alpha, strict=True):
            if a < 1.0:  # fading in or out: a feature only one of the two models stores
                arrow.set_opacity(arrow.get_stroke_opacity() * a)
        return arrows

    def construct(self) -> None:
        title = label("Five features, two dimensions", 36).to_edge(UP)
        self.add_subcaption(step("intro"), duration=2)
        self.play(Write(title), run_time=1.5)
        origin = LEFT * 3
        frame = VGroup(axes_cross(SCALE), unit_circle(SCALE)).move_to(origin)
        self.play(Create(frame), run_time=1)

        # the arrows at a (fractional) level: between two levels each arrow
        # turns from one aligned model's to the next (see the module docstring)
        level = ValueTracker(0.0)
        arrows = always_redraw(lambda: self._arrows(level.get_value()).shift(origin))
        tag = label(f"sparsity S = {self.runs[0]['sparsity']:g}", 28).next_to(frame, DOWN)
        self.add_subcaption(step("level", 0), duration=3)
        self.play(FadeIn(arrows), FadeIn(tag), run_time=1)
        self.wait(2)

        formula = MathTex(
            r"D_i = \frac{\|W_i\|^2}{\sum_j (\hat W_i \cdot W_j)^2}",
            color=palette.theme().foreground,
        ).scale(0.9).move_to(RIGHT * 3.2 + UP * 1.6)
        self.add_subcaption(step("formula"), duration=2)
        self.play(Write(formula), run_time=1.5)
        values = self._values(0).next_to(formula, DOWN, buff=0.5)
        self.play(FadeIn(values), run_time=0.5)

        if len(self.runs) > 1:
            self.add_subcaption(step("models"), duration=5)
            self.wait(5)
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
            rows.add(label(f"D{i + 1} = {d:.2f}", 24, feature_color(i)))
        rows.arrange(DOWN, aligned_edge=LEFT, buff=0.12)
        return rows.to_corner(UR, buff=0.0).shift(DOWN * 0.0)
