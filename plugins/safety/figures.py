"""The safety chapter's figures: the ablation damage matrices, vulnerability
beside features per dimension, the reading gap, and the recovered dictionary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from course import Result
from course.figures import save, style
from course.palette import feature_color
from course_animations import palette

DAMAGE_MAX = 1.0  # the colour scale of the damage matrices: 1 = as bad as forgetting the feature


def draw(result: Result, metrics: dict[str, Any], outdir: Path) -> dict[str, Path]:
    """The figures of the chapter, by name (their words are in words.md.j2)."""
    return {
        "ablation": ablation_figure(metrics, outdir / "why-it-matters-ablation.png"),
        "attack": attack_figure(metrics, outdir / "why-it-matters-attack.png"),
        "reading": reading_figure(metrics, outdir / "why-it-matters-reading.png"),
        "dictionary": dictionary_figure(result, metrics, outdir / "why-it-matters-dictionary.png"),
    }


def _damage_panel(ax: Any, run: dict[str, Any], title: str) -> Any:
    D = np.clip(np.asarray(run["damage"], dtype=float), 0, None)
    n, m = D.shape
    im = ax.imshow(D, cmap="Reds", vmin=0, vmax=DAMAGE_MAX, aspect="auto")
    ax.set_xticks(range(m), [f"{k + 1}{'' if run['monosemantic'][k] else '*'}" for k in range(m)])
    ax.set_yticks(range(n), [str(i + 1) for i in range(n)])
    ax.set_xlabel("neuron switched off (* polysemantic)")
    ax.set_ylabel("feature")
    ax.set_title(title, fontsize=palette.FONT_SIZE)
    for k, h in enumerate(run["harmed"]):
        ax.text(k, -0.8, str(h), ha="center", va="bottom", fontsize=palette.FONT_SIZE - 1, color=palette.INK)
    ax.set_ylim(n - 0.5, -1.4)
    return im


def ablation_figure(metrics: dict[str, Any], path: Path) -> Path:
    """Two damage matrices (dense, showcase level) and features harmed per neuron at every density."""
    import matplotlib.pyplot as plt

    runs = metrics["runs"]
    sc = metrics["showcase"]
    dense, sparse = runs[0], runs[sc["level"]]
    with style():
        fig, axes = plt.subplots(1, 3, figsize=(12.5, 4.2), gridspec_kw={"width_ratios": [1, 1, 1.3]})
        _damage_panel(axes[0], dense, f"density {dense['density']:g}")
        im = _damage_panel(axes[1], sparse, f"density {sparse['density']:g}")
        cbar = fig.colorbar(im, ax=axes[1], fraction=0.05, pad=0.03)
        cbar.set_label("loss rise / cost of forgetting")
        ax = axes[2]
        m = len(dense["harmed"])
        for j, r in enumerate(runs):
            for k in range(m):
                if not r["alive"][k]:
                    continue
                mono = r["monosemantic"][k]
                ax.scatter(j + (k - (m - 1) / 2) * 0.1, r["harmed"][k], s=36,
                           marker="o" if mono else "s",
                           color=feature_color(1) if mono else palette.POSITIVE,
                           edgecolor=palette.INK, linewidth=0.4, zorder=3)
        ax.scatter([], [], marker="o", color=feature_color(1), edgecolor=palette.INK, label="monosemantic neuron")
        ax.scatter([], [], marker="s", color=palette.POSITIVE, edgecolor=palette.INK, label="polysemantic neuron")
        ax.set_xticks(range(len(runs)), [f"{r['density']:g}" for r in runs])
        ax.set_xlabel("feature density 1 − S")
        ax.set_ylabel("features harmed by switching it off")
        ax.set_yticks(range(0, metrics["n_features"] + 1, 2))
        ax.set_ylim(-0.3, metrics["n_features"] + 0.5)
        ax.legend(frameon=False, loc="upper left", fontsize=palette.FONT_SIZE - 1)
        fig.tight_layout()
        return save(fig, path)


def attack_figure(metrics: dict[str, Any], path: Path) -> Path:
    """Vulnerability and 1/D* against 1/(1 − S); and vulnerability against 1/D*."""
    import matplotlib.pyplot as plt

    attack = metrics["attack"]
    inv = [1.0 / a["density"] for a in attack]
    fpd = [a["features_per_dimension"] for a in attack]
    with style():
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
        ax.plot(inv, [a["vulnerability"] for a in attack], marker="o", color=palette.POSITIVE,
                label="vulnerability, analytic attack (the paper's)")
        ax.plot(inv, [a["vulnerability_gradient"] for a in attack], marker="s", ls="--", color=feature_color(4),
                label="vulnerability, gradient attack per input")
        ax.plot(inv, fpd, marker="^", color=palette.INK, label="features per dimension 1/D*")
        ax.axhline(1.0, color=palette.MUTED, lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_xlabel("1 / (1 − S)  (sparser to the right)")
        ax.set_ylabel("relative to the model without superposition")
        ax.legend(frameon=False, fontsize=palette.FONT_SIZE - 1)
        ax2.scatter(fpd, [a["vulnerability"] for a in attack], color=palette.POSITIVE, edgecolor=palette.INK, zorder=3)
        for a in attack:
            ax2.annotate(f"{a['density']:g}", (a["features_per_dimension"], a["vulnerability"]),
                         textcoords="offset points", xytext=(5, 4), fontsize=palette.FONT_SIZE - 2)
        ax2.set_xlabel("features per dimension 1/D*")
        ax2.set_ylabel("vulnerability (analytic attack)")
        ax2.set_title(f"rank correlation {metrics['attack_rank_correlation']:.2f}", fontsize=palette.FONT_SIZE)
        fig.tight_layout()
        return save(fig, path)


def reading_figure(metrics: dict[str, Any], path: Path) -> Path:
    """Per density: features the model represents, and features a neuron-by-neuron reading lists."""
    import matplotlib.pyplot as plt

    runs = metrics["runs"]
    x = np.arange(len(runs))
    with style():
        fig, ax = plt.subplots(figsize=(7, 3.8))
        ax.bar(x - 0.2, [r["features_represented"] for r in runs], width=0.4, color=feature_color(0),
               label=r"features the model represents ($\Vert W_i \Vert > 0.5$)")
        ax.bar(x + 0.2, [r["features_readable"] for r in runs], width=0.4, color=feature_color(1),
               label="features a neuron-by-neuron reading lists")
        for j, r in enumerate(runs):
            ax.text(j - 0.2, r["features_represented"] + 0.1, str(r["features_represented"]), ha="center",
                    fontsize=palette.FONT_SIZE - 1)
            ax.text(j + 0.2, r["features_readable"] + 0.1, str(r["features_readable"]), ha="center",
                    fontsize=palette.FONT_SIZE - 1)
        ax.axhline(metrics["n_hidden"], color=palette.MUTED, lw=0.8, ls=":")
        ax.set_xticks(x, [f"{r['density']:g}" for r in runs])
        ax.set_xlabel("feature density 1 − S")
        ax.set_ylabel("features")
        ax.set_ylim(0, metrics["n_features"] + 2.5)
        ax.legend(frameon=False, loc="upper left", fontsize=palette.FONT_SIZE - 1)
        fig.tight_layout()
        return save(fig, path)


def dictionary_figure(result: Result, metrics: dict[str, Any], path: Path) -> Path:
    """The pentagon's hidden activations, its true directions W_i, the hidden
    space's own two axes and the dictionary's recovered atoms."""
    import matplotlib.pyplot as plt

    W = np.asarray(result["pentagon_W"][0], dtype=float)
    D = np.asarray(result["dictionary_D"], dtype=float)
    H = np.asarray(result["dictionary_H"], dtype=float)
    dic = metrics["dictionary"]
    with style():
        fig, ax = plt.subplots(figsize=(5.6, 5.2))
        ax.scatter(H[:, 0], H[:, 1], s=7, color=palette.INK, alpha=0.25, lw=0, label="hidden activations h = Wx")
        for ax_dir in ((1, 0), (0, 1)):
            ax.plot([-1.4 * ax_dir[0], 1.4 * ax_dir[0]], [-1.4 * ax_dir[1], 1.4 * ax_dir[1]],
                    color=palette.MUTED, lw=0.8, ls=":")
        for i in range(W.shape[1]):
            ax.annotate("", xy=tuple(W[:, i]), xytext=(0, 0),
                        arrowprops={"arrowstyle": "-|>", "color": feature_color(i), "lw": 2.5})
            a = dic["match"][i]
            if a >= 0:
                end = D[:, a] * 1.25
                ax.plot([0, end[0]], [0, end[1]], color=palette.INK, lw=1.0, ls="--")
                ax.text(end[0] * 1.08, end[1] * 1.08, f"{dic['cosines'][i]:.3f}", ha="center", va="center",
                        fontsize=palette.FONT_SIZE - 2, color=feature_color(i))
        ax.plot([], [], color=palette.INK, lw=1.0, ls="--", label=r"dictionary atoms (cos to $W_i$)")
        ax.set_aspect("equal")
        lim = 1.6
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(frameon=False, loc="lower left", fontsize=palette.FONT_SIZE - 2)
        fig.tight_layout()
        return save(fig, path)
