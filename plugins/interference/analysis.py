"""The interference chapter's numbers: the loss split into feature benefit and
interference, the spectrum of WᵀW, the biases, and what one feature firing does
to the others' read-outs; and the paper's claims judged on them."""

from __future__ import annotations

from typing import Any

import numpy as np

from course import Judgement, Result
from course import jsonable as _f
from course import metrics as M

#: positive interference above this counts as some (see positive_interference)
POSITIVE = 0.05
#: the input value the animation fires its feature with, and a weaker one
FIRE_STRONG, FIRE_WEAK = 1.0, 0.5


def variance_uniform_sparse(density: float) -> float:
    """Var(x_i) for x_i = 0 with probability 1 − p, else uniform on [0, 1]."""
    return density / 3.0 - density**2 / 4.0


def readout(W: np.ndarray, b: np.ndarray, feature: int, value: float) -> dict[str, list[float]]:
    """What every feature reads when only ``feature`` is on, at ``value``.

    Returns the three stages of x' = ReLU(WᵀW x + b): the read-outs
    WᵀW x, then with the bias added, then after the ReLU.
    """
    W = np.asarray(W, dtype=np.float64)
    raw = W.T @ W[:, feature] * value
    biased = raw + np.asarray(b, dtype=np.float64)
    return {"readout": raw.tolist(), "with_bias": biased.tolist(), "output": np.maximum(biased, 0.0).tolist()}


def filter_threshold(W: np.ndarray, b: np.ndarray, feature: int) -> float | None:
    """The largest input value of ``feature`` that leaks into no other output.

    Feature j's output is ReLU(x (W_j·W_i) + b_j): with a negative bias it
    stays at zero while x < −b_j / (W_j·W_i). Returns the smallest such bound
    over the features that overlap positively (None if none does, or if a
    positively overlapping feature has a bias ≥ 0: then nothing is filtered).
    """
    W = np.asarray(W, dtype=np.float64)
    g = W.T @ W[:, feature]
    bounds = []
    for j in range(W.shape[1]):
        if j == feature or g[j] <= 1e-6:
            continue
        if b[j] >= 0:
            return None
        bounds.append(-float(b[j]) / float(g[j]))
    return min(bounds) if bounds else None


def positive_interference(W: np.ndarray) -> np.ndarray:
    """Σ_{j≠i} max(0, Ŵ_i·W_j)² per feature: the part of the interference
    that pushes feature i's read-out *up*. Negative overlaps (an antipodal
    partner, say) are cut by the ReLU for free; positive ones need a negative
    bias to be filtered."""
    W = np.asarray(W, dtype=np.float64)
    norms = np.linalg.norm(W, axis=0)
    unit = np.where(norms > 1e-6, W / np.maximum(norms, 1e-6), 0.0)
    proj = np.clip(unit.T @ W, 0.0, None) ** 2
    np.fill_diagonal(proj, 0.0)
    return proj.sum(axis=1)


def metrics(result: Result) -> dict[str, Any]:
    """Per model and density: the loss split, the spectrum of WᵀW, norms, biases
    and interference; plus the arrows model the figure and the video draw.

    ``result`` is the Sparsity chapter's (the shared experiment): the same kept
    models, so the numbers both chapters quote for one setting are the same."""
    s = result.settings
    runs = []
    for model in result.info["models"]:
        W = result[f"{model}_W"].astype(np.float64)
        b = result[f"{model}_b"].astype(np.float64)
        imp = result[f"{model}_importance"]
        for k, density in enumerate(result.info["densities"]):
            sp = _f(1.0 - density)
            benefit, interf = M.loss_decomposition(W[k], imp[k])
            scale = variance_uniform_sparse(density) / W.shape[-1]
            norms = M.feature_norms(W[k])
            rep = norms > M.REPRESENTED
            pos = positive_interference(W[k])
            itf = M.interference(W[k])
            runs.append({
                "model": model,
                "density": density,
                "sparsity": sp,
                "interference": _f(itf),
                "positive_interference": _f(pos),
                "benefit": _f(benefit),
                "interference_loss": _f(interf),
                "gram_rank": int(M.gram_rank(W[k])),
                "gram_eigenvalues": _f(M.gram_spectrum(W[k]), 9),
                "frobenius_sq": _f(M.features_learned(W[k])),
                "feature_norms": _f(norms),
                "features_represented": int(rep.sum()),
                "represented": [int(i) for i in np.flatnonzero(rep)],
                "bias": _f(b[k]),
                "mean_bias_represented": _f(b[k][rep].mean() if rep.any() else 0.0),
                "mean_interference_represented": _f(itf[rep].mean() if rep.any() else 0.0),
                # WᵀW restricted to the represented features: invertible (rank = their
                # number) unless they are in superposition
                "represented_rank": int(M.gram_rank(W[k][:, rep])) if rep.any() else 0,
                # biases of represented features with and without positive interference
                "bias_split": {
                    "positive": _f(b[k][rep & (pos > POSITIVE)]),
                    "other": _f(b[k][rep & (pos <= POSITIVE)]),
                },
                "loss": _f(result[f"{model}_loss"][k], 9),
                # what the loss would be if it were exactly the linear model's
                # σ²/n (Σ I − benefit + interference) with the optimal bias
                "linear_form_loss": _f(scale * (imp[k].sum() - benefit + interf), 9),
            })
    return {
        "runs": runs,
        "n_features": int(s["n_features"]),
        "n_hidden": int(s["n_hidden"]),
        "importance_decay": s["importance_decay"],
        "represented_threshold": M.REPRESENTED,
        "arrows": _arrows(result),
    }

