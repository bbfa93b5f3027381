"""The sparsity animation: two rare features sharing one dimension, then the density sweep.

Everything drawn comes from the trained models: the arrows are the two
columns of the n = 2, m = 1 model's W, the read-outs are ReLU(W_i h + b_i)
computed from its weights and bias, and the bars are ‖W_i‖ of the 20-feature
ReLU models.
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
    Arrow,
    Create,
    DashedLine,
    Dot,
    FadeIn,
    FadeOut,
    GrowArrow,
    Line,
    MathTex,
    Rectangle,
    Scene,
    Square,
    Transform,
    VGroup,
    Write,
)

from course import Animation, Result, step
from course.metrics import REPRESENTED
from course.palette import feature_color
from course_animations import palette
from course_animations.mobjects import label, norm_bars

SCALE = 3.0  # scene units per unit of W on the hidden line
BAR = 2.4  # scene units per unit of read-out
NORM_WIDTH = 4.0  # scene units for the longest ‖W_i‖ of the sweep
#: the course's own pair of unrelated, rarely co-occurring features (the words name them too)
EXAMPLE = ("bagpipes", "sourdough")


def animation(result: Result, metrics: dict[str, Any]) -> Animation:
    """The video of the chapter: its title, description and narration are in words.md.j2."""
    pair = metrics["phase_diagram"]["example"]
    relu = [r for r in metrics["runs"] if r["model"] == "relu"]
    return Animation(scene=partial(SparsityScene, pair, relu, EXAMPLE, metrics["n_hidden"]))


def signed(v: float) -> str:
    """A number with an explicit sign and a true minus, never "−0.00"."""
    v = round(float(v), 2) + 0.0
    return f"{v:+.2f}".replace("-", "−")


def readouts(W: np.ndarray, b: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """h = W x and the ReLU-output model's read-outs ReLU(Wᵀ h + b)."""
    W = np.asarray(W, dtype=float).reshape(-1)
    h = float(W @ np.asarray(x, dtype=float))
    return h, np.maximum(W * h + np.asarray(b, dtype=float), 0.0)


