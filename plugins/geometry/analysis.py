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
from course_plugins.geometry.shapes import BY_NAME, OUTSIDE_MAX, SHAPES, find_groups, project_group

#: |D* − 1/2| (and |D* − 1|) below this counts as sitting on the plateau
PLATEAU_TOL = 0.03
#: |D_i − sticky value| below this counts as sitting at a sticky value
STICKY_TOL = 0.03
#: a plateau needs at least this many consecutive levels
PLATEAU_MIN_LEVELS = 2
#: the share of embedded features at a sticky value must reach this ...
STICKY_SHARE_MIN = 0.6
#: ... and this many times the share the same D_i would have if each were moved at
#: random by up to SMOOTH_WIDTH (values that merely lie in a range crowded with sticky
#: values, as 2/5, 3/8 and 1/2 crowd 0.35 to 0.53, do not count as clustering)
STICKY_OVER_BASELINE = 1.5
SMOOTH_WIDTH = 0.1
#: largest relative gap between Σ D_i and the rank of W at any level
RANK_GAP_TOL = 0.05
#: share of the embedded features on the 1/2 plateau that must be in antipodal pairs
PAIRED_SHARE_MIN = 0.9
#: on the plateau at D* = 1, no feature may have a D_i above this (a dimension of its own is 1)
DENSE_D_MAX = 0.5
#: each of the five shapes must be found at least this many times over the sweep
SHAPES_MIN = 1


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


def smoothed_baseline(D: np.ndarray, values: list[float], tol: float = STICKY_TOL,
                      width: float = SMOOTH_WIDTH) -> float:
    """What :func:`sticky_share` would give if each value of ``D`` were moved
    uniformly at random by up to ``width``: the data's own spread, without
    its peaks. Clustered values score well above it; values spread across a
    range full of sticky values score about the same."""
    D = np.asarray(D, dtype=float)
    if D.size == 0:
        return 0.0
    offsets = np.linspace(-width, width, 201)
    moved = (D[:, None] + offsets[None, :]).ravel()
    return sticky_share(moved, values, tol)


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


#: an embedded feature with no other embedded feature above this |cosine| counts as isolated
ISOLATED_COS = 0.2


def _nearest_in_shape(D: np.ndarray, member_of: list[str | None], sticky: dict[str, float],
                      max_cos: np.ndarray | None = None, tol: float = STICKY_TOL) -> dict[str, dict[str, int]]:
    """Of the values of ``D`` within ``tol`` of each sticky value (the nearest
    one): how many belong to a group of that very shape (``member_of[i]``), how
    many to a group of another shape, and how many to no group while no other
    embedded feature overlaps them by more than :data:`ISOLATED_COS`
    (``max_cos[i]``, the largest |cosine| to another embedded feature)."""
    names = list(sticky)
    vals = np.array([sticky[k] for k in names])
    out = {k: {"same": 0, "other": 0, "isolated": 0} for k in names}
    mc = np.ones(len(member_of)) if max_cos is None else np.asarray(max_cos, dtype=float)
    for d, shape, c in zip(np.asarray(D, dtype=float), member_of, mc, strict=True):
        i = int(np.argmin(np.abs(vals - d)))
        if abs(vals[i] - d) > tol:
            continue
        if shape == names[i]:
            out[names[i]]["same"] += 1
        elif shape:
            out[names[i]]["other"] += 1
        elif c < ISOLATED_COS:
            out[names[i]]["isolated"] += 1
    return out


def leaves(y: list[float], span: dict[str, Any] | None, value: float, tol: float,
           xs: list[float], side: str) -> bool:
    """Whether the curve ``y`` is farther than ``tol`` from ``value`` at some
    level before (``side="before"``) or after (``"after"``) the plateau ``span``:
    a plateau is a flat stretch of a curve that moves, not a flat curve."""
    if not span:
        return False
    if side == "before":
        rest = [v for x, v in zip(xs, y, strict=True) if x < span["from"]]
        return any(v > value + tol for v in rest)
    rest = [v for x, v in zip(xs, y, strict=True) if x > span["to"]]
    return any(v < value - tol for v in rest)


