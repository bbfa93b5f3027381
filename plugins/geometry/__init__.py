"""Geometry: how many dimensions a feature gets, and the shapes features form.

The paper's "uniform superposition" experiment: every feature equally
important, many more features than dimensions (n ≫ m), and a sweep of feature
densities 1 − S, log-spaced in 1/(1 − S). It measures dimensions per feature
m/‖W‖_F² per model, and each feature's dimensionality D_i, and looks for the
groups of features that form digons, triangles, tetrahedra, pentagons and
square antiprisms.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from course import Animation, Claim, Concept, Figure, GlossaryEntry, Result, hookimpl
from course import jsonable as _f

PAPER = "https://transformer-circuits.pub/2022/toy_model/index.html"
UNIFORM = PAPER + "#geometry-uniform"
STRUCTURES = PAPER + "#geometry-structures"
#: a feature counts as embedded when ‖W_i‖ is above this
EMBEDDED = 0.5
#: |D* − 1/2| (and |D* − 1|) below this counts as sitting on the plateau
PLATEAU_TOL = 0.03
#: |D_i − sticky value| below this counts as sitting at a sticky value
STICKY_TOL = 0.03


def inverse_densities(top: float, levels: int) -> np.ndarray:
    """``levels`` values of 1/(1 − S), log-spaced from 1 to ``top``."""
    return np.logspace(0.0, np.log10(top), levels)


def plateau(x: list[float], y: list[float], value: float, tol: float = PLATEAU_TOL) -> dict[str, Any] | None:
    """The longest run of consecutive levels with |y − value| ≤ tol.

    Returns its first and last x, the number of levels and the mean y, or
    None when no level is that close.
    """
    best: tuple[int, int] | None = None
    start = None
    for i, v in enumerate([*y, float("inf")]):
        if abs(v - value) <= tol:
            start = i if start is None else start
            continue
        if start is not None and (best is None or i - start > best[1] - best[0]):
            best = (start, i)
        start = None
    if best is None:
        return None
    lo, hi = best
    return {"from": x[lo], "to": x[hi - 1], "levels": hi - lo, "mean": float(np.mean(y[lo:hi]))}


def sticky_share(D: np.ndarray, values: list[float], tol: float = STICKY_TOL) -> float:
    """Share of the values in ``D`` within ``tol`` of one of ``values``."""
    D = np.asarray(D, dtype=float)
    if D.size == 0:
        return 0.0
    dist = np.abs(D[:, None] - np.asarray(values)[None, :]).min(axis=1)
    return float((dist <= tol).mean())


def uniform_baseline(values: list[float], lo: float, hi: float, tol: float = STICKY_TOL) -> float:
    """Share of [lo, hi] within ``tol`` of one of ``values``: what
    :func:`sticky_share` would give for D_i spread evenly over that range."""
    grid = np.linspace(lo, hi, 20001)
    return sticky_share(grid, values, tol)


def _nearest_counts(D: np.ndarray, sticky: dict[str, float], tol: float = STICKY_TOL) -> dict[str, int]:
    """How many values of ``D`` sit within ``tol`` of each sticky value (the nearest one)."""
    names = list(sticky)
    vals = np.array([sticky[k] for k in names])
    out = dict.fromkeys(names, 0)
    for d in np.asarray(D, dtype=float):
        i = int(np.argmin(np.abs(vals - d)))
        if abs(vals[i] - d) <= tol:
            out[names[i]] += 1
    return out


class Geometry(Concept):
    """Uniform superposition: dimensions per feature and feature dimensionality."""

    def settings(self, quick: bool = False) -> dict[str, Any]:
        if quick:
            return {"model": "relu", "n_features": 40, "n_hidden": 6, "inverse_density_max": 20.0,
                    "levels": 5, "n_seeds": 1, "steps": 100, "batch_size": 64, "lr": 0.01,
                    "lr_schedule": "cosine", "eval_batch": 1024}
        return {
            "model": "relu",
            "n_features": 200,
            "n_hidden": 20,
            "inverse_density_max": 100.0,
            "levels": 32,
            "n_seeds": 1,
            "steps": 4000,
            "batch_size": 128,
            "lr": 0.01,
            "lr_schedule": "cosine",
            "eval_batch": 8192,
        }

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        from course.engine import ToyConfig, train

        s = settings
        inv = inverse_densities(s["inverse_density_max"], s["levels"])
        cfg = ToyConfig.sweep(
            s["n_features"], s["n_hidden"], importance=1.0, density=1.0 / inv, model=s["model"],
            n_seeds=s["n_seeds"], steps=s["steps"], batch_size=s["batch_size"], lr=s["lr"],
            lr_schedule=s["lr_schedule"], eval_batch=s["eval_batch"], log_every=max(1, s["steps"] // 25),
        )
        tr = train(cfg, seed=seed, device=device, progress=progress)
        arrays = tr.arrays()
        arrays.pop("W_all")  # one seed per level by default; the kept W is enough
        return Result(self.slug, settings, seed, arrays=arrays,
                      info={"inverse_density": [float(v) for v in inv]})

    def metrics(self, result: Result) -> dict[str, Any]:
        from course import metrics as M
        from course_plugins.geometry.shapes import BY_NAME, SHAPES, find_groups, project_group

        W = result["W"].astype(np.float64)
        inv = result.info["inverse_density"]
        m, n = W.shape[-2], W.shape[-1]
        dpf = M.dimensions_per_feature(W)
        sticky = {"dedicated dimension": 1.0} | {s.name: s.dimensionality() for s in SHAPES}
        sticky_vals = sorted(set(round(v, 9) for v in sticky.values()))
        runs = []
        embedded_D = []
        best: dict[str, tuple[float, int, Any]] = {}
        for k, x in enumerate(inv):
            D = M.feature_dimensionality(W[k])
            norms = M.feature_norms(W[k])
            emb = norms > EMBEDDED
            embedded_D.append(D[emb])
            groups = find_groups(W[k], min_norm=EMBEDDED)
            for g in groups:
                err = g.error(sticky[g.shape]) + 0.1 * g.leak
                if g.shape not in best or err < best[g.shape][0]:
                    best[g.shape] = (err, k, g)
            counts = Counter(g.shape for g in groups)
            rank = int(M.gram_rank(W[k]))
            runs.append({
                "sparsity": _f(1.0 - 1.0 / x),
                "inverse_density": _f(x),
                "dimensions_per_feature": _f(dpf[k]),
                "frobenius_sq": _f(M.features_learned(W[k])),
                "feature_dimensionality": _f(D, 4),
                "feature_norms": _f(norms, 4),
                "features_embedded": int(emb.sum()),
                "sum_dimensionality": _f(D.sum()),
                "gram_rank": rank,
                "sticky_share": _f(sticky_share(D[emb], sticky_vals)),
                "groups": {s.name: int(counts.get(s.name, 0)) for s in SHAPES},
                "features_in_groups": int(sum(BY_NAME[g.shape].k for g in groups)),
                "loss": _f(result["loss"][k], 9),
            })
        examples = {}
        for name, (_err, k, g) in best.items():
            shape = BY_NAME[name]
            examples[name] = {
                "level": k,
                "inverse_density": _f(inv[k]),
                "features": g.features,
                "dimensionality": _f(g.dimensionality, 4),
                "leak": _f(g.leak, 4),
                "coords": _f(project_group(W[k], g.features, shape.d), 5),
            }
        xs = [r["inverse_density"] for r in runs]
        ys = [r["dimensions_per_feature"] for r in runs]
        # the superposition regime: past the dense plateau, before packing gets tighter than 3/8
        in_regime = [min(sticky_vals) - STICKY_TOL <= r["dimensions_per_feature"] < 1 - PLATEAU_TOL
                     for r in runs]
        regime = [r for r, ok in zip(runs, in_regime, strict=True) if ok]
        D_regime = np.concatenate([d for d, ok in zip(embedded_D, in_regime, strict=True) if ok]
                                  + [np.zeros(0)])
        lo = min(sticky_vals)
        return {
            "runs": runs,
            "n_features": int(n),
            "n_hidden": int(m),
            "sticky": {name: _f(v) for name, v in sticky.items()},
            "ideal": {s.name: {"k": s.k, "d": s.d, "dimensionality": _f(s.dimensionality()),
                               "fraction": str(s.fraction()), "plural": s.plural} for s in SHAPES},
            "plateau_half": plateau(xs, ys, 0.5),
            "plateau_one": plateau(xs, ys, 1.0),
            "regime": {
                "levels": len(regime),
                "from": regime[0]["inverse_density"] if regime else None,
                "to": regime[-1]["inverse_density"] if regime else None,
                "features": int(D_regime.size),
                "sticky_share": _f(sticky_share(D_regime, sticky_vals)),
                "uniform_baseline": _f(uniform_baseline(sticky_vals, lo, 1.0)),
                # embedded features within STICKY_TOL of each sticky value (nearest one)
                "counts": _nearest_counts(D_regime, sticky),
            },
            "examples": examples,
            "groups_total": {s.name: int(sum(r["groups"][s.name] for r in runs)) for s in SHAPES},
        }

    def figures(self, result: Result, metrics: dict[str, Any], outdir: Path) -> list[Figure]:
        from course_plugins.geometry import figures as F

        runs = metrics["runs"]
        m, n = metrics["n_hidden"], metrics["n_features"]
        half, one = metrics["plateau_half"], metrics["plateau_one"]

        def span(p: dict[str, Any] | None) -> str:
            return (f"from 1/(1−S) = {p['from']:.2f} to {p['to']:.2f} ({p['levels']} levels)"
                    if p else "at no level")

        reg = metrics["regime"]
        totals = metrics["groups_total"]
        return [
            Figure(
                name="dims",
                path=F.dims_figure(metrics, outdir / "geometry-dims-per-feature.png"),
                caption=(
                    f"Dimensions per feature, m/‖W‖_F², for {len(runs)} models with n = {n} "
                    f"features and m = {m} hidden dimensions, against 1/(1 − S) on a log scale "
                    "(sparser to the right). Dashed lines mark 1 (one dimension per feature) and "
                    "1/2 (antipodal pairs); the shaded bands are the measured plateaus. The dotted "
                    f"line is m/n = {m / n:g}, where every feature has a unit-length arrow."
                ),
                alt=(
                    f"A falling curve of {len(runs)} points. It starts at "
                    f"{runs[0]['dimensions_per_feature']:.2f}, stays within 0.03 of 1 {span(one)}, "
                    f"drops, rests within 0.03 of 1/2 {span(half)}, then keeps falling to "
                    f"{runs[-1]['dimensions_per_feature']:.2f} at 1/(1−S) = "
                    f"{runs[-1]['inverse_density']:.0f}."
                ),
            ),
            Figure(
                name="scatter",
                path=F.scatter_figure(metrics, outdir / "geometry-feature-dimensionality.png", EMBEDDED),
                caption=(
                    "Every feature's dimensionality D_i, one dot per feature per model, against "
                    "1/(1 − S). Dark dots are embedded features (‖W_i‖ > 0.5), pale dots the rest. "
                    "Horizontal lines mark the sticky values 1, 3/4, 2/3, 1/2, 2/5 and 3/8, "
                    "labelled with the shapes that produce them."
                ),
                alt=(
                    f"A scatter of {n} dots per level. In the superposition regime "
                    f"({reg['levels']} levels) {reg['sticky_share'] * 100:.0f}% of the "
                    f"{reg['features']} embedded features lie within {STICKY_TOL} of a sticky "
                    f"line, against {reg['uniform_baseline'] * 100:.0f}% for values spread evenly."
                    + " Embedded features within that distance of each line: "
                    + ", ".join(f"{name} {count}" for name, count in reg["counts"].items())
                    + "."
                ),
            ),
            Figure(
                name="groups",
                path=F.groups_figure(metrics, outdir / "geometry-groups.png"),
                caption=(
                    "Which shapes the embedded features form at each density, found by the "
                    "group search described above: each bar splits the embedded features by the "
                    "shape their group makes; grey is features in no clean group."
                ),
                alt=(
                    "Stacked bars per level. Groups found over the whole sweep: "
                    + ", ".join(f"{v} {k if v == 1 else metrics['ideal'][k]['plural']}"
                                for k, v in totals.items())
                    + "."
                ),
            ),
        ]

    def animation(self, result: Result, metrics: dict[str, Any]) -> Animation:
        from course_plugins.geometry.scene import GeometryScene

        ex = metrics["examples"]
        found = ", ".join(ex) if ex else "none of them"
        return Animation(
            scene=partial(GeometryScene, metrics),
            title="Digon, triangle, tetrahedron, pentagon, square antiprism",
            description=(
                "Five shapes, one after another. On the left each ideal shape is drawn as unit "
                "arrows from the origin with its outline (the tetrahedron and square antiprism "
                "in three dimensions, turning), with its feature dimensionality D computed from "
                "the vectors. On the right, when the trained model contains a group of features "
                "forming that shape, the learned arrows themselves are drawn, projected into "
                "the subspace they span, with their measured D_i and the density they come "
                f"from. Found in this build: {found}. The video ends on all five shapes in a row, "
                "each with its D and how many groups of its kind the search found."
            ),
        )

    def claims(self, metrics: dict[str, Any]) -> list[Claim]:
        runs = metrics["runs"]
        half, one, reg = metrics["plateau_half"], metrics["plateau_one"], metrics["regime"]
        out = [
            Claim(
                "half-plateau",
                "Dimensions per feature m/‖W‖_F² is sticky at 1/2, where features come in "
                "antipodal pairs, over a range of densities.",
                (f"within {PLATEAU_TOL} of 1/2 for 1/(1−S) = {half['from']:.2f} to {half['to']:.2f} "
                 f"({half['levels']} levels, mean {half['mean']:.3f})") if half else "no level near 1/2",
                bool(half) and half["levels"] >= 2,
                UNIFORM,
            ),
            Claim(
                "one-plateau",
                "For dense features dimensions per feature is sticky at 1.",
                (f"within {PLATEAU_TOL} of 1 for 1/(1−S) = {one['from']:.2f} to {one['to']:.2f} "
                 f"({one['levels']} levels)") if one else "no level near 1",
                bool(one) and one["levels"] >= 2,
                UNIFORM,
            ),
            Claim(
                "sticky-values",
                "Feature dimensionalities D_i cluster at the sticky fractions 1, 3/4, 2/3, 1/2, "
                "2/5 and 3/8.",
                (f"{reg['sticky_share'] * 100:.0f}% of {reg['features']} embedded features within "
                 f"{STICKY_TOL} of one (1/(1−S) from {reg['from']:.2f} to {reg['to']:.2f}); "
                 f"{reg['uniform_baseline'] * 100:.0f}% if spread evenly") if reg["levels"]
                else "no level between the dense plateau and 3/8",
                reg["features"] > 0 and reg["sticky_share"] >= max(0.6, 1.5 * reg["uniform_baseline"]),
                STRUCTURES,
            ),
        ]
        gaps = [abs(r["sum_dimensionality"] - r["gram_rank"]) / max(1, r["gram_rank"]) for r in runs]
        out.append(Claim(
            "sum-to-rank",
            "The D_i of a model add up to the number of dimensions it uses (the rank of W) "
            "when features are packed efficiently.",
            f"largest gap between Σ D_i and the rank: {max(gaps):.1%} (over {len(runs)} levels)",
            max(gaps) < 0.05,
            STRUCTURES,
        ))
        if half:
            on = [r for r in runs if half["from"] <= r["inverse_density"] <= half["to"]]
            paired = sum(2 * r["groups"]["digon"] for r in on)
            emb = sum(r["features_embedded"] for r in on)
            out.append(Claim(
                "antipodal-pairs",
                "On the 1/2 plateau the features are stored as antipodal pairs.",
                f"{paired} of {emb} embedded features on the plateau are in antipodal pairs",
                emb > 0 and paired >= 0.9 * emb,
                UNIFORM,
            ))
        return out


CONCEPT = Geometry(
    slug="geometry",
    title="The geometry of superposition",
    order=60,
    summary="Counting features with the Frobenius norm, feature dimensionality D_i, and the "
    "digons, triangles, tetrahedra, pentagons and square antiprisms features form.",
    question="How many dimensions does a feature get, and what shapes do features make?",
)


@hookimpl
def register_concepts(register):
    register(CONCEPT)


@hookimpl
def register_glossary(register):
    register(GlossaryEntry(
        "Dimensions per feature",
        "m/‖W‖_F²: hidden dimensions divided by the number of features the model has "
        "learned (‖W‖_F²). 1 means one dimension each; 1/2 means antipodal pairs.",
        UNIFORM,
    ))
    register(GlossaryEntry(
        "Frobenius norm",
        "‖W‖_F² = Σ_i ‖W_i‖², the sum of every squared weight; for the toy models roughly the "
        "number of features learned, whatever the basis.",
        UNIFORM,
    ))
    register(GlossaryEntry(
        "Tegum product",
        "Shapes placed in orthogonal subspaces of one space, such as two antipodal pairs on "
        "perpendicular lines: the way features' groups combine without interfering.",
        STRUCTURES,
    ))
