"""The interference animation: one feature fires, the others hear an echo.

Every arrow, bar and matrix cell is computed from the trained W and b of the
chapter's 2-D ReLU model; the narration (in words.md.j2) quotes the measured values.
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
    FadeIn,
    FadeOut,
    Indicate,
    LaggedStart,
    MathTex,
    Rectangle,
    ReplacementTransform,
    Scene,
    Square,
    Transform,
    VGroup,
    Write,
)

from course import Animation, Result, step
from course.palette import feature_color, repaint
from course_animations import palette
from course_animations.mobjects import axes_cross, feature_arrows, gram_heatmap, label, unit_circle

ARROW_SCALE = 1.45
ARROW_ORIGIN = LEFT * 4.7 + DOWN * 0.4
BAR_BASE = DOWN * 0.4
BAR_SCALE = 1.2
BAR_STEP = 0.75
BAR_WIDTH = 0.45
CELL = 0.55
GRAM_CENTER = RIGHT * 4.75 + DOWN * 0.4
TAG_POS = UP * 1.85
ITF_SCALE = 0.7


def animation(result: Result, metrics: dict[str, Any]) -> Animation:
    """The video of the chapter: its title, description and narration are in words.md.j2."""
    return Animation(scene=partial(InterferenceScene, result["arrows_W"][0], result["arrows_b"][0],
                                   metrics["arrows"]))


class InterferenceScene(Scene):
    """Fire one feature of a trained 2-D ReLU model; show read-outs, bias, ReLU, WᵀW."""

    def __init__(self, W: np.ndarray, b: np.ndarray, info: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.W = np.asarray(W, dtype=float)
        self.b = np.asarray(b, dtype=float)
        self.info = info
        self.n = self.W.shape[1]
        self.G = self.W.T @ self.W

    # -- pieces ------------------------------------------------------------
    def _bar_x(self, j: int) -> float:
        return (j - (self.n - 1) / 2) * BAR_STEP

    def _bars(self, values: np.ndarray, scale: float = BAR_SCALE) -> VGroup:
        bars = VGroup()
        for j, v in enumerate(values):
            h = max(1e-3, abs(float(v)) * scale)
            bar = Rectangle(width=BAR_WIDTH, height=h, stroke_width=0)
            bar.set_fill(feature_color(j), opacity=0.9 if abs(v) > 1e-3 else 0.0)
            bar.move_to(BAR_BASE + RIGHT * self._bar_x(j) + UP * np.sign(v) * h / 2)
            bars.add(bar)
        return bars

    def _numbers(self, values: np.ndarray, scale: float = BAR_SCALE) -> VGroup:
        nums = VGroup()
        for j, v in enumerate(values):
            t = label(f"{v:.2f}", 18, palette.theme().foreground)
            off = abs(float(v)) * scale + 0.2
            t.move_to(BAR_BASE + RIGHT * self._bar_x(j) + (UP if v >= 0 else DOWN) * off)
            nums.add(t)
        return nums

    def _hidden_arrow(self, value: float, feature: int) -> Arrow:
        end = np.array([*self.W[:, feature], 0.0]) * value * ARROW_SCALE
        return Arrow(ARROW_ORIGIN, ARROW_ORIGIN + end, buff=0, color=palette.theme().foreground,
                     stroke_width=9, max_tip_length_to_length_ratio=0.22)

    def _stage(self, bars: VGroup, nums: VGroup, values: np.ndarray, tag: Any, text: str,
               caption: str, run_time: float = 1.0, wait: float = 1.2, scale: float = BAR_SCALE) -> None:
        self.add_subcaption(caption, duration=run_time + wait)
        new_tag = label(text, 24, palette.theme().muted).move_to(TAG_POS)
        self.play(Transform(bars, self._bars(values, scale)), Transform(nums, self._numbers(values, scale)),
                  Transform(tag, new_tag), run_time=run_time)
        self.wait(wait)

    # -- the video ----------------------------------------------------------
    def construct(self) -> None:
        info, n, fired = self.info, self.n, int(self.info["fired"])
        title = label("Interference: one feature fires, the others hear an echo", 30).to_edge(UP, buff=0.3)
        self.add_subcaption(step("intro"), duration=3)
        frame = VGroup(axes_cross(ARROW_SCALE), unit_circle(ARROW_SCALE)).move_to(ARROW_ORIGIN)
        arrows = repaint(feature_arrows(self.W, ARROW_SCALE)).shift(ARROW_ORIGIN)
        names = VGroup(*[
            label(f"{i + 1}", 22, feature_color(i)).move_to(
                ARROW_ORIGIN + np.array([*self.W[:, i], 0.0]) * ARROW_SCALE * 1.2)
            for i in range(n)
        ])
        self.play(Write(title), Create(frame), run_time=1.2)
        self.play(FadeIn(arrows), FadeIn(names), run_time=1.0)
        self.wait(0.8)

        # the read-out panel
        formula = MathTex(r"x'_j = \mathrm{ReLU}(W_j \cdot h + b_j)", color=palette.theme().foreground,
                          font_size=34).move_to(UP * 2.45)
        axis = Rectangle(width=n * BAR_STEP + 0.3, height=0.01, stroke_width=1.5,
                         stroke_color=palette.theme().muted).move_to(BAR_BASE)
        bar_names = VGroup(*[
            label(f"x'{j + 1}", 20, feature_color(j)).move_to(
                BAR_BASE + RIGHT * self._bar_x(j) + DOWN * 2.35)
            for j in range(n)
        ])
        zeros = np.zeros(n)
        bars, nums = self._bars(zeros), self._numbers(zeros)
        nums.set_opacity(0)
        tag = label(" ", 24, palette.theme().muted).move_to(TAG_POS)

        strong = info["strong"]
        x = float(strong["value"])
        h = self._hidden_arrow(x, fired)
        self.add_subcaption(step("fire"), duration=2.2)
        self.play(arrows.animate.set_opacity(0.45), FadeIn(h), Write(formula), Create(axis),
                  FadeIn(bar_names), run_time=1.2)
        self.wait(1.0)

        raw = np.asarray(strong["readout"])
        self.add(bars, tag)
        self.play(FadeIn(nums), run_time=0.01)
        self._stage(bars, nums, raw, tag, "read-out  W_j · h", step("readout"), run_time=1.2, wait=2.0)

        biased = np.asarray(strong["with_bias"])
        self._stage(bars, nums, biased, tag, "+ bias b_j", step("bias"), wait=1.5)

        out = np.asarray(strong["output"])
        self._stage(bars, nums, out, tag, "ReLU", step("relu"), wait=1.8)

        weak = info["weak"]
        xw = float(weak["value"])
        self.add_subcaption(step("weak_fire"), duration=0.8)
        self.play(Transform(h, self._hidden_arrow(xw, fired)), run_time=0.8)
        self._stage(bars, nums, np.asarray(weak["readout"]), tag, "read-out  W_j · h",
                    step("weak_readout"), run_time=0.7, wait=0.6)
        wb = np.asarray(weak["with_bias"])
        self._stage(bars, nums, wb, tag, "+ bias b_j", step("weak_bias"), run_time=0.7, wait=0.6)
        wout = np.asarray(weak["output"])
        self._stage(bars, nums, wout, tag, "ReLU", step("weak_relu"), run_time=0.7, wait=2.6)

        # assemble WᵀW from the arrows
        vmax = float(np.abs(self.G).max())
        full = gram_heatmap(self.G, cell=CELL, vmax=vmax).move_to(GRAM_CENTER)
        grid = VGroup(*[
            Square(side_length=CELL, stroke_width=1, stroke_color=palette.theme().grid).move_to(c)
            for c in full
        ])
        gtitle = MathTex(r"W^\top W", color=palette.theme().foreground, font_size=36).next_to(grid, UP, buff=0.25)
        rows = VGroup(*[
            label(f"{i + 1}", 18, feature_color(i)).next_to(full[i * n], LEFT, buff=0.12)
            for i in range(n)
        ])
        cols = VGroup(*[
            label(f"{j + 1}", 18, feature_color(j)).next_to(full[j], UP, buff=0.08)
            for j in range(n)
        ])
        gtitle.next_to(cols, UP, buff=0.12)
        self.add_subcaption(step("gram_row"), duration=3.2)
        copies = self._bars(raw)
        self.play(FadeOut(h), FadeOut(nums), Transform(bars, self._bars(zeros)),
                  FadeIn(grid), Write(gtitle), FadeIn(rows), FadeIn(cols), FadeIn(copies), arrows.animate.set_opacity(1.0),
                  run_time=1.2)
        row = [full[fired * n + j] for j in range(n)]
        self.play(LaggedStart(*[ReplacementTransform(copies[j], row[j]) for j in range(n)],
                              lag_ratio=0.3), run_time=2.0)
        itf = info["interference"]
        self.add_subcaption(step("gram_rows"), duration=4.5)
        for i in range(n):
            if i == fired:
                continue
            cells = [full[i * n + j] for j in range(n)]
            self.play(Indicate(arrows[i], color=feature_color(i), scale_factor=1.15),
                      LaggedStart(*[FadeIn(c, scale=1.4) for c in cells], lag_ratio=0.25),
                      run_time=1.1)
        summary = VGroup(label("off-diagonal mass", 20, palette.theme().muted), label("= interference", 20, palette.theme().muted))
        summary.arrange(DOWN, buff=0.08).next_to(grid, DOWN, buff=0.25)
        feature_names = VGroup(*[
            label(f"f{j + 1}", 20, feature_color(j)).move_to(m) for j, m in enumerate(bar_names)
        ])
        self.play(FadeIn(summary), Transform(bar_names, feature_names), run_time=0.6)
        nums = self._numbers(np.zeros(n), ITF_SCALE)
        self.add(nums)
        self._stage(
            bars, nums, np.asarray(itf), tag, "interference of each row", step("interference"),
            run_time=1.2, wait=3.5, scale=ITF_SCALE)
