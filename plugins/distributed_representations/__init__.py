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
from typing import Any

from course import Concept, Result, hookimpl


class DistributedRepresentations(Concept):
    """Square codes and a superposed code, each trained and then rotated."""

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        from course_plugins.distributed_representations import experiment

        return experiment.run(experiment.Settings(**settings), seed, device, progress)


CONCEPT = DistributedRepresentations(
    slug="distributed-representations",
    title="Distributed representations",
    order=10,
    summary="A feature spread over many units is not the same as more features than units.",
    question="If every neuron helps represent every feature, is the network in superposition?",
    # rotation.py: the experiment's rotation search, and the turn the metrics and the video make
    depends={"experiment": ("rotation.py",), "analysis": ("rotation.py",), "scene": ("rotation.py",)},
    cost=23,  # seconds to build from an empty cache on one core (measured 2026-12-02)
)


@hookimpl
def register_concepts(register: Callable[[Concept], None]) -> None:
    register(CONCEPT)
