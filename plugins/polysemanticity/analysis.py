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
#: a stored feature is read back when, present alone at value 1, its own
#: output x'_i exceeds this (the model reconstructs it, not just weights it)
READ_BACK = 0.5
#: the paper's regimes for this model (density range, features, neurons): one
#: group of that many features sharing that many neurons, the rest monosemantic
PAPER_REGIMES = (
    (0.2, 0.5, 3, 2),
    (0.15, 0.15, 5, 3),
    (0.12, 0.12, 6, 4),
    (0.05, 0.08, 8, 5),
)
#: the numbers of models per density of the seed-count sweep: how often the best
#: of that many (drawn from the models this build trained) has the grouping of
#: the best of all of them
SEED_COUNTS = (8, 16, 32, 64, 128, 256, 512)

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
    (the metrics' ``sharing``, quoted by the table, the video and the claims).

    The description names the grouping, not the neurons: shared groups are
    listed largest first, so two models that differ only in which neurons
    they use are described alike (and counted as one grouping)."""
    mono = sum(1 for g in groups if len(g["features"]) == 1 and len(g["neurons"]) == 1)
    parts = [f"{mono} monosemantic neuron{'s' if mono != 1 else ''}"] if mono else []
    sizes = sorted(((len(g["features"]), len(g["neurons"])) for g in groups), reverse=True)
    for f, k in sizes:
        if f == 1 and k == 1:
            continue
        if f == 1:
            parts.append(f"1 feature spread over {k} neurons")
        else:
            parts.append(f"{f} features share {k} neuron{'s' if k != 1 else ''}")
    return "; ".join(parts) if parts else "no features stored"


def read_back(W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x'_i when feature i alone is present at value 1, per feature:
    ReLU(Σ_k W_ki ReLU(W_ki) + b_i)."""
    W = np.asarray(W, dtype=np.float64)
    return np.maximum((W * np.maximum(W, 0.0)).sum(axis=0) + np.asarray(b, dtype=np.float64), 0.0)


def monosemantic_loss(importance: np.ndarray, density: float, m: int) -> float:
    """The loss of the best model without superposition: the m most important
    features each on a neuron of its own (read back exactly), every other
    feature replaced by its mean through the bias, costing its variance
    p/3 − p²/4. In the engine's units, (1/n) Σ_{i > m} I_i (p/3 − p²/4)."""
    imp = np.sort(np.asarray(importance, dtype=np.float64))[::-1]
    return float(imp[m:].sum() * (density / 3 - density**2 / 4) / imp.size)


def grouping_counts(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """How many of ``models`` (best first, each with ``loss`` and ``sharing``)
    found each grouping: per grouping its count, its best loss and how far
    that is above the best model's (in percent), best grouping first."""
    best = models[0]["loss"] if models else 0.0
    out: dict[str, dict[str, Any]] = {}
    for rank, sd in enumerate(models):
        g = out.setdefault(sd["sharing"], {"sharing": sd["sharing"], "count": 0, "loss": sd["loss"],
                                           "first_rank": rank + 1})
        g["count"] += 1
    for g in out.values():
        g["loss_above"] = _f(100 * (g["loss"] / best - 1) if best > 0 else 0.0, 3)
    return list(out.values())


def best_of_k(sharing: list[str], k: int) -> float:
    """The probability that the best of ``k`` models drawn at random (without
    replacement) from ``sharing``'s models, listed best first, has the grouping
    of the best of them all: Σ over the ranks r of that grouping of
    C(N − r, k − 1) / C(N, k), the chance that rank r is the best one drawn."""
    from math import comb

    n = len(sharing)
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and {n}")
    hits = sum(comb(n - r, k - 1) for r, g in enumerate(sharing, start=1) if g == sharing[0])
    return hits / comb(n, k)


def seed_sweep(models: list[dict[str, Any]], counts: tuple[int, ...] = SEED_COUNTS) -> list[dict[str, Any]]:
    """For each number of models k in ``counts`` up to half of those trained:
    the probability that the best of k has the grouping of the best of all."""
    sharing = [sd["sharing"] for sd in models]
    return [{"models": k, "same_grouping": _f(best_of_k(sharing, k), 3)}
            for k in counts if 2 * k <= len(sharing)]


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
        back = read_back(W, result["b"][k])
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
            # stored features that the model also reads back (x'_i > READ_BACK alone at 1)
            "features_read_back": int((stored & (back > READ_BACK)).sum()),
            "feature_norms": _f(norms),
            "groups": groups,
            "neurons_per_feature": [int(c) for c in carriers(W).sum(axis=0)],
            "sharing": describe_groups(groups),
            "bias": _f(result["b"][k]),
            "loss": _f(float(result["loss"][k]), 9),
            # what the same density costs without superposition (m features, one neuron each)
            "monosemantic_loss": _f(monosemantic_loss(result["importance"][k], float(density), W.shape[0]), 9),
        })
    # every model trained at each density, best first: what the seed search found
    search = [
        [{"loss": _f(float(result["loss_all"][k, s]), 9),
          "groups": (g := neuron_groups(result["W_all"][k, s].astype(np.float64))),
          "sharing": describe_groups(g)}
         for s in np.argsort(result["loss_all"][k], kind="stable")]
        for k in range(len(runs))
    ]
    for r, models in zip(runs, search, strict=True):
        r["groupings"] = grouping_counts(models)
        r["seed_sweep"] = seed_sweep(models)
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
        "importance_decay": result.settings["importance_decay"],
        "seed_counts": [k for k in SEED_COUNTS if 2 * k <= int(result.settings["n_seeds"])],
        "threshold": MONO_THRESHOLD,
        "read_back": READ_BACK,
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
    stored and read back than neurons; and the paper's groupings at the densities it
    names, judged on the best model of each density."""
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
            and sparse["mean_features_per_neuron"] > SPARSE_FPN_MIN and sparse["features_represented"] > m
            and sparse.get("features_read_back", 0) > m and sparse["loss"] < sparse.get("monosemantic_loss", 0.0),
            {"run": sparse, "m": m, "n": n, "density_max": SPARSE_DENSITY_MAX, "fpn_min": SPARSE_FPN_MIN,
             "read_back": metrics.get("read_back", READ_BACK)},
        ),
    ]
    search = metrics.get("search")
    for lo, hi, f, k in PAPER_REGIMES:
        points = []
        for j, r in enumerate(runs):
            if not lo <= r["density"] <= hi:
                continue
            models = search[j] if search else []
            found = [sd for sd in models if matches_regime(sd["groups"], f, k)]
            sweep = r.get("seed_sweep") or []
            # the grouping, and a model that reads back every feature it stores (an
            # untrained model can have the grouping's shape by chance, but not this)
            read_all = r.get("features_read_back", -1) == r["features_represented"]
            # and sharing pays: a lower loss than the best model without superposition
            pays = r["loss"] < r.get("monosemantic_loss", 0.0)
            points.append({
                "density": r["density"], "sharing": r["sharing"],
                "holds": matches_regime(r["groups"], f, k) and read_all and pays, "read_back_all": read_all,
                "loss": r["loss"], "monosemantic_loss": r.get("monosemantic_loss"),
                "models": len(models), "found": len(found),
                "loss_above": (100 * (found[0]["loss"] / models[0]["loss"] - 1)
                               if found and models[0]["loss"] > 0 else None),
                # how reproducible the best grouping is: the chance that the best of
                # half the models has it too
                "stability": sweep[-1] if sweep else None,
                # the next-best grouping and how much worse its best model is
                "runner_up": found_groupings[1] if len(found_groupings := r.get("groupings") or []) > 1 else None,
            })
        if not points:
            continue
        holds = all(pt["holds"] for pt in points)
        out.append(Judgement(
            f"neurons-{f}-in-{k}",
            holds,
            {"lo": lo, "hi": hi, "features": f, "neurons": k, "m": m, "points": points, "holds": holds,
             # the first point, as the words quote it
             **{key: points[0][key] for key in ("density", "sharing", "models", "found", "loss_above")}},
        ))
    return out
