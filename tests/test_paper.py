"""The paper plugin: the roadmap of the paper's later sections and sequels, and its glossary."""

from __future__ import annotations

from course_plugins import paper


def test_paper_plugin_lists_sections_five_onward_and_the_sequels():
    entries = []
    paper.register_roadmap(entries.append)
    sections = [e for e in entries if e.group == paper.SECTIONS]
    sequels = [e for e in entries if e.group == paper.SEQUELS]
    assert [int(e.title.split()[0][1:]) for e in sections] == list(range(5, 12))
    titles = " ".join(e.title for e in sequels)
    for name in ("Double Descent", "Towards Monosemanticity", "Scaling Monosemanticity", "ARENA"):
        assert name in titles
    assert all(e.link.startswith("https://") and e.description for e in entries)


def test_paper_plugin_glossary_terms_have_sources():
    terms = []
    paper.register_glossary(terms.append)
    assert len({t.term.lower() for t in terms}) == len(terms)
    assert all(t.link.startswith("https://") and len(t.definition) > 30 for t in terms)