def metrics(result: Result) -> dict[str, Any]:
    """Per density D*, each D_i and the groups found; the plateaus of D*, the
    dense regime, the superposition regime and the cleanest example of each shape."""
    W = result["W"].astype(np.float64)
    inv = result.info["inverse_density"]
    protocol = result.info.get("protocol", ["sweep"] * len(inv))
    batch = result.info.get("batch_size", [result.settings.get("batch_size", 0)] * len(inv))
    m, n = W.shape[-2], W.shape[-1]
    dpf = M.dimensions_per_feature(W)
    sticky = {s.name: s.dimensionality() for s in SHAPES}
    sticky_vals = sorted(set(round(v, 9) for v in sticky.values()))
    runs = []
    embedded_D, embedded_shape, embedded_cos = [], [], []
    best: dict[str, tuple[float, int, Any]] = {}
    found_at: dict[str, list[tuple[float, float]]] = {s.name: [] for s in SHAPES}
    group_ds: dict[str, list[float]] = {s.name: [] for s in SHAPES}
    for k, x in enumerate(inv):
        D = M.feature_dimensionality(W[k])
        norms = M.feature_norms(W[k])
        emb = M.represented(W[k])
        groups = find_groups(W[k], min_norm=M.REPRESENTED)
        member_of: list[str | None] = [None] * n
        for g in groups:
            for i in g.features:
                member_of[i] = g.shape
            group_ds[g.shape] += g.dimensionality
            err = g.error(sticky[g.shape]) + 0.1 * g.leak
            if g.shape not in best or err < best[g.shape][0]:
                best[g.shape] = (err, k, g)
        embedded_D.append(D[emb])
        embedded_shape.append([member_of[i] for i in np.flatnonzero(emb)])
        U = W[k][:, emb] / np.maximum(norms[emb], M.EPS)
        overlap = np.abs(U.T @ U)
        np.fill_diagonal(overlap, 0.0)
        embedded_cos.append(overlap.max(axis=1) if overlap.size > 1 else np.zeros(int(emb.sum())))
        counts = Counter(g.shape for g in groups)
        clean = Counter(g.shape for g in groups if g.clean)
        for name in counts:
            found_at[name].append((float(x), float(dpf[k])))
        eig = np.asarray(M.gram_spectrum(W[k]))
        rank = int(M.gram_rank(W[k]))
        runs.append({
            "sparsity": _f(1.0 - 1.0 / x),
            "inverse_density": _f(x),
            "protocol": protocol[k],
            "batch_size": int(batch[k]),
            "dimensions_per_feature": _f(dpf[k]),
            "frobenius_sq": _f(M.features_learned(W[k])),
            "feature_dimensionality": _f(D, 4),
            "feature_norms": _f(norms, 4),
            "features_embedded": int(emb.sum()),
            "max_dimensionality": _f(D.max()),
            "mean_dimensionality": _f(D.mean()),
            "sum_dimensionality": _f(D.sum()),
            "gram_rank": rank,
            # the m non-zero eigenvalues of WᵀW: all near 1 for a rank-m projection
            "gram_eigenvalues": {"min": _f(eig[:m].min()), "max": _f(eig[:m].max()),
                                 "next": _f(eig[m] if eig.size > m else 0.0)},
            "mean_bias": _f(result["b"][k].mean()),
            "sticky_share": _f(sticky_share(D[emb], sticky_vals)),
            "groups": {s.name: int(counts.get(s.name, 0)) for s in SHAPES},
            "groups_clean": {s.name: int(clean.get(s.name, 0)) for s in SHAPES},
            # the shape of the group each feature belongs to ("" for none)
            "member_of": [name or "" for name in member_of],
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
            "own_dimensionality": _f(g.own_dimensionality, 4),
            "outside": _f(g.outside, 4),
            "clean": g.clean,
            "leak": _f(g.leak, 4),
            "coords": _f(project_group(W[k], g.features, shape.d), 5),
        }
    xs = [r["inverse_density"] for r in runs]
    ys = [r["dimensions_per_feature"] for r in runs]
    one = plateau(xs, ys, 1.0)
    # the superposition regime: past the dense plateau, before packing gets tighter than 3/8
    in_regime = [min(sticky_vals) - STICKY_TOL <= r["dimensions_per_feature"] < 1 - PLATEAU_TOL
                 for r in runs]
    regime = [r for r, ok in zip(runs, in_regime, strict=True) if ok]
    D_regime = np.concatenate([d for d, ok in zip(embedded_D, in_regime, strict=True) if ok]
                              + [np.zeros(0)])
    shape_regime = [s for ss, ok in zip(embedded_shape, in_regime, strict=True) if ok for s in ss]
    cos_regime = np.concatenate([c for c, ok in zip(embedded_cos, in_regime, strict=True) if ok]
                                + [np.zeros(0)])
    lo = min(sticky_vals)
    dense_runs = [r for r in runs if one and one["from"] <= r["inverse_density"] <= one["to"]]
    # the D_i of every feature at the dense plateau's levels, all features included
    dense_D = [d for r in dense_runs for d in r["feature_dimensionality"]]
    totals = {s.name: int(sum(r["groups"][s.name] for r in runs)) for s in SHAPES}
    return {
        "runs": runs,
        "n_features": int(n),
        "n_hidden": int(m),
        "sticky": {name: _f(v) for name, v in sticky.items()},
        "ideal": {s.name: {"k": s.k, "d": s.d, "dimensionality": _f(s.dimensionality()),
                           "fraction": str(s.fraction()), "plural": s.plural} for s in SHAPES},
        "plateau_half": plateau(xs, ys, 0.5),
        "plateau_one": one,
        "dense": {
            "levels": len(dense_runs),
            "to": dense_runs[-1]["inverse_density"] if dense_runs else None,
            "max_dimensionality": _f(max(dense_D)) if dense_D else None,
            "mean_dimensionality": _f(float(np.mean(dense_D))) if dense_D else None,
            "features_over_half": int(sum(d > DENSE_D_MAX for d in dense_D)),
            "features_embedded": int(sum(r["features_embedded"] for r in dense_runs)),
            "m_over_n": _f(m / n),
            "eigen_min": _f(min(r["gram_eigenvalues"]["min"] for r in dense_runs)) if dense_runs else None,
            "eigen_max": _f(max(r["gram_eigenvalues"]["max"] for r in dense_runs)) if dense_runs else None,
        },
        "regime": {
            "levels": len(regime),
            "from": regime[0]["inverse_density"] if regime else None,
            "to": regime[-1]["inverse_density"] if regime else None,
            "features": int(D_regime.size),
            "sticky_share": _f(sticky_share(D_regime, sticky_vals)),
            "uniform_baseline": _f(uniform_baseline(sticky_vals, lo, 1.0)),
            "smoothed_baseline": _f(smoothed_baseline(D_regime, sticky_vals)),
            "smooth_width": SMOOTH_WIDTH,
            # embedded features within STICKY_TOL of each sticky value (nearest one) ...
            "counts": _nearest_counts(D_regime, sticky),
            # ... and how many of those are members of a group of that shape, of
            # another shape, or of none while overlapping no embedded feature
            "in_shape": _nearest_in_shape(D_regime, shape_regime, sticky, cos_regime),
            "isolated_cos": ISOLATED_COS,
        },
        "examples": examples,
        "groups_total": totals,
        "groups_clean_total": {s.name: int(sum(r["groups_clean"][s.name] for r in runs)) for s in SHAPES},
        # where each shape was found: how many densities, their range, and D* there
        "groups_where": {name: {"densities": len(v),
                                "from": _f(min(x for x, _ in v)), "to": _f(max(x for x, _ in v)),
                                "dpf_min": _f(min(d for _, d in v)), "dpf_max": _f(max(d for _, d in v))}
                         for name, v in found_at.items() if v},
        # the lowest and highest D_i of the members of each shape's groups
        "groups_dimensionality": {name: [_f(min(ds), 3), _f(max(ds), 3)]
                                  for name, ds in group_ds.items() if ds},
        "protocols": {
            p: {"levels": sum(r["protocol"] == p for r in runs),
                "batch_size": next(r["batch_size"] for r in runs if r["protocol"] == p),
                "from": min(r["inverse_density"] for r in runs if r["protocol"] == p),
                "to": max(r["inverse_density"] for r in runs if r["protocol"] == p)}
            for p in dict.fromkeys(r["protocol"] for r in runs)
        },
        "represented_threshold": M.REPRESENTED,
        "plateau_tol": PLATEAU_TOL,
        "sticky_tol": STICKY_TOL,
        "outside_max": OUTSIDE_MAX,
    }


def claims(metrics: dict[str, Any]) -> list[Judgement]:
    """The plateaus of D*, the dense regime, the sticky D_i, Σ D_i = rank, antipodal
    pairs on the 1/2 plateau, and the five shapes."""
    runs = metrics["runs"]
    half, one, reg = metrics["plateau_half"], metrics["plateau_one"], metrics["regime"]
    xs = [r["inverse_density"] for r in runs]
    ys = [r["dimensions_per_feature"] for r in runs]
    densest = runs[0]["inverse_density"] if runs else None
    half_ok = (bool(half) and half["levels"] >= PLATEAU_MIN_LEVELS
               and leaves(ys, half, 0.5, PLATEAU_TOL, xs, "before")
               and leaves(ys, half, 0.5, PLATEAU_TOL, xs, "after"))
    one_ok = (bool(one) and one["levels"] >= PLATEAU_MIN_LEVELS and one["from"] == densest
              and leaves(ys, one, 1.0, PLATEAU_TOL, xs, "after"))
    dense = metrics["dense"]
    out = [
        Judgement("half-plateau", half_ok,
                  {"plateau": half, "tol": PLATEAU_TOL, "min_levels": PLATEAU_MIN_LEVELS}),
        Judgement("one-plateau", one_ok,
                  {"plateau": one, "tol": PLATEAU_TOL, "min_levels": PLATEAU_MIN_LEVELS}),
        Judgement("dense-no-dedicated-dimension",
                  one_ok and dense["levels"] > 0 and dense["features_over_half"] == 0,
                  {"dense": dense, "d_max": DENSE_D_MAX}),
        Judgement("sticky-values",
                  reg["features"] > 0
                  and reg["sticky_share"] >= max(STICKY_SHARE_MIN, STICKY_OVER_BASELINE * reg["uniform_baseline"],
                                                 STICKY_OVER_BASELINE * reg["smoothed_baseline"]),
                  {"regime": reg, "tol": STICKY_TOL, "share_min": STICKY_SHARE_MIN,
                   "over_baseline": STICKY_OVER_BASELINE}),
    ]
    gaps = [abs(r["sum_dimensionality"] - r["gram_rank"]) / max(1, r["gram_rank"]) for r in runs]
    out.append(Judgement("sum-to-rank", bool(gaps) and max(gaps) < RANK_GAP_TOL,
                         {"max_gap": max(gaps, default=0.0), "levels": len(runs), "tol": RANK_GAP_TOL}))
    on = [r for r in runs if half and half["from"] <= r["inverse_density"] <= half["to"]]
    paired = sum(2 * r["groups_clean"]["digon"] for r in on)
    emb = sum(r["features_embedded"] for r in on)
    out.append(Judgement("antipodal-pairs", half_ok and emb > 0 and paired >= PAIRED_SHARE_MIN * emb,
                         {"paired": paired, "embedded": emb, "levels": len(on),
                          "share_min": PAIRED_SHARE_MIN}))
    totals = metrics["groups_total"]
    out.append(Judgement("five-shapes", all(v >= SHAPES_MIN for v in totals.values()),
                         {"totals": totals, "clean": metrics["groups_clean_total"],
                          "where": metrics["groups_where"],
                          "dimensionality": metrics["groups_dimensionality"],
                          "min": SHAPES_MIN, "outside_max": OUTSIDE_MAX}))
    return out
