"""The non-uniform superposition chapter's numbers, and the paper's claims judged on them.

The helpers take weights W of shape (m, n) (column W_i is feature i) and are
exact on hand-built geometries (see the tests); :func:`metrics` applies them
to the experiment's result; :func:`claims` turns the metrics into verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from course import Judgement, Result, align
from course import jsonable as _f
from course import metrics as M

#: the feature whose density the perturbation experiment varies
PERTURBED = 0
#: the paper: the pentagon collapses "below about 2.5×" less dense than the others
PAPER_COLLAPSE_FACTOR = 2.5
#: ... and we accept a measured factor within this ratio of it either way (2.0 to 3.125)
COLLAPSE_FACTOR_TOL = 1.25
#: a feature with a norm below this counts as dropped (at 0)
DROPPED_MAX = 0.1
#: a first-order change: the pentagon branch still holds the feature this strongly where the losses cross
FIRST_ORDER_NORM_MIN = 0.5
#: |D_i − 1/2| for the digons and |D_i − 2/5| for the pentagon
DIGON_D_TOL = 0.08
PENTAGON_D_TOL = 0.06
#: the off-circle relation ‖W_i‖ = 1/(1 − b_i) must hold within this (absolute)
OFF_CIRCLE_TOL = 0.05
#: "off the unit circle": every |‖W_i‖ − 1| at least this
OFF_CIRCLE_MIN = 0.02
#: two features are orthogonal when |cos| is below this, antipodal when cos is below minus this
ORTHOGONAL_MAX = 0.1
ANTIPODAL_COS = 0.9
#: a correlated pair has collapsed when both members are longer than this and point the same way
COLLAPSE_NORM_MIN = 0.3
COLLAPSE_COS = 0.95
#: local orthogonal bases: mean |cos| within a set at most this, and across sets at least this many times it
LOCAL_WITHIN_MAX = 0.05
LOCAL_RATIO_MIN = 3.0

#: the paper's table "collapse to PCA" (6 features in 3 correlated pairs): density bands and sets collapsed
PCA_TABLE: tuple[tuple[float, float, int, str], ...] = (
    (0.0, 0.05, 0, "none (a hexagon)"),
    (0.05, 0.15, 1, "1"),
    (0.15, 0.2, 2, "2"),
    (0.25, 0.5, 3, "all"),
    (0.5, 1.0, 3, "all, most PCA-like"),
)


# --------------------------------------------------------------------------- geometry helpers


def unit(W: np.ndarray) -> np.ndarray:
    """Columns scaled to length 1 (a zero column stays zero)."""
    W = np.asarray(W, dtype=float)
    norms = np.linalg.norm(W, axis=0)
    return np.where(norms > M.EPS, W / np.maximum(norms, M.EPS), 0.0)


def cosines(W: np.ndarray) -> np.ndarray:
    """(n, n): Ŵ_i · Ŵ_j, the cosine of the angle between features i and j."""
    U = unit(W)
    return U.T @ U


def angles(W: np.ndarray) -> np.ndarray:
    """Each 2-D column's angle in degrees, in [0, 360)."""
    W = np.asarray(W, dtype=float)
    return np.degrees(np.arctan2(W[1], W[0])) % 360.0


def wedge(W: np.ndarray, i: int, min_norm: float = M.REPRESENTED) -> float | None:
    """Feature i's wedge of the circle in degrees: half the angle between its two
    angular neighbours among the represented features (72 in a regular
    pentagon); None when i is not represented or has fewer than two neighbours."""
    W = np.asarray(W, dtype=float)
    norms = np.linalg.norm(W, axis=0)
    if norms[i] <= min_norm:
        return None
    a = angles(W)
    others = sorted((a[j] - a[i]) % 360.0 for j in range(W.shape[1]) if j != i and norms[j] > min_norm)
    if len(others) < 2:
        return None
    return float((others[0] + (360.0 - others[-1])) / 2)


#: the orthogonal R with R A closest to B (one implementation for the course: :mod:`course.align`)
procrustes = align.procrustes


def match(W: np.ndarray, target: np.ndarray, interchangeable: Sequence[int] = ()) -> np.ndarray:
    """``W`` turned (orthogonal Procrustes) onto ``target``, after relabelling
    the ``interchangeable`` features (ones with the same density and
    importance, so that swapping them is a symmetry of the problem) in the
    order that fits best (:func:`course.align.match`)."""
    return align.match(W, target, interchangeable)[0]


