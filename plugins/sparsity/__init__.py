"""Sparsity: why rarely-active features can share a dimension, and when they do.

Two experiments, trained together:

- the paper's "basic results": n = 20 features, m = 5 hidden dimensions,
  importance 0.7^i, a sweep of feature densities 1 − S, for the linear model
  and the ReLU-output model;
- the paper's phase diagram for n = 2, m = 1: the extra feature's relative
  importance against the density, every grid point classified as not
  learned, dedicated dimension, or superposition.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from course import Animation, Claim, Concept, Figure, GlossaryEntry, Result, hookimpl
from course import jsonable as _f
from course_plugins.sparsity.experiment import (
    DEDICATED,
    NORM_THRESHOLD,
    NOT_LEARNED,
    OTHER,
    PHASES,
    SUPERPOSITION,
    antipodal_boundary,
    classify_phase,
    expected_loss,
    ideal_phase,
    keep_best,
    log_grid,
    phase_grid,
)

PAPER = "https://transformer-circuits.pub/2022/toy_model/index.html"
MODELS = ("linear", "relu")
#: a seed of another class within this relative loss of the kept one marks a near tie
NEAR_TIE = 0.05
#: a represented feature with interference below this has a dimension to itself
ORTHOGONAL = 0.1
#: the course's own pair of unrelated, rarely co-occurring features
EXAMPLE = ("bagpipes", "sourdough")


class Sparsity(Concept):
    """Linear vs ReLU models across densities, and the n = 2, m = 1 phase diagram."""

    def settings(self, quick: bool = False) -> dict[str, Any]:
        if quick:
            return {
                "n_features": 20, "n_hidden": 5, "importance_decay": 0.7,
                "densities": [1.0, 0.1, 0.01],
                "linear": {"n_seeds": 1, "steps": 100, "batch_size": 256, "lr": 3e-3,
                           "lr_schedule": "constant"},
                "relu": {"n_seeds": 1, "steps": 100, "batch_size": 256, "lr": 3e-3,
                         "lr_schedule": "constant"},
                "phase": {"relative_importance": [0.1, 1.0, 10.0], "density": [1.0, 0.1, 0.01],
                          "n_seeds": 2, "steps": 100, "batch_size": 128, "lr": 1e-2,
                          "lr_schedule": "constant"},
            }
        return {
            "n_features": 20, "n_hidden": 5, "importance_decay": 0.7,
            "densities": [1.0, 0.3, 0.1, 0.03, 0.01, 0.001],
            # the linear model's optimum does not depend on the density and
            # Adam reaches it quickly; the ReLU model needs longer at low density
            "linear": {"n_seeds": 2, "steps": 2000, "batch_size": 1024, "lr": 1e-2,
                       "lr_schedule": "cosine"},
            "relu": {"n_seeds": 4, "steps": 2000, "batch_size": 1024, "lr": 1e-2,
                     "lr_schedule": "cosine"},
            "phase": {"relative_importance": log_grid(0.1, 10.0, 13), "density": log_grid(1.0, 0.01, 13),
                      "n_seeds": 8, "steps": 1000, "batch_size": 128, "lr": 1e-2,
                      "lr_schedule": "cosine"},
        }

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        from course.engine import ToyConfig, train

        s, ps = settings, settings["phase"]
        n, m = s["n_features"], s["n_hidden"]
        dens = np.asarray(s["densities"], dtype=float)
        importance = s["importance_decay"] ** np.arange(n)
        total = sum(s[model]["steps"] for model in MODELS) + ps["steps"]
        done = 0

        def report(offset: int) -> Callable[[int, int], None] | None:
            if progress is None:
                return None
            return lambda step, _steps: progress(offset + step, total)

        arrays: dict[str, np.ndarray] = {}
        for i, model in enumerate(MODELS):
            bs = s[model]
            cfg = ToyConfig.sweep(
                n, m, importance=importance, density=dens, model=model,
                n_seeds=bs["n_seeds"], steps=bs["steps"], batch_size=bs["batch_size"],
                lr=bs["lr"], lr_schedule=bs["lr_schedule"],
            )
            tr = train(cfg, seed=seed + i, device=device, progress=report(done))
            done += bs["steps"]
            arrays.update(_keep_best(tr, f"{model}_", seed=seed))

        imp_grid, dens_grid = phase_grid(ps["relative_importance"], ps["density"])
        cfg = ToyConfig.sweep(
            2, 1, importance=imp_grid, density=dens_grid, model="relu",
            n_seeds=ps["n_seeds"], steps=ps["steps"], batch_size=ps["batch_size"],
            lr=ps["lr"], lr_schedule=ps["lr_schedule"],
        )
        tr = train(cfg, seed=seed + len(MODELS), device=device, progress=report(done))
        arrays.update(_keep_best(tr, "phase_", seed=seed))
        return Result(self.slug, settings, seed, arrays=arrays, info={
            "densities": [float(d) for d in dens],
            "models": list(MODELS),
            "relative_importance": list(ps["relative_importance"]),
            "phase_density": list(ps["density"]),
            "seed_rule": "lowest expected loss",
        })

    def metrics(self, result: Result) -> dict[str, Any]:
        from course import metrics as M

        runs = []
        for model in MODELS:
            W = result[f"{model}_W"].astype(np.float64)
            b = result[f"{model}_b"].astype(np.float64)
            norms = M.feature_norms(W)
            for k, d in enumerate(result.info["densities"]):
                itf = M.interference(W[k])
                rep = norms[k] > NORM_THRESHOLD
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
            "norm_threshold": NORM_THRESHOLD,
            "orthogonal_threshold": ORTHOGONAL,
            "phase_diagram": phase_metrics(result),
        }

    def figures(self, result: Result, metrics: dict[str, Any], outdir: Path) -> list[Figure]:
        from course_plugins.sparsity import figures as F

        figs = []
        for model, label in (("linear", "linear model"), ("relu", "ReLU-output model")):
            runs = [r for r in metrics["runs"] if r["model"] == model]
            path = F.basic_results(result, runs, model, outdir / f"sparsity-basic-{model}.png")
            summary = "; ".join(
                f"density {r['density']:g}: ‖W‖_F² = {r['frobenius_sq']:.2f}, "
                f"{r['features_represented']} features with ‖W_i‖ > {NORM_THRESHOLD:g}"
                for r in runs
            )
            figs.append(Figure(
                name=f"basic_{model}",
                path=path,
                caption=(
                    f"The {label} (n = {metrics['n_features']}, m = {metrics['n_hidden']}), one panel "
                    "per feature density 1 − S, densest first, reading left to right. In each: WᵀW "
                    "(red positive, blue negative, white zero), the bias b as the strip beside it, "
                    "and bars of ‖W_i‖ for each feature, most important at the top, coloured by its "
                    "interference Σ_{j≠i}(Ŵ_i·W_j)² (dark blue: orthogonal to every other feature; "
                    "yellow: as strongly activated by the others as by itself). Look at how many "
                    "bars reach ≈ 1, and whether colour appears off the diagonal of WᵀW."
                ),
                alt=(
                    f"{len(runs)} panels for the {label}, one per density, two to a row. Each is a "
                    f"{metrics['n_features']} by {metrics['n_features']} heat map of WᵀW with a bias "
                    f"strip, beside horizontal bars of the feature norms. Measured: {summary}."
                ),
            ))
        pd_ = metrics["phase_diagram"]
        path = F.phase_diagram(pd_, outdir / "sparsity-phase-diagram.png")
        counts = ", ".join(f"{v} {k}" for k, v in pd_["counts"].items() if v)
        figs.append(Figure(
            name="phase",
            path=path,
            caption=(
                "The n = 2, m = 1 phase diagram. Each cell is one grid point (the best of "
                f"{pd_['n_seeds']} trained models): grey, the extra feature is not learned; blue, it "
                "gets the hidden dimension to itself (W ≈ [0, ±1]); pink, both features share "
                "the dimension as an antipodal pair (W ≈ [a, −b]). A dot marks a near tie: another "
                f"seed of a different class came within {100 * pd_['near_tie_tolerance']:.0f}% of "
                "the kept model's loss. The dashed line is where "
                "the idealised antipodal solution W = [1, −1] starts to beat both others "
                "(closed form, no training). Look at where pink appears: here only from density "
                f"{pd_['densest_superposition']:.2g} down, never with dense data."
            ),
            alt=(
                f"A grid of {len(pd_['relative_importance'])} relative importances (0.1 to 10, "
                f"horizontal, log scale) by {len(pd_['density'])} densities (1 at the top down to "
                f"{min(pd_['density']):g}, log scale). Counts: {counts}. With dense data the "
                f"extra feature switches from not learned to dedicated between relative importance "
                f"{pd_['dense_split'][0]:g} and {pd_['dense_split'][1]:g}. The densest point in "
                f"superposition has density {pd_['densest_superposition']:g}. "
                f"{100 * pd_['agreement_with_ideal']:.0f}% of points match the closed-form comparison."
            ),
        ))
        return figs

    def animation(self, result: Result, metrics: dict[str, Any]) -> Animation:
        from course_plugins.sparsity.scene import SparsityScene, readouts

        pair = metrics["phase_diagram"]["example"]
        relu = [r for r in metrics["runs"] if r["model"] == "relu"]
        first, last = relu[0], relu[-1]
        _, both = readouts(np.asarray(pair["W"]), np.asarray(pair["bias"]), np.ones(2))
        return Animation(
            scene=partial(SparsityScene, pair, relu, EXAMPLE, metrics["n_hidden"]),
            title="Two rare features, one dimension",
            description=(
                f"The video draws a single hidden dimension as a horizontal line. Two features a "
                f"text model might track, '{EXAMPLE[0]}' and '{EXAMPLE[1]}', get arrows from a "
                f"trained n = 2, m = 1 model at density {pair['density']:g}: W = "
                f"[{pair['W'][0]:.2f}, {pair['W'][1]:.2f}], pointing in opposite directions (an "
                "antipodal pair). Then three inputs pass through: a page about "
                f"{EXAMPLE[0]} only, a page about {EXAMPLE[1]} only, and the rare page about "
                "both; for each the read-out bars show the model's outputs, computed from the "
                "trained weights and bias, next to outlines of the right answers: the "
                "single-topic pages come out right because the ReLU clips the other feature's "
                "negative read-out to zero, while for the page about both the two directions "
                f"cancel and the read-outs are {both[0]:.2f} and {both[1]:.2f} instead of 1. "
                "Finally the video switches to the 20-feature ReLU model and steps through the "
                f"densities from {first['density']:g} to {last['density']:g}: horizontal bars "
                "of ‖W_i‖, coloured by interference, grow from "
                f"{first['features_represented']} to {last['features_represented']} represented "
                f"features while ‖W‖_F² goes from {first['frobenius_sq']:.2f} to "
                f"{last['frobenius_sq']:.2f}."
            ),
        )

    def claims(self, metrics: dict[str, Any]) -> list[Claim]:
        return sparsity_claims(metrics)


# --------------------------------------------------------------------------- helpers


def _keep_best(tr: Any, prefix: str, seed: int) -> dict[str, np.ndarray]:
    """The kept seed of every level by exact expected loss, plus every seed's W, b and loss."""
    cfg = tr.config
    levels, k, m, n = tr.W.shape
    imp, prob = cfg.arrays()
    loss = expected_loss(
        tr.W.reshape(levels * k, m, n), tr.b.reshape(levels * k, n),
        np.repeat(imp, k, axis=0), np.repeat(prob[:, 0], k), cfg.model,
        seeds_per_level=k, seed=seed,
    ).reshape(levels, k)
    best = keep_best(loss)
    idx = np.arange(levels)
    return {
        f"{prefix}W": tr.W[idx, best].astype(np.float32),
        f"{prefix}b": tr.b[idx, best].astype(np.float32),
        f"{prefix}loss": loss[idx, best],
        f"{prefix}W_all": tr.W.astype(np.float32),
        f"{prefix}b_all": tr.b.astype(np.float32),
        f"{prefix}loss_all": loss,
        f"{prefix}best": best.astype(np.int64),
        f"{prefix}loss_curve": tr.best_curve().astype(np.float32),
        f"{prefix}curve_steps": tr.curve_steps.astype(np.int64),
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
        "norm_threshold": NORM_THRESHOLD,
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


def sparsity_claims(metrics: dict[str, Any]) -> list[Claim]:
    """The paper's claims about sparsity, judged on this build's metrics."""
    m = metrics["n_hidden"]
    lin = [r for r in metrics["runs"] if r["model"] == "linear"]
    relu = [r for r in metrics["runs"] if r["model"] == "relu"]
    out: list[Claim] = []

    fro = [r["frobenius_sq"] for r in lin]
    top = [_represented(r, metrics["norm_threshold"]) == list(range(m)) for r in lin]
    out.append(Claim(
        "sparsity-linear-flat",
        f"The linear model learns the top m = {m} features at every sparsity: its ‖W‖_F² stays "
        f"near m = {m}.",
        "‖W‖_F² = " + ", ".join(f"{f:.2f} (1−S = {r['density']:g})" for f, r in zip(fro, lin, strict=True))
        + f"; the represented features are the {m} most important at {sum(top)} of {len(lin)} densities",
        bool(lin) and all(abs(f - m) <= 0.1 * m for f in fro) and all(top),
        PAPER + "#demonstrating-basic-results",
    ))

    fro_r = [r["frobenius_sq"] for r in relu]
    steps_ok = all(b >= a - 0.5 for a, b in zip(fro_r, fro_r[1:], strict=False))
    out.append(Claim(
        "sparsity-relu-grows",
        f"The ReLU-output model's ‖W‖_F² grows with sparsity: at low density it represents more "
        f"than m = {m} features.",
        "‖W‖_F² = " + ", ".join(f"{f:.2f}" for f in fro_r)
        + f" from 1−S = {relu[0]['density']:g} to {relu[-1]['density']:g}; "
        + f"{relu[-1]['features_represented']} features with ‖W_i‖ > {metrics['norm_threshold']:g} at the sparsest",
        len(relu) > 1 and steps_ok and fro_r[-1] > m + 1 and relu[-1]["features_represented"] > m,
        PAPER + "#demonstrating-basic-results",
    ))

    dense = [(a, b) for a, b in zip(lin, relu, strict=True) if a["density"] == 1.0]
    if dense:
        a, r = dense[0]
        out.append(Claim(
            "sparsity-dense-relu-like-linear",
            f"On dense features (1−S = 1) the ReLU-output model behaves like the linear one: "
            f"about {m} features, each with its own dimension.",
            f"ReLU: ‖W‖_F² = {r['frobenius_sq']:.2f}, {r['features_represented']} features; "
            f"linear: ‖W‖_F² = {a['frobenius_sq']:.2f}, {a['features_represented']} features",
            r["features_represented"] == m and abs(r["frobenius_sq"] - m) <= 0.1 * m
            and a["features_represented"] == m,
            PAPER + "#demonstrating-basic-results",
        ))

    pd_ = metrics["phase_diagram"]
    counts = pd_["counts"]
    frac = pd_["superposition_fraction"]
    dens = pd_["density"]
    densest = int(np.argmax(dens))
    sparsest = int(np.argmin(dens))
    out.append(Claim(
        "sparsity-phase-regions",
        "The n = 2, m = 1 phase diagram has all three regions (extra feature not learned, "
        "given a dedicated dimension, stored in superposition), and superposition occurs only "
        "at low density.",
        ", ".join(f"{v} {k}" for k, v in counts.items() if v)
        + f"; superposition at {100 * frac[densest]:.0f}% of the dense row (1−S = {dens[densest]:g}) "
        + f"and {100 * frac[sparsest]:.0f}% of the sparsest (1−S = {dens[sparsest]:g}); densest point "
        + f"in superposition: 1−S = {pd_['densest_superposition']:g}",
        all(counts[c] > 0 for c in PHASES) and frac[densest] == 0.0
        and frac[sparsest] >= 0.5 and pd_["densest_superposition"] < 1.0,
        PAPER + "#phase-change",
    ))
    lo, hi = pd_["dense_split"]
    out.append(Claim(
        "sparsity-phase-dense-split",
        "With dense data there is no superposition: the extra feature is dropped when it "
        "matters less than feature 1 and takes the dimension when it matters more, so the "
        "split sits near relative importance 1 (by symmetry; the paper gives no number).",
        f"dense row switches between relative importance {lo:g} and {hi:g}",
        lo < hi and 0.5 <= lo <= 1.0 <= hi <= 2.0 and SUPERPOSITION not in pd_["dense_classes"],
        PAPER + "#phase-change",
    ))
    return out


CONCEPT = Sparsity(
    slug="sparsity",
    title="Sparsity",
    order=40,
    summary="Why rarely-active features can share a dimension: the linear model never does, "
            "the ReLU model does once features are sparse, and the switch is a phase change.",
    question="When does a model start sharing dimensions between features?",
)


@hookimpl
def register_concepts(register):
    register(CONCEPT)


@hookimpl
def register_glossary(register):
    register(GlossaryEntry(
        "Sparsity",
        "S, the probability that a feature is zero on an input; 1 − S is its density, how "
        "often it is active.",
        PAPER + "#demonstrating-setup",
    ))
    register(GlossaryEntry(
        "Importance",
        "I_i, the weight of feature i's error in the loss: how much getting it right lowers "
        "the loss.",
        PAPER + "#demonstrating-setup",
    ))
    register(GlossaryEntry(
        "Phase change",
        "A discontinuous switch of the optimal solution, here between not learning a "
        "feature, giving it a dimension, and storing it in superposition, as importance "
        "or sparsity crosses a boundary.",
        PAPER + "#phase-change",
    ))
