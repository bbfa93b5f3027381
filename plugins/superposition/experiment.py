"""The superposition experiment: n = 5 features in m = 2 hidden dimensions,
the ReLU-output model, trained at several sparsities (best of several seeds)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from course import Result, profiles


@dataclass(frozen=True)
class Settings:
    """What the experiment trains; :meth:`quick` is the smallest that exercises the code."""

    model: str = "relu"
    n_features: int = 5
    n_hidden: int = 2
    importance_decay: float = 0.9
    sparsities: tuple[float, ...] = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95)
    n_seeds: int = 6
    steps: int = 10_000
    batch_size: int = 1024
    lr: float = 1e-3

    @classmethod
    def quick(cls) -> Settings:
        return cls(sparsities=(0.0, 0.8, 0.9), n_seeds=1, steps=200, batch_size=256)

    @classmethod
    def for_profile(cls, name: str) -> Settings:
        """Under ``paper``: the official notebook's training (10,000 steps, batch
        1024, Adam at 1e-3), which the defaults already are."""
        return profiles.build(cls, name, steps="steps", batch_size="batch_size", lr="lr")


def run(s: Settings, seed: int = 0, device: str = "cpu",
        progress: Callable[[int, int], None] | None = None) -> Result:
    """Train one model per sparsity (the best of ``n_seeds``) in one batched program."""
    from course.engine import ToyConfig, train

    cfg = ToyConfig.sweep(
        s.n_features, s.n_hidden,
        importance=s.importance_decay ** np.arange(s.n_features),
        density=[1.0 - sp for sp in s.sparsities], model=s.model, n_seeds=s.n_seeds, steps=s.steps,
        batch_size=s.batch_size, lr=s.lr,
    )
    tr = train(cfg, seed=seed, device=device, progress=progress)
    return Result("superposition", asdict(s), seed, arrays=tr.arrays(),
                  info={"sparsities": list(s.sparsities)})
