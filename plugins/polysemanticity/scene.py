"""The polysemanticity animation: one trained neuron firing for two unrelated topics."""

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
    Circle,
    FadeIn,
    FadeOut,
    Line,
    RoundedRectangle,
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

BAR_WIDTH = 0.7
BAR_STEP = BAR_WIDTH * 1.6  # neuron_bars' spacing between neighbouring bars
CHART_X = LEFT * 1.4
#: the bars live between these heights (below the title and density tag,
#: above the neuron names)
TOP, BOTTOM = 2.3, -3.1


def animation(result: Result, metrics: dict[str, Any]) -> Animation:
    """The video of the chapter: its title, description and narration are in words.md.j2."""
    return Animation(scene=partial(PolysemanticityScene, result["W"].astype(np.float64), metrics))


def _layout(Ws: list[np.ndarray]) -> tuple[float, float]:
    """(scale, baseline height): one scale for all shown models, chosen so
    the tallest positive and deepest negative stacks both fit."""
    up = max(float(np.clip(W, 0, None).sum(axis=1).max()) for W in Ws)
    down = max(float(-np.clip(W, None, 0).sum(axis=1).min()) for W in Ws)
    scale = (TOP - BOTTOM) / max(up + down, 1e-6)
    return scale, TOP - up * scale


