"""Polysemanticity: neurons that serve several features, in a privileged basis.

The paper's neuron model h = ReLU(Wx), x' = ReLU(Wᵀh + b) with n = 10
features and m = 5 neurons, importance 0.75^i, trained at densities from
0.75 down to 0.01. The ReLU on the hidden layer makes the neuron basis
privileged, so asking "which features does this neuron serve?" has an answer.
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
PRIVILEGED = PAPER + "#privileged-basis"

#: the course's own example: what the ten features of the toy model stand for,
#: in importance order (a model reading short messages, everyday topics first)
TOPICS = (
    "weather", "birthdays", "football", "cats", "pizza",
    "volcanoes", "knitting", "jazz", "submarines", "origami",
)
#: a neuron is monosemantic when one feature holds more than this share of
#: its weight vector's length (max_i |W_ki| / ‖W_k‖)
MONO_THRESHOLD = 0.9
#: a feature counts as represented when the positive part of its weights,
#: ‖max(W_i, 0)‖, exceeds this: inputs are non-negative, so only positive
#: weights let the feature make a neuron fire and be read back out
REPRESENTED = 0.5
#: feature i is carried by neuron k when W_ki > CARRIED × ‖max(W_i, 0)‖
CARRIED = 0.3
#: a neuron whose positive weights have a norm below this never fires: dead
DEAD = 0.1
#: the paper's regimes for this model (density range, features, neurons, words):
#: one group of that many features sharing that many neurons, the rest monosemantic
PAPER_REGIMES = (
    (0.2, 0.5, 3, 2, "three features in two neurons"),
    (0.15, 0.15, 5, 3, "five features in three neurons"),
    (0.05, 0.08, 8, 5, "eight features in five neurons"),
)


def positive_norms(W: np.ndarray) -> np.ndarray:
    """‖max(W_i, 0)‖ per feature: how strongly feature i can drive the neurons."""
    return np.linalg.norm(np.clip(np.asarray(W, dtype=np.float64), 0, None), axis=0)


def carriers(W: np.ndarray, carried: float = CARRIED, represented: float = REPRESENTED) -> np.ndarray:
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
    """The groups in words, e.g. "3 monosemantic neurons; 3 features share 2 neurons"."""
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


class Polysemanticity(Concept):
    """The privileged-basis neuron model at several feature densities."""

    def settings(self, quick: bool = False) -> dict[str, Any]:
        return {
            "model": "neuron",
            "n_features": 10,
            "n_hidden": 5,
            "importance_decay": 0.75,
            "densities": [0.75, 0.1, 0.01] if quick else [0.75, 0.35, 0.15, 0.1, 0.06, 0.02, 0.01],
            "n_seeds": 1 if quick else 8,
            "steps": 200 if quick else 3000,
            "batch_size": 256 if quick else 1024,
            "lr": 5e-3,
            "lr_schedule": "cosine",
        }

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        import torch

        from course.engine import ToyConfig, train

        s = settings
        cfg = ToyConfig.sweep(
            s["n_features"], s["n_hidden"],
            importance=s["importance_decay"] ** np.arange(s["n_features"]),
            density=s["densities"], model=s["model"], n_seeds=s["n_seeds"], steps=s["steps"],
            batch_size=s["batch_size"], lr=s["lr"], lr_schedule=s["lr_schedule"],
        )
        # One torch thread: this sweep's tensors are small enough that a second
        # thread costs more in synchronisation than it saves (measured on 2 cores:
        # 3.3 s on one thread against 7.6 to 15.5 s on two for 300 steps), and the
        # book trains several concepts side by side anyway.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            tr = train(cfg, seed=seed, device=device, progress=progress)
        finally:
            torch.set_num_threads(threads)
        return Result(self.slug, settings, seed, arrays=tr.arrays(),
                      info={"densities": list(s["densities"])})

    def metrics(self, result: Result) -> dict[str, Any]:
        from course import metrics as M

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
                "features_represented": int((positive_norms(W) > REPRESENTED).sum()),
                "stored_features": [int(i) for i in np.nonzero(positive_norms(W) > REPRESENTED)[0]],
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
        level = _showcase_level(runs)
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
            "represented": REPRESENTED,
            "carried": CARRIED,
            "topics": list(TOPICS[: W_all.shape[-1]]),
            "search": search,
            "showcase": {
                "level": level,
                "neuron": k,
                "features": [a, b],
                "quiet": quiet,
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

    def figures(self, result: Result, metrics: dict[str, Any], outdir: Path) -> list[Figure]:
        from course_plugins.polysemanticity.figures import neuron_figure

        path = neuron_figure(result["W"], metrics, outdir / "polysemanticity-neurons.png")
        runs = metrics["runs"]
        m = metrics["n_hidden"]
        summary = "; ".join(
            f"density {r['density']:g}: {r['monosemantic_neurons']} of {m} monosemantic, "
            f"{r['features_represented']} features represented" for r in runs
        )
        return [Figure(
            name="neurons",
            path=path,
            caption=(
                "**What each neuron stores, from dense to sparse data.** One panel per feature "
                "density 1 − S, with the number of monosemantic neurons. In a panel, each "
                "bar is one neuron, numbered below and sorted from most to least monosemantic; the "
                "bar is stacked from that neuron's weights W_ki, one coloured block per feature "
                "(amber is the most important feature), positive weights above the line and "
                "negative ones below. Look at how, in the first panel, each bar holds a single "
                "colour, and how, panel by panel, the bars fill up with several colours: the "
                "neurons have become polysemantic."
            ),
            alt=(
                f"{len(runs)} bar charts in a grid, one per feature density, each with {m} stacked "
                f"bars (the neurons) coloured by feature, and a legend of the feature colours. "
                f"{summary}."
            ),
        )]

    def animation(self, result: Result, metrics: dict[str, Any]) -> Animation:
        from course_plugins.polysemanticity.scene import PolysemanticityScene

        sc = metrics["showcase"]
        topics = metrics["topics"]
        runs = metrics["runs"]
        r = runs[sc["level"]]
        a, b = (topics[i] for i in sc["features"])
        quiet = topics[sc["quiet"]]
        act = sc["activations"]
        return Animation(
            scene=partial(PolysemanticityScene, result["W"].astype(np.float64), metrics),
            title="One neuron, two unrelated things",
            description=(
                f"The video imagines the ten features of the toy model as topics of short "
                f"messages ({', '.join(topics)}). It shows neuron {sc['neuron'] + 1} of the model "
                f"trained at feature density {r['density']:g}. A message about {a} comes in and "
                f"the neuron lights up (activation {act[0]:.2f}); a message about {b} comes in and "
                f"it lights up again ({act[1]:.2f}); a message about {quiet} leaves it dark "
                f"({act[2]:.2f}). Then the neuron's trained weights appear as stacked bars, one "
                f"colour per topic: first for the model trained on dense data "
                f"(density {runs[0]['density']:g}), where each of the {metrics['n_hidden']} bars holds "
                f"one colour, then for density {r['density']:g}, where neuron {sc['neuron'] + 1}'s bar "
                f"holds large positive blocks for both {a} and {b}: that is why it fires for both. "
                f"Last, the bars of the sparsest model (density {runs[-1]['density']:g}), where every "
                f"neuron holds many colours."
            ),
        )

    def claims(self, metrics: dict[str, Any]) -> list[Claim]:
        runs = metrics["runs"]
        m, n = metrics["n_hidden"], metrics["n_features"]
        dense, sparse = runs[0], runs[-1]
        out = [
            Claim(
                "neurons-dense-monosemantic",
                f"With dense features (1 − S ≳ 0.5) every neuron of the ReLU-hidden-layer model "
                f"(n = {n}, m = {m}, I = 0.75^i) is monosemantic: it stores one feature.",
                f"at 1 − S = {dense['density']:g}: {dense['monosemantic_neurons']} of {m} neurons "
                f"monosemantic (largest positive weight above {MONO_THRESHOLD} of the positive "
                f"weights' norm); "
                f"{dense['features_represented']} features represented",
                dense["density"] >= 0.5 and dense["monosemantic_neurons"] == m
                and dense["features_represented"] == m,
                PRIVILEGED,
            ),
            Claim(
                "neurons-sparse-polysemantic",
                "As features get sparser, the neurons come to serve several features each "
                "(polysemantic neurons), and the model stores more features than it has neurons.",
                f"at 1 − S = {sparse['density']:g}: {sparse['monosemantic_neurons']} of {m} neurons "
                f"monosemantic, {sparse['mean_features_per_neuron']:.1f} features per neuron on "
                f"average, {sparse['features_represented']} of {n} features represented",
                sparse["density"] <= 0.05 and sparse["monosemantic_neurons"] == 0
                and sparse["mean_features_per_neuron"] > 2 and sparse["features_represented"] > m,
                PRIVILEGED,
            ),
        ]
        for lo, hi, f, k, words in PAPER_REGIMES:
            j = next((j for j, r in enumerate(runs) if lo <= r["density"] <= hi), None)
            if j is None:
                continue
            r = runs[j]
            holds = matches_regime(r["groups"], f, k)
            measured = f"at 1 − S = {r['density']:g}: {r['sharing']}"
            seeds = metrics["search"][j] if "search" in metrics else []
            found = [sd for sd in seeds if matches_regime(sd["groups"], f, k)]
            if not holds and seeds:
                measured += (f"; the paper's grouping was found by {len(found)} of {len(seeds)} models"
                             + (f", with a loss {100 * (found[0]['loss'] / seeds[0]['loss'] - 1):.0f}% "
                                "above the best" if found and seeds[0]["loss"] > 0 else ""))
            out.append(Claim(
                f"neurons-{f}-in-{k}",
                (f"At 1 − S = {lo:g}" if lo == hi else f"At 1 − S between {lo:g} and {hi:g}")
                + f", the model stores {words}"
                + (", and its other neurons stay monosemantic." if k < m else "."),
                measured,
                holds,
                PRIVILEGED,
            ))
        return out


def _showcase_level(runs: list[dict[str, Any]]) -> int:
    """The densest level with a polysemantic neuron (the sparsest if none has one)."""
    for k, r in enumerate(runs):
        if r["polysemantic_neurons"] > 0:
            return k
    return len(runs) - 1


CONCEPT = Polysemanticity(
    slug="polysemanticity",
    title="Polysemanticity",
    order=20,
    summary="Neurons that respond to several unrelated features, and when a network makes them.",
    question="Why would one neuron fire for two things that have nothing to do with each other?",
)


@hookimpl
def register_concepts(register):
    register(CONCEPT)


@hookimpl
def register_glossary(register):
    register(GlossaryEntry(
        "Polysemantic neuron",
        "A neuron that responds to several unrelated features. In the toy model: a row of W "
        "with large weights for more than one feature. Its opposite is a monosemantic neuron, "
        "which stores one feature.",
        PAPER,
    ))
    register(GlossaryEntry(
        "Privileged basis",
        "A basis of activation space whose directions mean something, because the architecture "
        "(for example a ReLU applied to each neuron) treats them differently from other "
        "directions. Only in a privileged basis does it make sense to ask what one neuron does.",
        PRIVILEGED,
    ))
