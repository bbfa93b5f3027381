"""Non-uniform superposition: what the neat polytopes do when features are not all alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course import Concept, Result, hookimpl


class NonUniformSuperposition(Concept):
    """One feature sparser or denser than the rest, correlated and anticorrelated features."""

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        from course_plugins.non_uniform_superposition import experiment

        return experiment.run(experiment.Settings(**settings), seed, device, progress)


CONCEPT = NonUniformSuperposition(
    slug="non-uniform-superposition",
    title="Non-uniform superposition",
    order=70,
    summary="What the pentagon does when one feature is sparser than the rest, and how correlated and "
    "anticorrelated features arrange themselves: orthogonal, antipodal, side by side, or collapsed to PCA.",
    question="What happens to the neat polytopes when features are not all alike?",
    cost=35,  # seconds to build from an empty cache on one core (measured 2026-12-02)
)


@hookimpl
def register_concepts(register: Callable[[Concept], None]) -> None:
    register(CONCEPT)
