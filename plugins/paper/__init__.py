"""The paper as a whole: its later sections and sequels for the roadmap, and core terms.

This plugin has no concept chapter. Through ``register_roadmap`` it lists
what the book does not teach yet: sections 5 onward of "Toy Models of
Superposition" and the sequel papers. Through ``register_glossary`` it adds
the field's core vocabulary; a concept plugin that defines the same term
takes precedence (see :func:`course.pages.glossary`). All of their words are
in ``words.md.j2`` beside this file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from course import GlossaryEntry, RoadmapEntry, hookimpl
from course.words import Words

#: roadmap groups: the default group holds the paper's later sections
SECTIONS = RoadmapEntry("", "").group
SEQUELS = "Sequel papers"
_SECTION = re.compile(r"^§\s*(\d+)")


def words() -> Words:
    """This plugin's words file."""
    return Words.load(Path(__file__).with_name("words.md.j2"))


@hookimpl
def register_roadmap(register: Callable[[RoadmapEntry], None]) -> None:
    w = words()
    for title, description, link in w.entries("sections"):
        m = _SECTION.match(title)
        register(RoadmapEntry(title=title, description=description, link=link, group=SECTIONS,
                              order=int(m.group(1)) if m else 100))
    for order, (title, description, link) in enumerate(w.entries("sequels"), 1):
        register(RoadmapEntry(title=title, description=description, link=link, group=SEQUELS, order=10 * order))


@hookimpl
def register_glossary(register: Callable[[GlossaryEntry], None]) -> None:
    for term, definition, link in words().glossary():
        register(GlossaryEntry(term, definition, link))
