"""The shape of the code: every built-in plugin registers like a third-party
one and follows the plugin layout; the core modules import no cycle and name
no built-in concept."""

from __future__ import annotations

import ast
import importlib.metadata as md
from pathlib import Path

import pytest

from course import plugins

REPO = Path(__file__).resolve().parent.parent
CORE = REPO / "course"
#: the book's chapters in order: foundations, then concepts
BOOK_ORDER = [
    "features-as-directions", "terminology",
    "distributed-representations", "polysemanticity", "superposition", "sparsity", "interference", "why-it-matters",
    "geometry", "non-uniform-superposition",
]
LAYOUT = ("__init__.py", "experiment.py", "analysis.py", "words.md.j2", "chapter.md")
#: optional for a third-party plugin, present in every built-in concept: its exercises and takeaways
OPTIONAL = ("practice.md.j2",)


def _entry_points() -> list[md.EntryPoint]:
    return sorted((ep for ep in md.distribution("superposition-course").entry_points if ep.group == "course"),
                  key=lambda ep: ep.name)


@pytest.mark.parametrize("ep", _entry_points(), ids=lambda ep: ep.name)
def test_every_builtin_plugin_registers_like_a_third_party_one(ep: md.EntryPoint, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_PLUGINS", ep.name)
    course = plugins.load()
    assert not course.errors, course.errors
    assert [p.name for p in course.plugins] == [ep.name]
    assert course.plugins[0].distribution == "superposition-course"
    for reg in course.concepts:
        assert reg.concept.slug == ep.name  # a built-in plugin is named after its one concept
        assert reg.concept.summary.strip() and reg.concept.question.strip()


def test_the_book_order_is_computed_once_from_part_and_order() -> None:
    slugs = plugins.load().slugs()
    assert [s for s in BOOK_ORDER if s in slugs] == slugs


@pytest.mark.parametrize("folder", sorted(p for p in (REPO / "plugins").iterdir() if (p / "chapter.md").exists()),
                         ids=lambda p: p.name)
def test_every_builtin_concept_follows_the_plugin_layout(folder: Path) -> None:
    shared = {r.concept.source_dir(): r.concept.shared_experiment for r in plugins.load().concepts}
    layout = [n for n in LAYOUT if not (n == "experiment.py" and shared.get(folder.resolve()))]  # shares another's
    missing = [name for name in [*layout, *OPTIONAL] if not (folder / name).is_file()]
    assert not missing, f"plugins/{folder.name} lacks {missing}"
    init = (folder / "__init__.py").read_text(encoding="utf-8")
    assert len(init.splitlines()) <= 80, "__init__.py holds metadata and hooks only"
    scene = folder / "scene.py"
    if scene.exists():
        assert 'add_subcaption("' not in scene.read_text(encoding="utf-8"), "narration text goes in words.md.j2"


def _modules() -> dict[str, Path]:
    out = {}
    for path in CORE.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules and m != name}


def test_the_core_modules_import_no_cycle() -> None:
    """Counting imports inside functions too: a lazy import is still a dependency."""
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert not cycles, [" -> ".join(c) for c in cycles]


def test_the_core_names_no_builtin_concept() -> None:
    """What a chapter is lives in its plugin or in book/ templates, not in course/."""
    slugs = set(BOOK_ORDER)
    named = []
    for name, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if node.value in slugs:
                    named.append(f"{name}: {node.value!r}")
    assert not named
