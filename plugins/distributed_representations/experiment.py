"""The distributed-representations experiment: square codes (n = m, no
superposition) and a code with twice as many features as dimensions, each
trained and then turned by a rotation of its hidden basis that spreads the
features out or lines them up with the units."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from course import Result, profiles

from .rotation import best_rotation

if TYPE_CHECKING:
    from course.engine import ToyConfig

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


def source_of(name: str) -> str:
    """The trained code ``name`` is (a rotated code's source, else itself)."""
    return ROTATED[name][0] if name in ROTATED else name


@dataclass(frozen=True)
class Settings:
    """What the experiment trains; :meth:`quick` is the smallest that exercises the code."""

    dense_density: float = 0.5
    sparse_density: float = 0.05
    importance: float = 1.0
    n_seeds: int = 8
    steps: int = 3000
    batch_size: int = 1024
    lr: float = 5e-3
    lr_schedule: str = "cosine"
    rotation_steps: int = 400
    rotation_starts: int = 4
    eval_batch: int = 32768

    @classmethod
    def quick(cls) -> Settings:
        return cls(n_seeds=1, steps=200, batch_size=256, rotation_steps=40, rotation_starts=2,
                   eval_batch=4096)

    @classmethod
    def for_profile(cls, name: str) -> Settings:
        """Under ``paper``: the notebook's 10,000 steps and batch 1024 (the
        paper trains none of these codes, so the rest stays the course's)."""
        return profiles.build(cls, name, steps="steps", batch_size="batch_size")

    def density(self, key: str) -> float:
        """The feature density called ``key`` ("dense" or "sparse")."""
        return getattr(self, f"{key}_density")  # type: ignore[no-any-return]


def config(s: Settings, name: str, shape: tuple[int, int] | None = None) -> ToyConfig:
    """The engine configuration of the trained code ``name`` (one density, ``n_seeds``
    starts); ``shape`` (m, n) puts a code of another size in its place."""
    from course import engine

    model, n, m, dens = TRAINED[name]
    if shape is not None:
        m, n = shape
    return engine.ToyConfig.sweep(
        n, m, importance=s.importance, density=[s.density(dens)], model=model,
        n_seeds=s.n_seeds, steps=s.steps, batch_size=s.batch_size, lr=s.lr,
        lr_schedule=s.lr_schedule,
    )


def run(s: Settings, seed: int = 0, device: str = "cpu",
        progress: Callable[[int, int], None] | None = None) -> Result:
    """Train every code of :data:`TRAINED` (the best of ``n_seeds`` starts), then
    :func:`finish` them: the rotations and every code's loss."""
    from course.engine import train

    trained: dict[str, np.ndarray] = {}
    total = len(TRAINED) * s.steps
    for j, name in enumerate(TRAINED):
        step = (lambda done, _t, _j=j: progress(_j * s.steps + done, total)) if progress else None
        tr = train(config(s, name), seed=seed + j, device=device, progress=step)
        trained[f"W_{name}"] = tr.best_W[0].astype(np.float64)
        trained[f"b_{name}"] = tr.best_b[0].astype(np.float64)
    return finish(s, trained, seed)


def finish(s: Settings, trained: dict[str, np.ndarray], seed: int = 0) -> Result:
    """The experiment's result from the trained codes' weights (``W_NAME``, ``b_NAME``
    for every name of :data:`TRAINED`): rotate them into :data:`ROTATED`, and
    measure every code's loss on one fixed evaluation batch of its source's data.
    The tests call it with weights that must fail the claims (untrained, swapped)."""
    import torch

    from course.engine import loss_per_instance, sample_batch

    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in trained.items()}
    for name, (source, goal) in ROTATED.items():
        R = best_rotation(arrays[f"W_{source}"], goal, steps=s.rotation_steps,
                          starts=s.rotation_starts, seed=seed)
        arrays[f"R_{name}"] = R
        arrays[f"W_{name}"] = R @ arrays[f"W_{source}"]
        arrays[f"b_{name}"] = arrays[f"b_{source}"].copy()

    # every code's loss on one fixed evaluation batch of its source's data, so a
    # trained code and its rotation are compared on exactly the same inputs
    losses = {}
    for name in ORDER:
        cfg = config(s, source_of(name), arrays[f"W_{name}"].shape)
        imp, _ = cfg.arrays()
        x = sample_batch(cfg, s.eval_batch, seed=seed + 7).to(torch.float64)
        W = torch.as_tensor(arrays[f"W_{name}"])[None]
        b = torch.as_tensor(arrays[f"b_{name}"])[None]
        loss = loss_per_instance(W, b, x, torch.as_tensor(imp)[:, None, :], cfg.model)
        losses[name] = float(loss[0])
    info = {
        "models": {name: TRAINED[source_of(name)][0] for name in ORDER},
        "densities": {name: s.density(TRAINED[source_of(name)][3]) for name in ORDER},
        "losses": losses,
    }
    return Result("distributed-representations", asdict(s), seed,
                  arrays={k: v.astype(np.float32) if k.startswith("b_") else v for k, v in arrays.items()},
                  info=info)
