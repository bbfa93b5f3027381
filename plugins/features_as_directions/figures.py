"""The features-as-directions figure: h = Wx as a table, as arrows, and across seeds
(its caption and alt text are in words.md.j2)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from course import Result
from course.figures import save, style
from course.palette import feature_color
from course_animations import palette


def draw(result: Result, metrics: dict[str, Any], outdir: Path) -> dict[str, Path]:
    """The figures of the chapter, by name."""
    return {"directions": directions_figure(metrics, outdir / "features-as-directions.png")}


def _matrix(ax: Any, x0: float, y0: float, M: np.ndarray, color: Callable[[int, int], str],
            cell: float = 1.0, label: str = "") -> float:
    """Draw matrix ``M`` with brackets, top-left at (x0, y0), cell (i, j) tinted
    with ``color(i, j)``; return its right edge."""
    rows, cols = M.shape
    for i in range(rows):
        for j in range(cols):
            tint = palette.mix(color(i, j), "#ffffff", 0.75)
            ax.add_patch(_cell(x0 + j * cell, y0 - (i + 1) * cell, cell, tint))
            ax.text(x0 + (j + 0.5) * cell, y0 - (i + 0.5) * cell, f"{round(float(M[i, j]), 2) + 0.0:.2f}",
                    ha="center", va="center", fontsize=palette.FONT_SIZE, color=palette.INK)
    bottom = y0 - rows * cell
    for x, d in ((x0 - 0.08, 0.18), (x0 + cols * cell + 0.08, -0.18)):
        ax.plot([x + d, x, x, x + d], [y0 + 0.05, y0 + 0.05, bottom - 0.05, bottom - 0.05],
                color=palette.INK, lw=1.5)
    if label:
        ax.text(x0 + cols * cell / 2, bottom - 0.45, label, ha="center", va="top",
                fontsize=palette.FONT_SIZE + 1, color=palette.INK, style="italic")
    return x0 + cols * cell


def _cell(x: float, y: float, size: float, color: str) -> Any:
    import matplotlib.patches as mpatches

    return mpatches.Rectangle((x + 0.04, y + 0.04), size - 0.08, size - 0.08, color=color, lw=0)


def _arrow(ax: Any, start: np.ndarray, vec: np.ndarray, color: str, lw: float = 2.2,
           alpha: float = 1.0, ls: str = "-") -> None:
    ax.annotate("", xy=(start[0] + vec[0], start[1] + vec[1]), xytext=(start[0], start[1]),
                arrowprops={"arrowstyle": "-|>", "color": color, "lw": lw, "alpha": alpha,
                            "linestyle": ls, "shrinkA": 0, "shrinkB": 0})


def _plane(ax: Any, lim: float = 1.35) -> None:
    ax.axhline(0, color=palette.MUTED, lw=0.9, ls="--")
    ax.axvline(0, color=palette.MUTED, lw=0.9, ls="--")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)


def directions_figure(metrics: dict[str, Any], path: Path) -> Path:
    import matplotlib.pyplot as plt

    runs = metrics["runs"]
    r = runs[metrics["shown"]]
    W = np.asarray(r["W"])
    x = np.asarray(metrics["example_input"])
    h = np.asarray(r["h"])
    n = W.shape[1]
    colors = [feature_color(i) for i in range(n)]
    with style():
        fig = plt.figure(figsize=(10, 8.2))
        outer = fig.add_gridspec(2, 1, height_ratios=[1.55, 1], hspace=0.3)
        top = outer[0].subgridspec(1, 2, width_ratios=[1.2, 1], wspace=0.1)
        bottom = outer[1].subgridspec(1, 4, wspace=0.15)

        # left: the product written out
        ax = fig.add_subplot(top[0])
        ax.set_axis_off()
        # columns of W and entries of x share their feature's colour: x_i scales column i
        right = _matrix(ax, 0.0, 2.0, W, lambda i, j: colors[j], label="W (2 × 3)")
        ax.text(right + 0.35, 1.0, "×", ha="center", va="center", fontsize=18)
        right = _matrix(ax, right + 0.7, 2.5, x.reshape(-1, 1), lambda i, j: colors[i], label="x")
        ax.text(right + 0.35, 1.0, "=", ha="center", va="center", fontsize=18)
        _matrix(ax, right + 0.7, 2.0, h.reshape(-1, 1), lambda i, j: palette.MUTED, label="h")
        terms = " + ".join(f"{x[i]:g}·W{i + 1}" for i in range(n))
        ax.text(3.2, -1.9, f"h = {terms}", ha="center", va="center", fontsize=palette.FONT_SIZE)
        ax.set_xlim(-0.3, 6.7)
        ax.set_ylim(-2.3, 2.9)
        ax.set_title("The product, written out")

        # middle: the product as arrows, tip to tail
        ax = fig.add_subplot(top[1])
        _plane(ax)
        ax.add_patch(plt.Circle((0, 0), 1, fill=False, color=palette.MUTED, lw=0.6, ls=":"))
        pos = np.zeros(2)
        for i in range(n):
            if np.linalg.norm(W[:, i]) > 0.05:
                _arrow(ax, np.zeros(2), W[:, i], colors[i], lw=1.4, alpha=0.35)
                ax.text(*(W[:, i] * 1.12), f"W{i + 1}", color=colors[i], ha="center", va="center")
        for i in range(n):
            step = x[i] * W[:, i]
            if np.linalg.norm(step) > 0.05:
                _arrow(ax, pos, step, colors[i], lw=2.6)
                pos = pos + step
        ax.plot([h[0]], [h[1]], "o", color=palette.INK, ms=7, zorder=5)
        ax.text(h[0], h[1] - 0.14, "h", ha="center", va="top", fontsize=palette.FONT_SIZE + 1)
        ax.text(1.3, -0.06, "neuron 1", ha="right", va="top", color=palette.MUTED, fontsize=9)
        ax.text(0.04, 1.3, "neuron 2", ha="left", va="top", color=palette.MUTED, fontsize=9)
        ax.set_title("The same product, as arrows")

        # right: four seeds
        for k, run in enumerate(runs[:4]):
            ax = fig.add_subplot(bottom[k])
            _plane(ax, 1.25)
            Wk = np.asarray(run["W"])
            for i in range(n):
                if np.linalg.norm(Wk[:, i]) > 0.05:
                    _arrow(ax, np.zeros(2), Wk[:, i], colors[i], lw=1.8)
            ax.set_title(f"start {k + 1}: {run['off_axis_deg']:.0f}° off axis", fontsize=9)
        fig.text(0.5, 0.375, "The same model trained from four random starts", ha="center", va="bottom",
                 fontsize=palette.FONT_SIZE + 1)
        return save(fig, path)
