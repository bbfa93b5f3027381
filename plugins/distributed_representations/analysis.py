"""The distributed-representations chapter's numbers: how distributed each code
is (participation), whether it is in superposition (features per dimension,
interference), and the claims judged on them."""

from __future__ import annotations

from typing import Any

import numpy as np

from course import Judgement, Result
from course import jsonable as _f
from course import metrics as M

from .experiment import ORDER, ROTATED
from .rotation import rotation_matrix

#: what each code is called in the table, the figures and the words
LABELS = {
    "neurons": "one unit per feature",
    "distributed": "distributed, no superposition",
    "distributed-spread": "turned to spread out",
    "neurons-spread": "neuron model turned",
    "superposition": "superposition",
    "superposition-aligned": "superposition, turned onto the units",
    "plane": "two features in a plane",
    "squeezed": "a third feature squeezed in",
}
#: a code is in superposition when it stores clearly more than one feature per dimension
SUPERPOSED_FPD = 1.05
#: interference below this counts as none (orthogonal directions)
NO_INTERFERENCE = 0.01
#: two represented features point in opposite directions when their cosine is below this
ANTIPODAL_COS = -0.95

#: tolerances of the claims, stated beside them in the report
DISTRIBUTED_PR_MIN = 1.5  # the trained square code's mean participation is above this
SPREAD_PR_FRACTION = 0.75  # once spread, every feature's participation is above this × m
FPD_TOL = 0.05  # the square code's features per dimension is within this of 1
SUPERPOSED_FPD_MIN = 1.5  # the superposed code's features per dimension is above this
SUPERPOSED_PR_MIN = 1.5  # the superposed code's mean participation as trained is above this
ALIGNED_PR_MAX = 1.1  # ... and below this once turned onto the units
INTERFERENCE_MIN = 0.5  # ... with its largest interference above this both ways
ROTATION_LOSS_RTOL = 1e-6  # a rotation changes the ReLU-output losses by less than
ROTATION_LOSS_ATOL = 1e-9  # RTOL × max(their losses, ATOL) + ATOL
NEURON_LOSS_FACTOR = 2  # turned, the neuron model's loss is above FACTOR × trained + MARGIN
NEURON_LOSS_MARGIN = 1e-4


def describe_code(W: np.ndarray) -> dict[str, Any]:
    """Participation, features per dimension and interference of a code W (m × n)."""
    W = np.asarray(W, dtype=np.float64)
    m, n = W.shape
    part = np.asarray(M.participation(W))
    interf = np.asarray(M.interference(W))
    fpd = float(M.features_learned(W)) / m
    represented = np.asarray(M.represented(W))
    unit = W / np.maximum(np.linalg.norm(W, axis=0, keepdims=True), 1e-12)
    cos = np.triu(unit.T @ unit, k=1)
    return {
        "n_features": n,
        "n_hidden": m,
        "participation": _f(part),
        "mean_participation": _f(float(part[represented].mean()) if represented.any() else 0.0),
        "min_participation": _f(float(part[represented].min()) if represented.any() else 0.0),
        "features_per_dimension": _f(fpd),
        "interference": _f(interf),
        "max_interference": _f(float(interf.max())),
        "features_represented": int(represented.sum()),
        "gram_rank": int(M.gram_rank(W)),
        # pairs of represented features pointing in opposite directions
        "antipodal_pairs": int(((cos < ANTIPODAL_COS) & represented[:, None] & represented[None, :]).sum()),
        "superposition": bool(fpd > SUPERPOSED_FPD),
    }


def opposite_pair(W: np.ndarray) -> tuple[int, int, float]:
    """The two features whose directions are closest to opposite, and their cosine."""
    W = np.asarray(W, dtype=np.float64)
    U = W / np.maximum(np.linalg.norm(W, axis=0, keepdims=True), 1e-9)
    C = U.T @ U
    np.fill_diagonal(C, np.inf)
    i, j = np.unravel_index(np.argmin(C), C.shape)
    return int(min(i, j)), int(max(i, j)), float(C[i, j])