class SparsityScene(Scene):
    """An antipodal pair on one hidden dimension, then ‖W_i‖ across densities."""

    def __init__(self, pair: dict[str, Any], relu_runs: list[dict[str, Any]],
                 names: tuple[str, str], n_hidden: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.m = n_hidden
        self.W = np.asarray(pair["W"], dtype=float).reshape(-1)
        self.b = np.asarray(pair["bias"], dtype=float).reshape(-1)
        self.pair = pair
        self.runs = relu_runs
        self.names = names

    def construct(self) -> None:
        self.pair_part()
        self.sweep_part()

    # -- part 1: the antipodal pair ---------------------------------------------
    def pair_part(self) -> None:
        a, c = self.names
        title = label("Two rare features, one dimension", 34).to_edge(UP, buff=0.35)
        self.add_subcaption(step("intro"), duration=2.0)
        self.play(Write(title), run_time=1.2)

        y = UP * 1.3
        axis = Line(LEFT * SCALE * 1.3 + y, RIGHT * SCALE * 1.3 + y, color=palette.theme().muted, stroke_width=2)
        zero = Line(y + DOWN * 0.12, y + UP * 0.12, color=palette.theme().muted, stroke_width=2)
        axis_name = label("hidden dimension h", 22, palette.theme().muted).next_to(axis, DOWN, buff=0.15).align_to(axis, RIGHT)
        arrows, names = VGroup(), VGroup()
        for i, (w, name) in enumerate(zip(self.W, self.names, strict=True)):
            end = y + RIGHT * w * SCALE + UP * 0.05 * (1 if i == 0 else -1)
            arr = Arrow(y + UP * 0.05 * (1 if i == 0 else -1), end, buff=0, color=feature_color(i),
                        stroke_width=7, max_tip_length_to_length_ratio=0.12)
            arrows.add(arr)
            names.add(label(f"{name}  W = {signed(w)}", 24, feature_color(i)).next_to(end, UP, buff=0.25))
        self.play(Create(axis), Create(zero), FadeIn(axis_name), run_time=0.8)
        self.add_subcaption(step("pair"), duration=4.1)
        self.play(*(GrowArrow(arr) for arr in arrows), FadeIn(names), run_time=1.5)
        self.wait(2)

        # read-out panel
        rows_y = [DOWN * 1.2, DOWN * 2.3]
        row_names = VGroup(*(
            label(f"{n} read-out", 22, feature_color(i)).move_to(rows_y[i]).to_edge(LEFT, buff=0.6)
            for i, n in enumerate(self.names)))
        x0 = LEFT * 1.2
        dot = Dot(y, color=palette.theme().foreground, radius=0.09)
        bars = self._bars(np.zeros(2), np.zeros(2), rows_y, x0)
        key = label("outline: the input, i.e. the right answer", 20, palette.theme().muted).to_edge(DOWN, buff=0.35)
        self.play(FadeIn(row_names), FadeIn(bars), FadeIn(dot), FadeIn(key), run_time=0.6)
        p = self.pair["density"]
        inputs = [
            (np.array([1.0, 0.0]), f"a page about {a}"),
            (np.array([0.0, 1.0]), f"a page about {c}"),
            (np.array([1.0, 1.0]), f"the rare page about both (probability p² = {p * p:.2g})"),
        ]
        caption = None
        for k, (x, what) in enumerate(inputs):
            h, out = readouts(self.W, self.b, x)
            new_caption = label(f"input: {what}", 24).move_to(DOWN * 0.25)
            self.add_subcaption(step("input", k), duration=3.2)
            self.play(
                dot.animate.move_to(y + RIGHT * h * SCALE),
                Transform(bars, self._bars(out, x, rows_y, x0)),
                Transform(caption, new_caption) if caption is not None else FadeIn(new_caption),
                run_time=1.2,
            )
            caption = caption if caption is not None else new_caption
            self.wait(2)
        self.play(*(FadeOut(mob) for mob in self.mobjects), run_time=0.8)

    def _bars(self, out: np.ndarray, target: np.ndarray, rows_y: list[np.ndarray], x0: np.ndarray) -> VGroup:
        """Read-out bars (filled) over target outlines (what a perfect model outputs)."""
        group = VGroup()
        for i, (o, t) in enumerate(zip(out, target, strict=True)):
            goal = Rectangle(width=max(1e-3, BAR * float(t)), height=0.42, stroke_color=palette.theme().muted,
                             stroke_width=2, fill_opacity=0)
            goal.move_to(x0 + rows_y[i] + RIGHT * BAR * float(t) / 2)
            bar = Rectangle(width=max(1e-3, BAR * float(o)), height=0.32, stroke_width=0)
            bar.set_fill(feature_color(i), opacity=1.0 if o > 1e-3 else 0.0)
            bar.move_to(x0 + rows_y[i] + RIGHT * BAR * float(o) / 2)
            value = label(f"{o:.2f}", 22).next_to(x0 + rows_y[i] + RIGHT * BAR * max(float(o), float(t)), RIGHT, buff=0.2)
            group.add(VGroup(goal, bar, value))
        return group

    # -- part 2: the density sweep ----------------------------------------------
    def sweep_part(self) -> None:
        runs = self.runs
        top = max(1.0, max(max(r["feature_norms"]) for r in runs))
        n = len(runs[0]["feature_norms"])
        title = label(f"{n} features, {self.m} dimensions: lowering the density", 32).to_edge(UP, buff=0.35)
        self.add_subcaption(step("sweep"), duration=2.5)
        self.play(Write(title), run_time=1.0)
        self.wait(1.5)
        origin = LEFT * 3.4 + UP * 2.4
        unit = DashedLine(origin + RIGHT * NORM_WIDTH / top, origin + RIGHT * NORM_WIDTH / top + DOWN * 0.3 * n,
                          color=palette.theme().muted, stroke_width=1.5)
        unit_label = label("‖W_i‖ = 1", 20, palette.theme().muted).next_to(unit, UP, buff=0.1)
        legend = VGroup(label("bar colour: interference", 20, palette.theme().muted))
        for value, text in ((0.0, "none (orthogonal to all others)"), (1.0, "≥ 1 (as strong as the feature itself)")):
            swatch = Square(0.22, stroke_width=0).set_fill(palette.interference_color(value), 1.0)
            legend.add(VGroup(swatch, label(text, 20, palette.theme().muted)).arrange(RIGHT, buff=0.15))
        legend.arrange(DOWN, aligned_edge=LEFT, buff=0.12).to_corner(DOWN + RIGHT, buff=0.5)
        ends = VGroup(
            label("feature 1 (most important)", 18, palette.theme().muted).next_to(origin, LEFT, buff=0.15).shift(DOWN * 0.15),
            label(f"feature {n}", 18, palette.theme().muted).next_to(origin + DOWN * 0.3 * (n - 0.5), LEFT, buff=0.15),
        )
        bars = self._norm_bars(runs[0], top, origin)
        info = self._info(runs[0])
        self.add_subcaption(step("density", 0), duration=2.5)
        self.play(FadeIn(bars), FadeIn(info), Create(unit), FadeIn(unit_label), FadeIn(legend), FadeIn(ends),
                  run_time=1.0)
        self.wait(1.5)
        for k, run in enumerate(runs[1:], start=1):
            self.add_subcaption(step("density", k), duration=2.2)
            self.play(Transform(bars, self._norm_bars(run, top, origin)), Transform(info, self._info(run)),
                      run_time=1.2)
            self.wait(1.0)
        self.add_subcaption(step("end"), duration=2.5)
        self.wait(2.5)

    def _norm_bars(self, run: dict[str, Any], top: float, origin: np.ndarray) -> VGroup:
        norms = run["feature_norms"]
        # norm_bars scales to its own longest bar; rescale so every density shares one scale
        width = NORM_WIDTH * max(1.0, max(norms)) / top
        return norm_bars(norms, run["interference"], width=width, height=0.3).move_to(origin, aligned_edge=UP + LEFT)

    def _info(self, run: dict[str, Any]) -> VGroup:
        return VGroup(
            label(f"density 1 − S = {run['density']:g}", 30),
            MathTex(rf"\|W\|_F^2 = {run['frobenius_sq']:.2f}", color=feature_color(0)).scale(0.9),
            label(f"{run['features_represented']} features with ‖W_i‖ > {REPRESENTED:g}", 26),
            label(f"(only {self.m} fit without sharing)", 22, palette.theme().muted),
        ).arrange(DOWN, aligned_edge=LEFT, buff=0.25).move_to(RIGHT * 3.6 + UP * 0.8)
