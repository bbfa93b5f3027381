"""Interference: what WᵀW says about how features overlap, and what it costs.

The chapter reads the Sparsity chapter's trained result (its experiment
module is this concept's ``shared_experiment``), so the two chapters quote one
trained model per setting:

- the paper's "basic results" setting (n = 20 features, m = 5 hidden
  dimensions, importance I_i = 0.7^(i−1) for features numbered from 1) at
  several densities, for the linear model and the ReLU-output model side by
  side: the loss split into feature benefit and interference, the biases, and
  the spectrum of WᵀW;
- one small ReLU model (n = 5, m = 2) whose weights can be drawn as arrows:
  the animation fires one of its features and shows the read-outs of the
  others, the bias and the ReLU.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course import Concept, Result, hookimpl


class Interference(Concept):
    """Reading WᵀW: overlaps, their cost in the loss, and how the ReLU filters them."""

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        from course_plugins.sparsity import experiment

        return experiment.run(experiment.Settings(**settings), seed, device, progress)


CONCEPT = Interference(
    slug="interference",
    title="Interference",
    order=50,
    summary="Reading WᵀW: how much features overlap, what the overlap costs in the loss, "
    "and how a negative bias and the ReLU filter it out.",
    question="Why is WᵀW a features × features table, and how do we read superposition off it?",
    shared_experiment="course_plugins.sparsity.experiment",
    cost=8,  # seconds to build from an empty cache on one core (measured 2026-12-02)
)


@hookimpl
def register_concepts(register: Callable[[Concept], None]) -> None:
    register(CONCEPT)