def align_chain(Ws: Sequence[np.ndarray], start: int, up: int = PERTURBED,
                interchangeable: Sequence[int] = ()) -> list[np.ndarray]:
    """Separately trained models in one frame: level ``start`` is turned so
    that feature ``up`` points up, then every other level is fitted to its
    neighbour on the way to ``start`` (:func:`course.align.align_chain`), so
    the picture changes only where the models do."""
    return align.align_chain(Ws, start, up=up, interchangeable=interchangeable)


def crossing(x: Sequence[float], a: Sequence[float], b: Sequence[float]) -> dict[str, Any] | None:
    """Where curve ``a`` stops being below ``b``, scanning from the largest x
    down: the first sign change of a − b, interpolated linearly in log x.
    Returns its x, the bracketing indices and the slopes of both curves
    (d/d ln x) there; None when a − b never changes sign."""
    x, d = np.asarray(x, dtype=float), np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    order = np.argsort(x)[::-1]
    for hi, lo in zip(order[:-1], order[1:], strict=True):
        if d[hi] < 0 <= d[lo] or d[hi] <= 0 < d[lo]:
            lx_hi, lx_lo = math.log(x[hi]), math.log(x[lo])
            t = d[hi] / (d[hi] - d[lo])
            at = math.exp(lx_hi + t * (lx_lo - lx_hi))
            span = lx_hi - lx_lo
            return {"x": at, "t": float(t), "above": int(hi), "below": int(lo),
                    "slope_a": float((a[hi] - a[lo]) / span), "slope_b": float((b[hi] - b[lo]) / span)}
    return None


def at_crossing(values: Sequence[float], cross: dict[str, Any]) -> float:
    """``values`` interpolated to the crossing (same interpolation as :func:`crossing`)."""
    v = np.asarray(values, dtype=float)
    return float(v[cross["above"]] + cross["t"] * (v[cross["below"]] - v[cross["above"]]))


def set_slices(sizes: Sequence[int]) -> list[list[int]]:
    """The features of consecutive sets of the given sizes: (2, 2) -> [[0, 1], [2, 3]]."""
    out, start = [], 0
    for size in sizes:
        out.append(list(range(start, start + size)))
        start += size
    return out


def set_overlaps(W: np.ndarray, sets: Sequence[Sequence[int]]) -> dict[str, float]:
    """Mean |Ŵ_i · Ŵ_j| over pairs of distinct features in the same set
    (``within``) and in different sets (``across``)."""
    C = np.abs(cosines(W))
    label = np.full(C.shape[0], -1)
    for k, s in enumerate(sets):
        label[list(s)] = k
    same = label[:, None] == label[None, :]
    off = ~np.eye(C.shape[0], dtype=bool)
    used = (label[:, None] >= 0) & (label[None, :] >= 0)
    within = C[same & off & used]
    across = C[~same & used]
    return {"within": float(within.mean()) if within.size else 0.0,
            "across": float(across.mean()) if across.size else 0.0}


def pair_cosines(W: np.ndarray, sets: Sequence[Sequence[int]]) -> list[float]:
    """The cosine between the two members of each set of two."""
    C = cosines(W)
    return [float(C[s[0], s[1]]) for s in sets]


def partner_cosine(W: np.ndarray, sets: Sequence[Sequence[int]]) -> float:
    """For each feature, the most negative cosine with a feature of another set;
    the largest (least antipodal) of those: below −0.9 means every feature has an
    antipodal partner in another set."""
    C = cosines(W)
    label = np.full(C.shape[0], -1)
    for k, s in enumerate(sets):
        label[list(s)] = k
    worst = -1.0
    for i in range(C.shape[0]):
        other = [C[i, j] for j in range(C.shape[0]) if label[j] != label[i]]
        if other:
            worst = max(worst, float(min(other)))
    return worst


def collapsed_pairs(W: np.ndarray, sets: Sequence[Sequence[int]], cos_min: float = COLLAPSE_COS,
                    norm_min: float = COLLAPSE_NORM_MIN) -> list[bool]:
    """Per pair: both members represented and pointing the same way (the pair
    stored as one direction, its sum: the principal component)."""
    norms = np.linalg.norm(np.asarray(W, dtype=float), axis=0)
    return [bool(norms[a] > norm_min and norms[b] > norm_min and c > cos_min)
            for (a, b), c in zip(sets, pair_cosines(W, sets), strict=True)]


