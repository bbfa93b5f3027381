"""The geometry chapter's numbers: dimensions per feature, each feature's
dimensionality D_i and the shapes the features form, per density; and the
paper's uniform-superposition claims judged on them."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from course import Judgement, Result
from course import jsonable as _f
from course import metrics as M
from course_plugins.geometry.shapes import BY_NAME, SHAPES, find_groups, project_group

#: |D* − 1/2| (and |D* − 1|) below this counts as sitting on the plateau
PLATEAU_TOL = 0.03
#: |D_i − sticky value| below this counts as sitting at a sticky value
STICKY_TOL = 0.03
#: a plateau needs at least this many consecutive levels
PLATEAU_MIN_LEVELS = 2
#: the share of embedded features at a sticky value must reach this ...
STICKY_SHARE_MIN = 0.6
#: ... and this many times the share for D_i spread evenly
STICKY_OVER_BASELINE = 1.5
#: largest relative gap between Σ D_i and the rank of W at any level
RANK_GAP_TOL = 0.05
#: share of the embedded features on the 1/2 plateau that must be in antipodal pairs
PAIRED_SHARE_MIN = 0.9


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


def metrics(result: Result) -> dict[str, Any]:
    """Per density D*, each D_i and the groups found; the plateaus of D*, the
    superposition regime and the cleanest example of each shape."""
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
        emb = M.represented(W[k])
        embedded_D.append(D[emb])
        groups = find_groups(W[k], min_norm=M.REPRESENTED)
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
        "represented_threshold": M.REPRESENTED,
        "plateau_tol": PLATEAU_TOL,
        "sticky_tol": STICKY_TOL,
    }


def claims(metrics: dict[str, Any]) -> list[Judgement]:
    """The plateaus of D*, the sticky D_i, Σ D_i = rank, and antipodal pairs on the 1/2 plateau."""
    runs = metrics["runs"]
    half, one, reg = metrics["plateau_half"], metrics["plateau_one"], metrics["regime"]
    out = [
        Judgement("half-plateau", bool(half) and half["levels"] >= PLATEAU_MIN_LEVELS,
                  {"plateau": half, "tol": PLATEAU_TOL, "min_levels": PLATEAU_MIN_LEVELS}),
        Judgement("one-plateau", bool(one) and one["levels"] >= PLATEAU_MIN_LEVELS,
                  {"plateau": one, "tol": PLATEAU_TOL, "min_levels": PLATEAU_MIN_LEVELS}),
        Judgement("sticky-values",
                  reg["features"] > 0
                  and reg["sticky_share"] >= max(STICKY_SHARE_MIN, STICKY_OVER_BASELINE * reg["uniform_baseline"]),
                  {"regime": reg, "tol": STICKY_TOL, "share_min": STICKY_SHARE_MIN,
                   "over_baseline": STICKY_OVER_BASELINE}),
    ]
    gaps = [abs(r["sum_dimensionality"] - r["gram_rank"]) / max(1, r["gram_rank"]) for r in runs]
    out.append(Judgement("sum-to-rank", max(gaps) < RANK_GAP_TOL,
                         {"max_gap": max(gaps), "levels": len(runs), "tol": RANK_GAP_TOL}))
    if half:
        on = [r for r in runs if half["from"] <= r["inverse_density"] <= half["to"]]
        paired = sum(2 * r["groups"]["digon"] for r in on)
        emb = sum(r["features_embedded"] for r in on)
        out.append(Judgement("antipodal-pairs", emb > 0 and paired >= PAIRED_SHARE_MIN * emb,
                             {"paired": paired, "embedded": emb, "share_min": PAIRED_SHARE_MIN}))
    return out