def metrics(result: Result) -> dict[str, Any]:
    """Every code described (in :data:`ORDER`), the plane model turned to spread out,
    and what each rotation did to the loss."""
    runs = []
    for name in ORDER:
        W = result[f"W_{name}"].astype(np.float64)
        source = ROTATED[name][0] if name in ROTATED else None
        runs.append({
            "name": name,
            "label": LABELS[name],
            "model": result.info["models"][name],
            "trained": source is None,
            "rotated_from": source,
            "density": _f(result.info["densities"][name]),
            **describe_code(W),
            "loss": _f(result.info["losses"][name], 9),
            "W": _f(W, 4),
        })
    by = {r["name"]: r for r in runs}
    plane = result["W_plane"].astype(np.float64)
    phi = float(np.arctan2(plane[1, 0], plane[0, 0]))
    # the turn that puts feature 1 at 45° between the two units (the most spread-out 2-D code)
    turn = (np.pi / 4 - phi + np.pi / 4) % (np.pi / 2) - np.pi / 4
    spread_plane = describe_code(rotation_matrix(turn) @ plane)
    # the two features of the squeezed code that point most nearly opposite (the video's last step)
    first, second, cos = opposite_pair(result["W_squeezed"])
    return {
        "runs": runs,
        "by_name": {name: i for i, name in enumerate(ORDER)},
        "n_seeds": int(result.settings["n_seeds"]),
        "eval_batch": int(result.settings["eval_batch"]),
        "plane_turn_deg": _f(float(np.degrees(turn)), 3),
        "plane_spread": spread_plane,
        "squeezed_opposite": {"features": [first, second], "cosine": _f(cos)},
        "rotation_loss_change": {
            name: _f(by[name]["loss"] - by[ROTATED[name][0]]["loss"], 9) for name in ROTATED
        },
    }


def claims(metrics: dict[str, Any]) -> list[Judgement]:
    """A code can be distributed without superposition, and in superposition without
    being distributed; a rotation leaves a model without a privileged basis unchanged
    (an identity); only a privileged basis makes the units matter."""
    runs = {r["name"]: r for r in metrics["runs"]}
    d, ds = runs["distributed"], runs["distributed-spread"]
    sp, sa = runs["superposition"], runs["superposition-aligned"]
    nr, ns = runs["neurons"], runs["neurons-spread"]
    m = d["n_hidden"]
    relu_change = abs(metrics["rotation_loss_change"]["distributed-spread"]) + abs(
        metrics["rotation_loss_change"]["superposition-aligned"])
    return [
        Judgement(
            "distributed-without-superposition",
            d["mean_participation"] > DISTRIBUTED_PR_MIN and ds["min_participation"] > SPREAD_PR_FRACTION * m
            and abs(d["features_per_dimension"] - 1) < FPD_TOL
            and max(d["max_interference"], ds["max_interference"]) < NO_INTERFERENCE,
            {"m": m, "trained": d, "spread": ds, "pr_min": DISTRIBUTED_PR_MIN,
             "spread_fraction": SPREAD_PR_FRACTION, "fpd_tol": FPD_TOL, "no_interference": NO_INTERFERENCE},
        ),
        Judgement(
            "superposition-needs-no-spreading",
            sp["features_per_dimension"] > SUPERPOSED_FPD_MIN and sa["mean_participation"] < ALIGNED_PR_MAX
            and sp["mean_participation"] > SUPERPOSED_PR_MIN
            and min(sp["max_interference"], sa["max_interference"]) > INTERFERENCE_MIN,
            {"trained": sp, "aligned": sa, "fpd_min": SUPERPOSED_FPD_MIN, "pr_min": SUPERPOSED_PR_MIN,
             "aligned_max": ALIGNED_PR_MAX, "interference_min": INTERFERENCE_MIN},
        ),
        # true of any weights: the ReLU-output loss depends on W only through WᵀW
        Judgement(
            "rotation-invariance",
            relu_change < ROTATION_LOSS_RTOL * max(d["loss"] + sp["loss"], ROTATION_LOSS_ATOL) + ROTATION_LOSS_ATOL,
            {"relu_change": relu_change, "rtol": ROTATION_LOSS_RTOL, "atol": ROTATION_LOSS_ATOL,
             "distributed": d, "superposition": sp},
            identity=True,
        ),
        Judgement(
            "neuron-basis-privileged",
            ns["loss"] > NEURON_LOSS_FACTOR * nr["loss"] + NEURON_LOSS_MARGIN,
            {"neurons": nr, "neurons_spread": ns, "factor": NEURON_LOSS_FACTOR, "margin": NEURON_LOSS_MARGIN},
        ),
    ]
