"""The polysemanticity experiment: the paper's neuron model h = ReLU(Wx),
x' = ReLU(Wᵀh + b) with n = 10 features and m = 5 neurons, importance 0.75^i,
trained at densities from 0.75 down to 0.01 (best of several seeds)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from course import Result


@dataclass(frozen=True)
class Settings:
    """What the experiment trains; :meth:`quick` is the smallest that exercises the code."""

    model: str = "neuron"
    n_features: int = 10
    n_hidden: int = 5
    importance_decay: float = 0.75
    densities: tuple[float, ...] = (0.75, 0.35, 0.15, 0.1, 0.06, 0.02, 0.01)
    n_seeds: int = 8
    steps: int = 3000
    batch_size: int = 1024
    lr: float = 5e-3
    lr_schedule: str = "cosine"

    @classmethod
    def quick(cls) -> Settings:
        return cls(densities=(0.75, 0.1, 0.01), n_seeds=1, steps=200, batch_size=256)


def run(s: Settings, seed: int = 0, device: str = "cpu",
        progress: Callable[[int, int], None] | None = None) -> Result:
    """Train one model per density (the best of ``n_seeds``) in one batched program."""
    import torch

    from course.engine import ToyConfig, train

    cfg = ToyConfig.sweep(
        s.n_features, s.n_hidden,
        importance=s.importance_decay ** np.arange(s.n_features),
        density=list(s.densities), model=s.model, n_seeds=s.n_seeds, steps=s.steps,
        batch_size=s.batch_size, lr=s.lr, lr_schedule=s.lr_schedule,
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
    return Result("polysemanticity", asdict(s), seed, arrays=tr.arrays(),
                  info={"densities": list(s.densities)})
