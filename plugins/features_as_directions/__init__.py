"""Features as directions: h = Wx drawn as arrows, from a tiny trained linear model.

A foundations chapter (``part="foundations"``): it sets up the picture every
later chapter uses. Three features, two hidden dimensions, the linear model
x' = WᵀWx + b on dense data; four models from different random starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course import Concept, Result, hookimpl


class FeaturesAsDirections(Concept):
    """A linear model with three features and two hidden dimensions."""

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        from course_plugins.features_as_directions import experiment

        return experiment.run(experiment.Settings(**settings), seed, device, progress)


CONCEPT = FeaturesAsDirections(
    slug="features-as-directions",
    title="Features as directions",
    order=10,
    part="foundations",
    summary="A feature is a direction in activation space; a layer adds the directions up.",
    question="What does it mean for a network to store a feature?",
    cost=12,  # seconds to build from an empty cache on one core (measured 2026-12-02)
)


@hookimpl
def register_concepts(register: Callable[[Concept], None]) -> None:
    register(CONCEPT)