def side_by_side(W: np.ndarray, sets: Sequence[Sequence[int]], min_norm: float = M.REPRESENTED) -> bool:
    """True when every pair's two members are neighbours around the circle
    (no other represented feature between them, going the short way)."""
    W = np.asarray(W, dtype=float)
    norms = np.linalg.norm(W, axis=0)
    shown = [i for i in range(W.shape[1]) if norms[i] > min_norm]
    ring = sorted(shown, key=lambda i: angles(W)[i])
    if len(ring) < 3:
        return False
    pos = {f: k for k, f in enumerate(ring)}
    for a, b in sets:
        if a not in pos or b not in pos:
            return False
        gap = abs(pos[a] - pos[b])
        if min(gap, len(ring) - gap) != 1:
            return False
    return True


def pca_expected(density: float) -> dict[str, Any] | None:
    """The paper's row for ``density`` (None between its bands, 0.2 to 0.25);
    a density on a band's edge takes the lower band."""
    for lo, hi, count, text in PCA_TABLE:
        if lo <= density <= hi:
            return {"from": lo, "to": hi, "count": count, "text": text}
    return None


def free_collapse(ratios: Sequence[float], norms: Sequence[float]) -> dict[str, Any]:
    """Where training from random starts dropped the perturbed feature: going
    from the sparsest level up, the levels with its norm below
    :data:`DROPPED_MAX`; ``last_dropped`` is the densest of them (None if the
    sparsest level keeps it) and ``first_kept`` the next level, with
    ``kept`` telling whether that one holds it above the represented threshold
    (a jump) rather than partly (a slide). ``intermediate`` counts the levels with a
    norm in between the two thresholds."""
    order = sorted(range(len(ratios)), key=lambda i: ratios[i])
    k = 0
    while k < len(order) and norms[order[k]] < DROPPED_MAX:
        k += 1
    return {
        "last_dropped": _f(ratios[order[k - 1]]) if k else None,
        "last_dropped_index": order[k - 1] if k else None,
        "first_kept": _f(ratios[order[k]]) if k < len(order) else None,
        "first_kept_index": order[k] if k < len(order) else None,
        "kept": bool(k < len(order) and norms[order[k]] > M.REPRESENTED),
        "intermediate": int(sum(DROPPED_MAX <= v <= M.REPRESENTED for v in norms)),
    }


# --------------------------------------------------------------------------- metrics


def _pair_metrics(W: np.ndarray, b: np.ndarray, loss: float, density: float, sets: list[list[int]]) -> dict[str, Any]:
    return {
        "density": _f(density),
        "feature_norms": _f(np.linalg.norm(W, axis=0), 4),
        "cosines": _f(cosines(W), 4),
        "pair_cosines": _f(pair_cosines(W, sets), 4),
        "partner_cosine": _f(partner_cosine(W, sets), 4),
        "overlaps": _f(set_overlaps(W, sets), 4),
        "angles": _f(angles(W), 2),
        "bias": _f(b, 4),
        "loss": _f(loss, 9),
    }


