"""The safety animation: switch off one neuron of a trained privileged-basis
model, then another, and watch which features lose their read-out.

Every bar comes from the trained weights and the measured ablation damage; the
narration (in words.md.j2) quotes the same numbers.
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
    FadeIn,
    FadeOut,
    Line,
    Rectangle,
    Scene,
    SurroundingRectangle,
    Transform,
    VGroup,
    Write,
)

from course import Animation, Result, step
from course.palette import feature_color, repaint
from course_animations import palette
from course_animations.mobjects import label, neuron_bars

NEURON_X = LEFT * 3.4
DAMAGE_X = RIGHT * 2.7
BASE = DOWN * 0.4  # the damage chart's floor
NEURON_STEP = 0.95
BAR_SCALE = 0.9  # at most; smaller when the stacked weights would not fit
NEURON_TOP = 1.9  # the neuron bars fit between these heights
NEURON_BOTTOM = -2.6
DAMAGE_STEP = 0.42
DAMAGE_SCALE = 1.8
DAMAGE_CAP = 1.2


def animation(result: Result, metrics: dict[str, Any]) -> Animation:
    """The video of the chapter: its title, description and narration are in words.md.j2."""
    level = metrics["showcase"]["level"]
    return Animation(scene=partial(SideEffectsScene, result["neuron_W"][level], metrics))


class SideEffectsScene(Scene):
    """Neuron bars of one trained model; switch off a monosemantic, then a polysemantic neuron."""

    def __init__(self, W: np.ndarray, metrics: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.W = np.asarray(W, dtype=float)
        self.metrics = metrics
        self.run = metrics["runs"][metrics["showcase"]["level"]]
        up = float(np.clip(self.W, 0, None).sum(axis=1).max())
        down = float(-np.clip(self.W, None, 0).sum(axis=1).min())
        self.scale = min(BAR_SCALE, (NEURON_TOP - NEURON_BOTTOM) / max(up + down, 1e-6))
        self.axis_y = NEURON_BOTTOM + down * self.scale

    def _neuron_x(self, k: int) -> np.ndarray:
        m = self.W.shape[0]
        return NEURON_X + RIGHT * (k - (m - 1) / 2) * NEURON_STEP

    def _neurons(self) -> list[VGroup]:
        out = []
        for k in range(self.W.shape[0]):
            bars = repaint(neuron_bars(self.W[k : k + 1], width=0.55, scale=self.scale))
            bars.shift(self._neuron_x(k) + UP * self.axis_y)
            name = label(f"n{k + 1}", 22, palette.theme().muted).move_to(self._neuron_x(k) + UP * (NEURON_BOTTOM - 0.35))
            out.append(VGroup(bars, name))
        return out

    def _damage(self, k: int) -> VGroup:
        damage = np.clip(np.asarray(self.run["damage"], dtype=float)[:, k], 0.0, DAMAGE_CAP)
        n = len(damage)
        bars = VGroup()
        for i, v in enumerate(damage):
            h = max(1e-3, float(v) * DAMAGE_SCALE)
            bar = Rectangle(width=0.3, height=h, stroke_width=0)
            bar.set_fill(feature_color(i), opacity=0.95 if v > 1e-3 else 0.0)
            bar.move_to(DAMAGE_X + BASE + RIGHT * (i - (n - 1) / 2) * DAMAGE_STEP + UP * h / 2)
            bars.add(bar)
        return bars

    def construct(self) -> None:
        sc = self.metrics["showcase"]
        quiet, loud = sc["quiet"], sc["loud"]
        n = self.W.shape[1]
        title = label("Switch off one neuron", 36).to_edge(UP)
        self.add_subcaption(step("intro"), duration=2.5)
        self.play(Write(title), run_time=1.2)
        self.wait(1.3)

        neurons = self._neurons()
        axis = Line(NEURON_X + LEFT * 2.6 + UP * self.axis_y, NEURON_X + RIGHT * 2.6 + UP * self.axis_y,
                    color=palette.theme().muted, stroke_width=2)
        self.add_subcaption(step("neurons"), duration=3.5)
        self.play(FadeIn(axis), *(FadeIn(g) for g in neurons), run_time=1.2)
        self.wait(2.3)

        floor = Line(DAMAGE_X + LEFT * (n * DAMAGE_STEP / 2 + 0.2) + BASE,
                     DAMAGE_X + RIGHT * (n * DAMAGE_STEP / 2 + 0.2) + BASE, color=palette.theme().muted, stroke_width=2)
        heading = label("loss each feature gains", 22, palette.theme().muted).move_to(DAMAGE_X + UP * 2.2)
        full = Line(DAMAGE_X + LEFT * (n * DAMAGE_STEP / 2 + 0.2) + BASE + UP * DAMAGE_SCALE,
                    DAMAGE_X + RIGHT * (n * DAMAGE_STEP / 2 + 0.2) + BASE + UP * DAMAGE_SCALE,
                    color=palette.theme().muted, stroke_width=1).set_opacity(0.6)
        full_tag = label("as bad as forgetting it", 18, palette.theme().muted).next_to(full, UP, buff=0.08)

        box = SurroundingRectangle(neurons[quiet], color=palette.theme().foreground, buff=0.08)
        damage = self._damage(quiet)
        self.add_subcaption(step("quiet"), duration=4)
        self.play(FadeIn(box), neurons[quiet].animate.set_opacity(0.25), run_time=0.8)
        self.play(FadeIn(floor), FadeIn(heading), FadeIn(full), FadeIn(full_tag), FadeIn(damage), run_time=1.0)
        self.wait(2.2)

        new_box = SurroundingRectangle(neurons[loud], color=palette.theme().foreground, buff=0.08)
        self.add_subcaption(step("loud"), duration=4.5)
        self.play(neurons[quiet].animate.set_opacity(1.0), neurons[loud].animate.set_opacity(0.25),
                  Transform(box, new_box), Transform(damage, self._damage(loud)), run_time=1.2)
        self.wait(3.3)

        last = self.metrics["runs"][-1]
        counts = VGroup(
            label(f"represented: {self.run['features_represented']} features", 26, feature_color(0)),
            label(f"readable neuron by neuron: {self.run['features_readable']}", 26, feature_color(1)),
        ).arrange(DOWN, aligned_edge=LEFT, buff=0.2).move_to(DAMAGE_X + DOWN * 2.2)
        self.add_subcaption(step("reading"), duration=4)
        self.play(FadeOut(box), neurons[loud].animate.set_opacity(1.0), FadeIn(counts), run_time=1.0)
        self.wait(3.0)

        final = VGroup(
            label(f"represented: {last['features_represented']} features", 26, feature_color(0)),
            label(f"readable neuron by neuron: {last['features_readable']}", 26, feature_color(1)),
        ).arrange(DOWN, aligned_edge=LEFT, buff=0.2).move_to(counts)
        self.add_subcaption(step("end"), duration=3.5)
        self.play(Transform(counts, final), run_time=1.0)
        self.wait(2.5)
