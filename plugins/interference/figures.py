"""The interference chapter's figures, drawn from its metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from course import Result
from course.figures import GRAM_CMAP, INTERFERENCE_CMAP, save, style
from course.palette import feature_color
from course_animations import palette


def draw(result: Result, metrics: dict[str, Any], outdir: Path) -> dict[str, Path]:
    """The figures of the chapter, by name (their words are in words.md.j2)."""
    return {
        "reading": reading_figure(metrics, outdir / "interference-reading.png"),
        "tradeoff": tradeoff_figure(metrics, outdir / "interference-tradeoff.png"),
        "bias": bias_figure(metrics, outdir / "interference-bias.png"),
        "spectrum": spectrum_figure(metrics, outdir / "interference-spectrum.png"),
    }


def _density_axis(ax: Any, densities: list[float]) -> None:
    ax.set_xscale("log")
    ax.set_xlabel("feature density 1 − S (log scale)")
    ax.set_xticks(densities)
    ax.set_xticklabels([f"{d:g}" for d in densities])
    ax.minorticks_off()


def reading_figure(metrics: dict[str, Any], path: Path) -> Path:
    """Arrows of the 2-D model, its WᵀW with values, and each row's interference."""
    import matplotlib.pyplot as plt

    a = metrics["arrows"]
    W = np.asarray(a["W"])
    G = np.asarray(a["gram"])
    n = W.shape[1]
    names = [f"f{i + 1}" for i in range(n)]
    with style():
        fig, axes = plt.subplots(1, 3, figsize=(11.5, 3.8), gridspec_kw={"width_ratios": [1, 1.1, 1]})
        ax = axes[0]
        r = max(1.0, float(np.linalg.norm(W, axis=0).max()))
        ax.add_patch(plt.Circle((0, 0), 1, fill=False, color=palette.MUTED, lw=0.8, ls="--"))
        for i in range(n):
            v = W[:, i]
            ax.annotate("", xy=(v[0], v[1]), xytext=(0, 0),
                        arrowprops={"arrowstyle": "-|>", "color": feature_color(i), "lw": 2.2})
            ax.text(v[0] * 1.18, v[1] * 1.18, names[i], ha="center", va="center",
                    color=feature_color(i), fontweight="bold")
        ax.set_xlim(-1.35 * r, 1.35 * r)
        ax.set_ylim(-1.35 * r, 1.35 * r)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"W: {n} arrows in {a['n_hidden']} dimensions")
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)

        ax = axes[1]
        vmax = float(np.abs(G).max())
        ax.imshow(G, cmap=GRAM_CMAP, vmin=-vmax, vmax=vmax)
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{G[i, j]:.2f}", ha="center", va="center", fontsize=9,
                        color=palette.INK if abs(G[i, j]) < 0.6 * vmax else palette.PAPER)
        ax.set_xticks(range(n), names)
        ax.set_yticks(range(n), names)
        ax.set_xlabel("input feature j")
        ax.set_ylabel("read-out of feature i")
        ax.set_title(r"WᵀW: entry (i, j) = $W_i \cdot W_j$")

        ax = axes[2]
        itf = np.asarray(a["interference"])
        cols = [INTERFERENCE_CMAP(min(1.0, v)) for v in itf]
        ax.barh(range(n), itf, color=cols)
        for i, v in enumerate(itf):
            ax.text(v + 0.03, i, f"{v:.2f}", va="center")
        ax.set_yticks(range(n), names)
        ax.invert_yaxis()
        ax.set_xlim(0, max(1.2, float(itf.max()) * 1.25))
        ax.axvline(1.0, color=palette.MUTED, lw=0.8, ls=":")
        ax.set_xlabel(r"$\sum_{j \neq i}\, (\hat{W}_i \cdot W_j)^2$")
        ax.set_title("interference of each row")
        fig.tight_layout()
        return save(fig, path)


