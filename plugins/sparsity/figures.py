"""The sparsity chapter's figures: the paper's "basic results" view and the phase diagram."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from course import Result
from course.figures import GRAM_CMAP, INTERFERENCE_CMAP, save, style
from course_animations import palette
from course_plugins.sparsity.phases import (
    DEDICATED,
    DROP_1,
    DROP_3,
    JOINT,
    NOT_LEARNED,
    OTHER,
    OTHER_3,
    PAIR_3,
    PAIR_12,
    PHASES_3,
    SUPERPOSITION,
    antipodal_boundary,
    boundary_3,
)

#: one colour per phase-diagram class
PHASE_COLORS = {
    NOT_LEARNED: "#cbd5e1",
    DEDICATED: palette.FEATURES[1],
    SUPERPOSITION: palette.FEATURES[2],
    OTHER: palette.INK,
}

#: one colour per class of the n = 3 diagram
PHASE_3_COLORS = {
    DROP_3: "#cbd5e1",
    DROP_1: palette.FEATURES[1],
    PAIR_3: palette.FEATURES[2],
    PAIR_12: palette.FEATURES[3],
    JOINT: palette.FEATURES[4],
    OTHER_3: palette.INK,
}
#: what each class of the n = 3 diagram means, for the legend
PHASE_3_LABELS = {
    DROP_3: "W⊥[0,0,1]: feature 3 not represented",
    DROP_1: "W⊥[1,0,0]: feature 1 or 2 not represented",
    PAIR_3: "W⊥[0,1,1]: feature 3 antipodal with 1 or 2",
    PAIR_12: "W⊥[1,1,0]: features 1 and 2 antipodal",
    JOINT: "W⊥[1,1,1]: all three 120° apart",
    OTHER_3: "other",
}


def draw(result: Result, metrics: dict[str, Any], outdir: Path) -> dict[str, Path]:
    """The figures of the chapter, by name (their words are in words.md.j2)."""
    out = {}
    for model in ("linear", "relu"):
        runs = [r for r in metrics["runs"] if r["model"] == model]
        out[f"basic_{model}"] = basic_results(result, runs, model, outdir / f"sparsity-basic-{model}.png")
    out["phase"] = phase_diagram(metrics["phase_diagram"], outdir / "sparsity-phase-diagram.png")
    if "phase_diagram_3" in metrics:
        out["phase3"] = phase_diagram_3(metrics["phase_diagram_3"], outdir / "sparsity-phase-diagram-3.png")
    return out


def basic_results(result: Result, runs: list[dict[str, Any]], model: str, path: Path,
                  columns: int = 2) -> Path:
    """One panel per density, ``columns`` to a row: WᵀW with the bias beside it,
    then bars of ‖W_i‖ coloured by interference (features ordered from most to
    least important, top to bottom)."""
    import math

    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize, TwoSlopeNorm

    W = result[f"{model}_W"].astype(np.float64)
    b = result[f"{model}_b"].astype(np.float64)
    k, _, n = W.shape
    rows = math.ceil(k / columns)
    bmax = max(0.05, float(np.abs(b).max()))
    xmax = max(1.25, max(max(r["feature_norms"]) for r in runs) * 1.05)
    with style():
        fig = plt.figure(figsize=(3.9 * columns + 0.9, 2.45 * rows + 0.5))
        outer = fig.add_gridspec(rows, columns + 1, width_ratios=[1] * columns + [0.07],
                                 wspace=0.22, hspace=0.55, top=1 - 0.55 / (2.45 * rows + 0.5))
        gram_img = bias_img = None
        for j, run in enumerate(runs):
            r, c = divmod(j, columns)
            # heat map, bias strip, a gap, norm bars
            cell = outer[r, c].subgridspec(1, 4, width_ratios=[n, 1.5, 1.5, 0.95 * n], wspace=0.06)
            first_col = c == 0
            ax = fig.add_subplot(cell[0])
            # aspect "auto" on both so the bias strip is exactly as tall as WᵀW
            gram_img = ax.imshow(W[j].T @ W[j], cmap=GRAM_CMAP, vmin=-1, vmax=1, aspect="auto",
                                 interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([0, n - 1], [1, n] if first_col else ["", ""])
            if first_col:
                ax.set_ylabel("feature")
            ax.set_title(f"1 − S = {run['density']:g}:  $\\|W\\|_F^2$ = {run['frobenius_sq']:.2f},  "
                         f"{run['features_represented']} features", fontsize=palette.FONT_SIZE - 1,
                         loc="left")
            axb = fig.add_subplot(cell[1])
            bias_img = axb.imshow(b[j][:, None], cmap=GRAM_CMAP, norm=TwoSlopeNorm(0, -bmax, bmax),
                                  aspect="auto", interpolation="nearest")
            axb.set_xticks([0], ["b"])
            axb.set_yticks([])
            for spine in (*ax.spines.values(), *axb.spines.values()):
                spine.set_visible(False)

            axn = fig.add_subplot(cell[3])
            norms = np.asarray(run["feature_norms"])
            itf = np.asarray(run["interference"])
            axn.barh(np.arange(n), norms, color=INTERFERENCE_CMAP(np.clip(itf, 0, 1)), height=0.8)
            axn.set_ylim(n - 0.5, -0.5)
            axn.set_xlim(0, xmax)
            axn.axvline(1.0, color=palette.MUTED, lw=0.8, ls="--")
            axn.set_yticks([])
            axn.set_xticks([0, 1])
            axn.set_xlabel(r"$\|W_i\|$", labelpad=1)
        cax = outer[:, columns].subgridspec(3, 1, hspace=0.6)
        c1 = fig.colorbar(gram_img, cax=fig.add_subplot(cax[0]))
        c1.set_label("WᵀW", fontsize=palette.FONT_SIZE - 2)
        c2 = fig.colorbar(bias_img, cax=fig.add_subplot(cax[1]))
        c2.set_label("bias b", fontsize=palette.FONT_SIZE - 2)
        sm = plt.cm.ScalarMappable(norm=Normalize(0, 1), cmap=INTERFERENCE_CMAP)
        c3 = fig.colorbar(sm, cax=fig.add_subplot(cax[2]))
        c3.set_label("interference\n(≥ 1 shown as 1)", fontsize=palette.FONT_SIZE - 2)
        for cb in (c1, c2, c3):
            cb.ax.tick_params(labelsize=palette.FONT_SIZE - 3)
        relu = model != "linear"
        name = "ReLU-output model" if relu else "Linear model"
        formula = "ReLU(WᵀWx + b)" if relu else "WᵀWx + b"
        fig.suptitle(f"{name}: x′ = {formula}", y=0.995, fontsize=palette.FONT_SIZE + 1)
        return save(fig, path)


def _edges(values: list[float]) -> np.ndarray:
    """Cell edges halfway (in log) between grid values, for a log-scaled mesh."""
    logs = np.log10(np.asarray(values, dtype=float))
    mid = (logs[1:] + logs[:-1]) / 2
    first = logs[0] - (mid[0] - logs[0]) if len(logs) > 1 else logs[0] - 0.5
    last = logs[-1] + (logs[-1] - mid[-1]) if len(logs) > 1 else logs[0] + 0.5
    return 10 ** np.concatenate([[first], mid, [last]])


def phase_diagram(pd_: dict[str, Any], path: Path) -> Path:
    """The trained classes on the (relative importance, density) grid, with the
    closed-form boundary of the idealised antipodal solution."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    rel, dens = pd_["relative_importance"], pd_["density"]
    order = [NOT_LEARNED, DEDICATED, SUPERPOSITION, OTHER]
    codes = np.array([[order.index(c) for c in row] for row in pd_["classes"]])
    tie = np.asarray(pd_["near_tie"], dtype=bool)
    with style():
        fig, ax = plt.subplots(figsize=(6.4, 6.4))
        cmap = ListedColormap([PHASE_COLORS[c] for c in order])
        ax.pcolormesh(_edges(rel), _edges(dens), codes, cmap=cmap, vmin=-0.5, vmax=len(order) - 0.5,
                      edgecolors=palette.PAPER, linewidth=0.6)
        rr, dd = np.meshgrid(rel, dens)
        if tie.any():
            ax.scatter(rr[tie], dd[tie], s=9, color=palette.INK, zorder=3)
        r_fine = np.logspace(np.log10(min(rel)), np.log10(max(rel)), 200)
        p_star = antipodal_boundary(r_fine)
        ax.plot(r_fine, p_star, color=palette.INK, lw=1.6, ls="--", zorder=4,
                label="closed form: W = [1, −1] wins below")
        e_rel, e_dens = _edges(rel), _edges(dens)
        # above the curve the idealised not-learned and dedicated solutions swap at r = 1
        ax.plot([1, 1], [float(antipodal_boundary(np.array([1.0]))[0]), e_dens.max()], color=palette.INK,
                lw=1.6, ls=":", zorder=4, label="closed form: not learned | dedicated")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(e_rel.min(), e_rel.max())
        ax.set_ylim(e_dens.min(), e_dens.max())  # dense data at the top
        ticks = [t for t in (0.01, 0.03, 0.1, 0.3, 1, 3, 10) if e_rel.min() <= t <= e_rel.max()]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ticks = [t for t in (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1) if e_dens.min() <= t <= e_dens.max()]
        ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("relative importance of the extra feature (feature 1 has 1)")
        ax.set_ylabel("feature density 1 − S")
        ax.set_title("n = 2 features, m = 1 dimension (ReLU output)")
        handles = [Patch(color=PHASE_COLORS[c], label=c) for c in order[:3]]
        if pd_["counts"].get(OTHER):
            handles.append(Patch(color=PHASE_COLORS[OTHER], label=OTHER))
        line_handles, _ = ax.get_legend_handles_labels()
        dot = ax.scatter([], [], s=9, color=palette.INK, label="near tie between two classes")
        ax.legend(handles=handles + line_handles + [dot], loc="upper center", bbox_to_anchor=(0.5, -0.13),
                  ncol=2, frameon=False, fontsize=palette.FONT_SIZE - 1)
        return save(fig, path)


