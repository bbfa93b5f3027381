"""The terminology map: a 2 × 2 grid of codes and a strip of what each word is about
(its caption and alt text are in words.md.j2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from course import Result
from course.figures import GRAM_CMAP, save, style
from course.palette import feature_color
from course_animations import palette

#: grid position of each code: (row, column)
GRID = {
    "local": (0, 0),
    "superposed-local": (0, 1),
    "distributed": (1, 0),
    "superposed-distributed": (1, 1),
}

#: names of the grid's rows and columns, for saying where a property shows
PLACES = {
    "top row": {"local", "superposed-local"},
    "bottom row": {"distributed", "superposed-distributed"},
    "left column": {"local", "distributed"},
    "right column": {"superposed-local", "superposed-distributed"},
    "all four codes": set(GRID),
}


def draw(result: Result, metrics: dict[str, Any], outdir: Path) -> dict[str, Path]:
    """The figures of the chapter, by name."""
    return {"map": terminology_map(metrics, outdir / "terminology-map.png")}


def where(codes: dict[str, dict[str, Any]], has: Any) -> str:
    """Where in the grid the codes with property ``has(code)`` sit, in words."""
    found = {name for name, r in codes.items() if has(r)}
    for place, members in PLACES.items():
        if found == members:
            return place
    return f"{len(found)} of {len(codes)} codes" if found else "no code"


def terms(codes: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """The strip under the grid: term, what it is about, where to spot it (measured)."""
    return [
        ("Linear combination", "how every activation\nis built",
         "h = Σ xᵢWᵢ in\nall four codes"),
        ("Distributed", "about one feature",
         "spread over many\nneurons: " + where(codes, lambda r: r["distributed"])),
        ("Polysemantic", "about one neuron",
         "it responds to several\nfeatures: " + where(codes, lambda r: r["polysemantic_neurons"] > 0)),
        ("Superposition", "about a whole layer",
         "more features than\ndimensions: " + where(codes, lambda r: r["superposition"])),
        ("Interference", "about a pair of features",
         "overlapping directions,\nWᵢ·Wⱼ ≠ 0: " + where(codes, lambda r: not r["orthogonal"])
         + "\n(orthogonal: " + where(codes, lambda r: r["orthogonal"]) + ")"),
    ]


def _arrows(ax: Any, W: np.ndarray) -> None:
    ax.axhline(0, color=palette.MUTED, lw=0.9, ls="--")
    ax.axvline(0, color=palette.MUTED, lw=0.9, ls="--")
    for i in range(W.shape[1]):
        ax.annotate("", xy=(W[0, i], W[1, i]), xytext=(0, 0),
                    arrowprops={"arrowstyle": "-|>", "color": feature_color(i), "lw": 2.4,
                                "shrinkA": 0, "shrinkB": 0})
    ax.set_xlim(-1.3, 1.3)
    ax.set_ylim(-1.3, 1.3)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.text(1.28, -0.08, "n₁", color=palette.MUTED, ha="right", va="top", fontsize=8)
    ax.text(0.06, 1.28, "n₂", color=palette.MUTED, ha="left", va="top", fontsize=8)


def _gram(ax: Any, G: np.ndarray) -> None:
    ax.imshow(G, cmap=GRAM_CMAP, vmin=-1.05, vmax=1.05)
    n = G.shape[0]
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels([str(i + 1) for i in range(n)], fontsize=7)
    ax.set_yticklabels([str(i + 1) for i in range(n)], fontsize=7)
    ax.tick_params(length=0)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title("WᵀW", fontsize=9)


def _verdict(r: dict[str, Any]) -> str:
    yes = {True: "yes", False: "no"}
    return (
        f"{r['n_features']} features, {r['n_hidden']} dims · superposition: {yes[r['superposition']]}\n"
        f"neurons per feature: {r['mean_participation']:.1f} · "
        f"polysemantic neurons: {r['polysemantic_neurons']}/{r['n_hidden']}\n"
        f"largest interference: {r['max_interference']:.2f}"
    )


def terminology_map(metrics: dict[str, Any], path: Path) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    codes = metrics["codes"]
    with style():
        fig = plt.figure(figsize=(11, 9.6))
        outer = fig.add_gridspec(3, 1, height_ratios=[1, 1, 0.62], hspace=0.42,
                                 left=0.12, right=0.98, top=0.92, bottom=0.02)
        grid = outer[0:2].subgridspec(2, 2, wspace=0.12, hspace=0.5)
        for name, (row, col) in GRID.items():
            r = codes[name]
            cell = grid[row, col].subgridspec(1, 2, width_ratios=[1.25, 1], wspace=0.15)
            ax = fig.add_subplot(cell[0])
            _arrows(ax, np.asarray(r["W"]))
            ax.set_title(r["title"], fontsize=palette.FONT_SIZE, loc="left", fontweight="bold")
            axg = fig.add_subplot(cell[1])
            _gram(axg, np.asarray(r["gram"]))
            ax.text(0.0, -0.12, _verdict(r), transform=ax.transAxes, ha="left", va="top",
                    fontsize=8.5, color=palette.INK, linespacing=1.5)
        fig.text(0.33, 0.985, "no superposition", ha="center", va="top", fontsize=13, color=palette.INK)
        fig.text(0.79, 0.985, "superposition", ha="center", va="top", fontsize=13, color=palette.INK)
        fig.text(0.02, 0.77, "local", rotation=90, ha="center", va="center", fontsize=13)
        fig.text(0.02, 0.42, "distributed", rotation=90, ha="center", va="center", fontsize=13)

        strip = fig.add_subplot(outer[2])
        strip.set_axis_off()
        strip_terms = terms(codes)
        strip.set_xlim(0, len(strip_terms))
        strip.set_ylim(0, 1)
        for k, (term, about, spot) in enumerate(strip_terms):
            color = feature_color(k)
            strip.add_patch(FancyBboxPatch((k + 0.04, 0.04), 0.92, 0.92, boxstyle="round,pad=0.0,rounding_size=0.06",
                                           facecolor=palette.mix(color, "#ffffff", 0.82), edgecolor=color, lw=1.5))
            strip.text(k + 0.5, 0.85, term, ha="center", va="center", fontsize=11.5, fontweight="bold")
            strip.text(k + 0.5, 0.66, about, ha="center", va="center", fontsize=9.5, style="italic")
            strip.text(k + 0.5, 0.3, spot, ha="center", va="center", fontsize=9, linespacing=1.4)
        return save(fig, path)
