"""The geometry experiment: the paper's "uniform superposition".

Every feature equally important, many more features than dimensions (n ≫ m),
and a sweep of feature densities 1 − S, log-spaced in 1/(1 − S), one ReLU
model per density.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from course import Result


@dataclass(frozen=True)
class Settings:
    """What the experiment trains; :meth:`quick` is the smallest that exercises the code."""

    model: str = "relu"
    n_features: int = 200
    n_hidden: int = 20
    inverse_density_max: float = 100.0
    levels: int = 32
    n_seeds: int = 1
    steps: int = 4000
    batch_size: int = 128
    lr: float = 0.01
    lr_schedule: str = "cosine"
    eval_batch: int = 8192

    @classmethod
    def quick(cls) -> Settings:
        return cls(n_features=40, n_hidden=6, inverse_density_max=20.0, levels=5, steps=100,
                   batch_size=64, eval_batch=1024)


def inverse_densities(top: float, levels: int) -> np.ndarray:
    """``levels`` values of 1/(1 − S), log-spaced from 1 to ``top``."""
    return np.logspace(0.0, np.log10(top), levels)


def run(s: Settings, seed: int = 0, device: str = "cpu",
        progress: Callable[[int, int], None] | None = None) -> Result:
    """Train one model per density in one batched program."""
    from course.engine import ToyConfig, train

    inv = inverse_densities(s.inverse_density_max, s.levels)
    cfg = ToyConfig.sweep(
        s.n_features, s.n_hidden, importance=1.0, density=1.0 / inv, model=s.model,
        n_seeds=s.n_seeds, steps=s.steps, batch_size=s.batch_size, lr=s.lr,
        lr_schedule=s.lr_schedule, eval_batch=s.eval_batch, log_every=max(1, s.steps // 25),
    )
    tr = train(cfg, seed=seed, device=device, progress=progress)
    arrays = tr.arrays()
    arrays.pop("W_all")  # one seed per level by default; the kept W is enough
    return Result("geometry", asdict(s), seed, arrays=arrays,
                  info={"inverse_density": [float(v) for v in inv]})
