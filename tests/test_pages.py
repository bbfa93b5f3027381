"""Generated pages (roadmap, glossary, reproduction report), hand-written Jinja pages,
and the table of contents' parts."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

from course import Claim, Concept, GlossaryEntry, Result, RoadmapEntry, hookimpl, pages
from course.book import render_static_pages
from course.chapters import ChapterOutput
from course.plugins import PluginError, load
from course.toc import write_toc


class _Concept(Concept):
    def run(self, settings, seed=0, device="cpu", progress=None):
        return Result(self.slug, settings, seed)


class Roadmapper:
    __name__ = "roadmapper"

    @hookimpl
    def register_roadmap(self, register):
        register(RoadmapEntry("Exercises on toy models", "Hands-on.", "https://example.org/ex", group="Exercises"))
        register(RoadmapEntry("§7 Third", "Later still.", "https://example.org/7", order=7))
        register(RoadmapEntry("§5 First", "Next.", "https://example.org/5", order=5))
        register(RoadmapEntry("§6 Second", "Then.", "https://example.org/6", order=6))
        register(RoadmapEntry("Sequel B", "More.", "https://example.org/b", group=pages.SEQUELS_GROUP, order=2))
        register(RoadmapEntry("Sequel A", "First sequel.", "https://example.org/a", group=pages.SEQUELS_GROUP, order=1))


class Fallback:
    """A plugin without concepts: its terms are fallbacks."""

    __name__ = "fallback"

    @hookimpl
    def register_glossary(self, register):
        register(GlossaryEntry("Sparsity", "General definition.", "https://example.org/general"))
        register(GlossaryEntry("Zebra", "Only here.", "https://example.org/zebra"))


def _concept_plugin(name: str, slug: str, order: int, part: str = "concepts", terms=()):
    class Plugin:
        __name__ = name

        @hookimpl
        def register_concepts(self, register):
            register(_Concept(slug=slug, title=slug.title(), order=order, summary="s", part=part))

        @hookimpl
        def register_glossary(self, register):
            for term, definition in terms:
                register(GlossaryEntry(term, definition, "https://example.org/" + slug))

    return Plugin()


@pytest.fixture
def no_installed_plugins(monkeypatch):
    monkeypatch.setenv("COURSE_PLUGINS", "")


def test_roadmap_names_the_sections_and_sequels_in_one_sentence(no_installed_plugins):
    text = pages.roadmap(load(extra=[Roadmapper()]))
    assert ("In the future sections that will be written, we will focus on sections 5–7 of the paper "
            "and go over the following sequel papers: [Sequel A](https://example.org/a) and "
            "[Sequel B](https://example.org/b).") in text
    # groups: the paper's sections, then sequels, then any other group; entries by order
    assert text.index("## " + pages.SECTIONS_GROUP) < text.index("## Sequel papers") < text.index("## Exercises")
    assert text.index("§5 First") < text.index("§6 Second") < text.index("§7 Third")
    # entries from outside this distribution say which plugin added them
    assert "*(added by the `roadmapper` plugin)*" in text


def test_roadmap_without_entries_says_so(no_installed_plugins):
    assert "No plugin has registered a future section yet." in pages.roadmap(load())


def test_the_courses_own_distribution_is_found_the_quick_way_and_the_slow(monkeypatch):
    """Read from top_level.txt, without scanning every distribution's files, it
    is the distribution packages_distributions names; where no distribution
    has a top_level.txt, the answer is packages_distributions' own."""
    import importlib.metadata as md

    slow = md.packages_distributions().get("course", [""])[0]
    assert slow
    real_scan, real_dists = md.packages_distributions, md.distributions

    def no_scan():
        raise AssertionError("scanned every distribution")

    pages.own_distribution.cache_clear()
    try:
        monkeypatch.setattr(md, "packages_distributions", no_scan)
        assert pages.own_distribution() == slow

        class Bare:  # a distribution that does not list its packages
            def __init__(self, dist):
                self.dist = dist

            def read_text(self, name):
                return None if name == "top_level.txt" else self.dist.read_text(name)

            def __getattr__(self, name):
                return getattr(self.dist, name)

        scanned = []

        def scan():
            scanned.append(real_scan())
            return scanned[-1]

        monkeypatch.setattr(md, "distributions", lambda: (Bare(d) for d in real_dists()))
        monkeypatch.setattr(md, "packages_distributions", scan)
        pages.own_distribution.cache_clear()
        found = pages.own_distribution()
        assert len(scanned) == 1
        assert found == scanned[0].get("course", [""])[0]
    finally:
        monkeypatch.undo()
        pages.own_distribution.cache_clear()


@pytest.mark.parametrize(("titles", "expected"), [
    (["§5 A"], "section 5"),
    (["§5 A", "§7 B"], "sections 5 and 7"),
    (["§5 A", "§6 B", "§7 C"], "sections 5–7"),
    (["Appendix", "§6 B"], "the sections “Appendix” and “§6 B”"),
])
def test_section_span(titles, expected):
    assert pages.section_span(titles) == expected


