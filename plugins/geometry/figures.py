"""The geometry chapter's figures, drawn from its metrics (their words are in words.md.j2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from course import Result
from course.figures import save, style
from course.metrics import REPRESENTED
from course_animations import palette

#: how the reference lines are labelled, by computed value (ideal shapes come from metrics)
LABELS = {
    "tetrahedron": "3/4  tetrahedron",
    "triangle": "2/3  triangle",
    "digon": "1/2  antipodal pair",
    "pentagon": "2/5  pentagon",
    "square antiprism": "3/8  square antiprism",
}
SHAPE_COLORS = {
    "digon": palette.FEATURES[1],
    "triangle": palette.FEATURES[2],
    "tetrahedron": palette.FEATURES[3],
    "pentagon": palette.FEATURES[0],
    "square antiprism": palette.FEATURES[4],
}


def draw(result: Result, metrics: dict[str, Any], outdir: Path) -> dict[str, Path]:
    """The figures of the chapter, by name."""
    return {
        "dims": dims_figure(metrics, outdir / "geometry-dims-per-feature.png"),
        "scatter": scatter_figure(metrics, outdir / "geometry-feature-dimensionality.png",
                                  metrics["represented_threshold"]),
        "groups": groups_figure(metrics, outdir / "geometry-groups.png"),
    }


def _log_x(ax: Any, runs: list[dict[str, Any]]) -> None:
    ax.set_xscale("log")
    ax.set_xlabel("1 / (1 − S)   (log scale; sparser →)")
    top = runs[-1]["inverse_density"]
    ticks = [t for t in (1, 2, 3, 5, 10, 20, 50, 100, 200, 500) if t <= top * 1.01]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()


def dims_figure(metrics: dict[str, Any], path: Path) -> Path:
    """m/‖W‖_F² against 1/(1 − S), with the plateaus at 1 and 1/2."""
    import matplotlib.pyplot as plt

    runs = metrics["runs"]
    x = [r["inverse_density"] for r in runs]
    y = [r["dimensions_per_feature"] for r in runs]
    m, n = metrics["n_hidden"], metrics["n_features"]
    with style():
        fig, ax = plt.subplots(figsize=(7.5, 3.8))
        for p, value in ((metrics["plateau_one"], 1.0), (metrics["plateau_half"], 0.5)):
            ax.axhline(value, color=palette.MUTED, ls="--", lw=1)
            if p:
                ax.axvspan(p["from"] / 1.05, p["to"] * 1.05, color=palette.FEATURES[1], alpha=0.15, lw=0)
        ax.axhline(m / n, color=palette.MUTED, ls=":", lw=1)
        ax.text(x[0], m / n + 0.015, f"m/n = {m / n:g}", color=palette.MUTED, fontsize=9)
        ax.text(x[-1], 1.02, r"1: $\|W\|_F^2 = m$ (not one dimension per feature)", ha="right", va="bottom",
                color=palette.MUTED, fontsize=9)
        ax.text(x[-1], 0.52, "1/2: antipodal pairs", ha="right", va="bottom", color=palette.MUTED, fontsize=9)
        ax.plot(x, y, color=palette.FEATURES[0], lw=2, zorder=2)
        for proto, marker, face in (("sweep", "o", palette.FEATURES[0]), ("transition", "s", "white")):
            pts = [(r["inverse_density"], r["dimensions_per_feature"]) for r in runs if r.get("protocol", "sweep") == proto]
            if pts:
                batch = next(r["batch_size"] for r in runs if r.get("protocol", "sweep") == proto)
                ax.plot(*zip(*pts, strict=True), ls="none", marker=marker, ms=4.5, mfc=face,
                        mec=palette.FEATURES[0], zorder=3, label=f"{proto}: batch {batch}")
        ax.legend(frameon=False, fontsize=8.5, loc="center right")
        _log_x(ax, runs)
        ax.set_ylim(0, 1.12)
        ax.set_ylabel(r"dimensions per feature  $m\,/\,\|W\|_F^2$")
        ax.set_title(f"n = {n} features, m = {m} dimensions, all equally important")
        fig.tight_layout()
        return save(fig, path)


def scatter_figure(metrics: dict[str, Any], path: Path, embedded: float = REPRESENTED) -> Path:
    """Each feature's D_i against 1/(1 − S), with the sticky reference lines;
    features with ‖W_i‖ > ``embedded`` are drawn dark."""
    import matplotlib.pyplot as plt

    runs = metrics["runs"]
    rng = np.random.default_rng(0)  # jitter only, so dots do not hide each other
    with style():
        fig, ax = plt.subplots(figsize=(8.5, 4.6))
        # labels of close lines (2/5 and 3/8) are pushed apart so both stay readable
        placed: list[float] = []
        for name, value in sorted(metrics["sticky"].items(), key=lambda kv: kv[1]):
            ax.axhline(value, color=palette.MUTED, lw=0.8, ls="--", zorder=1)
            y = max(value, placed[-1] + 0.045) if placed else value
            placed.append(y)
            ax.text(runs[-1]["inverse_density"] * 1.12, y, LABELS.get(name, name),
                    va="center", fontsize=8.5, color=palette.INK)
        labelled: set[str] = set()
        for r in runs:
            D = np.asarray(r["feature_dimensionality"])
            emb = np.asarray(r["feature_norms"]) > embedded
            member = np.asarray(r.get("member_of", [""] * D.size))
            xs = r["inverse_density"] * np.exp(rng.uniform(-0.04, 0.04, D.size))
            ax.scatter(xs[~emb], D[~emb], s=4, color=palette.MUTED, alpha=0.25, lw=0, zorder=2)
            loose = emb & (member == "")
            ax.scatter(xs[loose], D[loose], s=7, color=palette.INK, alpha=0.7, lw=0, zorder=3)
            for name, color in SHAPE_COLORS.items():
                sel = member == name
                if sel.any():
                    ax.scatter(xs[sel], D[sel], s=9, color=color, alpha=0.9, lw=0, zorder=4,
                               label=None if name in labelled else f"in a {name}")
                    labelled.add(name)
        if labelled:
            ax.legend(frameon=False, fontsize=8, loc="upper right", markerscale=1.6)
        _log_x(ax, runs)
        ax.set_xlim(runs[0]["inverse_density"] / 1.1, runs[-1]["inverse_density"] * 1.1)
        ax.set_ylim(-0.02, 1.08)
        ax.set_ylabel(r"feature dimensionality $D_i$")
        fig.tight_layout()
        return save(fig, path)


def groups_figure(metrics: dict[str, Any], path: Path) -> Path:
    """Stacked bars: embedded features per level split by the shape of their group."""
    import matplotlib.pyplot as plt

    runs = metrics["runs"]
    ideal = metrics["ideal"]
    x = np.arange(len(runs))
    with style():
        fig, ax = plt.subplots(figsize=(8.5, 3.4))
        bottom = np.zeros(len(runs))
        for name, color in SHAPE_COLORS.items():
            vals = np.array([r["groups"][name] * ideal[name]["k"] for r in runs], dtype=float)
            total = metrics["groups_total"][name]
            ax.bar(x, vals, bottom=bottom, color=color,
                   label=f"{name} (D = {ideal[name]['fraction']}): {total} found")
            bottom += vals
        rest = np.array([r["features_embedded"] for r in runs]) - bottom
        ax.bar(x, rest, bottom=bottom, color="#cbd5e1", label="in no group")
        step = max(1, len(runs) // 8)
        ax.set_xticks(x[::step], [f"{r['inverse_density']:.3g}" for r in runs[::step]])
        ax.set_xlabel("1 / (1 − S)")
        ax.set_ylabel("embedded features")
        ax.legend(frameon=False, fontsize=8.5, loc="upper left")
        fig.tight_layout()
        return save(fig, path)
