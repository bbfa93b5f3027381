"""Features as directions: h = Wx drawn as arrows, from a tiny trained linear model.

A foundations chapter (``part="foundations"``): it sets up the picture every
later chapter uses. Three features, two hidden dimensions, the linear model
x' = WᵀWx + b on dense data; four models from different random starts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from course import Animation, Claim, Concept, Figure, GlossaryEntry, Result, hookimpl
from course import jsonable as _f

PAPER = "https://transformer-circuits.pub/2022/toy_model/index.html"
#: a feature direction within this many degrees of a neuron axis counts as aligned with it
ALIGNED_DEG = 5.0


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


class FeaturesAsDirections(Concept):
    """A linear model with three features and two hidden dimensions."""

    def settings(self, quick: bool = False) -> dict[str, Any]:
        return {
            "model": "linear",
            "n_features": 3,
            "n_hidden": 2,
            "importance": [1.0, 0.7, 0.4],
            "density": 1.0,
            "n_seeds": 2 if quick else 4,
            "steps": 300 if quick else 6000,
            "batch_size": 256 if quick else 1024,
            "lr": 3e-3,
            # the input pushed through the model on the page: feature 3 is
            # present, so the reader sees what happens to a feature with no direction
            "example_input": [0.8, 0.5, 0.7],
        }

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        from course.engine import ToyConfig, train

        s = settings
        cfg = ToyConfig.sweep(
            s["n_features"], s["n_hidden"], importance=s["importance"], density=[s["density"]],
            model=s["model"], n_seeds=s["n_seeds"], steps=s["steps"],
            batch_size=s["batch_size"], lr=s["lr"],
        )
        tr = train(cfg, seed=seed, device=device, progress=progress)
        arrays = tr.arrays()
        arrays["b_all"] = tr.b.astype(np.float32)
        return Result(self.slug, settings, seed, arrays=arrays, info={"example_input": s["example_input"]})

    def metrics(self, result: Result) -> dict[str, Any]:
        from course import metrics as M

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
                "features_represented": int((norms > 0.5).sum()),
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

    def figures(self, result: Result, metrics: dict[str, Any], outdir: Path) -> list[Figure]:
        from course_plugins.features_as_directions.figures import directions_figure

        path = directions_figure(metrics, outdir / "features-as-directions.png")
        r = metrics["runs"][metrics["shown"]]
        x, h = metrics["example_input"], r["h"]
        angles = ", ".join(f"{q['off_axis_deg']:.0f}°" for q in metrics["runs"])
        return [Figure(
            name="directions",
            path=path,
            caption=(
                "**h = Wx in one picture.** Left: the product written out, each column of W "
                "in its feature's colour (amber is feature 1, blue feature 2, pink feature 3). "
                "Right: the same product drawn as arrows. Look at how x₁W₁ and x₂W₂, placed "
                "tip to tail, land exactly on h (the black dot), and how the pink feature 3 "
                "has no arrow at all. Bottom: four models trained from different random starts; "
                "look at how the two arrows always stand at a right angle while their angle to "
                "the neuron axes (dashed) changes from model to model."
            ),
            alt=(
                f"Two panels above four small ones. Left: a 2 by 3 matrix W times the input x = ({x[0]:g}, {x[1]:g}, "
                f"{x[2]:g}) equals h = ({h[0]:.2f}, {h[1]:.2f}). Right: a plane with two dashed "
                f"neuron axes and two perpendicular arrows W1 and W2 of length about 1, "
                f"{r['off_axis_deg']:.0f} degrees away from the axes; scaled copies of them "
                f"placed tip to tail end at the point h. Below: four small planes with the "
                f"arrows of four trained models, each pair perpendicular, at {angles} from the "
                f"nearest neuron axis."
            ),
        )]

    def animation(self, result: Result, metrics: dict[str, Any]) -> Animation:
        from course_plugins.features_as_directions.scene import DirectionsScene

        r = metrics["runs"][metrics["shown"]]
        x = metrics["example_input"]
        return Animation(
            scene=partial(DirectionsScene, np.asarray(r["W"]), metrics),
            title="A feature is a direction",
            description=(
                "The video shows the two-dimensional activation space of a trained linear model, "
                "with dashed lines for its two neurons. Feature 1 (amber) and feature 2 (blue) "
                f"appear as arrows of length about 1 at a right angle to each other, "
                f"{r['off_axis_deg']:.0f} degrees away from the neuron axes. Next to it, the "
                f"product h = Wx is written out for the input x = ({x[0]:g}, {x[1]:g}, {x[2]:g}). "
                f"The arrows are then scaled by the feature values and placed tip to tail: "
                f"{x[0]:g} times W1 followed by {x[1]:g} times W2 lands on h. A dashed line "
                "projects h back onto feature 1's direction to read the feature out again. "
                "Feature 3 has no arrow, so the model can only answer with its average."
            ),
        )

    def claims(self, metrics: dict[str, Any]) -> list[Claim]:
        runs = metrics["runs"]
        m = metrics["n_hidden"]
        # tolerances: "learned" is a length above 0.9, "left out" below 0.1, and
        # "orthogonal" within 5° of a right angle
        ok = [
            all(v > 0.9 for v in r["feature_norms"][:m])
            and all(v < 0.1 for v in r["feature_norms"][m:])
            and abs(r["angle_12"] - 90) < 5
            for r in runs
        ]
        top = [v for r in runs for v in r["feature_norms"][:m]]
        rest = [v for r in runs for v in r["feature_norms"][m:]]
        angles = [r["angle_12"] for r in runs]
        measured = (
            f"{sum(ok)} of {len(runs)} models: top-{m} lengths {min(top):.2f} to {max(top):.2f}, "
            f"the other {max(rest):.2f} at most, angle between the two {min(angles):.0f}° to {max(angles):.0f}°"
        )
        return [Claim(
            "linear-top-m",
            f"The linear model learns the top m = {m} most important features as orthogonal "
            "directions and leaves the rest out, like PCA (n = 3, m = 2, dense data).",
            measured,
            all(ok),
            PAPER + "#demonstrating",
        )]


CONCEPT = FeaturesAsDirections(
    slug="features-as-directions",
    title="Features as directions",
    order=10,
    part="foundations",
    summary="A feature is a direction in activation space; a layer adds the directions up.",
    question="What does it mean for a network to store a feature?",
)


@hookimpl
def register_concepts(register):
    register(CONCEPT)


@hookimpl
def register_glossary(register):
    register(GlossaryEntry(
        "Feature",
        "A property of the input that the network represents, such as \"this token is in "
        "French\". The paper's working definition: a property that a large enough network "
        "would reliably dedicate a neuron to.",
        PAPER + "#motivation",
    ))
    register(GlossaryEntry(
        "Features as directions",
        "The linear representation hypothesis: each feature i has a direction W_i in "
        "activation space, and an activation is the sum of the active features' directions, "
        "each scaled by how strongly the feature is present: h = Σ x_i W_i = Wx.",
        PAPER + "#motivation",
    ))
    register(GlossaryEntry(
        "Activation space",
        "The space of a layer's activations: one axis per neuron (hidden dimension). "
        "Features are directions in it, which need not line up with the axes.",
        PAPER + "#motivation",
    ))
