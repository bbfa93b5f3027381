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


@pytest.mark.parametrize("cls", [course.Figure, course.Animation, course.Claim, course.Judgement,
                                 course.RoadmapEntry, course.GlossaryEntry, course.Result],
                         ids=lambda c: c.__name__)
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


# --------------------------------------------------------------------------- the layout and the helpers


def _fenced_blocks(guide: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", guide, re.MULTILINE | re.DOTALL)


def _tree_paths(block: str) -> list[str]:
    """The files of an indented folder tree (``name/`` opens a folder; text after
    two spaces beyond a name is a comment)."""
    lines = [ln for ln in block.splitlines() if ln.strip()]
    root = lines[0].strip()
    stack: list[tuple[int, str]] = []
    files = []
    for line in lines[1:]:
        depth = len(line) - len(line.lstrip())
        name = re.split(r"\s{2,}", line.strip())[0]
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if name.endswith("/"):
            stack.append((depth, name))
        else:
            files.append("".join(n for _, n in stack) + name)
    assert root.endswith("/")
    return files


def _table_names(guide: str) -> set[str]:
    """The code names that start a row of a table in the guide (``| `name` |`` or ``| `name(...)` |``)."""
    return set(re.findall(r"^\| `([A-Za-z_]\w*)", guide, re.MULTILINE))


def test_layout_in_the_guide_is_what_course_new_writes(guide: str) -> None:
    from course.scaffold import Names, render_files

    trees = [b for b in _fenced_blocks(guide, "text") if b.startswith("course-feature-splitting/")]
    assert len(trees) == 1, "the guide shows the tree `course new feature-splitting` writes once"
    assert sorted(_tree_paths(trees[0])) == sorted(render_files(Names.from_name("feature-splitting")))


def test_layout_table_lists_every_layout_file(guide: str) -> None:
    from course.concept import LAYOUT
    from course.words import WORDS_FILE

    rows = set(re.findall(r"^\| `([\w.]+)` \|", guide, re.MULTILINE))
    from course.chapters import PRACTICE_FILE

    for filename in [*(f for f, _ in LAYOUT.values()), WORDS_FILE, "chapter.md", PRACTICE_FILE, "__init__.py"]:
        assert filename in rows, f"the guide's layout table has no row for {filename}"


def _documented_blocks(guide: str) -> list[str]:
    return re.findall(r"^\| `([a-z_]*(?:NAME|ID)?[a-z_]*)` \|", guide, re.MULTILINE)


def test_words_blocks_documented_are_those_the_scaffold_writes(guide: str) -> None:
    from course.scaffold import Names, render_files
    from course.words import Words

    documented = [b for b in _documented_blocks(guide)
                  if b.startswith(("figure_", "video_", "narration_", "claim_", "measured_", "tolerance_",
                                   "source_", "glossary"))]
    assert {"figure_NAME_caption", "figure_NAME_alt", "video_title", "video_description", "narration_NAME",
            "claim_ID", "measured_ID", "tolerance_ID", "source_ID", "glossary"} == set(documented)
    patterns = {b: re.compile("^" + b.replace("NAME", r"\w+").replace("ID", r"\w+") + "$") for b in documented}
    files = render_files(Names.from_name("feature-splitting"))
    words = Words(files["course_feature_splitting/words.md.j2"])
    for name in words.names():
        assert any(p.match(name) for p in patterns.values()), f"the scaffold's block {name} is not in the guide"
    for block, p in patterns.items():
        assert any(p.match(name) for name in words.names()), f"the scaffold has no {block} block"


def test_template_names_are_documented(guide: str) -> None:
    import jinja2

    from course import chapters
    from course.words import environment

    plain = jinja2.Environment()
    env = environment()
    names = {*chapters.CONTEXT_NAMES, "index", "values",
             *Concept.words_context(None, {"runs": []}),  # type: ignore[arg-type]  # self is only quoted
             *(set(env.filters) - set(plain.filters)), *(set(env.globals) - set(plain.globals))}
    missing = sorted(n for n in names if not re.search(rf"`{n}[`(]", guide))
    assert not missing, f"the guide does not name {missing}"


def test_engine_is_documented(guide: str) -> None:
    import numpy as np

    from course.engine import ToyConfig, TrainResult

    cfg = ToyConfig.sweep(3, 2, density=[1.0, 0.5], n_seeds=2)
    tr = TrainResult(cfg, np.zeros((2, 2, 2, 3)), np.zeros((2, 2, 3)), np.zeros((2, 2)), np.zeros((2, 2, 1)),
                     np.zeros(1, dtype=np.int64))
    rows = _table_names(guide)
    assert not sorted(set(tr.arrays()) - rows), "every array of TrainResult.arrays() has a row in the guide"
    options = {f.name for f in dataclasses.fields(ToyConfig)} - {"n_features", "n_hidden", "importance",
                                                                 "feature_probability"}
    assert not sorted(options - rows), "every keyword of ToyConfig.sweep has a row in the guide"
    assert "ToyConfig.sweep(n_features, n_hidden, *, importance=1.0, density=1.0, **kwargs)" in guide
    assert 'train(cfg, seed=0, device="cpu", progress=None)' in guide


def _public(module: object, kinds: tuple[type, ...] = ()) -> list[str]:
    out = []
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        if inspect.isfunction(value) and value.__module__ == module.__name__:  # type: ignore[attr-defined]
            out.append(name)
        elif name.isupper() and (not kinds or isinstance(value, kinds)):
            out.append(name)
    return out


@pytest.mark.parametrize("module", ["course.metrics", "course_animations.palette", "course_animations.mobjects"])
def test_helper_module_is_documented(module: str, guide: str) -> None:
    import importlib

    mod = importlib.import_module(module)
    names = _public(mod, (int, float, str, list))
    assert names
    missing = [n for n in names if not re.search(rf"`{n}[`(]|`{n}, |, {n}[`,]", guide)]
    assert not missing, f"the guide does not document {module}: {missing}"
