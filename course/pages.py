"""Pages generated from what plugins register and what the build measured."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from course.book import ChapterOutput
    from course.plugins import Course, PluginError


def _link(text: str, url: str) -> str:
    return f"[{text}]({url})" if url else text


def roadmap(course: Course) -> str:
    """The "future sections" page, grouped as the plugins registered it."""
    lines = [
        "# Future sections (roadmap)",
        "",
        "**What comes after the geometry of superposition?** This book stops at section 4 of "
        "[Toy Models of Superposition](https://transformer-circuits.pub/2022/toy_model/index.html). "
        "In the future sections that will be written, we will focus on the paper's later sections "
        "and go over the \"sequel\" papers listed below. Plugins add entries to this page through "
        "the `register_roadmap` hook.",
        "",
    ]
    for group, items in groupby(course.roadmap, key=lambda e: e[0].group):
        lines += [f"## {group}", ""]
        for entry, _plugin in items:
            lines.append(f"- **{_link(entry.title, entry.link)}.** {entry.description}")
        lines.append("")
    return "\n".join(lines)


def glossary(course: Course) -> str:
    """Every registered glossary term, alphabetically."""
    lines = ["# Glossary", "", "**What do the words in this book mean?** Short definitions, each linked to its source.", ""]
    seen: set[str] = set()
    for entry, _plugin in sorted(course.glossary, key=lambda e: e[0].term.lower()):
        if entry.term.lower() in seen:
            continue
        seen.add(entry.term.lower())
        lines += [_link(entry.term, entry.link), f": {entry.definition}", ""]
    return "\n".join(lines)


def reproduction(chapters: Sequence[ChapterOutput], errors: Sequence[PluginError]) -> str:
    """The paper's checkable claims next to what this build measured."""
    lines = [
        "# Reproduction report",
        "",
        "**Does this build reproduce the paper?** Each row is a claim of "
        "[Toy Models of Superposition](https://transformer-circuits.pub/2022/toy_model/index.html) "
        "that a chapter checks, the value this build measured, and whether the claim holds. "
        "The table is generated from the experiments the build ran.",
        "",
    ]
    rows = [(ch, cl) for ch in chapters for cl in ch.claims]
    held = sum(cl.holds for _, cl in rows)
    lines += [f"{held} of {len(rows)} claims hold in this build.", ""]
    lines += ["| Chapter | Claim | Measured | Holds |", "|---|---|---|---|"]
    for ch, cl in rows:
        slug = ch.reg.concept.slug
        mark = "✅ yes" if cl.holds else "❌ no"
        cell = cl.statement.replace("|", "\\|")
        lines.append(f"| [{ch.reg.concept.title}](concepts/{slug}.md) | {_link(cell, cl.source)} | {cl.measured.replace('|', '/')} | {mark} |")
    if errors:
        lines += ["", "## Chapters that failed to build", ""]
        lines += [f"- `{e.plugin}` in {e.where}: {e.message}" for e in errors]
    lines.append("")
    return "\n".join(lines)
