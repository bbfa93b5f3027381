"""The features-as-directions chapter's numbers: per random start, the lengths
and angles of the learned directions and h = Wx for the example input; and the
paper's linear-model claim judged on them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from course import Judgement, Result
from course import jsonable as _f
from course import metrics as M

#: a feature direction within this many degrees of a neuron axis counts as aligned with it
ALIGNED_DEG = 5.0
#: "learned" is a length within this of 1 (the PCA solution's unit arrows; a longer
#: arrow over-reads its feature, since W_i · W_i x_i = ‖W_i‖² x_i) ...
LENGTH_TOL = 0.1
#: ... "left out" a length below this ...
LEFT_OUT_MAX = 0.1
#: ... and "orthogonal" within this many degrees of a right angle
RIGHT_ANGLE_TOL = 5


def off_axis_angle(v: np.ndarray) -> float:
    """Degrees between the 2-D vector ``v`` and the nearest neuron axis (0 to 45)."""
    theta = math.degrees(math.atan2(float(v[1]), float(v[0]))) % 90.0
    return min(theta, 90.0 - theta)


def angle_between(u: np.ndarray, v: np.ndarray) -> float:
    """Degrees between two vectors (0 to 180); 0 if either is zero."""
    nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    if nu < 1e-9 or nv < 1e-9:
        return 0.0
    c = float(np.dot(u, v)) / (nu * nv)
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def metrics(result: Result) -> dict[str, Any]:
    """Each start's W, lengths, angles, h = Wx and read-out; which start the page shows."""
    W_all = result["W_all"][0].astype(np.float64)  # (seeds, m, n)
    b_all = result["b_all"][0].astype(np.float64)
    loss_all = result["loss_all"][0]
    x = np.asarray(result.info["example_input"], dtype=np.float64)
    runs = []
    for s, (W, b) in enumerate(zip(W_all, b_all, strict=True)):
        h = W @ x
        norms = M.feature_norms(W)
        runs.append({
            "seed": s,
            "feature_norms": _f(norms),
            "angle_12": _f(angle_between(W[:, 0], W[:, 1]), 2),
            "off_axis_deg": _f(off_axis_angle(W[:, 0]), 2),
            "aligned": off_axis_angle(W[:, 0]) < ALIGNED_DEG,
            "features_represented": int(M.represented(W).sum()),
            "W": _f(W, 4),
            "bias": _f(b, 4),
            "gram": _f(M.gram(W), 4),
            "h": _f(h, 4),
            "readout": _f(W.T @ h + b, 4),
            "loss": _f(float(loss_all[s])),
        })
    shown = max(range(len(runs)), key=lambda k: runs[k]["off_axis_deg"])
    return {
        "runs": runs,
        "shown": shown,
        "example_input": _f(x),
        "importance": _f(result.settings["importance"]),
        "n_features": int(W_all.shape[-1]),
        "n_hidden": int(W_all.shape[-2]),
        "n_aligned": sum(r["aligned"] for r in runs),
        "aligned_deg": ALIGNED_DEG,
    }


def claims(metrics: dict[str, Any]) -> list[Judgement]:
    """The linear model learns the top m features as orthogonal directions, in every start."""
    runs = metrics["runs"]
    m = metrics["n_hidden"]
    ok = [
        all(abs(v - 1) < LENGTH_TOL for v in r["feature_norms"][:m])
        and all(v < LEFT_OUT_MAX for v in r["feature_norms"][m:])
        and abs(r["angle_12"] - 90) < RIGHT_ANGLE_TOL
        for r in runs
    ]
    top = [v for r in runs for v in r["feature_norms"][:m]]
    rest = [v for r in runs for v in r["feature_norms"][m:]]
    angles = [r["angle_12"] for r in runs]
    return [Judgement("linear-top-m", all(ok), {
        "m": m, "n": metrics["n_features"], "ok": sum(ok), "models": len(runs),
        "top_min": min(top), "top_max": max(top), "rest_max": max(rest),
        "angle_min": min(angles), "angle_max": max(angles),
        "length_tol": LENGTH_TOL, "left_out_max": LEFT_OUT_MAX, "right_angle_tol": RIGHT_ANGLE_TOL,
    })]
