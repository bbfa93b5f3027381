"""The superposition chapter's numbers: per sparsity, what the trained W stores,
and the paper's introduction-figure claims judged on them."""

from __future__ import annotations

from typing import Any

import numpy as np

from course import Judgement, Result
from course import jsonable as _f
from course import metrics as M


def partner_cosines(W: np.ndarray) -> list[float]:
    """Per feature, the cosine to the represented feature pointing most nearly
    opposite it (−1 for an exact antipodal partner; 1 when there is no other
    represented feature). Unrepresented features get 1."""
    W = np.asarray(W, dtype=np.float64)
    rep = np.asarray(M.represented(W))
    U = W / np.maximum(np.linalg.norm(W, axis=0, keepdims=True), M.EPS)
    C = U.T @ U
    out = []
    for i in range(W.shape[1]):
        others = rep.copy()
        others[i] = False
        out.append(float(C[i, others].min()) if rep[i] and others.any() else 1.0)
    return out


def angle_gaps(W: np.ndarray) -> list[float]:
    """For a two-dimensional W: the angles in degrees between neighbouring
    represented features going once round the circle (they add up to 360)."""
    W = np.asarray(W, dtype=np.float64)
    if W.shape[0] != 2:
        return []
    rep = np.asarray(M.represented(W))
    theta = np.sort(np.degrees(np.arctan2(W[1, rep], W[0, rep])) % 360.0)
    if theta.size < 2:
        return [360.0] if theta.size else []
    return [float(g) for g in np.diff(np.concatenate([theta, theta[:1] + 360.0]))]


def metrics(result: Result) -> dict[str, Any]:
    """Norms, D_i, interference, ‖W‖_F², bias, antipodal partners and (in two
    dimensions) the angles between neighbouring arrows of each sparsity's best model."""
    W = result["W"].astype(np.float64)
    norms = M.feature_norms(W)
    runs = []
    for k, sp in enumerate(result.info["sparsities"]):
        dims = M.feature_dimensionality(W[k])
        runs.append({
            "sparsity": sp,
            "feature_norms": _f(norms[k]),
            "interference": _f(M.interference(W[k])),
            "feature_dimensionality": _f(dims),
            "mean_dimensionality": _f(M.mean_dimensionality(dims, norms[k])),
            "frobenius_sq": _f(M.features_learned(W[k])),
            "dimensions_per_feature": _f(M.dimensions_per_feature(W[k])),
            "features_represented": int(M.represented(W[k]).sum()),
            "partner_cosine": _f(partner_cosines(W[k])),
            "angle_gaps": _f(angle_gaps(W[k]), 2),
            "bias": _f(result["b"][k]),
            "loss": _f(result["loss"][k]),
        })
    return {"runs": runs, "n_features": int(W.shape[-1]), "n_hidden": int(W.shape[-2]),
            "represented_threshold": M.REPRESENTED}


#: tolerances of the claims, stated beside them in the report
DENSE_D_MIN = 0.9
ANTIPODAL_D_TOL = 0.08
#: an antipodal partner points within about 18° of exactly opposite (cosine below −0.95)
ANTIPODAL_COS = -0.95
PENTAGON_D_TOL = 0.06
#: neighbouring corners of the pentagon are within this many degrees of 72°
PENTAGON_GAP_TOL = 12.0


def claims(metrics: dict[str, Any]) -> list[Judgement]:
    """The introduction figure's three regimes (dense, antipodal, pentagon)."""
    by_s = {r["sparsity"]: r for r in metrics["runs"]}
    out = []
    if 0.0 in by_s:
        r = by_s[0.0]
        out.append(Judgement("intro-dense", r["features_represented"] == 2
                             and all(d > DENSE_D_MIN for d in r["feature_dimensionality"][:2]),
                             {"run": r, "d_min": DENSE_D_MIN}))
    if 0.8 in by_s:
        r = by_s[0.8]
        ds = [d for d in r["feature_dimensionality"] if d > 0.05]
        # D_i = 1/2 alone does not make pairs: any four evenly spread directions in a
        # plane (say 45° apart) give it too; each arrow must have a partner opposite it
        partners = r["partner_cosine"][:4]
        out.append(Judgement("intro-antipodal", r["features_represented"] == 4
                             and all(n > M.REPRESENTED for n in r["feature_norms"][:4])
                             and all(abs(d - 0.5) < ANTIPODAL_D_TOL for d in ds)
                             and all(c < ANTIPODAL_COS for c in partners),
                             {"run": r, "ds": ds, "tol": ANTIPODAL_D_TOL, "partners": partners,
                              "partner_cos": ANTIPODAL_COS}))
    if 0.9 in by_s:
        r = by_s[0.9]
        # D_i = 2/5 alone does not make a pentagon: five lines 36° apart give it too;
        # the five arrows must go round the circle about 72° apart
        gaps = r["angle_gaps"]
        out.append(Judgement("intro-pentagon", r["features_represented"] == 5
                             and all(abs(d - 0.4) < PENTAGON_D_TOL for d in r["feature_dimensionality"])
                             and len(gaps) == 5 and all(abs(g - 72.0) < PENTAGON_GAP_TOL for g in gaps),
                             {"run": r, "tol": PENTAGON_D_TOL, "gaps": gaps, "gap_tol": PENTAGON_GAP_TOL}))
    return out
