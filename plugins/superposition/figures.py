"""The superposition chapter's figure: arrows of W and WᵀW for each sparsity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from course import Result
from course.figures import GRAM_CMAP, save, style
from course.palette import feature_color
from course_animations import palette


def draw(result: Result, metrics: dict[str, Any], outdir: Path) -> dict[str, Path]:
    """The figures of the chapter, by name (their words are in words.md.j2)."""
    return {"arrows": arrows_figure(result, metrics, outdir / "superposition-arrows.png")}


def arrows_figure(result: Result, metrics: dict[str, Any], path: Path) -> Path:
    import matplotlib.pyplot as plt

    W = result["W"]
    runs = metrics["runs"]
    k = len(runs)
    with style():
        fig, axes = plt.subplots(2, k, figsize=(2.3 * k, 4.8), gridspec_kw={"height_ratios": [1, 1]})
        axes = np.atleast_2d(axes).reshape(2, k)
        for j, run in enumerate(runs):
            ax = axes[0, j]
            ax.add_patch(plt.Circle((0, 0), 1, fill=False, color=palette.MUTED, lw=0.8, ls="--"))
            for i in range(W.shape[-1]):
                v = W[j][:, i]
                if np.linalg.norm(v) < 0.05:
                    continue
                ax.annotate("", xy=(v[0], v[1]), xytext=(0, 0),
                            arrowprops={"arrowstyle": "-|>", "color": feature_color(i), "lw": 2})
            ax.set_xlim(-1.4, 1.4)
            ax.set_ylim(-1.4, 1.4)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"S = {run['sparsity']:g}\n{run['features_represented']} features")
            G = W[j].T @ W[j]
            axg = axes[1, j]
            axg.imshow(G, cmap=GRAM_CMAP, vmin=-1.2, vmax=1.2)
            axg.set_xticks([])
            axg.set_yticks([])
            axg.set_title("WᵀW", fontsize=palette.FONT_SIZE - 1)
        return save(fig, path)
