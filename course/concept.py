"""The objects a plugin hands to the course through its ``register_*`` hooks."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from course.paper import PAPER_URL
from course.words import WORDS_FILE, Words

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
    who cannot see it. A concept on the plugin layout leaves both empty: the
    book fills them from the words blocks ``figure_NAME_caption`` and
    ``figure_NAME_alt`` (see :mod:`course.words`), so editing them redraws nothing.
    """

    name: str
    path: Path
    caption: str = ""
    alt: str = ""


@dataclass
class Animation:
    """A Manim scene built from an experiment's own result.

    ``scene`` is a zero-argument callable returning a fresh ``manim.Scene``
    (for example ``functools.partial(MyScene, weights)``); the render adapter
    calls it inside its own Manim configuration. ``description`` is the
    plain-language account of what the video shows, printed beside it, and
    ``title`` its title; on the plugin layout both come from the words blocks
    ``video_description`` and ``video_title`` when left empty.
    """

    scene: Callable[[], Scene]
    description: str = ""
    title: str = ""


@dataclass
class Judgement:
    """The numbers-and-boolean half of a claim, computed in ``analysis.py``.

    ``values`` are the measured numbers the words quote (block
    ``measured_ID``); ``identity`` marks a check of the mathematics (true of
    every model by construction) rather than a finding of training.
    """

    id: str
    holds: bool
    values: dict[str, Any] = field(default_factory=dict)
    identity: bool = False


@dataclass
class Claim:
    """One checkable claim of the paper, next to what this build measured."""

    id: str
    statement: str
    measured: str
    holds: bool
    source: str = PAPER_URL
    tolerance: str = ""
    identity: bool = False


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


#: the stages of a concept, the file of the plugin layout that holds each, and
#: the ``Concept`` method the stage calls (its default reads that file)
LAYOUT: dict[str, tuple[str, str]] = {
    "experiment": ("experiment.py", "run"),
    "analysis": ("analysis.py", "metrics"),
    "figures": ("figures.py", "figures"),
    "scene": ("scene.py", "animation"),
}


