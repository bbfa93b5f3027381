"""Why superposition matters for safety, measured on the course's own toy models.

Side effects of switching off a neuron, mix-ups under adversarial attack, the
gap between reading neurons and reading features, and a preview of the way out
(a sparse dictionary that takes the features back out of superposition).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course import Concept, Result, hookimpl


class WhyItMatters(Concept):
    """Ablations, attacks and readings of the Polysemanticity, Sparsity and Superposition models."""

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        from course_plugins.safety import experiment

        return experiment.run(experiment.Settings(**settings), seed, device, progress)


CONCEPT = WhyItMatters(
    slug="why-it-matters",
    title="Why superposition matters for safety",
    # after Interference (50), whose negative biases and echoes this chapter's
    # attacks probe, and before Geometry (60), which it does not need
    order=55,
    summary="What superposition does to the safety tools we have: switching off a neuron breaks several "
            "features, attacks exploit shared directions, and reading neurons misses features.",
    question="If we can see every weight, why can't we just read what a model knows?",
    cost=26,  # seconds to build from an empty cache on one core (measured 2026-12-02)
)


@hookimpl
def register_concepts(register: Callable[[Concept], None]) -> None:
    register(CONCEPT)
