"""The sparsity chapter's numbers: the basic-results sweeps and the phase
diagram measured on the kept models, and the paper's claims judged on them."""

from __future__ import annotations

from typing import Any

import numpy as np

from course import Judgement, Result
from course import jsonable as _f
from course import metrics as M
from course_plugins.sparsity.phases import (
    DEDICATED,
    JOINT,
    NOT_LEARNED,
    NULL_TOLERANCE,
    OTHER,
    PAPER_PHASES_3,
    PHASES,
    PHASES_3,
    SUPERPOSED_3,
    SUPERPOSITION,
    SUPERPOSITION_MARGIN,
    antipodal_boundary,
    classify_phase,
    classify_phase_3,
    ideal_losses_3,
    ideal_phase,
    is_blend,
)

#: a seed of another class within this relative loss of the kept one marks a near tie
NEAR_TIE = 0.05
#: a represented feature with interference below this has a dimension to itself
ORTHOGONAL = 0.1


def metrics(result: Result) -> dict[str, Any]:
    """Per model and density: ‖W‖_F², the represented and orthogonal features,
    norms, interference and biases; plus the phase diagram."""
    runs = []
    for model in result.info["models"]:
        W = result[f"{model}_W"].astype(np.float64)
        b = result[f"{model}_b"].astype(np.float64)
        norms = M.feature_norms(W)
        for k, d in enumerate(result.info["densities"]):
            itf = M.interference(W[k])
            rep = norms[k] > M.REPRESENTED
            alone = np.flatnonzero(rep & (itf < ORTHOGONAL))  # a dimension to themselves
            runs.append({
                "model": model,
                "density": d,
                "sparsity": _f(1.0 - d),
                "frobenius_sq": _f(M.features_learned(W[k])),
                "features_represented": int(rep.sum()),
                "orthogonal_features": len(alone),
                "orthogonal_are_most_important": bool(np.array_equal(alone, np.arange(len(alone)))),
                "dimensions_per_feature": _f(M.dimensions_per_feature(W[k])),
                "feature_norms": _f(norms[k]),
                "interference": _f(itf),
                "bias": _f(b[k]),
                "bias_represented_mean": _f(b[k][rep].mean() if rep.any() else 0.0),
                "bias_unrepresented_mean": _f(b[k][~rep].mean() if (~rep).any() else 0.0),
                "loss": _f(result[f"{model}_loss"][k], 9),
            })
    return {
        "runs": runs,
        "n_features": int(result["relu_W"].shape[-1]),
        "n_hidden": int(result["relu_W"].shape[-2]),
        "importance_decay": result.settings["importance_decay"],
        "norm_threshold": M.REPRESENTED,
        "orthogonal_threshold": ORTHOGONAL,
        "phase_diagram": phase_metrics(result),
        "phase_diagram_3": phase3_metrics(result),
    }


