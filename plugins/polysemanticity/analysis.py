"""The polysemanticity chapter's numbers: per density, which features each neuron
of the privileged-basis model serves, and the paper's claims judged on them."""

from __future__ import annotations

from typing import Any

import numpy as np

from course import Judgement, Result
from course import jsonable as _f
from course import metrics as M

#: the course's own example: what the ten features of the toy model stand for,
#: in importance order (a model reading short messages, everyday topics first)
TOPICS = (
    "weather", "birthdays", "football", "cats", "pizza",
    "volcanoes", "knitting", "jazz", "submarines", "origami",
)
#: a neuron is monosemantic when one feature holds more than this share of
#: its weight vector's length (max_i |W_ki| / ‖W_k‖)
MONO_THRESHOLD = 0.9
#: feature i is carried by neuron k when W_ki > CARRIED × ‖max(W_i, 0)‖
CARRIED = 0.3
#: a neuron whose positive weights have a norm below this never fires: dead
DEAD = 0.1
#: the paper's regimes for this model (density range, features, neurons): one
#: group of that many features sharing that many neurons, the rest monosemantic
PAPER_REGIMES = (
    (0.2, 0.5, 3, 2),
    (0.15, 0.15, 5, 3),
    (0.05, 0.08, 8, 5),
)

#: tolerances of the claims, stated beside them in the report
DENSE_DENSITY_MIN = 0.5  # the densest model is trained at least this dense
SPARSE_DENSITY_MAX = 0.05  # the sparsest model is trained at most this dense
SPARSE_FPN_MIN = 2  # ... and its neurons serve more features than this on average


def positive_norms(W: np.ndarray) -> np.ndarray:
    """‖max(W_i, 0)‖ per feature: how strongly feature i can drive the neurons.

    A feature counts as represented when this exceeds ``course.metrics.REPRESENTED``:
    inputs are non-negative, so only positive weights let the feature make a
    neuron fire and be read back out."""
    return np.linalg.norm(np.clip(np.asarray(W, dtype=np.float64), 0, None), axis=0)


def carriers(W: np.ndarray, carried: float = CARRIED, represented: float = M.REPRESENTED) -> np.ndarray:
    """(m, n) booleans: neuron k carries feature i.

    True when ``W[k, i] > carried * ‖W_i⁺‖`` and feature i is represented
    (‖W_i⁺‖ > ``represented``), where W_i⁺ is the positive part of column i:
    the neurons that feature i on its own makes fire.
    """
    W = np.asarray(W, dtype=np.float64)
    norms = positive_norms(W)
    return (W > carried * norms[None, :]) & (norms[None, :] > represented)


