"""The objects a plugin hands to the course through its ``register_*`` hooks."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # manim is heavy; plugin modules import it lazily too
    from manim import Scene

    from course.results import Result

SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

#: the book's parts in reading order, with their captions in the table of
#: contents; a concept whose ``part`` is not listed here gets a part of its own
#: (captioned with its name) after these
PARTS: dict[str, str] = {"foundations": "Foundations", "concepts": "Concepts"}


@dataclass
class Figure:
    """A figure a concept wrote, with the words a reader needs to use it.

    ``caption`` says what to look at; ``alt`` describes the picture for someone
    who cannot see it.
    """

    name: str
    path: Path
    caption: str
    alt: str


@dataclass
class Animation:
    """A Manim scene built from an experiment's own result.

    ``scene`` is a zero-argument callable returning a fresh ``manim.Scene``
    (for example ``functools.partial(MyScene, weights)``); the render adapter
    calls it inside its own Manim configuration. ``description`` is the
    plain-language account of what the video shows, printed beside it.
    """

    scene: Callable[[], Scene]
    description: str
    title: str = ""


@dataclass
class Claim:
    """One checkable claim of the paper, next to what this build measured."""

    id: str
    statement: str
    measured: str
    holds: bool
    source: str = "https://transformer-circuits.pub/2022/toy_model/index.html"


@dataclass
class RoadmapEntry:
    """A future section of the course, listed on the roadmap page."""

    title: str
    description: str
    link: str = ""
    group: str = "Later sections of the paper"
    order: int = 100


@dataclass
class GlossaryEntry:
    """A glossary term and its short definition (MyST markdown allowed)."""

    term: str
    definition: str
    link: str = ""


@dataclass
class Concept:
    """A concept chapter: metadata plus the stages the course runs.

    Subclass it, fill in the metadata and override :meth:`settings` and
    :meth:`run`; the other stages have working defaults. Every stage receives
    what the earlier ones produced, so a plugin never recomputes its
    experiment::

        settings() -> run(settings, seed, device) -> Result
        metrics(result) -> dict        # JSON-serialisable, with a "runs" list
        figures(result, metrics, outdir) -> list[Figure]
        animation(result, metrics) -> Animation | None
        chapter() -> str               # MyST + Jinja2 template
        claims(metrics) -> list[Claim]

    ``order`` places the chapter in the book (smaller first); built-ins use
    multiples of 10. ``part`` names the part of the book the chapter belongs
    to: ``"foundations"`` (before the concept chapters, for pages that set up
    the vocabulary), ``"concepts"`` (the default), or any other name, which
    becomes a part of its own after the concepts (see :data:`PARTS`).
    """

    slug: str
    title: str
    order: int
    summary: str
    question: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    part: str = "concepts"

    # -- stages ------------------------------------------------------------
    def settings(self, quick: bool = False) -> dict[str, Any]:
        """The experiment settings (JSON-serialisable); ``quick`` gives the
        smallest settings that still exercise the code (used by checks)."""
        return {}

    def run(
        self,
        settings: dict[str, Any],
        seed: int = 0,
        device: str = "cpu",
        progress: Callable[[int, int], None] | None = None,
    ) -> Result:
        """Train the experiment and return its :class:`course.Result`."""
        raise NotImplementedError(f"concept {self.slug!r} does not define run()")

    def metrics(self, result: Result) -> dict[str, Any]:
        """Measure the trained result. Must return ``{"runs": [...], ...}``."""
        return {"runs": []}

    def figures(self, result: Result, metrics: dict[str, Any], outdir: Path) -> list[Figure]:
        """Write figures into ``outdir`` and describe them."""
        return []

    def animation(self, result: Result, metrics: dict[str, Any]) -> Animation | None:
        """The Manim scene for this concept, built from ``result``."""
        return None

    def chapter(self) -> str:
        """The chapter template: by default ``chapter.md`` beside the module
        that defines the concept's class."""
        path = self.source_dir() / "chapter.md"
        return path.read_text(encoding="utf-8")

    def claims(self, metrics: dict[str, Any]) -> list[Claim]:
        """The paper's claims this concept checks, judged on ``metrics``."""
        return []

    # -- helpers -----------------------------------------------------------
    def source_dir(self) -> Path:
        """The folder of the module that defines this concept's class."""
        return Path(inspect.getfile(type(self))).resolve().parent

    def source_files(self) -> list[Path]:
        """The plugin's own files. Its code (``.py``) keys the figure and
        render caches, and the modules a run imports key the experiment;
        chapter text (``.md``, ``.j2``) keys nothing, so editing it only
        rewrites the page."""
        root = self.source_dir()
        return sorted(
            p for p in root.rglob("*") if p.is_file() and p.suffix in {".py", ".md", ".j2"}
        )
