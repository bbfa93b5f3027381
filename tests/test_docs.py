"""The plugin author's guide (book/plugin-guide.md) cannot drift from the code.

Every hook in course/hookspecs.py and every public method of course.Concept
must have a heading ``name(args)`` and its exact signature in the guide, as
datasette's tests/test_docs.py does for its plugin hooks; every heading that
looks like a signature must name a real hook or method; every Concept field
and every object a plugin hands over must be documented.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

import course
from course import hookspecs
from course.concept import Concept
from course.plugins import plugin_manager

GUIDE = Path(__file__).resolve().parent.parent / "book" / "plugin-guide.md"
HEADING = re.compile(r"^###\s+`?(\w+)\((.*?)\)`?\s*$", re.MULTILINE)


def signature_line(fn: Callable[..., object]) -> str:
    """``def name(arg: type = default, ...) -> ret`` as the source spells it
    (annotations are strings under ``from __future__ import annotations``)."""
    sig = inspect.signature(fn)
    params = []
    for p in sig.parameters.values():
        text = p.name
        if p.annotation is not inspect.Parameter.empty:
            text += f": {p.annotation}"
        if p.default is not inspect.Parameter.empty:
            default = json.dumps(p.default) if isinstance(p.default, str) else repr(p.default)
            text += f" = {default}" if p.annotation is not inspect.Parameter.empty else f"={default}"
        params.append(text)
    ret = "" if sig.return_annotation is inspect.Signature.empty else f" -> {sig.return_annotation}"
    return f"def {fn.__name__}({', '.join(params)}){ret}"


def normalise(text: str) -> str:
    """One spelling for a signature however it is wrapped over lines."""
    text = " ".join(text.split())
    text = text.replace("( ", "(").replace(" )", ")").replace(",)", ")")
    return text


def hook_names() -> list[str]:
    return sorted(n for n in dir(plugin_manager().hook) if not n.startswith("_"))


def concept_methods() -> list[str]:
    return [n for n, v in vars(Concept).items() if callable(v) and not n.startswith("_")]


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def headings(guide: str) -> dict[str, str]:
    """Signature-like level-3 headings: name -> the argument list written."""
    return dict(HEADING.findall(guide))


def test_hooks_are_found() -> None:
    # the spec module and the plugin manager agree, and there is something to test
    declared = sorted(n for n, v in vars(hookspecs).items() if hasattr(v, "course_spec"))
    assert declared == hook_names()
    assert "register_concepts" in declared


@pytest.mark.parametrize("hook", hook_names())
def test_hook_is_documented(hook: str, guide: str, headings: dict[str, str]) -> None:
    spec = getattr(plugin_manager().hook, hook).spec
    args = ", ".join(spec.argnames)
    assert hook in headings, f"book/plugin-guide.md has no heading '### {hook}({args})'"
    assert headings[hook] == args, f"the guide's heading says {hook}({headings[hook]}), the spec {hook}({args})"
    expected = signature_line(getattr(hookspecs, hook))
    assert expected in normalise(guide), f"the guide does not show the signature: {expected}"


@pytest.mark.parametrize("method", concept_methods())
def test_concept_method_is_documented(method: str, guide: str, headings: dict[str, str]) -> None:
    fn = getattr(Concept, method)
    args = ", ".join(p for p in inspect.signature(fn).parameters if p != "self")
    assert method in headings, f"book/plugin-guide.md has no heading '### {method}({args})'"
    assert headings[method] == args, f"the guide's heading says {method}({headings[method]}), the code {method}({args})"
    expected = signature_line(fn)
    assert expected in normalise(guide), f"the guide does not show the signature: {expected}"


def test_stage_methods_are_covered() -> None:
    # the stages the course runs are all public methods of Concept (so all documented)
    assert {"settings", "run", "metrics", "figures", "animation", "chapter", "claims"} <= set(concept_methods())


def test_no_heading_documents_something_that_does_not_exist(headings: dict[str, str]) -> None:
    known = set(hook_names()) | set(concept_methods())
    stale = sorted(set(headings) - known)
    assert not stale, f"the guide documents {stale}, which are neither hooks nor Concept methods"


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(Concept)])
def test_concept_field_is_documented(name: str, guide: str) -> None:
    assert re.search(rf"^\| `{name}` \|", guide, re.MULTILINE), f"Concept.{name} is missing from the guide's field table"


@pytest.mark.parametrize("cls", [course.Figure, course.Animation, course.Claim, course.RoadmapEntry,
                                 course.GlossaryEntry, course.Result], ids=lambda c: c.__name__)
def test_object_fields_are_documented(cls: type, guide: str) -> None:
    expected = f"{cls.__name__}({', '.join(f.name for f in dataclasses.fields(cls))})"
    assert expected in guide, f"the guide does not list {expected}"


def test_signature_line_sees_a_change() -> None:
    # the comparison is real: a different default or annotation gives a different line
    def register_concepts(register: Callable[[object], None]) -> None: ...

    assert signature_line(register_concepts) != signature_line(hookspecs.register_concepts)
    assert normalise("def f(\n    self,\n    a: int = 0,\n) -> str") == "def f(self, a: int = 0) -> str"


def test_guide_mentions_the_commands_it_teaches(guide: str) -> None:
    for command in ("course new", "course check", "course plugins", "COURSE_PLUGINS", "course build"):
        assert command in guide
