"""Superposition: more features than dimensions (the paper's introduction figure)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from course import Animation, Claim, Concept, Figure, GlossaryEntry, Result, hookimpl
from course import jsonable as _f

PAPER = "https://transformer-circuits.pub/2022/toy_model/index.html"


def _mean_d(run: dict[str, Any]) -> float:
    """Average D_i over the represented features (norm above 0.5)."""
    ds = [d for d, n in zip(run["feature_dimensionality"], run["feature_norms"], strict=True) if n > 0.5]
    return sum(ds) / len(ds) if ds else 0.0


class Superposition(Concept):
    """n = 5 features squeezed into m = 2 hidden dimensions at several sparsities."""

    def settings(self, quick: bool = False) -> dict[str, Any]:
        return {
            "model": "relu",
            "n_features": 5,
            "n_hidden": 2,
            "importance_decay": 0.9,
            "sparsities": [0.0, 0.8, 0.9] if quick else [0.0, 0.5, 0.7, 0.8, 0.9, 0.95],
            "n_seeds": 1 if quick else 6,
            "steps": 200 if quick else 10_000,
            "batch_size": 256 if quick else 1024,
            "lr": 1e-3,
        }

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        from course.engine import ToyConfig, train

        s = settings
        density = [1.0 - sp for sp in s["sparsities"]]
        cfg = ToyConfig.sweep(
            s["n_features"], s["n_hidden"],
            importance=s["importance_decay"] ** np.arange(s["n_features"]),
            density=density, model=s["model"], n_seeds=s["n_seeds"], steps=s["steps"],
            batch_size=s["batch_size"], lr=s["lr"],
        )
        tr = train(cfg, seed=seed, device=device, progress=progress)
        return Result(self.slug, settings, seed, arrays=tr.arrays(),
                      info={"sparsities": list(s["sparsities"])})

    def metrics(self, result: Result) -> dict[str, Any]:
        from course import metrics as M

        W = result["W"].astype(np.float64)
        norms = M.feature_norms(W)
        runs = []
        for k, sp in enumerate(result.info["sparsities"]):
            runs.append({
                "sparsity": sp,
                "feature_norms": _f(norms[k]),
                "interference": _f(M.interference(W[k])),
                "feature_dimensionality": _f(M.feature_dimensionality(W[k])),
                "frobenius_sq": _f(M.features_learned(W[k])),
                "dimensions_per_feature": _f(M.dimensions_per_feature(W[k])),
                "features_represented": int((norms[k] > 0.5).sum()),
                "bias": _f(result["b"][k]),
                "loss": _f(result["loss"][k]),
            })
        return {"runs": runs, "n_features": int(W.shape[-1]), "n_hidden": int(W.shape[-2])}

    def figures(self, result: Result, metrics: dict[str, Any], outdir: Path) -> list[Figure]:
        from course_plugins.superposition.figures import arrows_figure

        path = arrows_figure(result, metrics, outdir / "superposition-arrows.png")
        runs = metrics["runs"]
        counts = ", ".join(f"{r['features_represented']} at S = {r['sparsity']:g}" for r in runs)
        return [Figure(
            name="arrows",
            path=path,
            caption=(
                "Each panel is one trained model: the arrows are the columns W_i of its "
                "2 × 5 weight matrix, one colour per feature (amber is the most important). "
                "Below each, WᵀW: red is positive overlap, blue negative, white none. "
                "Look at how the number of arrows grows as sparsity S rises."
            ),
            alt=(
                "A row of arrow diagrams in two dimensions, one per sparsity level, with the "
                f"Gram matrix WᵀW under each. Features represented (norm above 0.5): {counts}."
            ),
        )]

    def animation(self, result: Result, metrics: dict[str, Any]) -> Animation:
        from course_plugins.superposition.scene import SuperpositionScene

        runs = metrics["runs"]
        return Animation(
            scene=partial(SuperpositionScene, result["W"], runs),
            title="Five features, two dimensions",
            description=(
                "The video draws the trained weight columns W_i as arrows in the two hidden "
                "dimensions, one colour per feature, and moves them in a straight line from one "
                "trained model to the next as sparsity rises. "
                + " ".join(
                    f"At S = {r['sparsity']:g}, {r['features_represented']} arrows have length "
                    f"above 0.5 and their D_i average "
                    f"{_mean_d(r):.2f}."
                    for r in runs
                )
                + " Beside the arrows, the equation for the feature dimensionality D_i is set, "
                "with each feature's measured value underneath."
            ),
        )

    def claims(self, metrics: dict[str, Any]) -> list[Claim]:
        by_s = {r["sparsity"]: r for r in metrics["runs"]}
        out = []
        if 0.0 in by_s:
            r = by_s[0.0]
            out.append(Claim(
                "intro-dense",
                "At sparsity 0, the two most important features get dedicated orthogonal "
                "dimensions and the others are not embedded (n = 5, m = 2).",
                f"{r['features_represented']} features represented; D = "
                + ", ".join(f"{d:.2f}" for d in r["feature_dimensionality"]),
                r["features_represented"] == 2
                and all(d > 0.9 for d in r["feature_dimensionality"][:2]),
            ))
        if 0.8 in by_s:
            r = by_s[0.8]
            ds = [d for d in r["feature_dimensionality"] if d > 0.05]
            out.append(Claim(
                "intro-antipodal",
                "At sparsity 0.8, the four most important features are stored as antipodal "
                "pairs (D_i ≈ 1/2) and the least important is not embedded.",
                f"{r['features_represented']} features represented; D of those = "
                + ", ".join(f"{d:.2f}" for d in ds),
                r["features_represented"] == 4
                and all(n > 0.5 for n in r["feature_norms"][:4])
                and all(abs(d - 0.5) < 0.08 for d in ds),
            ))
        if 0.9 in by_s:
            r = by_s[0.9]
            out.append(Claim(
                "intro-pentagon",
                "At sparsity 0.9, all five features are embedded as a pentagon (D_i ≈ 2/5).",
                f"{r['features_represented']} features represented; D = "
                + ", ".join(f"{d:.2f}" for d in r["feature_dimensionality"]),
                r["features_represented"] == 5
                and all(abs(d - 0.4) < 0.06 for d in r["feature_dimensionality"]),
            ))
        return out


CONCEPT = Superposition(
    slug="superposition",
    title="Superposition",
    order=30,
    summary="How a model stores more features than it has dimensions, when features are sparse.",
    question="How can two neurons hold five features?",
)


@hookimpl
def register_concepts(register):
    register(CONCEPT)


@hookimpl
def register_glossary(register):
    register(GlossaryEntry(
        "Superposition",
        "A model represents more features than it has dimensions, by giving them "
        "non-orthogonal directions.",
        PAPER,
    ))
    register(GlossaryEntry(
        "Feature dimensionality",
        "D_i = ‖W_i‖² / Σ_j (Ŵ_i·W_j)²: the fraction of a hidden dimension that feature i "
        "owns (1 alone, 1/2 in an antipodal pair, 2/5 in a pentagon, 0 if not learned).",
        PAPER + "#geometry",
    ))
    register(GlossaryEntry(
        "Antipodal pair",
        "Two features stored along the same line in opposite directions, W_j = −W_i. "
        "Each uses half a dimension.",
        PAPER,
    ))