def test_glossary_prefers_the_chapters_own_definition_and_links_the_chapter(no_installed_plugins):
    course = load(extra=[Fallback(), _concept_plugin("sparse", "sparsity", 40, terms=[("sparsity", "The chapter's definition.")])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback replaced by a chapter is not worth a warning
        text = pages.glossary(course, built=["sparsity"])
    assert "The chapter's definition." in text and "General definition." not in text
    assert "Explained in [Sparsity](concepts/sparsity.md)." in text
    assert "Zebra\n  Only here. ([source](https://example.org/zebra))" in text
    assert text.index("sparsity\n") < text.index("Zebra\n")  # alphabetical, case-insensitive
    assert text.count("````{glossary}") == 1


def test_glossary_links_only_chapters_that_were_built(no_installed_plugins):
    course = load(extra=[_concept_plugin("sparse", "sparsity", 40, terms=[("Sparsity", "Defined.")])])
    assert "Explained in" not in pages.glossary(course, built=[])


def test_two_chapters_defining_a_term_warn_and_the_earlier_chapter_wins(no_installed_plugins):
    early = _concept_plugin("early", "alpha", 10, part="foundations", terms=[("Feature", "Early.")])
    late = _concept_plugin("late", "beta", 5, terms=[("feature", "Late.")])
    with pytest.warns(UserWarning, match="'feature' from plugin 'late' is also defined by plugin 'early'"):
        text = pages.glossary(load(extra=[late, early]))
    assert "Early." in text and "Late." not in text


def _chapter(slug: str, order: int, claims: list[Claim], part: str = "concepts") -> ChapterOutput:
    from course.plugins import PluginInfo, Registered

    concept = _Concept(slug=slug, title=slug.title(), order=order, summary="s", part=part)
    return ChapterOutput(Registered(concept, PluginInfo(slug)), {"runs": [{"x": 1}]}, [], None, claims)


def test_reproduction_report_counts_lists_failures_and_escapes_tables():
    ok = Claim("a", "A holds | with a pipe.", "0.50", True, "https://example.org/a")
    bad = Claim("b", "B fails.", "0.10", False)
    chapters = [_chapter("later", 30, [bad]), _chapter("first", 10, [ok], part="foundations")]
    err = PluginError("broken", "broken.run()", "ValueError: boom")
    text = pages.reproduction(chapters, [err])
    assert "**Does this build reproduce the paper?** 1 of 2 checked claims hold in this build." in text
    assert "## Claims that do not hold in this build" in text and "**Later:** B fails." in text
    assert text.index("## First") < text.index("## Later")  # book order, not list order
    assert "A holds \\| with a pipe. ([source](https://example.org/a))" in text
    assert "| ✗ **no** |" in text and "| ✓ yes |" in text
    assert "`broken` in broken.run(): ValueError: boom" in text


def test_identities_are_listed_apart_and_not_counted_and_tolerances_are_stated():
    finding = Claim("f", "Training finds a pentagon.", "D = 0.40", True, tolerance="|D − 2/5| < 0.06")
    identity = Claim("i", "The rank of WᵀW is at most m.", "rank 2", True, identity=True)
    failing = Claim("g", "Training finds a <script>x</script> square.", "no", False)
    chapters = [_chapter("geometry", 60, [finding, identity, failing])]
    text = pages.reproduction(chapters, [])
    assert "1 of 2 checked claims hold in this build." in text
    assert "A further 1 checks of the mathematics are listed apart" in text
    assert "## Checks of the mathematics" in text
    assert text.index("The rank of WᵀW") > text.index("## Checks of the mathematics")
    assert "| D = 0.40 | \\|D − 2/5\\| &lt; 0.06 | ✓ yes |" in text  # &lt; shows as <
    assert "<script>" not in text and "&lt;script&gt;" in text  # plugin text is escaped
    doc = pages.reproduction_document(chapters)
    assert (doc["held"], doc["total"], doc["identities"]) == (1, 2, 1)
    assert [(c["id"], c["identity"], c["tolerance"]) for c in doc["claims"]] == [
        ("f", False, "|D − 2/5| < 0.06"), ("i", True, ""), ("g", False, "")]
    assert pages.page_context(chapters)["claims_total"] == 2


def test_reproduction_report_without_claims():
    assert "No chapter in this build checks a claim of the paper." in pages.reproduction([], [])


def test_page_context_and_rendered_static_pages(tmp_path):
    chapters = [_chapter("superposition", 30, [Claim("a", "s", "m", True), Claim("b", "s", "m", False)])]
    ctx = pages.page_context(chapters)
    assert ctx["claims_held"] == 1 and ctx["claims_total"] == 2
    assert ctx["concepts"]["superposition"]["runs"] == [{"x": 1}]

    (tmp_path / "intro.md.j2").write_text(
        "# Intro\n{% if 'superposition' in concepts %}x = {{ concepts.superposition.runs[0].x }}, "
        "{{ num(0.123) }}{% endif %}{% if 'missing' in concepts %}never{% endif %}\n", encoding="utf-8")
    (tmp_path / "plain.md").write_text("{{ not a template }}\n", encoding="utf-8")
    render_static_pages(tmp_path, chapters)
    assert (tmp_path / "intro.md").read_text(encoding="utf-8") == "# Intro\nx = 1, 0.12\n"
    assert not (tmp_path / "intro.md.j2").exists()
    assert (tmp_path / "plain.md").read_text(encoding="utf-8") == "{{ not a template }}\n"

    (tmp_path / "bad.md.j2").write_text("{{ concepts.nope.runs }}", encoding="utf-8")
    with pytest.raises(RuntimeError, match="bad.md.j2"):
        render_static_pages(tmp_path, chapters)


def test_toc_puts_foundations_first_and_unknown_parts_after_the_concepts(tmp_path: Path):
    for page in ("intro", "open-questions", "roadmap"):
        (tmp_path / f"{page}.md").write_text("# x\n", encoding="utf-8")
    chapters = [
        _chapter("later", 30, []),
        _chapter("exercise", 5, [], part="exercises"),
        _chapter("terms", 20, [], part="foundations"),
        _chapter("basics", 10, [], part="foundations"),
        _chapter("first", 10, []),
    ]
    write_toc(tmp_path, chapters)
    toc = yaml.safe_load((tmp_path / "_toc.yml").read_text(encoding="utf-8"))
    assert toc["root"] == "intro"
    parts = [(p["caption"], [c["file"] for c in p["chapters"]]) for p in toc["parts"]]
    assert parts == [
        ("Foundations", ["concepts/basics", "concepts/terms"]),
        ("Concepts", ["concepts/first", "concepts/later"]),
        ("Exercises", ["concepts/exercise"]),
        ("Beyond the chapters", ["open-questions", "roadmap"]),
    ]


BOOK = Path(__file__).resolve().parent.parent / "book"


def _items(text: str, bullet: str) -> list[str]:
    """Top-level list items of a markdown page, each with its continuation lines."""
    import re

    items: list[str] = []
    for line in text.splitlines():
        if re.match(bullet, line):
            items.append(line)
        elif items and line.startswith("  ") and line.strip():
            items[-1] += " " + line.strip()
        elif not line.strip() and items and not items[-1].endswith("\n"):
            items[-1] += "\n"
    return items


def test_every_reference_has_a_link():
    items = _items((BOOK / "references.md").read_text(encoding="utf-8"), r"^- ")
    assert len(items) >= 20
    unlinked = [i for i in items if "](https://" not in i]
    assert not unlinked, unlinked


def test_open_questions_lists_the_papers_fourteen_each_with_a_link():
    text = (BOOK / "open-questions.md").read_text(encoding="utf-8")
    section = text.split("## The paper's list", 1)[1].split("## Beyond the paper", 1)[0]
    items = _items(section, r"^\d+\. ")
    assert [int(i.split(".", 1)[0]) for i in items] == list(range(1, 15))
    assert all("](https://" in i for i in items), [i[:60] for i in items if "](https://" not in i]


def test_concepts_load_in_book_order_and_a_bad_part_is_named(no_installed_plugins):
    course = load(extra=[
        _concept_plugin("a", "late-concept", 1),
        _concept_plugin("b", "extra", 0, part="exercises"),
        _concept_plugin("c", "basics", 99, part="foundations"),
        _concept_plugin("d", "broken", 5, part="Not A Part"),
    ])
    assert course.slugs() == ["basics", "late-concept", "extra"]
    (err,) = course.errors
    assert err.plugin == "d" and "part must be a lower-case name" in err.message


# --------------------------------------------------------------------------- the build profile box


def test_each_chapter_says_which_profile_built_it_and_what_the_other_would_change() -> None:
    from course import pipeline

    course = load()
    poly = course.get("polysemanticity")
    default = pages.training_note(poly, "default", pipeline.profile_settings(poly, "default"))
    assert "built under the `default` build profile" in default
    assert "- models per setting: 128 → 1,000" in default  # this build's value → the paper's
    assert "- training steps: 3,000 → 10,000" in default and "- batch size: 128 → 1,024" in default

    paper = pages.training_note(poly, "paper", pipeline.profile_settings(poly, "paper"))
    assert "built under the `paper` build profile" in paper and "the default's value → this build's" in paper
    assert "- models per setting: 128 → 1,000" in paper

    sparsity = course.get("sparsity")
    parts = pages.training_note(sparsity, "default", pipeline.profile_settings(sparsity, "default"))
    assert "- `phase`: models per setting 8 → 10; training steps 1,000 → 10,000; batch size 128 → 1,024" in parts

    same = course.get("superposition")
    text = pages.training_note(same, "default", pipeline.profile_settings(same, "default"))
    assert "The `paper` profile builds it the same" in text and "→" not in text

    quick = pages.training_note(poly, "quick", poly.concept.settings(True))
    assert "quick settings" in quick and "→" not in quick


def test_setting_values_read_as_the_page_writes_them() -> None:
    assert pages.setting_value(10000) == "10,000"
    assert pages.setting_value(0.001) == "0.001"
    assert pages.setting_value((1.5, 1.68)) == "1.5 to 1.68"
    assert pages.setting_value((1.0, 0.5, 0.1, 0.01)) == "4 values from 1 to 0.01"
    assert pages.setting_value(True) == "True"