def phase_metrics(result: Result) -> dict[str, Any]:
    """The phase diagram as JSON: the grid, each point's class and its evidence."""
    rel = [float(r) for r in result.info["relative_importance"]]
    dens = [float(d) for d in result.info["phase_density"]]
    R, D = len(rel), len(dens)
    W = result["phase_W"].reshape(D, R, 2).astype(np.float64)
    b = result["phase_b"].reshape(D, R, 2).astype(np.float64)
    W_all = result["phase_W_all"].astype(np.float64)
    seeds = W_all.shape[1]
    classes = [[classify_phase(W[i, j]) for j in range(R)] for i in range(D)]
    loss_all = result["phase_loss_all"].reshape(D, R, seeds)
    seed_classes = [[[classify_phase(W_all[i * R + j, s]) for s in range(seeds)] for j in range(R)] for i in range(D)]
    agree = [[float(np.mean([c == classes[i][j] for c in seed_classes[i][j]])) for j in range(R)] for i in range(D)]
    near_tie = [[bool(any(
        c != classes[i][j] and loss_all[i, j, s] <= (1 + NEAR_TIE) * loss_all[i, j].min()
        for s, c in enumerate(seed_classes[i][j]))) for j in range(R)] for i in range(D)]
    ideal = [[ideal_phase(r, d) for r in rel] for d in dens]
    flat = [c for row in classes for c in row]
    counts = {c: flat.count(c) for c in (*PHASES, OTHER)}
    matches = sum(a == c for ra, rc in zip(ideal, classes, strict=True) for a, c in zip(ra, rc, strict=True))
    sup_dens = [dens[i] for i in range(D) if SUPERPOSITION in classes[i]]
    densest = max(range(D), key=lambda i: dens[i])
    dense_row = classes[densest]
    return {
        "relative_importance": rel,
        "density": dens,
        "classes": classes,
        "W": _f(W),
        "bias": _f(b),
        "seed_agreement": _f(agree, 3),
        "near_tie": near_tie,
        "near_tie_tolerance": NEAR_TIE,
        "ideal_classes": ideal,
        "agreement_with_ideal": _f(matches / (R * D), 4),
        "antipodal_boundary": _f(antipodal_boundary(np.asarray(rel))),
        "counts": counts,
        "n_seeds": int(seeds),
        "seed_rule": "lowest expected loss (computed exactly, see the chapter)",
        "norm_threshold": M.REPRESENTED,
        "densest_superposition": max(sup_dens) if sup_dens else 0.0,
        "densest_superposition_at": [rel[j] for j in range(R) if sup_dens
                                     and classes[dens.index(max(sup_dens))][j] == SUPERPOSITION],
        "dense_density": dens[densest],
        "dense_classes": dense_row,
        "dense_split": _dense_split(rel, dense_row),
        "superposition_fraction": _f([classes[i].count(SUPERPOSITION) / R for i in range(D)], 4),
        "all_superposition_from": _all_superposition_from(dens, classes),
        "example": _example(rel, dens, classes, W, b),
        "jump": _jump(rel, dens, classes, W),
    }


def phase3_metrics(result: Result) -> dict[str, Any]:
    """The n = 3, m = 2 diagram as JSON: each point's class (kept model and every
    seed), the closed-form candidates' losses and winner, and the kept loss
    against the best candidate's."""
    rel = [float(r) for r in result.info["phase3_relative_importance"]]
    dens = [float(d) for d in result.info["phase3_density"]]
    R, D = len(rel), len(dens)
    W = result["phase3_W"].reshape(D, R, 2, 3).astype(np.float64)
    b = result["phase3_b"].reshape(D, R, 3).astype(np.float64)
    W_all = result["phase3_W_all"].astype(np.float64)
    seeds = W_all.shape[1]
    loss = np.asarray(result["phase3_loss"], dtype=np.float64).reshape(D, R)
    classes = [[classify_phase_3(W[i, j]) for j in range(R)] for i in range(D)]
    seed_classes = [[[classify_phase_3(W_all[i * R + j, s]) for s in range(seeds)] for j in range(R)]
                    for i in range(D)]
    ideal = [[ideal_losses_3(r, d) for r in rel] for d in dens]
    # the candidates within a hair of the lowest closed-form loss (at r = 1 two tie by symmetry)
    winners = [[[k for k in PAPER_PHASES_3 if ideal[i][j][k] <= min(ideal[i][j][c] for c in PAPER_PHASES_3)
                 * (1 + 1e-9)] for j in range(R)] for i in range(D)]
    best_ideal = np.array([[min(ideal[i][j][c] for c in PAPER_PHASES_3) for j in range(R)] for i in range(D)])
    ratio = loss / best_ideal
    agree = sum(classes[i][j] in winners[i][j] for i in range(D) for j in range(R))
    flat = [c for row in classes for c in row]
    flat_all = [c for row in seed_classes for pt in row for c in pt]
    densest, sparsest = int(np.argmax(dens)), int(np.argmin(dens))
    joint_points = [[rel[j], dens[i]] for i in range(D) for j in range(R) if JOINT in seed_classes[i][j]]
    return {
        "relative_importance": rel,
        "density": dens,
        "classes": classes,
        "seed_classes": seed_classes,
        "W": _f(W),
        "bias": _f(b),
        "loss": _f(loss, 9),
        "ideal_losses": [[{k: _f(v, 9) for k, v in pt.items()} for pt in row] for row in ideal],
        "ideal_winners": winners,
        "agreement_with_ideal": _f(agree / (R * D), 4),
        # where the kept class is not the closed-form winner: by how much its own candidate loses
        "disagreements": [{"relative_importance": rel[j], "density": dens[i], "class": classes[i][j],
                           "ideal": winners[i][j],
                           "ideal_ratio": _f(ideal[i][j][classes[i][j]] / best_ideal[i, j], 4)
                           if classes[i][j] in PAPER_PHASES_3 else None,
                           "trained_ratio": _f(ratio[i, j], 4)}
                          for i in range(D) for j in range(R) if classes[i][j] not in winners[i][j]],
        "loss_over_ideal": _f(ratio, 4),
        "loss_over_ideal_range": [_f(ratio.min(), 4), _f(ratio.max(), 4)],
        "counts": {c: flat.count(c) for c in PHASES_3},
        "seed_counts": {c: flat_all.count(c) for c in PHASES_3},
        "blends": int(sum(is_blend(W[i, j]) for i in range(D) for j in range(R))),
        "joint_seeds": flat_all.count(JOINT),
        "joint_points": joint_points,
        "joint_kept": flat.count(JOINT),
        # the lowest loss of a kept triangle over its point's best candidate (None if none is kept)
        "joint_kept_ratio": _f(min(ratio[i, j] for i in range(D) for j in range(R) if classes[i][j] == JOINT), 4)
        if JOINT in flat else None,
        "n_seeds": int(seeds),
        "n_models": int(seeds * R * D),
        "dense_density": dens[densest],
        "dense_classes": classes[densest],
        "sparse_density": dens[sparsest],
        "sparse_classes": classes[sparsest],
        "null_tolerance": NULL_TOLERANCE,
        "superposition_margin": SUPERPOSITION_MARGIN,
        "seed_agreement": _f([[seed_classes[i][j].count(classes[i][j]) / seeds for j in range(R)]
                              for i in range(D)], 3),
    }


