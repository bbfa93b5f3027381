"""The superposition chapter's numbers: per sparsity, what the trained W stores,
and the paper's introduction-figure claims judged on them."""

from __future__ import annotations

from typing import Any

import numpy as np

from course import Judgement, Result
from course import jsonable as _f
from course import metrics as M


def metrics(result: Result) -> dict[str, Any]:
    """Norms, D_i, interference, ‖W‖_F² and bias of each sparsity's best model."""
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
            "bias": _f(result["b"][k]),
            "loss": _f(result["loss"][k]),
        })
    return {"runs": runs, "n_features": int(W.shape[-1]), "n_hidden": int(W.shape[-2]),
            "represented_threshold": M.REPRESENTED}


#: tolerances of the claims, stated beside them in the report
DENSE_D_MIN = 0.9
ANTIPODAL_D_TOL = 0.08
PENTAGON_D_TOL = 0.06


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
        out.append(Judgement("intro-antipodal", r["features_represented"] == 4
                             and all(n > M.REPRESENTED for n in r["feature_norms"][:4])
                             and all(abs(d - 0.5) < ANTIPODAL_D_TOL for d in ds),
                             {"run": r, "ds": ds, "tol": ANTIPODAL_D_TOL}))
    if 0.9 in by_s:
        r = by_s[0.9]
        out.append(Judgement("intro-pentagon", r["features_represented"] == 5
                             and all(abs(d - 0.4) < PENTAGON_D_TOL for d in r["feature_dimensionality"]),
                             {"run": r, "tol": PENTAGON_D_TOL}))
    return out
