"""Interference: what WᵀW says about how features overlap, and what it costs.

Two experiments share one result:

- the paper's "basic results" setting (n = 20 features, m = 5 hidden
  dimensions, importance 0.7^i) at several sparsities, for the linear model
  and the ReLU-output model side by side: the loss split into feature benefit
  and interference, the biases, and the spectrum of WᵀW;
- one small ReLU model (n = 5, m = 2) whose weights can be drawn as arrows:
  the animation fires one of its features and shows the read-outs of the
  others, the bias and the ReLU.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from course import Animation, Claim, Concept, Figure, GlossaryEntry, Result, hookimpl
from course import jsonable as _f

PAPER = "https://transformer-circuits.pub/2022/toy_model/index.html"
BASIC_RESULTS = PAPER + "#demonstrating-basic-results"
#: a feature counts as represented when ‖W_i‖ is above this
REPRESENTED = 0.5
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


class Interference(Concept):
    """Reading WᵀW: overlaps, their cost in the loss, and how the ReLU filters them."""

    def settings(self, quick: bool = False) -> dict[str, Any]:
        return {
            "n_features": 20,
            "n_hidden": 5,
            "importance_decay": 0.7,
            "sparsities": [0.0, 0.9, 0.99] if quick else [0.0, 0.5, 0.7, 0.9, 0.97, 0.99],
            "n_seeds": 1 if quick else 2,
            "steps": 150 if quick else 4000,
            "batch_size": 256 if quick else 1024,
            "lr": 1e-3,
            "eval_batch": 4096 if quick else 65536,
            "arrows": {
                "n_features": 5,
                "n_hidden": 2,
                "importance_decay": 0.9,
                "sparsity": 0.9,
                "n_seeds": 1 if quick else 6,
                "steps": 150 if quick else 5000,
                "batch_size": 256 if quick else 1024,
                "lr": 1e-3,
            },
        }

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        from course.engine import ToyConfig, train

        s = settings
        density = [1.0 - sp for sp in s["sparsities"]]
        importance = s["importance_decay"] ** np.arange(s["n_features"])
        arrays: dict[str, np.ndarray] = {}
        for model in ("linear", "relu"):
            cfg = ToyConfig.sweep(
                s["n_features"], s["n_hidden"], importance=importance, density=density,
                model=model, n_seeds=s["n_seeds"], steps=s["steps"], batch_size=s["batch_size"],
                lr=s["lr"], eval_batch=s["eval_batch"],
            )
            arrays.update(train(cfg, seed=seed, device=device, progress=progress).arrays(f"{model}_"))
        a = s["arrows"]
        cfg = ToyConfig.sweep(
            a["n_features"], a["n_hidden"], importance=a["importance_decay"] ** np.arange(a["n_features"]),
            density=[1.0 - a["sparsity"]], model="relu", n_seeds=a["n_seeds"], steps=a["steps"],
            batch_size=a["batch_size"], lr=a["lr"],
        )
        arrays.update(train(cfg, seed=seed + 1, device=device, progress=progress).arrays("arrows_"))
        return Result(self.slug, settings, seed, arrays=arrays,
                      info={"sparsities": list(s["sparsities"]), "models": ["linear", "relu"]})

    def metrics(self, result: Result) -> dict[str, Any]:
        from course import metrics as M

        s = result.settings
        runs = []
        for model in result.info["models"]:
            W = result[f"{model}_W"].astype(np.float64)
            b = result[f"{model}_b"].astype(np.float64)
            imp = result[f"{model}_importance"]
            for k, sp in enumerate(result.info["sparsities"]):
                density = 1.0 - sp
                benefit, interf = M.loss_decomposition(W[k], imp[k])
                scale = variance_uniform_sparse(density) / W.shape[-1]
                norms = M.feature_norms(W[k])
                rep = norms > REPRESENTED
                pos = positive_interference(W[k])
                itf = M.interference(W[k])
                runs.append({
                    "model": model,
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
            "arrows": self._arrows(result),
        }

    def _arrows(self, result: Result) -> dict[str, Any]:
        from course import metrics as M

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

    def figures(self, result: Result, metrics: dict[str, Any], outdir: Path) -> list[Figure]:
        from course_plugins.interference import figures as F

        runs = metrics["runs"]
        arrows = metrics["arrows"]
        relu = [r for r in runs if r["model"] == "relu"]
        lin = [r for r in runs if r["model"] == "linear"]
        g = np.asarray(arrows["gram"])
        n2 = arrows["n_features"]
        itf = ", ".join(f"feature {i + 1}: {v:.2f}" for i, v in enumerate(arrows["interference"]))
        out = [
            Figure(
                name="reading",
                path=F.reading_figure(metrics, outdir / "interference-reading.png"),
                caption=(
                    f"How to read WᵀW, on a trained ReLU model with {n2} features in "
                    f"{arrows['n_hidden']} dimensions (sparsity {arrows['sparsity']:g}). Left: the "
                    "learned arrows W_i. Middle: WᵀW, features × features; entry (i, j) is the "
                    "dot product W_i·W_j, red when the arrows point the same way, blue when "
                    "opposite, white when at right angles. Right: each row's interference "
                    "Σ_{j≠i}(Ŵ_i·W_j)², 0 meaning orthogonal to every other feature."
                ),
                alt=(
                    f"Three panels. {n2} coloured arrows of nearly equal length spread around a "
                    f"circle; a {n2} by {n2} grid of coloured cells with the dot products written in "
                    f"them (diagonal {', '.join(f'{g[i, i]:.2f}' for i in range(n2))}); and a bar "
                    f"chart of interference per feature ({itf})."
                ),
            ),
            Figure(
                name="tradeoff",
                path=F.tradeoff_figure(metrics, outdir / "interference-tradeoff.png"),
                caption=(
                    "The loss as feature benefit minus interference, measured on the trained "
                    f"n = {metrics['n_features']}, m = {metrics['n_hidden']} models. Left: feature "
                    "benefit Σ I_i[1 − (1 − ‖W_i‖²)²]; middle: the interference term "
                    "Σ_{i≠j} I_j (W_j·W_i)²; both against feature density 1 − S (log scale, dense "
                    "on the right). Right: each model's measured loss against the loss the linear "
                    "formula predicts; points on the dashed line match it exactly."
                ),
                alt=(
                    "Two line charts and a scatter plot. The linear model's benefit stays at "
                    f"{lin[0]['benefit']:.2f} and its interference at about zero at every density. "
                    f"The ReLU model's benefit climbs from {relu[0]['benefit']:.2f} to "
                    f"{relu[-1]['benefit']:.2f} and its interference term from "
                    f"{relu[0]['interference_loss']:.2f} to {relu[-1]['interference_loss']:.2f} as "
                    "density falls. In the scatter the linear model's points lie on the diagonal; "
                    "the sparse ReLU models lie far below it."
                ),
            ),
            Figure(
                name="bias",
                path=F.bias_figure(metrics, outdir / "interference-bias.png"),
                caption=(
                    "The learned bias b_i of each feature in the ReLU models, one panel per "
                    "sparsity; bar colour is the feature's norm ‖W_i‖ (pale = not represented). "
                    "Dense models give the features they drop a positive bias, their mean value; "
                    "sparse models give the features that receive positive interference a "
                    "negative bias, which filters it out."
                ),
                alt=(
                    "Small bar charts of 20 biases each. "
                    + "; ".join(
                        f"at sparsity {r['sparsity']:g} the represented features' mean bias is "
                        f"{r['mean_bias_represented']:.2f}" for r in relu
                    )
                    + "."
                ),
            ),
            Figure(
                name="spectrum",
                path=F.spectrum_figure(metrics, outdir / "interference-spectrum.png"),
                caption=(
                    f"The {metrics['n_features']} eigenvalues of WᵀW, largest first, for each "
                    "trained model (log scale). Only "
                    f"{metrics['n_hidden']} are non-zero: the rank of WᵀW is at most m, so it "
                    "cannot be inverted. The non-zero eigenvalues add up to ‖W‖_F²."
                ),
                alt=(
                    f"Lines of {metrics['n_features']} eigenvalues each, falling off a cliff after "
                    f"the {metrics['n_hidden']}th: ranks measured "
                    + ", ".join(f"{r['gram_rank']} ({r['model']}, S = {r['sparsity']:g})" for r in runs)
                    + ". The linear model's five eigenvalues are all about 1; the sparse ReLU "
                    "models' are larger."
                ),
            ),
        ]
        return out

    def animation(self, result: Result, metrics: dict[str, Any]) -> Animation:
        from course_plugins.interference.scene import InterferenceScene

        a = metrics["arrows"]
        thr = a["filter_threshold"]
        echoes = []
        if a["echo_positive"]:
            echoes.append("the features whose arrows lean the same way read a small positive echo")
        if a["echo_negative"]:
            echoes.append("the ones pointing away read a negative one")
        bias = ("the negative biases lower every bar" if max(a["bias"]) < 0
                else f"the biases (from {min(a['bias']):.2f} to {max(a['bias']):.2f}) shift the bars")
        weak = (f"; fired at {a['weak']['value']:g}"
                + (f", below the measured threshold {thr:.2f}," if thr is not None else "")
                + (" no echo survives at all" if a["weak_clean"] else " some echo still survives"))
        return Animation(
            scene=partial(InterferenceScene, result["arrows_W"][0], result["arrows_b"][0], a),
            title="One feature fires; the others hear an echo",
            description=(
                f"On the left, the {a['n_features']} learned arrows of a ReLU model with "
                f"{a['n_hidden']} hidden dimensions. Feature 1 fires at value {a['strong']['value']:g}: "
                "its arrow is the hidden vector, and bars in the middle show what every feature "
                "reads back, W_j·h"
                + (": " + ", and ".join(echoes) if echoes else "")
                + f". Then {bias} and the ReLU cuts everything below zero away{weak}. Next the "
                "WᵀW matrix on the right fills in entry by entry: each row is one feature's "
                "read-out of all the others, computed from the arrows. Last, the bars show each "
                "row's interference."
            ),
        )

    def claims(self, metrics: dict[str, Any]) -> list[Claim]:
        runs = metrics["runs"]
        m = metrics["n_hidden"]
        lin = [r for r in runs if r["model"] == "linear"]
        relu = [r for r in runs if r["model"] == "relu"]
        out = [Claim(
            "gram-rank",
            f"WᵀW has rank at most m, so with n = {metrics['n_features']} > m = {m} it is not "
            "invertible.",
            "ranks " + ", ".join(str(r["gram_rank"]) for r in runs),
            all(r["gram_rank"] <= m for r in runs),
            PAPER,
        )]
        if lin:
            worst = max(r["interference_loss"] for r in lin)
            ben = [r["benefit"] for r in lin]
            out.append(Claim(
                "linear-no-interference",
                "The linear model never pays interference: it learns the top-m features at "
                "right angles, whatever the sparsity.",
                f"largest interference term {worst:.3f}; benefit between {min(ben):.3f} and "
                f"{max(ben):.3f}",
                worst < 0.05 and max(ben) - min(ben) < 0.05,
                BASIC_RESULTS,
            ))
            errs = [abs(r["loss"] - r["linear_form_loss"]) / r["linear_form_loss"] for r in lin]
            out.append(Claim(
                "linear-loss-split",
                "The linear model's loss is feature benefit set against interference: "
                "L = σ²/n · (Σ I_i − benefit + interference), with σ² the variance of one "
                "feature (the paper's decomposition; the constant σ²/n is this course's derivation).",
                f"largest relative gap between the measured loss and the formula: {max(errs):.1%}",
                max(errs) < 0.05,
                BASIC_RESULTS,
            ))
        if len(relu) >= 2:
            d, s = relu[0], relu[-1]
            out.append(Claim(
                "relu-tradeoff",
                "In the ReLU model, interference rises with sparsity while feature benefit "
                "rises too.",
                f"S = {d['sparsity']:g} → {s['sparsity']:g}: benefit {d['benefit']:.2f} → "
                f"{s['benefit']:.2f}, interference {d['interference_loss']:.2f} → "
                f"{s['interference_loss']:.2f}",
                s["benefit"] > d["benefit"] + 0.05 and s["interference_loss"] > d["interference_loss"] + 0.5,
                BASIC_RESULTS,
            ))
            pos = s["bias_split"]["positive"]
            dense_pos = len(d["bias_split"]["positive"])
            measured = (f"S = {s['sparsity']:g}: {len(pos)} features receive positive interference, biases "
                        f"{min(pos):.2f} to {max(pos):.2f}; at S = {d['sparsity']:g}: {dense_pos} such "
                        "features") if pos else f"S = {s['sparsity']:g}: no feature receives positive interference"
            out.append(Claim(
                "relu-negative-bias",
                "In the high-sparsity regime the ReLU model has positive interference and "
                "negative biases.",
                measured,
                bool(pos) and all(b < -0.01 for b in pos),
                BASIC_RESULTS,
            ))
        return out


CONCEPT = Interference(
    slug="interference",
    title="Interference",
    order=50,
    summary="Reading WᵀW: how much features overlap, what the overlap costs in the loss, "
    "and how a negative bias and the ReLU filter it out.",
    question="Why is WᵀW a features × features table, and how do we read superposition off it?",
)


@hookimpl
def register_concepts(register):
    register(CONCEPT)


@hookimpl
def register_glossary(register):
    register(GlossaryEntry(
        "Interference",
        "What one feature's activity does to the read-outs of the others: with W_i·W_j ≠ 0, "
        "feature j firing looks like feature i firing a little. Per feature it is measured as "
        "Σ_{j≠i} (Ŵ_i·W_j)².",
        BASIC_RESULTS,
    ))
    register(GlossaryEntry(
        "Gram matrix WᵀW",
        "The features × features table of dot products W_i·W_j between feature directions: "
        "squared norms on the diagonal, overlaps off it.",
        BASIC_RESULTS,
    ))
    register(GlossaryEntry(
        "Feature benefit",
        "The part of the loss a model saves by representing features, "
        "Σ_i I_i [1 − (1 − ‖W_i‖²)²] in the linear model; set against interference.",
        BASIC_RESULTS,
    ))