@dataclass
class Concept(ABC):
    """A concept chapter: metadata plus the stages the course runs.

    Subclass it, fill in the metadata and implement :meth:`run`. On the
    plugin layout (see the plugin author's guide) every other stage has a
    default that reads the plugin's own files, each file keying only its
    stage's cache::

        experiment.py   Settings (a dataclass with a quick() variant), run()
        analysis.py     metrics(result) -> dict; claims(metrics) -> [Judgement]
        figures.py      draw(result, metrics, outdir) -> {name: path}
        scene.py        animation(result, metrics) -> Animation | None
        words.md.j2     captions, alt texts, narration, claims, glossary
        chapter.md      the chapter template

    The stages, each receiving what the earlier ones produced::

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

    ``depends`` declares the plugin's helper files each stage uses besides
    its own layout file, e.g. ``{"experiment": ("shapes.py",)}``: they key
    that stage's cache too. Nothing else does.

    ``shared_experiment`` names the experiment module of another plugin (an
    import name such as ``"course_plugins.sparsity.experiment"``) when this
    chapter reports the same trained models: its settings and its file are
    this concept's, and the result is cached under that module's name, keyed
    by its configuration, so two chapters of one setting share one training.

    ``cost`` is a rough figure for how long the concept takes to build from
    an empty cache (training, figures and video, in seconds on one core at
    the default profile). A build with several workers starts the costliest
    concepts first, so that the long ones do not start last and the workers
    finish together; 0 (unknown) goes last. It changes only the order.
    """

    slug: str
    title: str
    order: int
    summary: str
    question: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    part: str = "concepts"
    depends: dict[str, tuple[str, ...]] = field(default_factory=dict)
    shared_experiment: str = ""
    cost: float = 0.0

    # -- stages ------------------------------------------------------------
    def settings(self, quick: bool = False) -> dict[str, Any]:
        """The experiment settings (JSON-serialisable); ``quick`` gives the
        smallest settings that still exercise the code (used by checks).

        By default: ``experiment.Settings()`` (or ``Settings.quick()``) as a dict."""
        module = self.experiment_module()
        settings_cls = getattr(module, "Settings", None) if module is not None else None
        if settings_cls is None:
            return {}
        value = settings_cls.quick() if quick else settings_cls()
        return dataclasses.asdict(value)

    @abstractmethod
    def run(
        self,
        settings: dict[str, Any],
        seed: int = 0,
        device: str = "cpu",
        progress: Callable[[int, int], None] | None = None,
    ) -> Result:
        """Train the experiment and return its :class:`course.Result`.

        On the plugin layout this hands over to ``experiment.run``::

            from . import experiment
            return experiment.run(experiment.Settings(**settings), seed, device, progress)
        """

    def metrics(self, result: Result) -> dict[str, Any]:
        """Measure the trained result. Must return ``{"runs": [...], ...}``.

        By default: ``analysis.metrics(result)``."""
        module = self.layout_module("analysis")
        if module is None or not hasattr(module, "metrics"):
            return {"runs": []}
        return module.metrics(result)

    def judgements(self, metrics: dict[str, Any]) -> list[Judgement]:
        """The claims' verdicts on ``metrics``: by default ``analysis.claims(metrics)``."""
        module = self.layout_module("analysis")
        if module is None or not hasattr(module, "claims"):
            return []
        return list(module.claims(metrics))

    def figures(self, result: Result, metrics: dict[str, Any], outdir: Path) -> list[Figure]:
        """Write figures into ``outdir`` and name them.

        By default: ``figures.draw(result, metrics, outdir)``, which returns
        ``{name: path}``; the words give each figure its caption and alt text."""
        module = self.layout_module("figures")
        if module is None or not hasattr(module, "draw"):
            return []
        drawn = module.draw(result, metrics, outdir)
        return [Figure(name, Path(path)) for name, path in dict(drawn).items()]

    def animation(self, result: Result, metrics: dict[str, Any]) -> Animation | None:
        """The Manim scene for this concept, built from ``result``.

        By default: ``scene.animation(result, metrics)``."""
        module = self.layout_module("scene")
        if module is None or not hasattr(module, "animation"):
            return None
        return module.animation(result, metrics)

    def chapter(self) -> str:
        """The chapter template: by default ``chapter.md`` beside the module
        that defines the concept's class."""
        path = self.source_dir() / "chapter.md"
        return path.read_text(encoding="utf-8")

    def words(self) -> Words:
        """The plugin's words (``words.md.j2`` beside the concept's module)."""
        return Words.load(self.source_dir() / WORDS_FILE)

    def claims(self, metrics: dict[str, Any]) -> list[Claim]:
        """The paper's claims this concept checks, judged on ``metrics``.

        By default each :meth:`judgements` verdict with its words: blocks
        ``claim_ID`` (the statement), ``measured_ID`` (rendered with the
        verdict's ``values``) and, if present, ``tolerance_ID`` and ``source_ID``
        (the link to the passage of the paper, by default the paper itself)."""
        verdicts = self.judgements(metrics)
        if not verdicts:
            return []
        words = self.words()
        base = self.words_context(metrics)
        out = []
        for v in verdicts:
            block = block_name(v.id)
            ctx = {**base, "values": v.values}
            out.append(Claim(
                v.id,
                words.render(f"claim_{block}", **ctx),
                words.render(f"measured_{block}", **ctx),
                bool(v.holds),
                source=words.get(f"source_{block}", **ctx) or PAPER_URL,
                tolerance=words.get(f"tolerance_{block}", **ctx),
                identity=v.identity,
            ))
        return out

    # -- helpers -----------------------------------------------------------
    def words_context(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """What every words block may use: ``concept``, ``metrics`` and ``runs``."""
        return {"concept": self, "metrics": metrics, "runs": metrics.get("runs", [])}

    def source_dir(self) -> Path:
        """The folder of the module that defines this concept's class."""
        return Path(inspect.getfile(type(self))).resolve().parent

    def package(self) -> str:
        """The import name of the plugin's package (the concept class's package)."""
        module = type(self).__module__
        mod = sys.modules.get(module)
        if mod is not None and getattr(mod, "__path__", None) is not None:
            return module  # the class is defined in the package's __init__
        return module.rpartition(".")[0] or module

    def experiment_module(self) -> ModuleType | None:
        """The experiment's module: :attr:`shared_experiment` if set, else the
        plugin's own ``experiment.py`` (None if it has none)."""
        if self.shared_experiment:
            return importlib.import_module(self.shared_experiment)
        return self.layout_module("experiment")

    def experiment_group(self) -> str:
        """The name the experiment's results are cached and locked under: the
        shared module's name, or the slug."""
        return self.shared_experiment or self.slug

    def layout_module(self, stage: str) -> ModuleType | None:
        """The module of the plugin layout that holds ``stage`` (None if the
        plugin has no such file)."""
        filename, _ = LAYOUT[stage]
        if not (self.source_dir() / filename).is_file():
            return None
        return importlib.import_module(f"{self.package()}.{Path(filename).stem}")

    def stage_files(self, stage: str) -> list[Path]:
        """The files that key ``stage``'s cache: its layout file if the plugin
        has it, else the file that defines the stage's method, plus what
        :attr:`depends` declares for it."""
        filename, method = LAYOUT[stage]
        own = self.source_dir() / filename
        if stage == "experiment" and self.shared_experiment:
            module = self.experiment_module()
            assert module is not None and module.__file__ is not None
            own = Path(module.__file__).resolve()
        elif not own.is_file():
            own = Path(inspect.getfile(getattr(type(self), method))).resolve()
        extra = [self.source_dir() / rel for rel in self.depends.get(stage, ())]
        return [own, *extra]


def block_name(name: str) -> str:
    """A claim id or figure name as it appears in a words block name
    (``intro-dense`` -> ``intro_dense``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)
