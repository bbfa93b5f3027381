"""The non-uniform superposition chapter's figures (their words are in words.md.j2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from course import Result
from course.figures import save, style
from course.palette import feature_color
from course_animations import palette

#: linestyle of a set's first and second member in the pair figures
MEMBER_STYLES = ("-", (0, (3, 2)))


def draw(result: Result, metrics: dict[str, Any], outdir: Path) -> dict[str, Path]:
    """The figures of the chapter, by name."""
    return {
        "collapse": collapse_figure(metrics, outdir / "nonuniform-collapse.png"),
        "crossing": crossing_figure(metrics, outdir / "nonuniform-crossing.png"),
        "off-circle": off_circle_figure(result, metrics, outdir / "nonuniform-off-circle.png"),
        "pairs": pairs_figure(result, metrics, outdir / "nonuniform-pairs.png"),
        "pca": pca_figure(result, metrics, outdir / "nonuniform-pca.png"),
        "local-basis": local_figure(result, metrics, outdir / "nonuniform-local-basis.png"),
    }


def collapse_levels(metrics: dict[str, Any], most: int = 6) -> list[int]:
    """The perturbation levels the collapse figure shows: the sparsest and the
    densest, the two either side of training's collapse, and the baseline."""
    runs = metrics["runs"]
    last = len(runs) - 1
    base = metrics["baseline_index"]
    free = metrics["free_collapse"]
    picks = [0, free.get("last_dropped_index"), free.get("first_kept_index"), base, (base + last) // 2, last]
    out = sorted({int(p) for p in picks if p is not None})
    while len(out) > most:
        out.pop(len(out) // 2)
    return out


def _arrows(ax: Any, W: np.ndarray, colors: list[str], styles: list[Any] | None = None,
            labels: list[str] | None = None, lim: float = 1.45) -> None:
    import matplotlib.pyplot as plt

    ax.add_patch(plt.Circle((0, 0), 1, fill=False, color=palette.MUTED, lw=0.8, ls="--"))
    for i in range(W.shape[1]):
        v = W[:, i]
        if np.linalg.norm(v) < 0.05:
            continue
        ax.annotate("", xy=(v[0], v[1]), xytext=(0, 0),
                    arrowprops={"arrowstyle": "-|>", "color": colors[i], "lw": 2,
                                "linestyle": styles[i] if styles else "-"})
        if labels:
            ax.text(v[0] * 1.18, v[1] * 1.18, labels[i], ha="center", va="center",
                    fontsize=palette.FONT_SIZE - 2, color=colors[i])
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_frame_on(False)


def _ratio_axis(ax: Any, x: list[float]) -> None:
    """A log x-axis of density ratios with plain tick labels."""
    from matplotlib.ticker import NullFormatter, NullLocator

    ax.set_xscale("log")
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10) if min(x) <= t <= max(x)]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def collapse_figure(metrics: dict[str, Any], path: Path) -> Path:
    import matplotlib.pyplot as plt

    runs = metrics["runs"]
    levels = collapse_levels(metrics)
    colors = [feature_color(i) for i in range(metrics["n_features"])]
    with style():
        fig, axes = plt.subplots(1, len(levels), figsize=(2.3 * len(levels), 2.9))
        axes = np.atleast_1d(axes)
        for ax, k in zip(axes, levels, strict=True):
            r = runs[k]
            _arrows(ax, np.asarray(r["aligned"]), colors)
            ax.set_title(f"feature 1 × {r['ratio']:.3g}\n{r['features_represented']} features")
        return save(fig, path)


def crossing_figure(metrics: dict[str, Any], path: Path) -> Path:
    import matplotlib.pyplot as plt

    runs = metrics["runs"]
    x = [r["ratio"] for r in runs]
    col = metrics["collapse"]
    with style():
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.6))
        ax.plot(x, [r["pentagon_loss"] for r in runs], color=feature_color(4), lw=2, label="pentagon")
        ax.plot(x, [r["digon_loss"] for r in runs], color=feature_color(1), lw=2, label="two digons")
        ax.plot(x, [r["loss"] for r in runs], "o", color=palette.INK, ms=3.5, label="trained from random starts")
        bx.plot(x, [r["pentagon_norm"] for r in runs], color=feature_color(4), lw=2, label="pentagon")
        bx.plot(x, [0.0] * len(x), color=feature_color(1), lw=2, label="two digons")
        bx.plot(x, [r["perturbed_norm"] for r in runs], "o", color=palette.INK, ms=3.5,
                label="trained from random starts")
        for a in (ax, bx):
            _ratio_axis(a, x)
            a.set_xlabel("feature 1's density ÷ the others' density")
            if col.get("crossing") is not None:
                a.axvline(col["crossing"], color=palette.MUTED, ls="--", lw=1)
        ax.set_yscale("log")
        ax.set_ylabel("expected loss")
        ax.set_title("Loss of the two solutions")
        bx.set_ylabel("‖W₁‖ (feature 1's length)")
        bx.set_title("How strongly feature 1 is stored")
        bx.set_ylim(-0.05, 1.3)
        ax.legend(frameon=False, fontsize=palette.FONT_SIZE - 2)
        fig.tight_layout()
        return save(fig, path)


