"""The distributed-representations figures: W and WᵀW side by side, and the two axes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from course import Result
from course.figures import GRAM_CMAP, save, style
from course.palette import feature_color
from course_animations import palette

#: one marker per code in the scatter, so codes stay apart without relying on colour
MARKERS = ["o", "s", "D", "^", "v", "P", "X", "*"]
#: the codes both figures show, lettered A, B, C, ... in this order (the words
#: blocks figure_codes_caption and codes_summary list the same codes)
SHOWN = ["neurons", "distributed", "distributed-spread", "superposition", "superposition-aligned"]


def draw(result: Result, metrics: dict[str, Any], outdir: Path) -> dict[str, Path]:
    """The figures of the chapter, by name (their words are in words.md.j2)."""
    runs = {r["name"]: r for r in metrics["runs"]}
    shown = [runs[n] for n in SHOWN]
    return {
        "codes": codes_figure(shown, outdir / "distributed-codes.png"),
        "axes": axes_figure(shown, outdir / "distributed-axes.png"),
    }


def codes_figure(runs: list[dict[str, Any]], path: Path) -> Path:
    """Top row: W (units × features); bottom row: WᵀW (features × features).

    Panels are titled A, B, C, ... in the order of ``runs``, with each code's
    participation above W and its features per dimension and largest
    interference above WᵀW.
    """
    import matplotlib.pyplot as plt

    k = len(runs)
    widths = [max(r["n_features"], 5) for r in runs]
    with style():
        fig, axes = plt.subplots(2, k, figsize=(0.24 * sum(widths) + 0.6, 4.6),
                                 gridspec_kw={"width_ratios": widths, "height_ratios": [1, 1.6]})
        for j, r in enumerate(runs):
            W = np.asarray(r["W"], dtype=float)
            top, bottom = axes[0, j], axes[1, j]
            top.imshow(W, cmap=GRAM_CMAP, vmin=-1.1, vmax=1.1)
            top.set_title(f"{chr(65 + j)}\nPR {r['mean_participation']:.2f}", fontsize=palette.FONT_SIZE)
            bottom.imshow(W.T @ W, cmap=GRAM_CMAP, vmin=-1.1, vmax=1.1)
            bottom.set_title(
                f"{r['features_per_dimension']:.2f} feat./dim\ninterf. {r['max_interference']:.2f}",
                fontsize=palette.FONT_SIZE - 1,
            )
            for ax in (top, bottom):
                ax.set_xticks([])
                ax.set_yticks([])
                for side in ("top", "right"):
                    ax.spines[side].set_visible(True)
        axes[0, 0].set_ylabel("W\nunits × features", fontsize=palette.FONT_SIZE - 1)
        axes[1, 0].set_ylabel("WᵀW\nfeatures × features", fontsize=palette.FONT_SIZE - 1)
        fig.tight_layout(h_pad=1.0, w_pad=0.6)
        return save(fig, path)


def axes_figure(runs: list[dict[str, Any]], path: Path) -> Path:
    """Each feature of each code: participation (x) against interference (y)."""
    import matplotlib.pyplot as plt

    m = max(r["n_hidden"] for r in runs)
    with style():
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for j, r in enumerate(runs):
            ok = np.asarray(r["participation"]) > 0
            x = np.asarray(r["participation"])[ok]
            y = np.asarray(r["interference"])[ok]
            ax.scatter(x, y, s=46, marker=MARKERS[j % len(MARKERS)], color=feature_color(j),
                       edgecolor=palette.INK, linewidth=0.6, label=f"{chr(65 + j)}: {r['label']}", zorder=3)
        ax.axhline(0, color=palette.MUTED, lw=0.8, zorder=1)
        ax.set_xlim(0.6, m + 0.4)
        ax.set_ylim(-0.1, 1.3)
        ax.set_xticks(range(1, m + 1))
        ax.set_xlabel("participation ratio: units a feature is spread over  (more distributed →)")
        ax.set_ylabel("interference with other features")
        ax.legend(loc="center", bbox_to_anchor=(0.55, 0.5), frameon=False, fontsize=palette.FONT_SIZE - 1)
        fig.tight_layout()
        return save(fig, path)
