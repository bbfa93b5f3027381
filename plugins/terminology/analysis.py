"""The terminology map's numbers: the properties each of the four codes has,
measured with :mod:`course.metrics`, and the two claims that pull the words apart."""

from __future__ import annotations

from typing import Any

import numpy as np

from course import Judgement, Result
from course import jsonable as _f
from course import metrics as M

#: a feature counts as spread over several neurons when its participation ratio exceeds this
DISTRIBUTED_PR = 1.5
#: the order of the four codes, and the labels the metrics carry for them (the figure's titles)
CODES: dict[str, str] = {
    "local": "One neuron per feature",
    "distributed": "Distributed, no superposition",
    "superposed-local": "Superposition on the neurons",
    "superposed-distributed": "Distributed and superposed",
}


def measure(W: np.ndarray) -> dict[str, Any]:
    """The properties the terminology map compares, for one code."""
    m, n = W.shape
    poly = M.neuron_polysemanticity(W)
    gram = M.gram(W)
    off = gram - np.diag(np.diag(gram))
    participation = M.participation(W)
    rank = int(M.gram_rank(W))
    # superposition is judged on the represented features: WᵀW of all n columns has
    # rank ≤ m < n in every model with n > m, the linear one included
    rep = np.asarray(M.represented(W), dtype=bool)
    rep_rank = int(M.gram_rank(W[:, rep])) if rep.any() else 0
    return {
        "n_features": n,
        "n_hidden": m,
        "W": _f(W, 4),
        "gram": _f(gram, 4),
        "gram_rank": rank,
        "features_represented": int(rep.sum()),
        "represented_rank": rep_rank,
        "superposition": rep_rank < int(rep.sum()),
        "features_per_dimension": _f(float(M.features_learned(W)) / m, 4),
        "participation": _f(participation, 4),
        "mean_participation": _f(float(np.mean(participation)), 4),
        "distributed": bool(np.all(participation > DISTRIBUTED_PR)),
        "features_per_neuron": _f(poly.features_per_neuron, 4),
        "polysemantic_neurons": int((~poly.monosemantic).sum()),
        "max_interference": _f(float(M.interference(W).max()), 4),
        "max_overlap": _f(float(np.abs(off).max()), 4),
        "orthogonal": bool(np.abs(off).max() < 1e-9),
    }


def metrics(result: Result) -> dict[str, Any]:
    """Each code's properties, as a list (``runs``) and by name (``codes``)."""
    runs = [{"code": name, "title": CODES[name], **measure(result[name])}
            for name in result.info["codes"]]
    return {
        "runs": runs,
        "codes": {r["code"]: r for r in runs},
        "distributed_threshold": DISTRIBUTED_PR,
        "angle": float(result.settings["angle"]),
    }


def claims(metrics: dict[str, Any]) -> list[Judgement]:
    """Distributed without superposition; superposition forces polysemanticity, not conversely.

    Both are properties of the four hand-built codes, true by construction: checks
    of the mathematics (``identity=True``), not findings of training."""
    c = metrics["codes"]
    d, s = c["distributed"], c["superposed-local"]
    return [
        Judgement("distributed-without-superposition", d["distributed"] and not d["superposition"],
                  {"distributed": d}, identity=True),
        Judgement("superposition-implies-polysemanticity",
                  s["superposition"] and s["polysemantic_neurons"] == s["n_hidden"]
                  and d["polysemantic_neurons"] > 0 and not d["superposition"],
                  {"distributed": d, "superposed": s}, identity=True),
    ]