def off_circle_figure(result: Result, metrics: dict[str, Any], path: Path) -> Path:
    import matplotlib.pyplot as plt

    W = np.asarray(result["baseline_W"], dtype=float)
    oc = metrics["off_circle"]
    colors = [feature_color(i) for i in range(W.shape[1])]
    with style():
        fig, ax = plt.subplots(figsize=(4.4, 4.4))
        _arrows(ax, W, colors, lim=1.3)
        for radius, ls, name in ((oc["mean_norm"], "-", f"measured $\\Vert W_i \\Vert$ = {oc['mean_norm']:.3f}"),
                                 (float(np.mean(oc["predicted"])), ":",
                                  f"$1/(1 - b_i)$ = {np.mean(oc['predicted']):.3f}"),
                                 (float(np.mean(oc["sqrt_one_minus_b"])), "-.",
                                  f"$\\sqrt{{1 - b_i}}$ = {np.mean(oc['sqrt_one_minus_b']):.3f}")):
            ax.add_patch(plt.Circle((0, 0), radius, fill=False, color=palette.INK, lw=0.9, ls=ls, label=name))
        ax.plot([], [], ls="--", color=palette.MUTED, lw=0.8, label="unit circle")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, -0.32), frameon=False, fontsize=palette.FONT_SIZE - 2,
                  ncol=2)
        ax.set_title(f"The pentagon at density {metrics['base_density']:g}, $b_i$ = {oc['mean_bias']:.3f}")
        return save(fig, path)


def pairs_figure(result: Result, metrics: dict[str, Any], path: Path) -> Path:
    import matplotlib.pyplot as plt

    panels: list[tuple[np.ndarray, str]] = []
    for W, r in zip(result["correlated_W"], metrics["correlated"], strict=True):
        panels.append((np.asarray(W), f"2 correlated pairs\ndensity {r['density']:g}"))
    for W, r in zip(result["anticorrelated_W"], metrics["anticorrelated"], strict=True):
        panels.append((np.asarray(W), f"2 anticorrelated pairs\ndensity {r['density']:g}"))
    low = int(np.argmin([r["density"] for r in metrics["pca"]]))
    panels.append((np.asarray(result["pca_W"][low]),
                   f"3 correlated pairs\ndensity {metrics['pca'][low]['density']:g}"))
    with style():
        fig, axes = plt.subplots(1, len(panels), figsize=(2.5 * len(panels), 3.0))
        for ax, (W, title) in zip(np.atleast_1d(axes), panels, strict=True):
            n = W.shape[1]
            _arrows(ax, W, [feature_color(i // 2) for i in range(n)],
                    [MEMBER_STYLES[i % 2] for i in range(n)], [str(i + 1) for i in range(n)])
            ax.set_title(title)
        return save(fig, path)


def pca_figure(result: Result, metrics: dict[str, Any], path: Path) -> Path:
    import matplotlib.pyplot as plt

    rows = metrics["pca"]
    with style():
        fig, axes = plt.subplots(1, len(rows), figsize=(2.2 * len(rows), 3.1))
        for ax, W, r in zip(np.atleast_1d(axes), result["pca_W"], rows, strict=True):
            n = W.shape[1]
            _arrows(ax, np.asarray(W), [feature_color(i // 2) for i in range(n)],
                    [MEMBER_STYLES[i % 2] for i in range(n)])
            paper = r["expected"]["count"] if r["expected"] else "–"
            ax.set_title(f"density {r['density']:g}\n{r['collapsed']} collapsed\n(paper: {paper})",
                         fontsize=palette.FONT_SIZE)
        return save(fig, path)


def local_figure(result: Result, metrics: dict[str, Any], path: Path) -> Path:
    import matplotlib.pyplot as plt

    from course.figures import INTERFERENCE_CMAP

    Ws = [np.asarray(W, dtype=float) for W in result["local_W"]]
    rng = np.random.default_rng(0)
    Ws.append(rng.normal(size=Ws[0].shape))
    titles = [f"trained, density {r['density']:g}" for r in metrics["local"]] + ["random directions"]
    with style():
        fig, axes = plt.subplots(1, len(Ws), figsize=(3.3 * len(Ws), 3.3))
        for ax, W, title in zip(np.atleast_1d(axes), Ws, titles, strict=True):
            norms = np.linalg.norm(W, axis=0)
            U = W / np.maximum(norms, 1e-9)
            im = ax.imshow(np.abs(U.T @ U), cmap=INTERFERENCE_CMAP, vmin=0, vmax=1)
            half = W.shape[1] / 2 - 0.5
            ax.axhline(half, color=palette.PAPER, lw=1)
            ax.axvline(half, color=palette.PAPER, lw=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title)
        fig.colorbar(im, ax=list(np.atleast_1d(axes)), shrink=0.8, label="|cos| between features")
        return save(fig, path)