def tradeoff_figure(metrics: dict[str, Any], path: Path) -> Path:
    """Benefit and interference terms against density; measured vs formula loss."""
    import matplotlib.pyplot as plt

    runs = metrics["runs"]
    styles = {"linear": (palette.MUTED, "s", "linear model"), "relu": (feature_color(0), "o", "ReLU model")}
    with style():
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
        for model, (color, marker, name) in styles.items():
            rs = [r for r in runs if r["model"] == model]
            if not rs:
                continue
            dens = [1 - r["sparsity"] for r in rs]
            axes[0].plot(dens, [r["benefit"] for r in rs], marker=marker, color=color, label=name)
            axes[1].plot(dens, [r["interference_loss"] for r in rs], marker=marker, color=color, label=name)
            axes[2].scatter([r["linear_form_loss"] for r in rs], [r["loss"] for r in rs],
                            marker=marker, color=color, label=name, zorder=3)
        dens = sorted({1 - r["sparsity"] for r in runs})
        for ax, title in ((axes[0], "feature benefit"), (axes[1], "interference term")):
            _density_axis(ax, dens)
            ax.set_title(title)
            ax.legend(frameon=False)
        axes[0].set_ylabel(r"$\sum_i I_i\, [1 - (1 - \Vert W_i \Vert^2)^2]$")
        axes[1].set_ylabel(r"$\sum_{i \neq j} I_j\, (W_j \cdot W_i)^2$")
        ax = axes[2]
        vals = [r["loss"] for r in runs] + [r["linear_form_loss"] for r in runs]
        lo, hi = min(v for v in vals if v > 0) / 2, max(vals) * 2
        ax.plot([lo, hi], [lo, hi], ls="--", color=palette.MUTED, lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("σ²/n · (Σ I − benefit + interference)")
        ax.set_ylabel("measured loss")
        ax.set_title("loss vs. the linear formula")
        ax.legend(frameon=False)
        fig.tight_layout()
        return save(fig, path)


def bias_figure(metrics: dict[str, Any], path: Path) -> Path:
    """The ReLU models' biases per feature, one panel per sparsity."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LinearSegmentedColormap

    relu = [r for r in metrics["runs"] if r["model"] == "relu"]
    cmap = LinearSegmentedColormap.from_list("norm", ["#e2e8f0", feature_color(0)])
    lo = min(min(r["bias"]) for r in relu)
    hi = max(max(r["bias"]) for r in relu)
    pad = 0.1 * (hi - lo)
    with style():
        fig, axes = plt.subplots(1, len(relu), figsize=(2.0 * len(relu) + 0.8, 2.8), sharey=True)
        for ax, r in zip(np.atleast_1d(axes), relu, strict=True):
            b = np.asarray(r["bias"])
            nrm = np.clip(np.asarray(r["feature_norms"]), 0, 1)
            ax.bar(range(len(b)), b, color=[cmap(v) for v in nrm], width=0.8)
            ax.axhline(0, color=palette.INK, lw=0.6)
            ax.set_ylim(lo - pad, hi + pad)
            ax.set_xticks([0, len(b) - 1], ["1", str(len(b))])
            ax.set_xlabel("feature")
            ax.set_title(f"S = {r['sparsity']:g}")
        np.atleast_1d(axes)[0].set_ylabel(r"bias $b_i$")
        fig.tight_layout()
        return save(fig, path)


def spectrum_figure(metrics: dict[str, Any], path: Path) -> Path:
    """The m largest eigenvalues of WᵀW against feature density, one panel per
    model, on a linear scale: the linear model's stay at 1, the ReLU model's
    grow as features get sparser (they add up to ‖W‖_F², the features stored).
    The other n − m eigenvalues are zero; the largest of them is written on the panel."""
    import matplotlib.pyplot as plt

    runs = metrics["runs"]
    m = metrics["n_hidden"]
    shades = [palette.mix(palette.INK, feature_color(1), k / max(1, m - 1)) for k in range(m)]
    top = max(max(r["gram_eigenvalues"][:m]) for r in runs)
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
        for ax, model in zip(axes, ("linear", "relu"), strict=True):
            rs = sorted((r for r in runs if r["model"] == model), key=lambda r: -r["density"])
            if not rs:
                continue
            dens = [r["density"] for r in rs]
            ev = np.asarray([r["gram_eigenvalues"] for r in rs])
            for k in range(m):
                ax.plot(dens, ev[:, k], marker="o", ms=4, lw=1.8, color=shades[k],
                        label=f"λ{str(k + 1).translate(_SUB)}" + (" (largest)" if k == 0 else ""))
            ax.plot(dens, [r["frobenius_sq"] / m for r in rs], ls="--", lw=1, color=palette.MUTED)
            rest = max(1e-9, float(np.abs(ev[:, m:]).max())) if ev.shape[1] > m else 1e-9
            ax.text(0.98, 0.97, f"eigenvalues {m + 1}–{ev.shape[1]}: zero (|λ| ≤ {rest:.0e})\n"
                    + r"dashed: their mean, $\Vert W \Vert_F^2 / m$",
                    transform=ax.transAxes, ha="right", va="top", fontsize=palette.FONT_SIZE - 2, color=palette.MUTED)
            _density_axis(ax, sorted(dens))
            ax.set_title(f"{_MODELS[model]}: the {m} non-zero eigenvalues")
            ax.set_ylim(0, top * 1.25)
        axes[0].set_ylabel("eigenvalue of WᵀW")
        axes[0].legend(frameon=False, fontsize=palette.FONT_SIZE - 2, loc="upper left")
        fig.tight_layout()
        return save(fig, path)


_MODELS = {"linear": "linear model", "relu": "ReLU model"}
#: subscript digits for the eigenvalues' names
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
