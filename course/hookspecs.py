"""The hooks a course plugin may implement.

Every hook receives a ``register`` callback and calls it once per object it
contributes, the way simonw/llm's ``register_models`` does. A plugin is an
ordinary module (built in, or from any distribution with an entry point in the
``course`` group) whose functions are marked with :data:`course.hookimpl`.

pluggy calls implementations last-registered-first; the course never relies on
that order. Concepts are ordered by :attr:`course.Concept.order`, roadmap
entries by their ``order`` then title.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from course import hookspec

if TYPE_CHECKING:
    from course.concept import Concept, GlossaryEntry, RoadmapEntry


@hookspec
def register_concepts(register: Callable[[Concept], None]) -> None:
    """Contribute concept chapters.

    Called once, when the plugin manager is first asked for the concepts
    (``course list``, ``run``, ``render``, ``build``, ``check``). Call
    ``register(concept)`` for each :class:`course.Concept` instance the plugin
    provides. A concept bundles its metadata (slug, title, order, summary), its
    experiment, metrics, figures, animation, chapter template and the claims it
    checks. Slugs must be unique across all installed plugins.
    """


@hookspec
def register_roadmap(register: Callable[[RoadmapEntry], None]) -> None:
    """Contribute entries to the book's "future sections" roadmap.

    Called when the book is assembled. Call ``register(entry)`` with a
    :class:`course.RoadmapEntry` for each future section or sequel paper the
    plugin wants listed. Entries are grouped by ``entry.group`` and sorted by
    ``entry.order``.
    """


@hookspec
def register_glossary(register: Callable[[GlossaryEntry], None]) -> None:
    """Contribute glossary terms.

    Called when the book is assembled. Call ``register(entry)`` with a
    :class:`course.GlossaryEntry` per term. Terms are sorted alphabetically. A
    term registered twice keeps the definition of the plugin whose first
    concept comes earliest in the book; a plugin without concepts provides
    fallbacks that a concept plugin's own definition replaces silently, and a
    clash between two concept plugins is reported as a warning.

    A concept's own terms need no hook: the ``glossary`` block of its words
    file (``words.md.j2``) is collected automatically, each entry registered
    as a :class:`course.GlossaryEntry` of the concept's plugin. Implement this
    hook for terms that belong to no concept's words (a plugin without
    concepts, or terms computed in Python).
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add commands to the ``course`` command-line tool.

    Called once when the CLI starts, with the top-level :class:`click.Group`.
    Use ``@cli.command()`` to attach new commands. Built-in command names
    cannot be replaced.
    """