def _arrows(result: Result) -> dict[str, Any]:
    """The arrows model: its W, WᵀW, and what feature 1 firing does to the others."""
    W = result["arrows_W"][0].astype(np.float64)
    b = result["arrows_b"][0].astype(np.float64)
    a = result.settings["arrows"]
    fired = 0
    weak = readout(W, b, fired, FIRE_WEAK)
    strong = readout(W, b, fired, FIRE_STRONG)

    def echoes(sign: int) -> list[dict[str, Any]]:
        return [{"feature": j + 1, **{k: _f(v[j]) for k, v in strong.items()}}
                for j in range(W.shape[1]) if j != fired and sign * strong["readout"][j] > 1e-6]

    return {
        "sparsity": a["sparsity"],
        "n_features": int(W.shape[1]),
        "n_hidden": int(W.shape[0]),
        "W": _f(W),
        "bias": _f(b),
        "gram": _f(M.gram(W)),
        "feature_norms": _f(M.feature_norms(W)),
        "interference": _f(M.interference(W)),
        "gram_rank": int(M.gram_rank(W)),
        "fired": fired,
        "strong": {"value": FIRE_STRONG, **_f(strong)},
        # the other features' read-outs when feature 1 fires at FIRE_STRONG, by sign
        "echo_positive": echoes(+1),
        "echo_negative": echoes(-1),
        "feature_dimensionality": _f(M.feature_dimensionality(W)),
        "weak": {"value": FIRE_WEAK, **_f(weak)},
        "filter_threshold": _f(filter_threshold(W, b, fired)),
        # True when the weak firing leaks into no other feature's output
        "weak_clean": bool(all(v <= 0 for j, v in enumerate(weak["output"]) if j != fired)),
    }


#: tolerances of the claims, stated beside them in the report
#: the linear model's interference term stays below this at every sparsity
LINEAR_INTERFERENCE_MAX = 0.05
#: and its feature benefit varies by less than this across sparsities
LINEAR_BENEFIT_SPREAD = 0.05
#: the linear model's measured loss is within this relative gap of σ²/n (Σ I − benefit + interference)
LOSS_SPLIT_GAP = 0.05
#: from dense to the sparsest, the ReLU model's benefit rises by more than this
BENEFIT_RISE = 0.05
#: and its interference term by more than this
INTERFERENCE_RISE = 0.5
#: a bias below this counts as negative
NEGATIVE_BIAS = -0.01


def claims(metrics: dict[str, Any]) -> list[Judgement]:
    """WᵀW's rank, the linear model's loss split, the ReLU model's trade-off and biases."""
    runs = metrics["runs"]
    m = metrics["n_hidden"]
    lin = [r for r in runs if r["model"] == "linear"]
    relu = [r for r in runs if r["model"] == "relu"]
    # true of every model by construction (WᵀW is a product through m dimensions):
    # a check of the mathematics, not a finding of training
    out = [Judgement(
        "gram-rank",
        all(r["gram_rank"] <= m for r in runs),
        {"n": metrics["n_features"], "m": m, "ranks": [r["gram_rank"] for r in runs]},
        identity=True,
    )]
    if lin:
        worst = max(r["interference_loss"] for r in lin)
        ben = [r["benefit"] for r in lin]
        out.append(Judgement(
            "linear-no-interference",
            worst < LINEAR_INTERFERENCE_MAX and max(ben) - min(ben) < LINEAR_BENEFIT_SPREAD,
            {"worst": worst, "benefit_min": min(ben), "benefit_max": max(ben), "levels": len(lin),
             "interference_max": LINEAR_INTERFERENCE_MAX, "benefit_spread": LINEAR_BENEFIT_SPREAD},
        ))
        errs = [abs(r["loss"] - r["linear_form_loss"]) / r["linear_form_loss"] for r in lin]
        # the decomposition is exact for every linear model with its best bias: a check
        # of the mathematics (and that training found that bias), not a finding
        out.append(Judgement(
            "linear-loss-split",
            max(errs) < LOSS_SPLIT_GAP,
            {"gap": max(errs), "tol": LOSS_SPLIT_GAP, "levels": len(lin)},
            identity=True,
        ))
    if len(relu) >= 2:
        d, s = relu[0], relu[-1]
        itf = [r["interference_loss"] for r in relu]
        out.append(Judgement(
            "relu-tradeoff",
            s["benefit"] > d["benefit"] + BENEFIT_RISE and s["interference_loss"] > d["interference_loss"] + INTERFERENCE_RISE
            # a trend, not two points: none on dense data, then up at every step
            and d["interference_loss"] < LINEAR_INTERFERENCE_MAX and all(b > a for a, b in zip(itf, itf[1:], strict=False)),
            {"dense": {k: d[k] for k in ("sparsity", "benefit", "interference_loss")},
             "sparse": {k: s[k] for k in ("sparsity", "benefit", "interference_loss")},
             "interference": itf, "levels": len(relu), "dense_max": LINEAR_INTERFERENCE_MAX,
             "benefit_rise": BENEFIT_RISE, "interference_rise": INTERFERENCE_RISE},
        ))
        pos = s["bias_split"]["positive"]
        out.append(Judgement(
            "relu-negative-bias",
            bool(pos) and all(b < NEGATIVE_BIAS for b in pos),
            {"sparse": s["sparsity"], "dense": d["sparsity"], "positive": pos,
             "dense_positive": len(d["bias_split"]["positive"]), "negative": NEGATIVE_BIAS},
        ))
    return out
