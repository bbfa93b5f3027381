"""The interference experiments, trained into one result:

- the paper's "basic results" setting (n = 20 features, m = 5 hidden
  dimensions, importance 0.7^i) at several sparsities, for the linear model
  and the ReLU-output model side by side;
- one small ReLU model (n = 5, m = 2) whose weights can be drawn as arrows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from course import Result

MODELS = ("linear", "relu")


@dataclass(frozen=True)
class Arrows:
    """The small ReLU model the figure and the video draw as arrows."""

    n_features: int = 5
    n_hidden: int = 2
    importance_decay: float = 0.9
    sparsity: float = 0.9
    n_seeds: int = 6
    steps: int = 5000
    batch_size: int = 1024
    lr: float = 1e-3


@dataclass(frozen=True)
class Settings:
    """What the experiments train; :meth:`quick` is the smallest that exercises the code."""

    n_features: int = 20
    n_hidden: int = 5
    importance_decay: float = 0.7
    sparsities: tuple[float, ...] = (0.0, 0.5, 0.7, 0.9, 0.97, 0.99)
    n_seeds: int = 2
    steps: int = 4000
    batch_size: int = 1024
    lr: float = 1e-3
    eval_batch: int = 65536
    arrows: Arrows = Arrows()

    def __post_init__(self) -> None:
        # Settings(**settings) hands the arrows model's settings over as a dict
        if isinstance(self.arrows, dict):
            object.__setattr__(self, "arrows", Arrows(**self.arrows))

    @classmethod
    def quick(cls) -> Settings:
        return cls(sparsities=(0.0, 0.9, 0.99), n_seeds=1, steps=150, batch_size=256, eval_batch=4096,
                   arrows=Arrows(n_seeds=1, steps=150, batch_size=256))


def run(s: Settings, seed: int = 0, device: str = "cpu",
        progress: Callable[[int, int], None] | None = None) -> Result:
    """Both basic-results sweeps (one batched program each), then the arrows model."""
    from course.engine import ToyConfig, train

    density = [1.0 - sp for sp in s.sparsities]
    importance = s.importance_decay ** np.arange(s.n_features)
    arrays: dict[str, np.ndarray] = {}
    for model in MODELS:
        cfg = ToyConfig.sweep(
            s.n_features, s.n_hidden, importance=importance, density=density,
            model=model, n_seeds=s.n_seeds, steps=s.steps, batch_size=s.batch_size,
            lr=s.lr, eval_batch=s.eval_batch,
        )
        arrays.update(train(cfg, seed=seed, device=device, progress=progress).arrays(f"{model}_"))
    a = s.arrows
    cfg = ToyConfig.sweep(
        a.n_features, a.n_hidden, importance=a.importance_decay ** np.arange(a.n_features),
        density=[1.0 - a.sparsity], model="relu", n_seeds=a.n_seeds, steps=a.steps,
        batch_size=a.batch_size, lr=a.lr,
    )
    arrays.update(train(cfg, seed=seed + 1, device=device, progress=progress).arrays("arrows_"))
    return Result("interference", asdict(s), seed, arrays=arrays,
                  info={"sparsities": list(s.sparsities), "models": list(MODELS)})
