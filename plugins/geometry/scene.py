"""The geometry animation: the five sticky shapes, ideal and as learned.

The ideal shapes are reference constructions; their D values and everything on
the right-hand side (the learned vectors, projected into the subspace they
span, and their D_i) come from the chapter's metrics.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from manim import (
    DOWN,
    LEFT,
    RIGHT,
    TAU,
    UP,
    Create,
    Dot,
    FadeIn,
    FadeOut,
    LaggedStart,
    Line,
    MathTex,
    Rotate,
    ThreeDScene,
    VGroup,
    Write,
)

from course import Animation, Result, step
from course.palette import feature_color
from course_animations import palette
from course_animations.mobjects import label
from course_plugins.geometry.shapes import SHAPES, edges, ideal_vectors

SCALE = 1.55
LEFT_CENTER = LEFT * 3.4 + DOWN * 0.35
RIGHT_CENTER = RIGHT * 3.4 + DOWN * 0.35
TILT = 20 * np.pi / 180


def animation(result: Result, metrics: dict[str, Any]) -> Animation:
    """The video of the chapter: its title, description and narration are in words.md.j2."""
    return Animation(scene=partial(GeometryScene, metrics))


def _as_3d(V: np.ndarray) -> np.ndarray:
    """(d, k) coordinates as (k, 3) points, padding missing axes with zeros."""
    V = np.asarray(V, dtype=float)
    pts = np.zeros((V.shape[1], 3))
    pts[:, : V.shape[0]] = V.T
    return pts


def shape_mobject(V: np.ndarray, scale: float = SCALE) -> VGroup:
    """Sticks from the origin to each vector's tip, a ball on each tip, and
    the outline joining nearest tips; one colour per vector."""
    pts = _as_3d(V) * scale
    outline = VGroup(*[
        Line(pts[i], pts[j], color=palette.theme().muted, stroke_width=2, stroke_opacity=0.7)
        for i, j in edges(V)
    ])
    sticks = VGroup(*[
        Line(np.zeros(3), p, color=feature_color(i), stroke_width=5)
        for i, p in enumerate(pts)
    ])
    tips = VGroup(*[
        Dot(p, radius=0.07, color=feature_color(i))
        for i, p in enumerate(pts)
    ])
    return VGroup(outline, sticks, tips)


def _d_summary(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return f"D_i = {lo:.2f}" if hi - lo < 0.005 else f"D_i from {lo:.2f} to {hi:.2f}"


class GeometryScene(ThreeDScene):
    """Each sticky shape: the ideal one on the left, the learned one (if found) on the right."""

    def __init__(self, metrics: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metrics = metrics

    def construct(self) -> None:
        m = self.metrics
        title = label("The shapes of superposition", 34).to_edge(UP, buff=0.25)
        formula = MathTex(r"D_i = \frac{\|W_i\|^2}{\sum_j (\hat W_i \cdot W_j)^2}",
                          color=palette.theme().foreground, font_size=40)
        self.add_subcaption(step("intro"), duration=4.0)
        self.play(Write(title), run_time=1.0)
        self.play(Write(formula), run_time=1.5)
        self.wait(1.5)
        self.play(FadeOut(formula), run_time=0.5)
        heads = VGroup(label("ideal shape", 22, palette.theme().muted).move_to(LEFT_CENTER + UP * 2.2),
                       label("learned by the model", 22, palette.theme().muted).move_to(RIGHT_CENTER + UP * 2.2))
        self.play(FadeIn(heads), run_time=0.5)

        for i, shape in enumerate(SHAPES):
            self._show(i, shape)

        totals = m["groups_total"]
        self.add_subcaption(step("summary"), duration=3.0)
        row = VGroup()
        for i, shape in enumerate(SHAPES):
            V = ideal_vectors(shape.name)
            thumb = shape_mobject(V, scale=0.75)
            if shape.d == 3:
                thumb.rotate(TILT, axis=RIGHT, about_point=np.zeros(3))
                thumb.rotate(TAU / 12, axis=UP, about_point=np.zeros(3))
            x = (i - (len(SHAPES) - 1) / 2) * 2.6
            thumb.shift(RIGHT * x + UP * 0.5)
            count = totals[shape.name]
            text = VGroup(
                label(shape.name, 20),
                label(f"D = {m['ideal'][shape.name]['fraction']}", 20),
                label(f"{count} found" if count else "none found", 20,
                      palette.theme().foreground if count else palette.theme().muted),
            ).arrange(DOWN, buff=0.1).move_to(RIGHT * x + DOWN * 1.35)
            row.add(VGroup(thumb, text))
        self.play(FadeOut(heads), LaggedStart(*[FadeIn(g) for g in row], lag_ratio=0.2), run_time=1.2)
        self.wait(2.0)

    def _show(self, index: int, shape: Any) -> None:
        m = self.metrics
        ideal = m["ideal"][shape.name]
        ex = m["examples"].get(shape.name)
        V = ideal_vectors(shape.name)
        left = shape_mobject(V).shift(LEFT_CENTER)
        dims = "dimension" if shape.d == 1 else "dimensions"
        name = label(f"{shape.name}: {shape.k} features in {shape.d} {dims}", 28).move_to(UP * 2.75)
        left_tag = label(f"D = {ideal['fraction']}  (computed {ideal['dimensionality']:.3f})", 22,
                         palette.theme().foreground).move_to(LEFT_CENTER + DOWN * 2.55)
        if ex:
            right = shape_mobject(np.asarray(ex["coords"])).shift(RIGHT_CENTER)
            right_tag = VGroup(
                label(f"at 1/(1−S) = {ex['inverse_density']:.2f}", 22),
                label(_d_summary(ex["dimensionality"]), 22),
            ).arrange(DOWN, buff=0.12).move_to(RIGHT_CENTER + DOWN * 2.6)
        else:
            right = VGroup()
            right_tag = label(f"no {shape.name} found in this run", 22, palette.theme().muted).move_to(RIGHT_CENTER)
        if shape.d == 3:
            left.rotate(TILT, axis=RIGHT, about_point=LEFT_CENTER)
            if ex:
                right.rotate(TILT, axis=RIGHT, about_point=RIGHT_CENTER)
        spin = 3.0 if shape.d == 3 else 0.0
        self.add_subcaption(step("shape", index), duration=1.3 + max(spin, 2.2))
        self.play(FadeIn(name), LaggedStart(Create(left), Create(right), lag_ratio=0.3),
                  FadeIn(left_tag), FadeIn(right_tag), run_time=1.3)
        if spin:
            turns = [Rotate(left, TAU / 3, axis=UP, about_point=LEFT_CENTER)]
            if ex:
                turns.append(Rotate(right, TAU / 3, axis=UP, about_point=RIGHT_CENTER))
            self.play(*turns, run_time=spin)
        else:
            self.wait(2.2)
        self.play(FadeOut(VGroup(name, left, right, left_tag, right_tag)), run_time=0.5)