def _dense_split(rel: list[float], row: list[str]) -> list[float]:
    """The relative importances between which the dense row switches from not
    learned to dedicated: [last not learned, first dedicated] (the grid's ends
    when the row never switches)."""
    last_nl = max((r for r, c in zip(rel, row, strict=True) if c == NOT_LEARNED), default=rel[0])
    first_d = min((r for r, c in zip(rel, row, strict=True) if c == DEDICATED and r > last_nl), default=rel[-1])
    return [last_nl, first_d]


def _example(rel, dens, classes, W, b) -> dict[str, Any]:
    """The superposition point used in the animation: equal importance if it
    is on the grid (else the nearest), at the lowest density where that column
    is in superposition (the sparsest point if none is)."""
    j = int(np.argmin(np.abs(np.log(np.asarray(rel)))))
    rows = [i for i in range(len(dens)) if classes[i][j] == SUPERPOSITION]
    i = min(rows, key=lambda i: dens[i]) if rows else int(np.argmin(dens))
    return {
        "relative_importance": rel[j],
        "density": dens[i],
        "class": classes[i][j],
        "W": _f(W[i, j]),
        "bias": _f(b[i, j]),
    }


def _represented(run: dict[str, Any], threshold: float) -> list[int]:
    """Indices of the features whose norm exceeds ``threshold``."""
    return [i for i, v in enumerate(run["feature_norms"]) if v > threshold]


def _all_superposition_from(dens: list[float], classes: list[list[str]]) -> float | None:
    """The highest density from which every sparser row is all superposition (None if none)."""
    best = None
    for i in sorted(range(len(dens)), key=lambda i: dens[i]):  # sparse first
        if any(c != SUPERPOSITION for c in classes[i]):
            break
        best = dens[i]
    return best


