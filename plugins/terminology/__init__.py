"""The terminology map: four tiny codes that pull the words apart.

A foundations chapter. Its "experiment" is a construction, not a training
run (see ``experiment.py``): four weight matrices built from angles, each
showing a different mix of the properties the words name, measured with
:mod:`course.metrics` in ``analysis.py``. It has no animation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course import Concept, Result, hookimpl


class Terminology(Concept):
    """Polysemanticity, superposition, distributed codes and interference, side by side."""

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu",
            progress: Callable[[int, int], None] | None = None) -> Result:
        from course_plugins.terminology import experiment

        return experiment.run(experiment.Settings(**settings), seed, device, progress)


CONCEPT = Terminology(
    slug="terminology",
    title="Terminology map",
    order=20,
    part="foundations",
    summary="Polysemanticity, superposition, distributed codes, interference and linear "
            "combination: what each word is about.",
    question="Polysemanticity, superposition, distributed representations: are they not all the same thing?",
    cost=2,  # seconds to build from an empty cache on one core (measured 2026-12-02)
)


@hookimpl
def register_concepts(register: Callable[[Concept], None]) -> None:
    register(CONCEPT)