def phase_diagram_3(p3: dict[str, Any], path: Path) -> Path:
    """The n = 3, m = 2 classes of the kept models on the (relative importance of
    feature 3, density) grid, with the closed-form boundaries of the paper's four
    candidates; a ring marks a point where some seed found W⊥[1,1,1]."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    rel, dens = p3["relative_importance"], p3["density"]
    order = list(PHASES_3)
    codes = np.array([[order.index(c) for c in row] for row in p3["classes"]])
    with style():
        fig, ax = plt.subplots(figsize=(6.4, 6.8))
        cmap = ListedColormap([PHASE_3_COLORS[c] for c in order])
        ax.pcolormesh(_edges(rel), _edges(dens), codes, cmap=cmap, vmin=-0.5, vmax=len(order) - 0.5,
                      edgecolors=palette.PAPER, linewidth=0.6)
        e_rel, e_dens = _edges(rel), _edges(dens)
        r_fine = np.logspace(np.log10(e_rel.min()), np.log10(e_rel.max()), 200)
        ax.plot(r_fine, boundary_3(r_fine), color=palette.INK, lw=1.6, ls="--", zorder=4,
                label="closed form: superposition wins below")
        ax.plot([1, 1], [e_dens.min(), e_dens.max()], color=palette.INK, lw=1.6, ls=":", zorder=4,
                label="closed form: feature 3 matters as much as 1 and 2")
        joint = p3["joint_points"]
        if joint:
            ax.scatter([q[0] for q in joint], [q[1] for q in joint], s=70, facecolors="none",
                       edgecolors=palette.INK, linewidths=1.2, zorder=5,
                       label="some seed found W⊥[1,1,1]" + (" (never the best)" if not p3["joint_kept"] else ""))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(e_rel.min(), e_rel.max())
        ax.set_ylim(e_dens.min(), e_dens.max())  # dense data at the top
        ticks = [t for t in (0.1, 0.3, 1, 3, 10) if e_rel.min() <= t <= e_rel.max()]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ticks = [t for t in (0.01, 0.03, 0.1, 0.3, 1) if e_dens.min() <= t <= e_dens.max()]
        ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("relative importance of feature 3 (features 1 and 2 have 1)")
        ax.set_ylabel("feature density 1 − S")
        ax.set_title("n = 3 features, m = 2 dimensions (ReLU output)")
        handles = [Patch(color=PHASE_3_COLORS[c], label=PHASE_3_LABELS[c]) for c in order
                   if p3["counts"].get(c) or c in order[:4]]
        line_handles, _ = ax.get_legend_handles_labels()
        ax.legend(handles=handles + line_handles, loc="upper center", bbox_to_anchor=(0.5, -0.13),
                  ncol=2, frameon=False, fontsize=palette.FONT_SIZE - 2)
        return save(fig, path)