def _jump(rel, dens, classes, W, near: float = 0.3) -> dict[str, Any] | None:
    """Where the extra feature enters superposition in the column nearest relative
    importance ``near``: the kept W just above (denser) and at the densest
    superposition point. None if that column never reaches superposition."""
    j = int(np.argmin(np.abs(np.log(np.asarray(rel) / near))))
    order = sorted(range(len(dens)), key=lambda i: -dens[i])  # dense first
    for a, b in zip(order, order[1:], strict=False):
        if classes[a][j] != SUPERPOSITION and classes[b][j] == SUPERPOSITION:
            return {
                "relative_importance": rel[j],
                "before": {"density": dens[a], "class": classes[a][j], "W": _f(W[a, j])},
                "after": {"density": dens[b], "class": classes[b][j], "W": _f(W[b, j])},
            }
    return None


#: tolerances of the claims, stated beside them in the report
#: ‖W‖_F² counts as "near m" within this fraction of m
FRO_NEAR_M = 0.1
#: the ReLU model's ‖W‖_F² may fall by at most this from one density to the next
FRO_STEP_SLACK = 0.5
#: at the sparsest density the ReLU model's ‖W‖_F² exceeds m by more than this
FRO_GROWTH = 1
#: at the sparsest density of the phase grid at least this fraction is superposition
SPARSE_SUPERPOSITION = 0.5
#: the n = 3 diagram: at least this many of the paper's four regions among the kept models
REGIONS_3 = 3
#: the n = 3 classes agree with the closed-form winner at at least this fraction of the grid
LAYOUT_3 = 0.75
#: the kept n = 3 model's loss is nowhere below the best candidate's by more than this
#: fraction, and within it above at :data:`NEAR_IDEAL_SHARE_3` of the points (a few
#: points may have every seed stuck)
NEAR_IDEAL_3 = 0.2
NEAR_IDEAL_SHARE_3 = 0.9
#: at least this fraction of the kept n = 3 models is one of the paper's four candidates
CANDIDATES_3 = 0.9
#: the dense row's split between not learned and dedicated lies in this range
#: of relative importance, around 1
SPLIT_RANGE = (0.5, 2.0)


def claims(metrics: dict[str, Any]) -> list[Judgement]:
    """The paper's claims about sparsity, judged on this build's metrics."""
    m = metrics["n_hidden"]
    threshold = metrics["norm_threshold"]
    lin = [r for r in metrics["runs"] if r["model"] == "linear"]
    relu = [r for r in metrics["runs"] if r["model"] == "relu"]
    out: list[Judgement] = []

    fro = [r["frobenius_sq"] for r in lin]
    top = [_represented(r, threshold) == list(range(m)) for r in lin]
    out.append(Judgement(
        "sparsity-linear-flat",
        bool(lin) and all(abs(f - m) <= FRO_NEAR_M * m for f in fro) and all(top),
        {"m": m, "frobenius_sq": fro, "densities": [r["density"] for r in lin], "top": sum(top),
         "levels": len(lin), "tol": FRO_NEAR_M},
    ))

    fro_r = [r["frobenius_sq"] for r in relu]
    steps_ok = all(b >= a - FRO_STEP_SLACK for a, b in zip(fro_r, fro_r[1:], strict=False))
    out.append(Judgement(
        "sparsity-relu-grows",
        len(relu) > 1 and steps_ok and fro_r[-1] > m + FRO_GROWTH and relu[-1]["features_represented"] > m
        # growth, not a level: an untrained model's ‖W‖_F² can exceed m at every density
        and fro_r[-1] > fro_r[0] + FRO_GROWTH,
        {"m": m, "frobenius_sq": fro_r, "first": relu[0]["density"], "last": relu[-1]["density"],
         "represented": relu[-1]["features_represented"], "threshold": threshold,
         "slack": FRO_STEP_SLACK, "growth": FRO_GROWTH, "levels": len(relu)},
    ))

    dense = [(a, b) for a, b in zip(lin, relu, strict=True) if a["density"] == 1.0]
    if dense:
        a, r = dense[0]
        out.append(Judgement(
            "sparsity-dense-relu-like-linear",
            r["features_represented"] == m and abs(r["frobenius_sq"] - m) <= FRO_NEAR_M * m
            and a["features_represented"] == m,
            {"m": m, "relu": {"frobenius_sq": r["frobenius_sq"], "features_represented": r["features_represented"]},
             "linear": {"frobenius_sq": a["frobenius_sq"], "features_represented": a["features_represented"]},
             "tol": FRO_NEAR_M},
        ))

    pd_ = metrics["phase_diagram"]
    counts = pd_["counts"]
    frac = pd_["superposition_fraction"]
    dens = pd_["density"]
    densest = int(np.argmax(dens))
    sparsest = int(np.argmin(dens))
    out.append(Judgement(
        "sparsity-phase-regions",
        all(counts[c] > 0 for c in PHASES) and frac[densest] == 0.0
        and frac[sparsest] >= SPARSE_SUPERPOSITION and pd_["densest_superposition"] < 1.0,
        {"counts": counts, "dense_fraction": frac[densest], "dense_density": dens[densest],
         "rows": len(dens), "columns": len(pd_["relative_importance"]),
         "sparse_fraction": frac[sparsest], "sparse_density": dens[sparsest],
         "densest_superposition": pd_["densest_superposition"], "min_fraction": SPARSE_SUPERPOSITION},
    ))
    lo, hi = pd_["dense_split"]
    out.append(Judgement(
        "sparsity-phase-dense-split",
        lo < hi and SPLIT_RANGE[0] <= lo <= 1.0 <= hi <= SPLIT_RANGE[1] and SUPERPOSITION not in pd_["dense_classes"],
        {"lo": lo, "hi": hi, "range": list(SPLIT_RANGE), "points": len(pd_["dense_classes"])},
    ))
    if "phase_diagram_3" in metrics:
        out.extend(_claims_3(metrics["phase_diagram_3"]))
    return out


