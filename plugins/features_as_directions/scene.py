"""The features-as-directions animation: h = Wx built from the trained columns of W."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    Arrow,
    Create,
    DashedLine,
    DecimalMatrix,
    Dot,
    FadeIn,
    GrowArrow,
    MathTex,
    Scene,
    VGroup,
    Write,
)

from course import Animation, Result, step
from course.palette import feature_color
from course_animations import palette
from course_animations.mobjects import label, unit_circle

SCALE = 2.3
ORIGIN = LEFT * 3.6 + DOWN * 0.4


def animation(result: Result, metrics: dict[str, Any]) -> Animation:
    """The video of the chapter: its title, description and narration are in words.md.j2."""
    r = metrics["runs"][metrics["shown"]]
    return Animation(scene=partial(DirectionsScene, np.asarray(r["W"]), metrics))


def _point(v: np.ndarray) -> np.ndarray:
    return ORIGIN + np.array([v[0], v[1], 0.0]) * SCALE


class DirectionsScene(Scene):
    """Arrows W_i in the 2-D activation space, then h = x₁W₁ + x₂W₂ tip to tail."""

    def __init__(self, W: np.ndarray, metrics: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.W = np.asarray(W, dtype=float)
        self.metrics = metrics
        self.run_ = metrics["runs"][metrics["shown"]]
        self.x = np.asarray(metrics["example_input"], dtype=float)

    def construct(self) -> None:
        W, x, r = self.W, self.x, self.run_
        n = W.shape[1]
        colors = [feature_color(i) for i in range(n)]

        title = label("A feature is a direction", 36).to_edge(UP)
        self.add_subcaption(step("space"), duration=2.5)
        self.play(Write(title), run_time=1.2)
        axes = VGroup(
            DashedLine(_point([-1.25, 0]), _point([1.25, 0]), color=palette.theme().muted, stroke_width=1.5),
            DashedLine(_point([0, -1.25]), _point([0, 1.25]), color=palette.theme().muted, stroke_width=1.5),
        )
        names = VGroup(
            label("neuron 1", 20, palette.theme().muted).next_to(_point([1.25, 0]), DOWN, buff=0.15).shift(LEFT * 0.5),
            label("neuron 2", 20, palette.theme().muted).next_to(_point([0, 1.25]), RIGHT, buff=0.1),
        )
        circle = unit_circle(SCALE).move_to(ORIGIN)
        self.play(Create(axes), FadeIn(names), Create(circle), run_time=1.2)

        arrows = VGroup()
        for i in range(n):
            if np.linalg.norm(W[:, i]) > 0.05:
                arrows.add(Arrow(_point([0, 0]), _point(W[:, i]), buff=0, color=colors[i], stroke_width=6))
        self.add_subcaption(step("directions"), duration=3.5)
        self.play(*[GrowArrow(a) for a in arrows], run_time=1.5)
        self.wait(2)

        # the product written out, numbers from the trained W
        Wm = DecimalMatrix(W + 0.0, element_to_mobject_config={"num_decimal_places": 2}, h_buff=1.9).scale(0.55)
        for j, col in enumerate(Wm.get_columns()):
            col.set_color(colors[j])
        xm = DecimalMatrix(x.reshape(-1, 1), element_to_mobject_config={"num_decimal_places": 1}).scale(0.55)
        for i, entry in enumerate(xm.get_entries()):
            entry.set_color(colors[i])
        hm = DecimalMatrix(np.asarray(r["h"]).reshape(-1, 1), element_to_mobject_config={"num_decimal_places": 2}).scale(0.55)
        eq = VGroup(MathTex("h =", color=palette.theme().foreground).scale(0.8), Wm,
                    MathTex(r"\times", color=palette.theme().foreground).scale(0.8), xm,
                    MathTex("=", color=palette.theme().foreground).scale(0.8), hm)
        eq.arrange(RIGHT, buff=0.2)
        eq.scale_to_fit_width(min(eq.width, 6.0)).move_to(RIGHT * 3.4 + UP * 1.6)
        sumtex = MathTex(
            rf"h = {x[0]:g}\,W_1 + {x[1]:g}\,W_2 + {x[2]:g}\,W_3", color=palette.theme().foreground
        ).scale(0.75).next_to(eq, DOWN, buff=0.45)
        self.add_subcaption(step("product"), duration=3)
        self.play(FadeIn(eq), run_time=1.2)
        self.play(Write(sumtex), run_time=1.2)
        self.wait(0.6)

        # tip to tail
        pos = np.zeros(2)
        steps = VGroup()
        for i in range(n):
            move = x[i] * W[:, i]
            if np.linalg.norm(move) < 0.05:
                continue
            a = Arrow(_point(pos), _point(pos + move), buff=0, color=colors[i], stroke_width=8,
                      max_tip_length_to_length_ratio=0.2)
            steps.add(a)
            pos = pos + move
        self.add_subcaption(step("tip_to_tail"), duration=3)
        self.play(arrows.animate.set_opacity(0.3), run_time=0.4)
        for a in steps:
            self.play(GrowArrow(a), run_time=1.0)
        dot = Dot(_point(r["h"]), color=palette.theme().foreground, radius=0.09)
        hlabel = MathTex("h", color=palette.theme().foreground).scale(0.8).next_to(dot, UP + RIGHT, buff=0.08)
        self.play(FadeIn(dot), FadeIn(hlabel), run_time=0.6)
        self.wait(1)

        # reading feature 1 back with a dot product
        u = W[:, 0] / np.linalg.norm(W[:, 0])
        foot = float(np.dot(r["h"], u)) * u
        proj = DashedLine(_point(r["h"]), _point(foot), color=colors[0], stroke_width=3)
        read = MathTex(rf"W_1 \cdot h = {float(np.dot(W[:, 0], r['h'])):.2f}", color=colors[0]).scale(0.75)
        read.next_to(sumtex, DOWN, buff=0.45)
        self.add_subcaption(step("read_back"), duration=3.5)
        self.play(Create(proj), Write(read), run_time=1.5)
        self.wait(1.5)

        norm3 = r["feature_norms"][2]
        note = label(
            f"feature 3: length {norm3:.2f}, read out as {r['readout'][2]:.2f} (its average)",
            22, colors[2],
        ).next_to(read, DOWN, buff=0.4)
        if note.width > 6.2:
            note.scale_to_fit_width(6.2)
        self.add_subcaption(step("feature3"), duration=4)
        self.play(FadeIn(note), run_time=1)
        self.wait(3.5)
