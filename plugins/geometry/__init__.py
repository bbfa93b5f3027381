"""Geometry: how many dimensions a feature gets, and the shapes features form.

The paper's "uniform superposition" experiment: every feature equally
important, many more features than dimensions (n ≫ m), and a sweep of feature
densities 1 − S, log-spaced in 1/(1 − S). It measures dimensions per feature
m/‖W‖_F² per model, and each feature's dimensionality D_i, and looks for the
groups of features that form digons, triangles, tetrahedra, pentagons and
square antiprisms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course import Concept, Result, hookimpl


class Geometry(Concept):
    """Uniform superposition: dimensions per feature and feature dimensionality."""

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        from course_plugins.geometry import experiment

        return experiment.run(experiment.Settings(**settings), seed, device, progress)


CONCEPT = Geometry(
    slug="geometry",
    title="The geometry of superposition",
    order=60,
    summary="Counting features with the Frobenius norm, feature dimensionality D_i, and the "
    "digons, triangles, tetrahedra, pentagons and square antiprisms features form.",
    question="How many dimensions does a feature get, and what shapes do features make?",
    depends={"analysis": ("shapes.py",), "scene": ("shapes.py",)},
    cost=88,  # seconds to build from an empty cache on one core (measured 2026-12-02)
)


@hookimpl
def register_concepts(register: Callable[[Concept], None]) -> None:
    register(CONCEPT)
