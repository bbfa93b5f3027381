"""The features-as-directions experiment: three features, two hidden dimensions,
the linear model x' = WᵀWx + b on dense data, trained from several random starts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from course import Result, profiles


@dataclass(frozen=True)
class Settings:
    """What the experiment trains; :meth:`quick` is the smallest that exercises the code."""

    model: str = "linear"
    n_features: int = 3
    n_hidden: int = 2
    importance: tuple[float, ...] = (1.0, 0.7, 0.4)
    density: float = 1.0
    n_seeds: int = 4
    steps: int = 6000
    batch_size: int = 1024
    lr: float = 3e-3
    # the input pushed through the model on the page: feature 3 is
    # present, so the reader sees what happens to a feature with no direction
    example_input: tuple[float, ...] = (0.8, 0.5, 0.7)

    @classmethod
    def quick(cls) -> Settings:
        return cls(n_seeds=2, steps=300, batch_size=256)

    @classmethod
    def for_profile(cls, name: str) -> Settings:
        """Under ``paper``: the notebook's 10,000 steps and batch 1024 (this
        model is the course's, not the paper's, so its learning rate stays)."""
        return profiles.build(cls, name, steps="steps", batch_size="batch_size")


def run(s: Settings, seed: int = 0, device: str = "cpu",
        progress: Callable[[int, int], None] | None = None) -> Result:
    """Train ``n_seeds`` models from different random starts (all kept: ``W_all``, ``b_all``)."""
    from course.engine import ToyConfig, train

    cfg = ToyConfig.sweep(
        s.n_features, s.n_hidden, importance=list(s.importance), density=[s.density],
        model=s.model, n_seeds=s.n_seeds, steps=s.steps, batch_size=s.batch_size, lr=s.lr,
    )
    tr = train(cfg, seed=seed, device=device, progress=progress)
    return Result("features-as-directions", asdict(s), seed, arrays=tr.arrays(),
                  info={"example_input": list(s.example_input)})
