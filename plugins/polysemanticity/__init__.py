"""Polysemanticity: neurons that serve several features, in a privileged basis.

The paper's neuron model h = ReLU(Wx), x' = ReLU(Wᵀh + b) with n = 10
features and m = 5 neurons, importance 0.75^i, trained at densities from
0.75 down to 0.01. The ReLU on the hidden layer makes the neuron basis
privileged, so asking "which features does this neuron serve?" has an answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course import Concept, Result, hookimpl


class Polysemanticity(Concept):
    """The privileged-basis neuron model at several feature densities."""

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        from course_plugins.polysemanticity import experiment

        return experiment.run(experiment.Settings(**settings), seed, device, progress)


CONCEPT = Polysemanticity(
    slug="polysemanticity",
    title="Polysemanticity",
    order=20,
    summary="Neurons that respond to several unrelated features, and when a network makes them.",
    question="Why would one neuron fire for two things that have nothing to do with each other?",
    cost=46,  # seconds to build from an empty cache on one core (measured 2026-12-02)
)


@hookimpl
def register_concepts(register: Callable[[Concept], None]) -> None:
    register(CONCEPT)
