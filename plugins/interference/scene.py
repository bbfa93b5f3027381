"""The interference animation: one feature fires, the others hear an echo.

Every arrow, bar and matrix cell is computed from the trained W and b of the
chapter's 2-D ReLU model; the narration quotes the measured values.
"""

from __future__ import annotations

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


def _names(idx: list[int]) -> str:
    words = [str(i + 1) for i in idx]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _values(vals: list[float]) -> str:
    words = [f"{v:.2f}" for v in vals]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


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
            bar.set_fill(palette.feature_color(j), opacity=0.9 if abs(v) > 1e-3 else 0.0)
            bar.move_to(BAR_BASE + RIGHT * self._bar_x(j) + UP * np.sign(v) * h / 2)
            bars.add(bar)
        return bars

    def _numbers(self, values: np.ndarray, scale: float = BAR_SCALE) -> VGroup:
        nums = VGroup()
        for j, v in enumerate(values):
            t = label(f"{v:.2f}", 18, palette.FOREGROUND)
            off = abs(float(v)) * scale + 0.2
            t.move_to(BAR_BASE + RIGHT * self._bar_x(j) + (UP if v >= 0 else DOWN) * off)
            nums.add(t)
        return nums

    def _hidden_arrow(self, value: float, feature: int) -> Arrow:
        end = np.array([*self.W[:, feature], 0.0]) * value * ARROW_SCALE
        return Arrow(ARROW_ORIGIN, ARROW_ORIGIN + end, buff=0, color=palette.FOREGROUND,
                     stroke_width=9, max_tip_length_to_length_ratio=0.22)

    def _stage(self, bars: VGroup, nums: VGroup, values: np.ndarray, tag: Any, text: str,
               caption: str, run_time: float = 1.0, wait: float = 1.2, scale: float = BAR_SCALE) -> None:
        self.add_subcaption(caption, duration=run_time + wait)
        new_tag = label(text, 24, palette.MUTED).move_to(TAG_POS)
        self.play(Transform(bars, self._bars(values, scale)), Transform(nums, self._numbers(values, scale)),
                  Transform(tag, new_tag), run_time=run_time)
        self.wait(wait)

    # -- the video ----------------------------------------------------------
    def construct(self) -> None:
        info, n, fired = self.info, self.n, int(self.info["fired"])
        title = label("Interference: one feature fires, the others hear an echo", 30).to_edge(UP, buff=0.3)
        self.add_subcaption(
            f"A ReLU model trained at sparsity {info['sparsity']:g} stores {n} features in "
            f"{info['n_hidden']} dimensions. The arrows are its learned columns W_i.",
            duration=3,
        )
        frame = VGroup(axes_cross(ARROW_SCALE), unit_circle(ARROW_SCALE)).move_to(ARROW_ORIGIN)
        arrows = feature_arrows(self.W, ARROW_SCALE).shift(ARROW_ORIGIN)
        names = VGroup(*[
            label(f"{i + 1}", 22, palette.feature_color(i)).move_to(
                ARROW_ORIGIN + np.array([*self.W[:, i], 0.0]) * ARROW_SCALE * 1.2)
            for i in range(n)
        ])
        self.play(Write(title), Create(frame), run_time=1.2)
        self.play(FadeIn(arrows), FadeIn(names), run_time=1.0)
        self.wait(0.8)

        # the read-out panel
        formula = MathTex(r"x'_j = \mathrm{ReLU}(W_j \cdot h + b_j)", color=palette.FOREGROUND,
                          font_size=34).move_to(UP * 2.45)
        axis = Rectangle(width=n * BAR_STEP + 0.3, height=0.01, stroke_width=1.5,
                         stroke_color=palette.MUTED).move_to(BAR_BASE)
        bar_names = VGroup(*[
            label(f"x'{j + 1}", 20, palette.feature_color(j)).move_to(
                BAR_BASE + RIGHT * self._bar_x(j) + DOWN * 2.35)
            for j in range(n)
        ])
        zeros = np.zeros(n)
        bars, nums = self._bars(zeros), self._numbers(zeros)
        nums.set_opacity(0)
        tag = label(" ", 24, palette.MUTED).move_to(TAG_POS)

        strong = info["strong"]
        x = float(strong["value"])
        h = self._hidden_arrow(x, fired)
        self.add_subcaption(f"Feature {fired + 1} fires with value {x:g}: the hidden vector h is "
                            "its arrow.", duration=2.2)
        self.play(arrows.animate.set_opacity(0.45), FadeIn(h), Write(formula), Create(axis),
                  FadeIn(bar_names), run_time=1.2)
        self.wait(1.0)

        raw = np.asarray(strong["readout"])
        others = [j for j in range(n) if j != fired]
        pos = [j for j in others if raw[j] > 1e-3]
        neg = [j for j in others if raw[j] < -1e-3]
        cap = f"Every feature reads W_j·h. Feature {fired + 1} reads {raw[fired]:.2f}"
        if pos:
            cap += f"; {_names(pos)}, leaning its way, echo {_values([raw[j] for j in pos])}"
        if neg:
            cap += f"; {_names(neg)}, pointing away, read {_values([raw[j] for j in neg])}"
        self.add(bars, tag)
        self.play(FadeIn(nums), run_time=0.01)
        self._stage(bars, nums, raw, tag, "read-out  W_j · h", cap + ".", run_time=1.2, wait=2.0)

        biased = np.asarray(strong["with_bias"])
        if self.b.max() < 0:
            cap = (f"Add the learned biases, all negative (from {self.b.min():.2f} to "
                   f"{self.b.max():.2f}): every bar drops.")
        else:
            cap = (f"Add the learned biases (from {self.b.min():.2f} to {self.b.max():.2f}): the "
                   "bars with a negative bias drop.")
        self._stage(bars, nums, biased, tag, "+ bias b_j", cap, wait=1.5)

        out = np.asarray(strong["output"])
        left = [j for j in others if out[j] > 1e-3]
        cap = "The ReLU cuts everything below zero"
        cap += (f": features {_names(left)} still leak {_values([out[j] for j in left])}."
                if left else ": no echo is left.")
        self._stage(bars, nums, out, tag, "ReLU", cap, wait=1.8)

        weak = info["weak"]
        xw = float(weak["value"])
        thr = info.get("filter_threshold")
        self.add_subcaption(f"Now feature {fired + 1} fires more weakly, at {xw:g}.", duration=0.8)
        self.play(Transform(h, self._hidden_arrow(xw, fired)), run_time=0.8)
        self._stage(bars, nums, np.asarray(weak["readout"]), tag, "read-out  W_j · h",
                    f"Every read-out scales with the input, to {xw / x:.0%} of before.",
                    run_time=0.7, wait=0.6)
        wb = np.asarray(weak["with_bias"])
        below = all(wb[j] <= 0 for j in others)
        self._stage(bars, nums, wb, tag, "+ bias b_j",
                    "The same biases now push every echo below zero." if below else
                    "The same biases lower every echo again.", run_time=0.7, wait=0.6)
        wout = np.asarray(weak["output"])
        leak = [j for j in others if wout[j] > 1e-3]
        cap = "After the ReLU " + (f"features {_names(leak)} still leak." if leak else
                                   f"only feature {fired + 1} is left")
        if not leak and thr is not None:
            cap += (f". Any value of feature {fired + 1} below {thr:.2f} leaks nothing; its "
                    f"values are uniform on [0, 1], so that is {thr:.0%} of the times it fires.")
        elif not leak:
            cap += "."
        self._stage(bars, nums, wout, tag, "ReLU", cap, run_time=0.7, wait=2.6)

        # assemble WᵀW from the arrows
        vmax = float(np.abs(self.G).max())
        full = gram_heatmap(self.G, cell=CELL, vmax=vmax).move_to(GRAM_CENTER)
        grid = VGroup(*[
            Square(side_length=CELL, stroke_width=1, stroke_color=palette.ZERO_DARK).move_to(c)
            for c in full
        ])
        gtitle = MathTex(r"W^\top W", color=palette.FOREGROUND, font_size=36).next_to(grid, UP, buff=0.25)
        rows = VGroup(*[
            label(f"{i + 1}", 18, palette.feature_color(i)).next_to(full[i * n], LEFT, buff=0.12)
            for i in range(n)
        ])
        cols = VGroup(*[
            label(f"{j + 1}", 18, palette.feature_color(j)).next_to(full[j], UP, buff=0.08)
            for j in range(n)
        ])
        gtitle.next_to(cols, UP, buff=0.12)
        self.add_subcaption(
            f"Row {fired + 1} of the features × features matrix WᵀW is exactly these read-outs "
            "before bias: entry (i, j) is W_i·W_j.", duration=3.2)
        copies = self._bars(raw)
        self.play(FadeOut(h), FadeOut(nums), Transform(bars, self._bars(zeros)),
                  FadeIn(grid), Write(gtitle), FadeIn(rows), FadeIn(cols), FadeIn(copies), arrows.animate.set_opacity(1.0),
                  run_time=1.2)
        row = [full[fired * n + j] for j in range(n)]
        self.play(LaggedStart(*[ReplacementTransform(copies[j], row[j]) for j in range(n)],
                              lag_ratio=0.3), run_time=2.0)
        itf = info["interference"]
        self.add_subcaption(
            "Each other row is another feature's read-out of all the rest, cell by cell from "
            "the arrows' dot products.", duration=4.5)
        for i in range(n):
            if i == fired:
                continue
            cells = [full[i * n + j] for j in range(n)]
            self.play(Indicate(arrows[i], color=palette.feature_color(i), scale_factor=1.15),
                      LaggedStart(*[FadeIn(c, scale=1.4) for c in cells], lag_ratio=0.25),
                      run_time=1.1)
        summary = VGroup(label("off-diagonal mass", 20, palette.MUTED), label("= interference", 20, palette.MUTED))
        summary.arrange(DOWN, buff=0.08).next_to(grid, DOWN, buff=0.25)
        feature_names = VGroup(*[
            label(f"f{j + 1}", 20, palette.feature_color(j)).move_to(m) for j, m in enumerate(bar_names)
        ])
        self.play(FadeIn(summary), Transform(bar_names, feature_names), run_time=0.6)
        nums = self._numbers(np.zeros(n), ITF_SCALE)
        self.add(nums)
        self._stage(
            bars, nums, np.asarray(itf), tag, "interference of each row",
            "Off the diagonal, each row's entries, squared and divided by the feature's own "
            "squared length, add up to its interference: " + ", ".join(f"{v:.2f}" for v in itf)
            + ". Zero would mean orthogonal to every other feature.",
            run_time=1.2, wait=3.5, scale=ITF_SCALE)
