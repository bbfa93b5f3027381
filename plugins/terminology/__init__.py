"""The terminology map: four tiny codes that pull the words apart.

A foundations chapter. Its "experiment" is a construction, not a training
run: four weight matrices built from angles, each showing a different mix of
the properties the words name, measured with :mod:`course.metrics`:

==========================  ===================  =======================
                            no superposition     superposition
==========================  ===================  =======================
local (one neuron each)     ``local``            ``superposed-local``
distributed (spread out)    ``distributed``      ``superposed-distributed``
==========================  ===================  =======================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from course import Claim, Concept, Figure, GlossaryEntry, Result, hookimpl
from course import jsonable as _f

PAPER = "https://transformer-circuits.pub/2022/toy_model/index.html"
#: a feature counts as spread over several neurons when its participation ratio exceeds this
DISTRIBUTED_PR = 1.5
#: the order and labels of the four codes
CODES: dict[str, str] = {
    "local": "One neuron per feature",
    "distributed": "Distributed, no superposition",
    "superposed-local": "Superposition on the neurons",
    "superposed-distributed": "Distributed and superposed",
}


def rotation(deg: float) -> np.ndarray:
    """The 2 × 2 matrix rotating the plane by ``deg`` degrees."""
    t = math.radians(deg)
    return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


def build_codes(angle: float) -> dict[str, np.ndarray]:
    """The four weight matrices (hidden × features), columns of length 1.

    ``local``: the identity. ``distributed``: the identity turned by ``angle``.
    ``superposed-local``: four features as two antipodal pairs on the two
    neuron axes. ``superposed-distributed``: the same pairs turned by ``angle``.
    """
    eye = np.eye(2)
    pairs = np.array([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]])
    R = rotation(angle)
    return {
        "local": eye,
        "distributed": R @ eye,
        "superposed-local": pairs,
        "superposed-distributed": R @ pairs,
    }


def measure(W: np.ndarray) -> dict[str, Any]:
    """The properties the terminology map compares, for one code."""
    from course import metrics as M

    m, n = W.shape
    poly = M.neuron_polysemanticity(W)
    gram = M.gram(W)
    off = gram - np.diag(np.diag(gram))
    participation = M.participation(W)
    rank = int(M.gram_rank(W))
    return {
        "n_features": n,
        "n_hidden": m,
        "W": _f(W, 4),
        "gram": _f(gram, 4),
        "gram_rank": rank,
        "superposition": rank < n,
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


class Terminology(Concept):
    """Polysemanticity, superposition, distributed codes and interference, side by side."""

    def settings(self, quick: bool = False) -> dict[str, Any]:
        # the turn applied to the distributed codes: 45° spreads every feature
        # evenly over both neurons
        return {"angle": 45.0}

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        codes = build_codes(float(settings["angle"]))
        if progress is not None:
            progress(1, 1)
        return Result(self.slug, settings, seed,
                      arrays={name: W.astype(np.float64) for name, W in codes.items()},
                      info={"codes": list(codes)})

    def metrics(self, result: Result) -> dict[str, Any]:
        runs = [{"code": name, "title": CODES[name], **measure(result[name])}
                for name in result.info["codes"]]
        return {
            "runs": runs,
            "codes": {r["code"]: r for r in runs},
            "distributed_threshold": DISTRIBUTED_PR,
            "angle": float(result.settings["angle"]),
        }

    def figures(self, result: Result, metrics: dict[str, Any], outdir: Path) -> list[Figure]:
        from course_plugins.terminology.figures import terminology_map

        path = terminology_map(metrics, outdir / "terminology-map.png")
        c = metrics["codes"]
        verdicts = "; ".join(
            f"{r['title']}: {r['n_features']} features in {r['n_hidden']} dimensions, "
            f"{r['polysemantic_neurons']} of {r['n_hidden']} neurons polysemantic, "
            f"each feature on {r['mean_participation']:.1f} neurons, "
            f"largest interference {r['max_interference']:.2f}"
            for r in metrics["runs"]
        )
        return [Figure(
            name="map",
            path=path,
            caption=(
                "**The terminology map.** Four tiny codes, each drawn as arrows (one per feature, "
                "dashed lines are the two neurons) with its WᵀW matrix beside it (red: positive "
                "overlap, blue: negative, white: none). Columns: without and with superposition. "
                "Rows: one neuron per feature, and features spread over both neurons. Look at "
                "the corners: the top-left code has none of the properties, the bottom-left is "
                f"distributed with polysemantic neurons ({c['distributed']['polysemantic_neurons']} "
                "of 2) but no superposition and no interference, and the top-right is in "
                "superposition although no feature is spread out. The strip below says what "
                "each word is about."
            ),
            alt=(
                "A two by two grid of small diagrams with a strip of five labelled boxes below. "
                + verdicts + ". The boxes say: linear combination is how every activation is "
                "built; distributed is about one feature; polysemantic is about one neuron; "
                "superposition is about a whole layer; interference is about a pair of features."
            ),
        )]

    def claims(self, metrics: dict[str, Any]) -> list[Claim]:
        c = metrics["codes"]
        d, s = c["distributed"], c["superposed-local"]
        return [
            Claim(
                "distributed-without-superposition",
                "A code can be fully distributed and have no superposition (Related Work).",
                f"rotated code: every feature on {d['mean_participation']:.2f} neurons, "
                f"WᵀW rank {d['gram_rank']} of {d['n_features']}",
                d["distributed"] and not d["superposition"],
                PAPER + "#related-work",
            ),
            Claim(
                "superposition-implies-polysemanticity",
                "Superposition in a privileged basis forces polysemantic neurons (more "
                "features than neurons, by the pigeonhole principle), but not the other way round.",
                f"antipodal pairs on the neurons: {s['polysemantic_neurons']} of {s['n_hidden']} "
                f"neurons polysemantic; rotated code without superposition: "
                f"{d['polysemantic_neurons']} of {d['n_hidden']}",
                s["superposition"] and s["polysemantic_neurons"] == s["n_hidden"]
                and d["polysemantic_neurons"] > 0 and not d["superposition"],
                "https://arxiv.org/abs/2305.01610",
            ),
        ]


CONCEPT = Terminology(
    slug="terminology",
    title="Terminology map",
    order=20,
    part="foundations",
    summary="Polysemanticity, superposition, distributed codes, interference and linear "
            "combination: what each word is about.",
    question="Polysemanticity, superposition, distributed representations: are they not all the same thing?",
)


@hookimpl
def register_concepts(register):
    register(CONCEPT)


@hookimpl
def register_glossary(register):
    register(GlossaryEntry(
        "Linear combination",
        "A sum of vectors, each multiplied by a number. In this book an activation is a linear "
        "combination of feature directions, h = Σ x_i W_i, whatever the code.",
        PAPER + "#motivation",
    ))
    register(GlossaryEntry(
        "Orthogonal",
        "At a right angle: W_i · W_j = 0. Orthogonal features do not interfere. At most m "
        "directions in m dimensions can be mutually orthogonal.",
        PAPER + "#demonstrating",
    ))
    register(GlossaryEntry(
        "Participation ratio",
        "How many neurons a feature is spread over: (Σ_k W_ki²)² / Σ_k W_ki⁴, from 1 (one "
        "neuron) to m (all of them equally). A measure of how distributed a code is.",
    ))