class PolysemanticityScene(Scene):
    """A neuron lights up for two topics; its weights, dense to sparse, show why."""

    def __init__(self, W: np.ndarray, metrics: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.W = np.asarray(W, dtype=float)  # (levels, m, n)
        self.metrics = metrics

    # -- pieces ------------------------------------------------------------
    def _bars(self, level: int, scale: float, base: float) -> VGroup:
        run = self.metrics["runs"][level]
        order = run["neuron_order"]
        bars = repaint(neuron_bars(self.W[level][order], width=BAR_WIDTH, scale=scale)).shift(CHART_X + UP * base)
        m = len(order)
        names = VGroup(*(
            label(f"n{q + 1}", 20, palette.theme().muted).move_to(self._bar_x(pos, m) + UP * (BOTTOM - 0.3))
            for pos, q in enumerate(order)
        ))
        return VGroup(bars, names)

    @staticmethod
    def _bar_x(pos: int, m: int) -> np.ndarray:
        return np.array([(pos - (m - 1) / 2) * BAR_STEP, 0.0, 0.0]) + CHART_X

    def _legend(self, topics: list[str]) -> VGroup:
        rows = VGroup(*(label(f"{i + 1} {t}", 20, feature_color(i)) for i, t in enumerate(topics)))
        return rows.arrange(DOWN, aligned_edge=LEFT, buff=0.12).to_edge(RIGHT, buff=0.6).shift(DOWN * 0.3)

    # -- the scene ---------------------------------------------------------
    def construct(self) -> None:
        mt = self.metrics
        runs, sc, topics = mt["runs"], mt["showcase"], mt["topics"]
        level, k = sc["level"], sc["neuron"]
        a, b = sc["features"]
        quiet = sc["quiet"]
        acts = sc["activations"]
        run = runs[level]

        title = label("One neuron, two unrelated things", 36).to_edge(UP)
        self.add_subcaption(step("intro"), duration=2)
        self.play(Write(title), run_time=1.2)

        neuron = Circle(radius=0.75, color=palette.theme().foreground, stroke_width=4).shift(RIGHT * 2.6 + DOWN * 0.3)
        neuron.set_fill(palette.theme().background, opacity=1.0)
        name = label(f"neuron {k + 1}", 26, palette.theme().muted).next_to(neuron, DOWN, buff=0.3)
        wire = Arrow(LEFT * 1.0 + DOWN * 0.3, neuron.get_left(), buff=0.1, color=palette.theme().muted, stroke_width=4)
        self.play(FadeIn(neuron), FadeIn(name), FadeIn(wire), run_time=0.8)

        card = None
        readout = None
        for n, (i, act) in enumerate(((a, acts[0]), (b, acts[1]), (quiet, acts[2]))):
            new_card = VGroup(
                RoundedRectangle(width=3.6, height=1.3, corner_radius=0.2, color=feature_color(i)),
                label("a message about", 20, palette.theme().muted),
                label(topics[i], 34, feature_color(i)),
            )
            new_card[1:].arrange(DOWN, buff=0.12).move_to(new_card[0])
            new_card.move_to(LEFT * 3.4 + DOWN * 0.3)
            new_readout = label(f"activation {act:.2f}", 26, palette.theme().foreground).next_to(neuron, UP, buff=0.3)
            glow = palette.mix(palette.theme().background, feature_color(i), min(1.0, act))
            self.add_subcaption(step("message", n), duration=2.2)
            if card is None:
                self.play(FadeIn(new_card), run_time=0.5)
                self.play(neuron.animate.set_fill(glow, opacity=1.0), FadeIn(new_readout), run_time=0.8)
            else:
                self.play(Transform(card, new_card), neuron.animate.set_fill(palette.theme().background, opacity=1.0),
                          FadeOut(readout), run_time=0.5)
                self.play(neuron.animate.set_fill(glow, opacity=1.0), FadeIn(new_readout), run_time=0.8)
            if card is None:
                card = new_card
            readout = new_readout
            self.wait(0.9)

        self.add_subcaption(step("why"), duration=2.5)
        self.wait(2.5)
        self.play(FadeOut(VGroup(card, readout, neuron, name, wire)), run_time=0.6)

        # the weights: dense, then the showcase density, then the sparsest
        m = mt["n_hidden"]
        shown = [0, level, len(runs) - 1]
        scale, base = _layout([self.W[j] for j in shown])
        axis = Line(CHART_X + LEFT * (m * BAR_STEP / 2 + 0.3), CHART_X + RIGHT * (m * BAR_STEP / 2 + 0.3),
                    color=palette.theme().muted, stroke_width=2).shift(UP * base)
        legend = self._legend(topics)
        bars = self._bars(0, scale, base)
        tag = label(f"feature density {runs[0]['density']:g}", 26).next_to(title, DOWN, buff=0.25)
        self.add_subcaption(step("dense"), duration=3.5)
        self.play(FadeIn(axis), FadeIn(legend), FadeIn(bars), FadeIn(tag), run_time=1.0)
        self.wait(2.5)

        new_bars = self._bars(level, scale, base)
        new_tag = label(f"feature density {run['density']:g}", 26).next_to(title, DOWN, buff=0.25)
        self.add_subcaption(step("level"), duration=2.5)
        self.play(Transform(bars, new_bars), Transform(tag, new_tag), run_time=1.5)
        self.wait(1.0)

        pos = run["neuron_order"].index(k)
        column = self.W[level][k]
        top = float(np.clip(column, 0, None).sum()) * scale
        bottom = float(np.clip(column, None, 0).sum()) * scale
        x = self._bar_x(pos, m) + UP * base
        box = SurroundingRectangle(
            VGroup(Line(x + UP * top, x + UP * bottom)), color=palette.theme().foreground,
            buff=BAR_WIDTH / 2 + 0.08, stroke_width=3,
        )
        why = VGroup(
            label(f"neuron {k + 1}:", 22, palette.theme().foreground),
            label(f"{topics[a]} {column[a]:+.2f}", 22, feature_color(a)),
            label(f"{topics[b]} {column[b]:+.2f}", 22, feature_color(b)),
        ).arrange(DOWN, aligned_edge=LEFT, buff=0.1).next_to(legend, LEFT, buff=0.5).align_to(legend, UP)
        self.add_subcaption(step("weights"), duration=3.5)
        self.play(FadeIn(box), FadeIn(why), run_time=0.8)
        self.wait(2.7)

        final_bars = self._bars(len(runs) - 1, scale, base)
        final_tag = label(f"feature density {runs[-1]['density']:g}", 26).next_to(title, DOWN, buff=0.25)
        self.add_subcaption(step("sparse"), duration=4)
        self.play(FadeOut(box), FadeOut(why), Transform(bars, final_bars), Transform(tag, final_tag), run_time=1.5)
        self.wait(2.5)