def _claims_3(p3: dict[str, Any]) -> list[Judgement]:
    """The n = 3, m = 2 diagram's claims."""
    counts = p3["counts"]
    points = len(p3["density"]) * len(p3["relative_importance"])
    found = [c for c in PAPER_PHASES_3 if counts[c] > 0]
    dense_sup = sum(c in SUPERPOSED_3 for c in p3["dense_classes"])
    sparse_sup = sum(c in SUPERPOSED_3 for c in p3["sparse_classes"])
    lo, hi = p3["loss_over_ideal_range"]
    ratios = np.asarray(p3["loss_over_ideal"], dtype=float)
    near = int((ratios <= 1 + NEAR_IDEAL_3).sum())
    paper = sum(counts[c] for c in PAPER_PHASES_3)
    joint = np.asarray([[c == JOINT for c in row] for row in p3["classes"]])
    joint_ratio = float(ratios[joint].min()) if joint.any() else None
    return [
        Judgement(
            "sparsity-phase3-regions",
            len(found) >= REGIONS_3 and dense_sup == 0 and sparse_sup == len(p3["sparse_classes"]),
            {"found": found, "counts": counts, "min_regions": REGIONS_3, "points": points,
             "dense_density": p3["dense_density"], "dense_superposed": dense_sup,
             "sparse_density": p3["sparse_density"], "sparse_superposed": sparse_sup,
             "row": len(p3["sparse_classes"])},
        ),
        Judgement(
            "sparsity-phase3-layout",
            p3["agreement_with_ideal"] >= LAYOUT_3,
            {"agreement": p3["agreement_with_ideal"], "min": LAYOUT_3, "points": points,
             "disagreements": len(p3["disagreements"])},
        ),
        Judgement(
            "sparsity-phase3-near-ideal",
            1 - NEAR_IDEAL_3 <= lo and near >= NEAR_IDEAL_SHARE_3 * points,
            {"lo": lo, "hi": hi, "tol": NEAR_IDEAL_3, "points": points, "near": near,
             "share": NEAR_IDEAL_SHARE_3},
        ),
        Judgement(
            "sparsity-phase3-no-joint",
            # a kept triangle is allowed where every seed got stuck, never where it beats the candidates
            (joint_ratio is None or joint_ratio > 1.0) and paper >= CANDIDATES_3 * points,
            {"joint_kept": p3["joint_kept"], "joint_seeds": p3["joint_seeds"], "models": p3["n_models"],
             "paper": paper, "points": points, "min": CANDIDATES_3, "joint_ratio": joint_ratio},
        ),
    ]