def metrics(result: Result) -> dict[str, Any]:
    """One run per density ratio of the perturbed feature, plus the other experiments."""
    A = {k: np.asarray(v, dtype=np.float64) for k, v in result.arrays.items()}
    ratios = [float(r) for r in result.info["ratios"]]
    base = float(result.info["base_density"])
    start = int(np.argmin(np.abs(np.log(ratios))))
    # features 2-5 share one density and importance: each model's may be relabelled to match its neighbour's
    others = [i for i in range(A["free_W"].shape[-1]) if i != PERTURBED]
    aligned = align_chain(list(A["free_W"]), start, interchangeable=others)
    pent_aligned = align_chain(list(A["pentagon_W"]), start)
    runs = []
    for k, r in enumerate(ratios):
        W, Wp = A["free_W"][k], A["pentagon_W"][k]
        norms = np.linalg.norm(W, axis=0)
        dims = M.feature_dimensionality(W)
        runs.append({
            "ratio": _f(r),
            "density": _f(base * r),
            "feature_norms": _f(norms, 4),
            "feature_dimensionality": _f(dims, 4),
            "mean_dimensionality": _f(M.mean_dimensionality(dims, norms)),
            "features_represented": int((norms > M.REPRESENTED).sum()),
            "perturbed_norm": _f(norms[PERTURBED], 4),
            "perturbed_bias": _f(A["free_b"][k][PERTURBED], 4),
            "wedge": _f(wedge(W, PERTURBED), 3),
            "bias": _f(A["free_b"][k], 4),
            "aligned": _f(aligned[k], 5),
            "loss": _f(A["free_loss"][k], 9),
            "pentagon_loss": _f(A["pentagon_loss"][k], 9),
            "digon_loss": _f(A["digon_loss"][k], 9),
            "pentagon_norm": _f(np.linalg.norm(Wp[:, PERTURBED]), 4),
            "pentagon_bias": _f(A["pentagon_b"][k][PERTURBED], 4),
            "pentagon_wedge": _f(wedge(Wp, PERTURBED), 3),
            "pentagon_dimensionality": _f(M.feature_dimensionality(Wp)[PERTURBED], 4),
            "pentagon_aligned": _f(pent_aligned[k], 5),
            "winner": "pentagon" if A["pentagon_loss"][k] < A["digon_loss"][k] else "two digons",
        })

    cross = crossing(ratios, A["pentagon_loss"], A["digon_loss"])
    collapse: dict[str, Any] = {"crossing": None}
    if cross is not None:
        pn = [run["pentagon_norm"] for run in runs]
        collapse = {
            "crossing": _f(cross["x"], 4),
            "factor": _f(1.0 / cross["x"], 3),
            "above": cross["above"], "below": cross["below"],
            "pentagon_norm": _f(at_crossing(pn, cross), 4),
            "slope_pentagon": _f(cross["slope_a"], 9),
            "slope_digon": _f(cross["slope_b"], 9),
        }
    free = free_collapse(ratios, [run["perturbed_norm"] for run in runs])

    Wb, bb = A["baseline_W"], A["baseline_b"]
    nb = np.linalg.norm(Wb, axis=0)
    r1 = runs[start]
    off_circle = {
        "norms": _f(nb, 4),
        "bias": _f(bb, 4),
        "predicted": _f(1.0 / (1.0 - bb), 4),
        "sqrt_one_minus_b": _f(np.sqrt(1.0 - bb), 4),
        "max_error": _f(np.max(np.abs(nb - 1.0 / (1.0 - bb))), 4),
        "max_error_sqrt": _f(np.max(np.abs(nb - np.sqrt(1.0 - bb))), 4),
        "mean_norm": _f(nb.mean(), 4),
        "mean_bias": _f(bb.mean(), 4),
        "free_norms": r1["feature_norms"],
        "free_bias": r1["bias"],
        "loss": _f(A["baseline_loss"][0] if A["baseline_loss"].ndim else A["baseline_loss"], 9),
    }

    pairs = set_slices((2, 2))
    correlated = [_pair_metrics(W, b, loss, d, pairs) for W, b, loss, d in
                  zip(A["correlated_W"], A["correlated_b"], A["correlated_loss"],
                      result.info["correlated_densities"], strict=True)]
    anticorrelated = [_pair_metrics(W, b, loss, d, pairs) for W, b, loss, d in
                      zip(A["anticorrelated_W"], A["anticorrelated_b"], A["anticorrelated_loss"],
                          result.info["anticorrelated_densities"], strict=True)]

    three = set_slices((2, 2, 2))
    pca = []
    for k, (W, b, loss, d) in enumerate(zip(A["pca_W"], A["pca_b"], A["pca_loss"], result.info["pca_densities"],
                                            strict=True)):
        row = _pair_metrics(W, b, loss, d, three)
        flags = collapsed_pairs(W, three)
        norms = np.linalg.norm(W, axis=0)
        row |= {"collapsed": int(sum(flags)), "collapsed_pairs": flags,
                "dropped_pairs": int(sum(bool(norms[a] < DROPPED_MAX and norms[c] < DROPPED_MAX)
                                         for a, c in three)),
                "features_represented": int((norms > M.REPRESENTED).sum()),
                "side_by_side": side_by_side(W, three),
                "expected": pca_expected(float(d))}
        if "pca_W_all" in A:  # every seed: the lowest exact loss found for each number of collapsed pairs
            best: dict[str, float] = {}
            for Ws, ls in zip(A["pca_W_all"][k], A["pca_loss_all"][k], strict=True):
                c = str(sum(collapsed_pairs(Ws, three)))
                best[c] = min(best.get(c, math.inf), float(ls))
            row["best_by_count"] = {c: _f(v, 9) for c, v in sorted(best.items())}
        pca.append(row)

    local_sets = set_slices((10, 10))
    rng = np.random.default_rng(0)
    random_W = rng.normal(size=A["local_W"].shape[-2:])
    local = [{"density": _f(d), "overlaps": _f(set_overlaps(W, local_sets), 4),
              "feature_norms": _f(np.linalg.norm(W, axis=0), 4), "loss": _f(loss, 9)}
             for W, d, loss in zip(A["local_W"], result.info["local_densities"], A["local_loss"], strict=True)]

    return {
        "runs": runs,
        "n_features": 5, "n_hidden": 2,
        "base_density": _f(base),
        "baseline_index": start,
        "collapse": collapse,
        "free_collapse": free,
        "off_circle": off_circle,
        "correlated": correlated,
        "anticorrelated": anticorrelated,
        "pca": pca,
        "pca_table": [{"from": lo, "to": hi, "count": c, "text": t} for lo, hi, c, t in PCA_TABLE],
        "local": local,
        "local_random": _f(set_overlaps(random_W, local_sets), 4),
        "local_sizes": [10, 10], "local_hidden": int(A["local_W"].shape[-2]),
        "seconds": result.info.get("seconds", {}),
        "represented_threshold": M.REPRESENTED,
        "tolerances": {
            "paper_factor": PAPER_COLLAPSE_FACTOR, "factor_tol": COLLAPSE_FACTOR_TOL,
            "dropped_max": DROPPED_MAX, "first_order_norm_min": FIRST_ORDER_NORM_MIN,
            "digon_d_tol": DIGON_D_TOL, "pentagon_d_tol": PENTAGON_D_TOL,
            "off_circle_tol": OFF_CIRCLE_TOL, "off_circle_min": OFF_CIRCLE_MIN,
            "orthogonal_max": ORTHOGONAL_MAX, "antipodal_cos": ANTIPODAL_COS,
            "collapse_cos": COLLAPSE_COS, "collapse_norm_min": COLLAPSE_NORM_MIN,
            "local_within_max": LOCAL_WITHIN_MAX, "local_ratio_min": LOCAL_RATIO_MIN,
        },
    }


