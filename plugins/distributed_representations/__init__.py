"""Distributed representations: spread out is not the same as squeezed in.

Two properties of a code that are easy to confuse:

- how *distributed* it is: over how many hidden units each feature is spread
  (the participation ratio of its column W_i);
- whether it is in *superposition*: more features than dimensions, so the
  directions cannot all be orthogonal (features per dimension ‖W‖_F²/m above
  1, and interference).

The experiment trains square codes (n = m, no superposition) and a code with
twice as many features as dimensions, then turns each code's hidden basis
with a rotation chosen to spread the features out as much as possible, or to
line them up with the units. A rotation changes participation and nothing
else: not WᵀW, not the interference, not the ReLU-output model's loss. It
does change the loss of the neuron model, whose ReLU makes the basis privileged.
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
RELATED_CODES = PAPER + "#related-codes"
PRIVILEGED = PAPER + "#privileged-basis"

#: the trained codes: name -> (model, n_features, n_hidden, density key)
TRAINED: dict[str, tuple[str, int, int, str]] = {
    "neurons": ("neuron", 5, 5, "dense"),
    "distributed": ("relu", 5, 5, "dense"),
    "superposition": ("relu", 10, 5, "sparse"),
    "plane": ("relu", 2, 2, "dense"),
    "squeezed": ("relu", 3, 2, "sparse"),
}
#: codes made by rotating a trained one: name -> (source, "spread" | "align")
ROTATED: dict[str, tuple[str, str]] = {
    "distributed-spread": ("distributed", "spread"),
    "superposition-aligned": ("superposition", "align"),
    "neurons-spread": ("neurons", "spread"),
}
#: order of the runs in the JSON, the table and the figure
ORDER = [
    "neurons", "distributed", "distributed-spread", "neurons-spread",
    "superposition", "superposition-aligned", "plane", "squeezed",
]
LABELS = {
    "neurons": "one unit per feature",
    "distributed": "distributed, no superposition",
    "distributed-spread": "turned to spread out",
    "neurons-spread": "neuron model turned",
    "superposition": "superposition",
    "superposition-aligned": "superposition, turned onto the units",
    "plane": "two features in a plane",
    "squeezed": "a third feature squeezed in",
}
#: a code is in superposition when it stores clearly more than one feature per dimension
SUPERPOSED_FPD = 1.05
#: interference below this counts as none (orthogonal directions)
NO_INTERFERENCE = 0.01


def rotation_matrix(theta: float) -> np.ndarray:
    """The 2 × 2 rotation by ``theta`` radians."""
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


def best_rotation(W: np.ndarray, goal: str, steps: int = 400, starts: int = 4, seed: int = 0) -> np.ndarray:
    """An m × m rotation R (det 1) that makes the code R·W as spread out
    (``goal="spread"``) or as lined up with the units (``goal="align"``) as
    it can.

    Spreading minimises Σ_ki (RW)_ki⁴ and aligning maximises it (the
    varimax criterion of factor analysis): for a fixed ‖W_i‖ a column's
    fourth powers are smallest when it is spread evenly, which is when its
    participation ratio is largest. R = exp(A − Aᵀ) is searched from the
    identity and ``starts − 1`` random starts with Adam; the best is kept.
    """
    import torch

    if goal not in ("spread", "align"):
        raise ValueError(f"goal must be 'spread' or 'align', not {goal!r}")
    Wt = torch.as_tensor(np.asarray(W, dtype=np.float64))
    m = Wt.shape[0]
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn(starts, m, m, generator=gen, dtype=torch.float64)
    A[0] = 0.0
    A.requires_grad_(True)
    sign = 1.0 if goal == "spread" else -1.0
    opt = torch.optim.Adam([A], lr=0.05)

    def objective() -> torch.Tensor:
        R = torch.linalg.matrix_exp(A - A.transpose(1, 2))
        return sign * (R @ Wt).pow(4).sum(dim=(1, 2))

    for _ in range(steps):
        opt.zero_grad()
        objective().sum().backward()
        opt.step()
    with torch.no_grad():
        best = int(objective().argmin())
        R = torch.linalg.matrix_exp(A[best] - A[best].T)
    return R.numpy()


def describe_code(W: np.ndarray) -> dict[str, Any]:
    """Participation, features per dimension and interference of a code W (m × n)."""
    from course import metrics as M

    W = np.asarray(W, dtype=np.float64)
    m, n = W.shape
    part = np.asarray(M.participation(W))
    interf = np.asarray(M.interference(W))
    fpd = float(M.features_learned(W)) / m
    represented = np.asarray(M.feature_norms(W)) > 0.5
    unit = W / np.maximum(np.linalg.norm(W, axis=0, keepdims=True), 1e-12)
    cos = np.triu(unit.T @ unit, k=1)
    return {
        "n_features": n,
        "n_hidden": m,
        "participation": _f(part),
        "mean_participation": _f(float(part[represented].mean()) if represented.any() else 0.0),
        "min_participation": _f(float(part[represented].min()) if represented.any() else 0.0),
        "features_per_dimension": _f(fpd),
        "interference": _f(interf),
        "max_interference": _f(float(interf.max())),
        "features_represented": int(represented.sum()),
        "gram_rank": int(M.gram_rank(W)),
        # pairs of represented features pointing in opposite directions (cosine below -0.95)
        "antipodal_pairs": int(((cos < -0.95) & represented[:, None] & represented[None, :]).sum()),
        "superposition": bool(fpd > SUPERPOSED_FPD),
    }


class DistributedRepresentations(Concept):
    """Square codes and a superposed code, each trained and then rotated."""

    def settings(self, quick: bool = False) -> dict[str, Any]:
        return {
            "dense_density": 0.5,
            "sparse_density": 0.05,
            "importance": 1.0,
            "n_seeds": 1 if quick else 8,
            "steps": 200 if quick else 3000,
            "batch_size": 256 if quick else 1024,
            "lr": 5e-3,
            "lr_schedule": "cosine",
            "rotation_steps": 40 if quick else 400,
            "rotation_starts": 2 if quick else 4,
            "eval_batch": 4096 if quick else 32768,
        }

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        import torch

        from course.engine import ToyConfig, loss_per_instance, sample_batch, train

        s = settings
        arrays: dict[str, np.ndarray] = {}
        configs: dict[str, ToyConfig] = {}
        total = len(TRAINED) * s["steps"]
        for j, (name, (model, n, m, dens)) in enumerate(TRAINED.items()):
            cfg = ToyConfig.sweep(
                n, m, importance=s["importance"], density=[s[f"{dens}_density"]], model=model,
                n_seeds=s["n_seeds"], steps=s["steps"], batch_size=s["batch_size"], lr=s["lr"],
                lr_schedule=s["lr_schedule"],
            )
            step = (lambda done, _t, _j=j: progress(_j * s["steps"] + done, total)) if progress else None
            tr = train(cfg, seed=seed + j, device=device, progress=step)
            configs[name] = cfg
            arrays[f"W_{name}"] = tr.best_W[0].astype(np.float64)
            arrays[f"b_{name}"] = tr.best_b[0].astype(np.float64)
        for name, (source, goal) in ROTATED.items():
            R = best_rotation(arrays[f"W_{source}"], goal, steps=s["rotation_steps"],
                              starts=s["rotation_starts"], seed=seed)
            arrays[f"R_{name}"] = R
            arrays[f"W_{name}"] = R @ arrays[f"W_{source}"]
            arrays[f"b_{name}"] = arrays[f"b_{source}"].copy()

        # every code's loss on one fixed evaluation batch of its source's data, so a
        # trained code and its rotation are compared on exactly the same inputs
        losses = {}
        for name in ORDER:
            source = ROTATED[name][0] if name in ROTATED else name
            cfg = configs[source]
            imp, _ = cfg.arrays()
            x = sample_batch(cfg, s["eval_batch"], seed=seed + 7).to(torch.float64)
            W = torch.as_tensor(arrays[f"W_{name}"])[None]
            b = torch.as_tensor(arrays[f"b_{name}"])[None]
            loss = loss_per_instance(W, b, x, torch.as_tensor(imp)[:, None, :], cfg.model)
            losses[name] = float(loss[0])
        info = {
            "models": {name: TRAINED[ROTATED[name][0] if name in ROTATED else name][0] for name in ORDER},
            "densities": {name: s[f"{TRAINED[ROTATED[name][0] if name in ROTATED else name][3]}_density"] for name in ORDER},
            "losses": losses,
        }
        return Result(self.slug, settings, seed, arrays={k: v.astype(np.float32) if k.startswith("b_") else v
                                                         for k, v in arrays.items()}, info=info)

    def metrics(self, result: Result) -> dict[str, Any]:
        runs = []
        for name in ORDER:
            W = result[f"W_{name}"].astype(np.float64)
            source = ROTATED[name][0] if name in ROTATED else None
            runs.append({
                "name": name,
                "label": LABELS[name],
                "model": result.info["models"][name],
                "trained": source is None,
                "rotated_from": source,
                "density": _f(result.info["densities"][name]),
                **describe_code(W),
                "loss": _f(result.info["losses"][name], 9),
                "W": _f(W, 4),
            })
        by = {r["name"]: r for r in runs}
        plane = result["W_plane"].astype(np.float64)
        phi = float(np.arctan2(plane[1, 0], plane[0, 0]))
        # the turn that puts feature 1 at 45° between the two units (the most spread-out 2-D code)
        turn = (np.pi / 4 - phi + np.pi / 4) % (np.pi / 2) - np.pi / 4
        spread_plane = describe_code(rotation_matrix(turn) @ plane)
        return {
            "runs": runs,
            "by_name": {name: i for i, name in enumerate(ORDER)},
            "n_seeds": int(result.settings["n_seeds"]),
            "eval_batch": int(result.settings["eval_batch"]),
            "plane_turn_deg": _f(float(np.degrees(turn)), 3),
            "plane_spread": spread_plane,
            "rotation_loss_change": {
                name: _f(by[name]["loss"] - by[ROTATED[name][0]]["loss"], 9) for name in ROTATED
            },
        }

    def figures(self, result: Result, metrics: dict[str, Any], outdir: Path) -> list[Figure]:
        from course_plugins.distributed_representations.figures import axes_figure, codes_figure

        runs = {r["name"]: r for r in metrics["runs"]}
        shown = ["neurons", "distributed", "distributed-spread", "superposition", "superposition-aligned"]
        codes = codes_figure([runs[n] for n in shown], outdir / "distributed-codes.png")
        axes = axes_figure([runs[n] for n in shown], outdir / "distributed-axes.png")

        def summary(name: str) -> str:
            r = runs[name]
            return (f"{r['label']} ({r['n_features']} features, {r['n_hidden']} units): participation "
                    f"{r['mean_participation']:.2f}, features per dimension {r['features_per_dimension']:.2f}, "
                    f"largest interference {r['max_interference']:.2f}")

        return [
            Figure(
                name="codes",
                path=codes,
                caption=(
                    "**Five codes, read two ways.** "
                    + "; ".join(f"{chr(65 + j)}: {runs[n]['label']}" for j, n in enumerate(shown))
                    + ". Top row: the weight matrix W, one row per hidden unit and one column per "
                    "feature (red positive, blue negative, white zero), with the mean participation "
                    "ratio PR. Bottom row: WᵀW, one row and one column per feature, with the features "
                    "per dimension and the largest interference. Look at the top row to see how "
                    "distributed a code is: one coloured cell per column means each feature sits on "
                    "one unit, a column full of colour means it is spread over all of them. Look at "
                    "the bottom row to see superposition: off-diagonal colour means features overlap. "
                    "B and C are rotations of each other, and so are D and E: their top rows differ, "
                    "their bottom rows are identical."
                ),
                alt="Two rows of five heat maps. " + "; ".join(summary(n) for n in shown) + ".",
            ),
            Figure(
                name="axes",
                path=axes,
                caption=(
                    "**Two independent axes.** Each point is one feature of one code: how many units "
                    "it is spread over (participation, across) against how much the other features "
                    "overlap it (interference, up). Look at how the points fill all four corners: "
                    "spread-out features with no interference, features on a single unit with "
                    "interference, and everything in between. Knowing one number tells you nothing "
                    "about the other."
                ),
                alt="A scatter plot with participation ratio on the horizontal axis and "
                    "interference on the vertical axis. " + "; ".join(summary(n) for n in shown) + ".",
            ),
        ]

    def animation(self, result: Result, metrics: dict[str, Any]) -> Animation:
        from course_plugins.distributed_representations.scene import DistributedScene

        runs = {r["name"]: r for r in metrics["runs"]}
        plane, sq = runs["plane"], runs["squeezed"]
        spread = metrics["plane_spread"]
        return Animation(
            scene=partial(DistributedScene, result["W_plane"].astype(np.float64),
                          result["W_squeezed"].astype(np.float64), metrics),
            title="Spread out is not squeezed in",
            description=(
                "The video shows a two-dimensional hidden space with dashed axes for its two units. "
                "Two arrows, the learned directions of a trained model with two features and two "
                "units, stand at a right angle; beside them are each feature's participation "
                f"(how many units it uses, {plane['participation'][0]:.2f} and "
                f"{plane['participation'][1]:.2f}) and interference ({plane['max_interference']:.2f}), "
                f"and the 2 × 2 matrix WᵀW, which is diagonal. The arrows then turn together by "
                f"{abs(metrics['plane_turn_deg']):.0f} degrees until each sits halfway between the axes: "
                f"participation rises to {spread['participation'][0]:.2f} (every unit now mixes both "
                f"features), while the interference stays at {spread['max_interference']:.2f} and WᵀW "
                "does not change. Then the arrows of a second trained model appear, with three "
                f"features in the same two dimensions: two of its arrows point in opposite "
                f"directions, its WᵀW gains off-diagonal entries, and the interference rises to "
                f"{sq['max_interference']:.2f}."
            ),
        )

    def claims(self, metrics: dict[str, Any]) -> list[Claim]:
        runs = {r["name"]: r for r in metrics["runs"]}
        d, ds = runs["distributed"], runs["distributed-spread"]
        sp, sa = runs["superposition"], runs["superposition-aligned"]
        nr, ns = runs["neurons"], runs["neurons-spread"]
        m = d["n_hidden"]
        relu_change = abs(metrics["rotation_loss_change"]["distributed-spread"]) + abs(
            metrics["rotation_loss_change"]["superposition-aligned"])
        return [
            Claim(
                "distributed-without-superposition",
                "A code can be fully distributed, every unit taking part in every feature, and "
                "have no superposition.",
                f"n = m = {m}, trained: participation {d['mean_participation']:.2f} (mean), features "
                f"per dimension {d['features_per_dimension']:.2f}, largest interference "
                f"{d['max_interference']:.3f}; rotated to spread out: participation "
                f"{ds['min_participation']:.2f} or more for every feature, interference "
                f"{ds['max_interference']:.3f}",
                d["mean_participation"] > 1.5 and ds["min_participation"] > 0.75 * m
                and abs(d["features_per_dimension"] - 1) < 0.05
                and max(d["max_interference"], ds["max_interference"]) < NO_INTERFERENCE,
                RELATED_CODES,
            ),
            Claim(
                "superposition-needs-no-spreading",
                "Superposition is a different axis: with more features than dimensions the "
                "directions overlap (interference) however the code is spread over the units.",
                f"{sp['n_features']} features in {sp['n_hidden']} dimensions: features per dimension "
                f"{sp['features_per_dimension']:.2f}; participation {sp['mean_participation']:.2f} as "
                f"trained and {sa['mean_participation']:.2f} when turned onto the units, largest "
                f"interference {sp['max_interference']:.2f} and {sa['max_interference']:.2f}",
                sp["features_per_dimension"] > 1.5 and sa["mean_participation"] < 1.1
                and sp["mean_participation"] > 1.5
                and min(sp["max_interference"], sa["max_interference"]) > 0.5,
                PAPER,
            ),
            Claim(
                "rotation-free-without-privileged-basis",
                "Without an activation function on the hidden layer no basis is privileged: "
                "rotating the hidden space leaves the loss unchanged. A ReLU on the neurons "
                "breaks that symmetry.",
                f"ReLU-output models: loss changes by {relu_change:.1e} under rotation; neuron "
                f"model: loss {nr['loss']:.2e} as trained, {ns['loss']:.2e} turned to spread out",
                relu_change < 1e-6 * max(d["loss"] + sp["loss"], 1e-9) + 1e-9
                and ns["loss"] > 2 * nr["loss"] + 1e-4,
                PRIVILEGED,
            ),
        ]


CONCEPT = DistributedRepresentations(
    slug="distributed-representations",
    title="Distributed representations",
    order=10,
    summary="A feature spread over many units is not the same as more features than units.",
    question="If every neuron helps represent every feature, is the network in superposition?",
)


@hookimpl
def register_concepts(register):
    register(CONCEPT)


@hookimpl
def register_glossary(register):
    register(GlossaryEntry(
        "Distributed representation",
        "A code in which a feature is spread over many units instead of owning one (the "
        "opposite of a local code). A property of how features sit relative to the units, "
        "separate from superposition: a code can be fully distributed and have no superposition.",
        RELATED_CODES,
    ))
    register(GlossaryEntry(
        "Local code",
        "A code in which each feature has a unit of its own: every column of W has a single "
        "non-zero entry (participation ratio 1).",
        RELATED_CODES,
    ))
