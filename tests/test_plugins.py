"""The plugin contract: loading, limiting, ordering, and naming broken plugins."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from course import Concept, GlossaryEntry, Result, RoadmapEntry, hookimpl, hookspecs
from course import plugins as P


class Tiny(Concept):
    def run(self, settings, seed=0, device="cpu", progress=None):
        return Result(self.slug, settings, seed)


def module_with(name: str, **attrs) -> ModuleType:
    mod = ModuleType(name)
    for k, v in attrs.items():
        setattr(mod, k, v)
    return mod


def concepts_plugin(name: str, *concepts: Concept) -> ModuleType:
    @hookimpl
    def register_concepts(register):
        for c in concepts:
            register(c)

    return module_with(name, register_concepts=register_concepts)


@pytest.fixture
def no_entry_points(monkeypatch):
    monkeypatch.setenv("COURSE_PLUGINS", "")


def test_builtins_load_through_entry_points():
    course = P.load()
    assert not course.errors, course.errors
    names = {p.name for p in course.plugins}
    assert "superposition" in names
    sp = course.get("superposition")
    assert sp.plugin.distribution == "superposition-course"
    assert "register_concepts" in sp.plugin.hooks


def test_env_var_limits_which_plugins_load(monkeypatch):
    monkeypatch.setenv("COURSE_PLUGINS", "superposition")
    course = P.load()
    assert [p.name for p in course.plugins] == ["superposition"]
    monkeypatch.setenv("COURSE_PLUGINS", "")
    assert P.load().plugins == []


def test_concepts_are_ordered_by_their_order_not_registration(no_entry_points):
    late = concepts_plugin("late", Tiny(slug="zeta", title="Z", order=5, summary=""))
    early = concepts_plugin("early", Tiny(slug="alpha", title="A", order=50, summary=""),
                            Tiny(slug="beta", title="B", order=1, summary=""))
    for extra in ([late, early], [early, late]):
        assert P.load(extra=extra).slugs() == ["beta", "zeta", "alpha"]


def test_roadmap_and_glossary_hooks(no_entry_points):
    @hookimpl
    def register_roadmap(register):
        register(RoadmapEntry("Section 9", "x", group="Paper", order=2))
        register(RoadmapEntry("Section 5", "y", group="Paper", order=1))

    @hookimpl
    def register_glossary(register):
        register(GlossaryEntry("Feature", "a direction"))

    course = P.load(extra=[module_with("rm", register_roadmap=register_roadmap, register_glossary=register_glossary)])
    assert [e.title for e, _ in course.roadmap] == ["Section 5", "Section 9"]
    assert [e.term for e, _ in course.glossary] == ["Feature"]


def test_broken_plugins_are_named_with_the_hook(no_entry_points):
    @hookimpl
    def register_concepts(register):
        raise RuntimeError("boom")

    @hookimpl
    def register_concept(register):  # misspelled hook
        pass

    @hookimpl
    def register_roadmap(register):
        register("not an entry")

    @hookimpl
    def register_glossary(wrong_argument):
        pass

    good = concepts_plugin("good", Tiny(slug="ok", title="OK", order=1, summary=""))
    course = P.load(extra=[
        module_with("raises", register_concepts=register_concepts),
        module_with("misspelled", register_concept=register_concept),
        module_with("wrongtype", register_roadmap=register_roadmap),
        module_with("wrongargs", register_glossary=register_glossary),
        good,
    ])
    errors = {e.plugin: e for e in course.errors}
    assert errors["raises"].where == "register_concepts" and "boom" in errors["raises"].message
    assert errors["misspelled"].where == "register_concept"
    assert "no hook named 'register_concept'" in errors["misspelled"].message
    assert errors["wrongtype"].where == "register_roadmap"
    assert "expected a course.RoadmapEntry" in errors["wrongtype"].message
    assert errors["wrongargs"].where == "registration"
    assert "wrong_argument" in errors["wrongargs"].message
    # the rest of the course still loads
    assert course.slugs() == ["ok"]


def test_invalid_and_duplicate_concepts_are_rejected(no_entry_points):
    class NoRun(Concept):
        pass

    with pytest.raises(TypeError, match="abstract method run"):
        NoRun(slug="norun", title="N", order=4, summary="")  # Concept.run is abstract
    a = concepts_plugin("a", Tiny(slug="same", title="One", order=1, summary=""))
    b = concepts_plugin("b", Tiny(slug="same", title="Two", order=2, summary=""),
                        Tiny(slug="Bad Slug", title="X", order=3, summary=""),
                        Tiny(slug="costly", title="C", order=4, summary="", cost=-1),
                        Tiny(slug="costs", title="C", order=5, summary="", cost="a lot"))  # type: ignore[arg-type]
    course = P.load(extra=[a, b])
    messages = [str(e) for e in course.errors]
    assert course.slugs() == ["same"]
    assert any("already provided by plugin 'a'" in m for m in messages)
    assert any("'Bad Slug' is not valid" in m for m in messages)
    assert any("'costly': cost must be a number of seconds, 0 or more, got -1" in m for m in messages)
    assert any("'costs': cost must be a number of seconds" in m for m in messages)


def test_every_hook_is_documented_where_declared():
    for name in ("register_concepts", "register_roadmap", "register_glossary", "register_commands"):
        fn = getattr(hookspecs, name)
        assert fn.__doc__ and len(fn.__doc__.split()) > 15, name


def _fake_distribution(root: Path, module_source: str, name: str = "thirdparty") -> None:
    """An installed distribution on sys.path: a module and a dist-info with an entry point."""
    (root / f"course_{name}.py").write_text(textwrap.dedent(module_source))
    info = root / f"course_{name}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: course-{name}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[course]\n{name} = course_{name}\n")


def test_third_party_distribution_loads_like_a_builtin(tmp_path, monkeypatch):
    _fake_distribution(tmp_path, """
        from course import Concept, Result, hookimpl

        class Extra(Concept):
            def run(self, settings, seed=0, device="cpu", progress=None):
                return Result(self.slug, settings, seed)

        @hookimpl
        def register_concepts(register):
            register(Extra(slug="extra", title="Extra", order=99, summary="A third-party concept."))
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("COURSE_PLUGINS", "superposition,thirdparty")
    course = P.load()
    assert not course.errors
    assert course.slugs()[-1] == "extra"
    info = course.get("extra").plugin
    assert (info.distribution, info.version) == ("course-thirdparty", "1.2.3")
    sys.modules.pop("course_thirdparty", None)


def test_import_error_names_the_plugin(tmp_path, monkeypatch):
    _fake_distribution(tmp_path, "import not_a_module_anywhere\n", name="broken")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("COURSE_PLUGINS", "broken")
    course = P.load()
    (err,) = course.errors
    assert err.plugin == "broken" and err.where == "import"
    assert "not_a_module_anywhere" in err.message


def test_chapter_link_links_only_chapters_in_the_book():
    from course.markup import chapter_linker, render_template

    text = 'See the {{ chapter_link("geometry", "geometry chapter") }}.'
    assert render_template(text, chapter_link=chapter_linker(["geometry"])) == "See the [geometry chapter](geometry.md)."
    assert render_template(text, chapter_link=chapter_linker(["superposition"])) == "See the geometry chapter."
    assert render_template(text) == "See the [geometry chapter](geometry.md)."  # course check: no build