# --------------------------------------------------------------------------- claims


def _is_pentagon(run: dict[str, Any]) -> bool:
    return run["features_represented"] == 5 and all(abs(d - 0.4) < PENTAGON_D_TOL
                                                   for d in run["feature_dimensionality"])


def _is_two_digons(run: dict[str, Any]) -> bool:
    others = [d for i, d in enumerate(run["feature_dimensionality"]) if i != PERTURBED]
    return (run["perturbed_norm"] < DROPPED_MAX and run["features_represented"] == 4
            and all(abs(d - 0.5) < DIGON_D_TOL for d in others))


def claims(metrics: dict[str, Any]) -> list[Judgement]:
    """The paper's non-uniform superposition claims."""
    runs = metrics["runs"]
    col, free, tol = metrics["collapse"], metrics["free_collapse"], metrics["tolerances"]
    base = runs[metrics["baseline_index"]]
    out = []

    # 1. where the pentagon gives way to two digons
    factor = col.get("factor")
    lo, hi = PAPER_COLLAPSE_FACTOR / COLLAPSE_FACTOR_TOL, PAPER_COLLAPSE_FACTOR * COLLAPSE_FACTOR_TOL
    # ... a crossing of a pentagon and two digons: two curves of other weights (untrained
    # ones) can cross inside the band by chance
    sparsest = min(runs, key=lambda r: r["ratio"])
    shapes = _is_pentagon(base) and _is_two_digons(sparsest)
    out.append(Judgement("collapse-point", factor is not None and lo <= factor <= hi and shapes,
                         {"collapse": col, "free": free, "lo": lo, "hi": hi, "paper": PAPER_COLLAPSE_FACTOR,
                          "shapes": shapes}))

    # 2. what it collapses to, and from
    out.append(Judgement("collapse-digons", _is_pentagon(base) and _is_two_digons(sparsest),
                         {"base": base, "sparsest": sparsest, "tol": tol}))

    # 3. a first-order change: the loss curves cross, and the feature jumps from held to dropped
    first = False
    if col.get("crossing") is not None and free["last_dropped"] is not None and free["kept"]:
        # training's own jump from dropped to held lies within one level of the crossing
        gap = abs(free["first_kept_index"] - col["above"]) + abs(free["last_dropped_index"] - col["below"])
        near = (free["first_kept_index"] - free["last_dropped_index"]) ** 2 == 1 and gap <= 2
        first = col["pentagon_norm"] > FIRST_ORDER_NORM_MIN and free["intermediate"] == 0 and near
    out.append(Judgement("first-order", bool(first), {"collapse": col, "free": free,
                                                      "norm_min": FIRST_ORDER_NORM_MIN}))

    # 4. sparser shrinks the feature's share of the circle, down to the collapse
    on = [r for r in runs if r["ratio"] <= base["ratio"] and r["pentagon_wedge"] is not None
          and (col.get("crossing") is None or r["ratio"] >= col["crossing"])]
    on.sort(key=lambda r: -r["ratio"])
    wedges = [r["pentagon_wedge"] for r in on]
    # from the regular pentagon: two wedges of random weights fall half the time
    shrinks = (_is_pentagon(base) and len(wedges) >= 2
               and all(b < a for a, b in zip(wedges, wedges[1:], strict=False)))
    out.append(Judgement("sparser-shrinks", shrinks,
                         {"from": on[0] if on else None, "to": on[-1] if on else None,
                          "levels": len(on)}))

    # 5. the pentagon off the unit circle
    oc = metrics["off_circle"]
    out.append(Judgement("off-circle-relation", oc["max_error"] < OFF_CIRCLE_TOL,
                         {"oc": oc, "tol": OFF_CIRCLE_TOL}))
    out.append(Judgement("off-circle-negative-bias",
                         all(b < 0 for b in oc["bias"]) and all(abs(n - 1) >= OFF_CIRCLE_MIN for n in oc["norms"]),
                         {"oc": oc, "min": OFF_CIRCLE_MIN}))

    # 6. correlated pairs orthogonal, anticorrelated pairs antipodal
    cor = metrics["correlated"]
    out.append(Judgement("correlated-orthogonal",
                         bool(cor) and all(all(abs(c) < ORTHOGONAL_MAX for c in r["pair_cosines"])
                                           and min(r["feature_norms"]) > M.REPRESENTED for r in cor),
                         {"runs": cor, "tol": ORTHOGONAL_MAX}))
    anti = metrics["anticorrelated"]
    out.append(Judgement("anticorrelated-antipodal",
                         bool(anti) and all(all(c < -ANTIPODAL_COS for c in r["pair_cosines"])
                                            and min(r["feature_norms"]) > M.REPRESENTED for r in anti),
                         {"runs": anti, "cos": ANTIPODAL_COS}))

    # 7. three correlated pairs side by side (the sparsest density of the PCA sweep)
    pca = metrics["pca"]
    low = min(pca, key=lambda r: r["density"])
    out.append(Judgement("pairs-side-by-side",
                         low["features_represented"] == 6 and low["collapsed"] == 0 and low["side_by_side"],
                         {"run": low}))

    # 8. collapse to PCA: the paper's table, and the trend
    rows = [r for r in pca if r["expected"] is not None]
    misses = [r for r in rows if r["collapsed"] != r["expected"]["count"]]
    out.append(Judgement("pca-table", bool(rows) and not misses, {"rows": rows, "misses": misses}))
    counts = [r["collapsed"] for r in sorted(pca, key=lambda r: r["density"])]
    out.append(Judgement("pca-trend",
                         len(counts) >= 2 and counts[0] == 0 and counts[-1] == 3
                         and all(b >= a for a, b in zip(counts, counts[1:], strict=False)),
                         {"counts": counts, "densities": [r["density"] for r in sorted(pca, key=lambda r: r["density"])]}))

    # 9. local orthogonal bases
    loc = metrics["local"]
    out.append(Judgement("local-basis",
                         bool(loc) and all(r["overlaps"]["within"] < LOCAL_WITHIN_MAX
                                           and r["overlaps"]["across"] >= LOCAL_RATIO_MIN * r["overlaps"]["within"]
                                           for r in loc),
                         {"runs": loc, "within_max": LOCAL_WITHIN_MAX, "ratio_min": LOCAL_RATIO_MIN,
                          "random": metrics["local_random"]}))
    return out
