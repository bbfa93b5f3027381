"""Sparsity: why rarely-active features can share a dimension, and when they do.

Two experiments, trained together:

- the paper's "basic results": n = 20 features, m = 5 hidden dimensions,
  importance I_i = 0.7^(i−1) for features numbered from 1, a sweep of feature
  densities 1 − S, for the linear model and the ReLU-output model;
- the paper's phase diagram for n = 2, m = 1: the extra feature's relative
  importance against the density, every grid point classified as not
  learned, dedicated dimension, or superposition.

The experiment module is shared with the Interference chapter, which reports
the same basic-results models: both concepts name it as ``shared_experiment``,
so they are trained once, cached under the module's name, and both chapters
quote the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course import Concept, Result, hookimpl

#: the experiment module of this chapter and of the Interference chapter
EXPERIMENT = "course_plugins.sparsity.experiment"


class Sparsity(Concept):
    """Linear vs ReLU models across densities, and the n = 2, m = 1 phase diagram."""

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        from course_plugins.sparsity import experiment

        return experiment.run(experiment.Settings(**settings), seed, device, progress)


CONCEPT = Sparsity(
    slug="sparsity",
    title="Sparsity",
    order=40,
    summary="Why rarely-active features can share a dimension: the linear model never does, "
            "the ReLU model does once features are sparse, and the switch is a phase change.",
    question="When does a model start sharing dimensions between features?",
    depends={"analysis": ("phases.py",), "figures": ("phases.py",)},
    shared_experiment=EXPERIMENT,
    cost=32,  # seconds to build from an empty cache on one core (measured 2026-12-02)
)


@hookimpl
def register_concepts(register: Callable[[Concept], None]) -> None:
    register(CONCEPT)
