"""The non-uniform superposition animation: the pentagon collapsing as feature 1 grows sparser.

Left: the trained models' arrows W_i, level by level from the baseline
(every feature at the same density) to the sparsest, each model turned onto
its neighbour by orthogonal Procrustes (``metrics["runs"][k]["aligned"]``,
with the interchangeable features 2–5 relabelled to match; :mod:`course.align`)
so the picture moves only where the models differ; between levels each arrow
turns and changes length (:func:`course.align.interpolate`), never shrinking
through the origin. Right: the expected loss
of the pentagon and of the two digons against feature 1's density ratio
(log–log), with a marker on each curve at the current level.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np
from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    Create,
    DashedLine,
    Dot,
    FadeIn,
    Line,
    Scene,
    Transform,
    ValueTracker,
    VGroup,
    VMobject,
    Write,
    always_redraw,
)

from course import Animation, Result, align, step
from course.palette import feature_color, repaint
from course_animations import palette
from course_animations.mobjects import axes_cross, feature_arrows, label, unit_circle

SCALE = 2.0  # scene units per unit of W
ARROWS_AT = LEFT * 3.6 + DOWN * 0.3
PLOT_AT = RIGHT * 3.3 + DOWN * 0.2  # centre of the loss plot
PLOT_W, PLOT_H = 5.2, 4.0
PENTAGON_COLOR = feature_color(4)
DIGON_COLOR = feature_color(1)


def animation(result: Result, metrics: dict[str, Any]) -> Animation:
    """The video of the chapter: its title, description and narration are in words.md.j2."""
    return Animation(scene=partial(NonUniformScene, metrics["runs"], metrics["baseline_index"],
                                   metrics["collapse"].get("crossing")))


def sweep_order(runs: list[dict[str, Any]], baseline: int) -> list[int]:
    """The levels the video visits: from the baseline towards sparser feature 1."""
    return sorted((k for k, r in enumerate(runs) if r["ratio"] <= runs[baseline]["ratio"]),
                  key=lambda k: -runs[k]["ratio"])


class LogPlot:
    """Maps (ratio, loss) to scene points on log–log axes fitted to the data."""

    def __init__(self, ratios: list[float], losses: list[float]) -> None:
        self.x0, self.x1 = math.log(min(ratios)), math.log(max(ratios))
        lo, hi = math.log(min(losses)), math.log(max(losses))
        pad = 0.05 * (hi - lo or 1.0)
        self.y0, self.y1 = lo - pad, hi + pad

    def point(self, ratio: float, loss: float) -> np.ndarray:
        u = (math.log(ratio) - self.x0) / ((self.x1 - self.x0) or 1.0)
        v = (math.log(max(loss, 1e-12)) - self.y0) / ((self.y1 - self.y0) or 1.0)
        return PLOT_AT + np.array([(u - 0.5) * PLOT_W, (v - 0.5) * PLOT_H, 0.0])


class NonUniformScene(Scene):
    """Arrows of the trained models and the two solutions' loss curves, feature 1 growing sparser."""

    def __init__(self, runs: list[dict[str, Any]], baseline: int, crossing: float | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runs = runs
        self.baseline = baseline
        self.crossing = crossing
        self.order = sweep_order(runs, baseline)
        ratios = [r["ratio"] for r in runs]
        self.plot = LogPlot(ratios, [r["pentagon_loss"] for r in runs] + [r["digon_loss"] for r in runs])

    # the state at a fractional position t along self.order
    def _at(self, t: float) -> tuple[np.ndarray, float, float, float, np.ndarray]:
        k = min(int(t), len(self.order) - 2) if len(self.order) > 1 else 0
        a = self.runs[self.order[k]]
        b = self.runs[self.order[min(k + 1, len(self.order) - 1)]]
        f = min(max(t - k, 0.0), 1.0)
        W, alpha = align.interpolate(np.asarray(a["aligned"]), np.asarray(b["aligned"]), f)
        ratio = math.exp((1 - f) * math.log(a["ratio"]) + f * math.log(b["ratio"]))
        lp = math.exp((1 - f) * math.log(a["pentagon_loss"]) + f * math.log(b["pentagon_loss"]))
        ld = math.exp((1 - f) * math.log(a["digon_loss"]) + f * math.log(b["digon_loss"]))
        return W, ratio, lp, ld, alpha

    def _arrows(self, t: float) -> VGroup:
        W, *_, alpha = self._at(t)
        arrows = repaint(feature_arrows(W, SCALE))
        for arrow, a in zip(arrows, alpha, strict=True):
            if a < 1.0:  # a feature one of the two models stores and the other drops
                arrow.set_opacity(arrow.get_stroke_opacity() * a)
        return arrows

    def _curve(self, key: str, color: str) -> VMobject:
        pts = [self.plot.point(r["ratio"], r[key]) for r in self.runs]
        return VMobject(stroke_color=color, stroke_width=4).set_points_as_corners(pts)

    def construct(self) -> None:
        title = label("One feature grows sparser", 34).to_edge(UP, buff=0.3)
        self.add_subcaption(step("intro"), duration=3.0)
        self.play(Write(title), run_time=1.2)
        frame = VGroup(axes_cross(SCALE), unit_circle(SCALE)).move_to(ARROWS_AT)
        self.play(Create(frame), run_time=0.8)
        self.wait(1.0)

        t = ValueTracker(0.0)
        arrows = always_redraw(lambda: self._arrows(t.get_value()).shift(ARROWS_AT))
        box = VGroup(
            Line(PLOT_AT + np.array([-PLOT_W / 2, -PLOT_H / 2, 0]), PLOT_AT + np.array([PLOT_W / 2, -PLOT_H / 2, 0]),
                 color=palette.theme().muted, stroke_width=2),
            Line(PLOT_AT + np.array([-PLOT_W / 2, -PLOT_H / 2, 0]), PLOT_AT + np.array([-PLOT_W / 2, PLOT_H / 2, 0]),
                 color=palette.theme().muted, stroke_width=2),
        )
        xname = label("feature 1's density ÷ the others' (log scale)", 18, palette.theme().muted)
        xname.next_to(box[0], DOWN, buff=0.15)
        yname = label("loss (log scale)", 18, palette.theme().muted).rotate(math.pi / 2).next_to(box[1], LEFT, buff=0.15)
        pent, dig = self._curve("pentagon_loss", PENTAGON_COLOR), self._curve("digon_loss", DIGON_COLOR)
        keys = VGroup(label("pentagon", 22, PENTAGON_COLOR), label("two digons", 22, DIGON_COLOR))
        keys.arrange(DOWN, aligned_edge=LEFT, buff=0.1).move_to(PLOT_AT + np.array([0.0, PLOT_H / 2 - 0.3, 0]))
        markers = always_redraw(lambda: VGroup(
            Dot(self.plot.point(self._at(t.get_value())[1], self._at(t.get_value())[2]), radius=0.09,
                color=PENTAGON_COLOR),
            Dot(self.plot.point(self._at(t.get_value())[1], self._at(t.get_value())[3]), radius=0.09,
                color=DIGON_COLOR),
        ))
        tag = self._tag(self.order[0])
        self.add_subcaption(step("baseline"), duration=4.0)
        self.play(FadeIn(arrows), FadeIn(tag), run_time=1.0)
        self.play(Create(box), FadeIn(xname), FadeIn(yname), Create(pent), Create(dig), FadeIn(keys), run_time=1.5)
        self.play(FadeIn(markers), run_time=0.5)
        self.wait(1.0)

        crossed = False
        for j, k in enumerate(self.order[1:], start=1):
            r = self.runs[k]
            passing = (self.crossing is not None and not crossed and r["ratio"] < self.crossing)
            self.add_subcaption(step("level", k), duration=2.2)
            self.play(t.animate.set_value(float(j)), Transform(tag, self._tag(k)), run_time=1.4)
            self.wait(0.8)
            if passing:
                crossed = True
                top = self.plot.point(self.crossing, math.exp(self.plot.y1))
                bottom = self.plot.point(self.crossing, math.exp(self.plot.y0))
                line = DashedLine(bottom, top, color=palette.theme().foreground, stroke_width=2)
                self.add_subcaption(step("crossing"), duration=3.5)
                self.play(Create(line), run_time=1.0)
                self.wait(2.5)
        self.add_subcaption(step("end"), duration=3.0)
        self.wait(3.0)

    def _tag(self, k: int) -> VGroup:
        r = self.runs[k]
        return VGroup(
            label(f"feature 1 density × {r['ratio']:.2g}", 26),
            label(f"{r['features_represented']} features stored", 22, palette.theme().muted),
        ).arrange(DOWN, buff=0.1).next_to(ARROWS_AT + DOWN * SCALE, DOWN, buff=0.35)
