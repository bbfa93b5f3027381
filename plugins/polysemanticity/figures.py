"""The polysemanticity chapter's figure: the paper's per-neuron stacked bars."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from course import Result
from course.figures import save, style
from course.palette import feature_color
from course_animations import palette


def draw(result: Result, metrics: dict[str, Any], outdir: Path) -> dict[str, Path]:
    """The figures of the chapter, by name (their words are in words.md.j2)."""
    return {"neurons": neuron_figure(result["W"], metrics, outdir / "polysemanticity-neurons.png")}


def stacked_segments(w: np.ndarray) -> list[tuple[int, float, float]]:
    """(feature, bottom, height) blocks for one neuron's weights ``w``:
    positive weights stacked upwards from 0 and negative ones downwards,
    in feature order (the paper's neuron plot)."""
    up, down = 0.0, 0.0
    out = []
    for i, v in enumerate(np.asarray(w, dtype=float)):
        if v >= 0:
            out.append((i, up, v))
            up += v
        else:
            out.append((i, down, v))
            down += v
    return out


def neuron_figure(W: np.ndarray, metrics: dict[str, Any], path: Path, cols: int = 4) -> Path:
    """One panel per density (``cols`` to a row); each bar a neuron, sorted by
    monosemanticity. The legend of feature colours fills the first free panel."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    W = np.asarray(W, dtype=float)
    runs = metrics["runs"]
    k, m, n = W.shape
    rows = -(-(k + 1) // cols)  # one slot more than the panels, for the legend
    topics = metrics.get("topics") or [f"feature {i + 1}" for i in range(n)]
    with style():
        fig, axes = plt.subplots(rows, cols, figsize=(2.0 * cols, 2.7 * rows), sharey=True, squeeze=False)
        flat = axes.ravel()
        for j, run in enumerate(runs):
            ax = flat[j]
            order = run["neuron_order"]
            for x, neuron in enumerate(order):
                for i, bottom, height in stacked_segments(W[j, neuron]):
                    ax.bar(x, height, bottom=bottom, width=0.75, color=feature_color(i),
                           edgecolor=palette.PAPER, linewidth=0.3)
            ax.axhline(0, color=palette.INK, lw=0.8)
            ax.set_xticks(range(m), [str(q + 1) for q in order])
            ax.set_title(f"1 − S = {run['density']:g}\n{run['monosemantic_neurons']} of {m} monosemantic",
                         fontsize=palette.FONT_SIZE)
            if j % cols == 0:
                ax.set_ylabel("weight, stacked")
            if j >= k - cols:
                ax.set_xlabel("neuron")
        for ax in flat[k:]:
            ax.axis("off")
        handles = [Patch(color=feature_color(i), label=f"{i + 1} {topics[i]}") for i in range(n)]
        flat[k].legend(handles=handles, loc="center", ncol=2, frameon=False, title="feature",
                       fontsize=palette.FONT_SIZE - 2, title_fontsize=palette.FONT_SIZE,
                       handlelength=1.0, columnspacing=0.8)
        fig.tight_layout()
        return save(fig, path)
