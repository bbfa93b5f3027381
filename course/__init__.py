"""superposition-course: a plugin-based course on superposition in neural networks.

Plugin authors need only this module::

    from course import hookimpl, Concept, Judgement, Animation, Result, step

(and, for the numbers, :mod:`course.engine` and :mod:`course.metrics`).
"""

import pluggy

hookimpl = pluggy.HookimplMarker("course")
hookspec = pluggy.HookspecMarker("course")

from course.concept import (  # noqa: E402
    Animation,
    Claim,
    Concept,
    Figure,
    GlossaryEntry,
    Judgement,
    RoadmapEntry,
)
from course.results import Result, jsonable  # noqa: E402
from course.words import step  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Animation",
    "Claim",
    "Concept",
    "Figure",
    "GlossaryEntry",
    "Judgement",
    "Result",
    "RoadmapEntry",
    "hookimpl",
    "hookspec",
    "jsonable",
    "step",
]
