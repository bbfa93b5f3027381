"""Superposition: more features than dimensions (the paper's introduction figure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course import Concept, Result, hookimpl


class Superposition(Concept):
    """n = 5 features squeezed into m = 2 hidden dimensions at several sparsities."""

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        from course_plugins.superposition import experiment

        return experiment.run(experiment.Settings(**settings), seed, device, progress)


CONCEPT = Superposition(
    slug="superposition",
    title="Superposition",
    order=30,
    summary="How a model stores more features than it has dimensions, when features are sparse.",
    question="How can two neurons hold five features?",
    cost=24,  # seconds to build from an empty cache on one core (measured 2026-12-02)
)


@hookimpl
def register_concepts(register: Callable[[Concept], None]) -> None:
    register(CONCEPT)
