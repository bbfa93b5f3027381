"""The book's table of contents (``_toc.yml``): parts in book order, then the
hand-written pages after the chapters."""

from __future__ import annotations

from pathlib import Path

from course.chapters import ChapterOutput
from course.concept import PARTS
from course.plugins import concept_order

#: hand-written pages, in book order before and after the concept chapters
PAGES_BEFORE = ["intro"]
#: hand-written pages that open the Foundations part, before its chapters
PAGES_FIRST = ["before-you-start"]
PAGES_AFTER = ["open-questions", "roadmap", "glossary", "references", "reproduction", "plugin-guide"]


def write_toc(src: Path, chapters: list[ChapterOutput]) -> None:
    """Write ``_toc.yml``: the intro as root, then one part per concept ``part``.

    Parts follow :data:`course.concept.PARTS` (foundations, then concepts),
    then any other part names alphabetically; chapters inside a part follow
    their ``order``. Hand-written pages of ``PAGES_FIRST`` open the
    Foundations part, those of ``PAGES_BEFORE`` close it, and those of ``PAGES_AFTER`` form the last part.
    """
    before = [p for p in PAGES_BEFORE[1:] if (src / f"{p}.md").exists()]
    first = [p for p in PAGES_FIRST if (src / f"{p}.md").exists()]
    after = [p for p in PAGES_AFTER if (src / f"{p}.md").exists()]
    parts: dict[str, list[str]] = {name: [] for name in PARTS}
    for ch in sorted(chapters, key=lambda c: concept_order(c.reg.concept)):
        parts.setdefault(ch.reg.concept.part, []).append(f"concepts/{ch.reg.concept.slug}")
    parts["foundations"] = first + parts["foundations"] + before
    extra = sorted(name for name in parts if name not in PARTS)
    lines = ["format: jb-book", f"root: {PAGES_BEFORE[0]}", "parts:"]
    for name in [*PARTS, *extra]:
        if parts[name]:
            caption = PARTS.get(name, name.replace("-", " ").capitalize())
            lines += [f"  - caption: {caption}", "    chapters:"] + [f"      - file: {p}" for p in parts[name]]
    if after:
        lines += ["  - caption: Beyond the chapters", "    chapters:"] + [f"      - file: {p}" for p in after]
    (src / "_toc.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")