def neuron_groups(W: np.ndarray) -> list[dict[str, list[int]]]:
    """Features and the neurons they share, as connected groups (0-based indices).

    Features and neurons are linked by :func:`carriers`. A group of one
    feature and one neuron is a monosemantic neuron; a group of three
    features on two neurons is the paper's "three features in two neurons".
    Groups are ordered by their smallest neuron index.
    """
    links = carriers(W)
    m, n = links.shape
    # union-find over neurons 0..m-1 and features m..m+n-1
    parent = list(range(m + n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for k, i in zip(*np.nonzero(links), strict=True):
        parent[find(int(k))] = find(m + int(i))
    groups: dict[int, dict[str, list[int]]] = {}
    for k in range(m):
        if links[k].any():
            groups.setdefault(find(k), {"features": [], "neurons": []})["neurons"].append(k)
    for i in range(n):
        if links[:, i].any():
            groups.setdefault(find(m + i), {"features": [], "neurons": []})["features"].append(i)
    return sorted(groups.values(), key=lambda g: min(g["neurons"]))


def matches_regime(groups: list[dict[str, list[int]]], features: int, neurons: int) -> bool:
    """True when exactly one group has several features or neurons, it has
    ``features`` features on ``neurons`` neurons, and every other group is
    one feature on one neuron (a monosemantic neuron)."""
    shared = [g for g in groups if len(g["features"]) > 1 or len(g["neurons"]) > 1]
    return len(shared) == 1 and (len(shared[0]["features"]), len(shared[0]["neurons"])) == (features, neurons)


def describe_groups(groups: list[dict[str, list[int]]]) -> str:
    """The groups in words, e.g. "3 monosemantic neurons; 3 features share 2 neurons"
    (the metrics' ``sharing``, quoted by the table, the video and the claims)."""
    mono = sum(1 for g in groups if len(g["features"]) == 1 and len(g["neurons"]) == 1)
    parts = [f"{mono} monosemantic neuron{'s' if mono != 1 else ''}"] if mono else []
    for g in groups:
        f, k = len(g["features"]), len(g["neurons"])
        if f == 1 and k == 1:
            continue
        if f == 1:
            parts.append(f"1 feature spread over {k} neurons")
        else:
            parts.append(f"{f} features share {k} neuron{'s' if k != 1 else ''}")
    return "; ".join(parts) if parts else "no features stored"


def showcase(W: np.ndarray, mono: np.ndarray) -> tuple[int, int, int, int]:
    """(neuron, feature a, feature b, quiet feature) for the animation.

    The least monosemantic neuron among those with at least two positive
    weights, its two largest positive weights (the features that make it
    fire), and the feature with the most negative weight on it (one that
    leaves it dark).
    """
    W = np.asarray(W, dtype=np.float64)
    positive = carriers(W).sum(axis=1)
    candidates = [k for k in range(W.shape[0]) if positive[k] >= 2] or list(range(W.shape[0]))
    k = min(candidates, key=lambda j: mono[j])
    order = np.argsort(-W[k])
    a, b = int(order[0]), int(order[1])
    quiet = int(np.argmin(W[k]))
    return int(k), a, b, quiet


def showcase_level(runs: list[dict[str, Any]]) -> int:
    """The densest level with a polysemantic neuron (the sparsest if none has one)."""
    for k, r in enumerate(runs):
        if r["polysemantic_neurons"] > 0:
            return k
    return len(runs) - 1


def metrics(result: Result) -> dict[str, Any]:
    """Per density: features per neuron, monosemantic neurons, who shares a neuron;
    what the seed search found; and the neuron the video shows."""
    W_all = result["W"].astype(np.float64)  # (levels, m, n)
    runs = []
    for k, density in enumerate(result.info["densities"]):
        W = W_all[k]
        # positive=True: count the features a neuron fires for (inputs are >= 0)
        poly = M.neuron_polysemanticity(W, threshold=MONO_THRESHOLD, positive=True)
        signed = M.neuron_polysemanticity(W, threshold=MONO_THRESHOLD)
        alive = np.linalg.norm(np.clip(W, 0, None), axis=1) > DEAD
        mono = np.asarray(poly.monosemantic) & alive
        norms = M.feature_norms(W)
        groups = neuron_groups(W)
        fpn = np.asarray(poly.features_per_neuron)
        stored = positive_norms(W) > M.REPRESENTED
        runs.append({
            "density": _f(density),
            "sparsity": _f(1.0 - density),
            "features_per_neuron": _f(fpn),
            "mean_features_per_neuron": _f(float(fpn[alive].mean()) if alive.any() else 0.0),
            "monosemanticity": _f(poly.monosemanticity),
            "monosemantic_neurons": int(mono.sum()),
            "polysemantic_neurons": int((alive & ~mono).sum()),
            "dead_neurons": int((~alive).sum()),
            # the same count with negative weights included (max_i |W_ki| / ‖W_k‖)
            "monosemantic_neurons_signed": int((np.asarray(signed.monosemantic) & alive).sum()),
            "neuron_order": [int(j) for j in np.argsort(-np.asarray(poly.monosemanticity), kind="stable")],
            "features_represented": int(stored.sum()),
            "stored_features": [int(i) for i in np.nonzero(stored)[0]],
            "feature_norms": _f(norms),
            "groups": groups,
            "neurons_per_feature": [int(c) for c in carriers(W).sum(axis=0)],
            "sharing": describe_groups(groups),
            "bias": _f(result["b"][k]),
            "loss": _f(float(result["loss"][k])),
        })
    # every model trained at each density, best first: what the seed search found
    search = [
        [{"loss": _f(float(result["loss_all"][k, s]), 9),
          "groups": (g := neuron_groups(result["W_all"][k, s].astype(np.float64))),
          "sharing": describe_groups(g)}
         for s in np.argsort(result["loss_all"][k], kind="stable")]
        for k in range(len(runs))
    ]
    level = showcase_level(runs)
    W_show = W_all[level]
    b_show = result["b"][level].astype(np.float64)
    k, a, b, quiet = showcase(W_show, np.asarray(runs[level]["monosemanticity"]))
    # feature a alone at value 1: the neurons' activations and feature b's read-out
    h = np.maximum(W_show[:, a], 0.0)
    crosstalk = float(W_show[:, b] @ h + b_show[b])
    return {
        "runs": runs,
        "n_features": int(W_all.shape[-1]),
        "n_hidden": int(W_all.shape[-2]),
        "n_seeds": int(result.settings["n_seeds"]),
        "threshold": MONO_THRESHOLD,
        "represented": M.REPRESENTED,
        "carried": CARRIED,
        "topics": list(TOPICS[: W_all.shape[-1]]),
        "search": search,
        "showcase": {
            "level": level,
            "neuron": k,
            "features": [a, b],
            "quiet": quiet,
            # the neuron's weights W_ka and W_kb for the two features
            "weights": _f([W_show[k, a], W_show[k, b]]),
            # the neuron's activation h_k = ReLU(W_ki) when feature i alone is present at 1
            "activations": _f([max(0.0, W_show[k, a]), max(0.0, W_show[k, b]), max(0.0, W_show[k, quiet])]),
            # feature a alone: what the showcase neuron by itself sends to feature b's
            # read-out, what all neurons plus the bias send (before the final ReLU), and
            # the read-out x'_b itself
            "stray_from_neuron": _f(float(W_show[k, b] * h[k])),
            "stray_from_others": _f(float(W_show[:, b] @ h - W_show[k, b] * h[k])),
            "stray_total": _f(crosstalk),
            "stray_output": _f(max(0.0, crosstalk)),
            "bias_b": _f(float(b_show[b])),
        },
    }


def claims(metrics: dict[str, Any]) -> list[Judgement]:
    """Dense data: monosemantic neurons; sparse data: polysemantic ones, more features
    than neurons; and the paper's groupings at the densities it names."""
    runs = metrics["runs"]
    m, n = metrics["n_hidden"], metrics["n_features"]
    dense, sparse = runs[0], runs[-1]
    out = [
        Judgement(
            "neurons-dense-monosemantic",
            dense["density"] >= DENSE_DENSITY_MIN and dense["monosemantic_neurons"] == m
            and dense["features_represented"] == m,
            {"run": dense, "m": m, "n": n, "threshold": MONO_THRESHOLD, "density_min": DENSE_DENSITY_MIN},
        ),
        Judgement(
            "neurons-sparse-polysemantic",
            sparse["density"] <= SPARSE_DENSITY_MAX and sparse["monosemantic_neurons"] == 0
            and sparse["mean_features_per_neuron"] > SPARSE_FPN_MIN and sparse["features_represented"] > m,
            {"run": sparse, "m": m, "n": n, "density_max": SPARSE_DENSITY_MAX, "fpn_min": SPARSE_FPN_MIN},
        ),
    ]
    for lo, hi, f, k in PAPER_REGIMES:
        j = next((j for j, r in enumerate(runs) if lo <= r["density"] <= hi), None)
        if j is None:
            continue
        r = runs[j]
        holds = matches_regime(r["groups"], f, k)
        seeds = metrics["search"][j] if "search" in metrics else []
        found = [sd for sd in seeds if matches_regime(sd["groups"], f, k)]
        loss_above = (100 * (found[0]["loss"] / seeds[0]["loss"] - 1)
                      if found and seeds[0]["loss"] > 0 else None)
        out.append(Judgement(
            f"neurons-{f}-in-{k}",
            holds,
            {"lo": lo, "hi": hi, "features": f, "neurons": k, "m": m, "density": r["density"],
             "sharing": r["sharing"], "holds": holds, "models": len(seeds), "found": len(found),
             "loss_above": loss_above},
        ))
    return out
