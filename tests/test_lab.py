"""The chapters' notebooks: ``course lab`` writes one, and every one runs top to bottom.

Each notebook is executed by nbclient in a kernel of this interpreter, on
quick settings (COURSE_QUICK=1). The exercise cells are run as a learner
meets them (empty: each check must fail with a message naming its exercise)
and then with the folded solution (each check must pass), in one kernel.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from course import lab, plugins

COURSE = str(Path(sys.executable).with_name("course"))
#: the concept chapters of issue 16, each of which has a notebook
CONCEPT_CHAPTERS = {"superposition", "sparsity", "interference", "geometry", "polysemanticity",
                    "distributed-representations", "features-as-directions", "non-uniform-superposition",
                    "terminology"}


def _concepts() -> list:
    return plugins.load().concepts


def _with_notebooks() -> list[str]:
    return [r.concept.slug for r in _concepts() if lab.source(r.concept) is not None]


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A kernel spec whose kernel is this interpreter (not whatever ``python3`` names)."""
    folder = tmp_path_factory.mktemp("kernels")
    spec = folder / "course-test"
    spec.mkdir()
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "course test", "language": "python",
    }), encoding="utf-8")
    return str(folder)


def _execute(nb: nbformat.NotebookNode, kernels: str, monkeypatch: pytest.MonkeyPatch, cwd: Path) -> None:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    monkeypatch.setenv(lab.QUICK_ENV, "1")
    ksm = KernelSpecManager(kernel_dirs=[kernels])
    km = KernelManager(kernel_name="course-test", kernel_spec_manager=ksm)
    client = NotebookClient(nb, km=km, timeout=600, allow_errors=True, resources={"metadata": {"path": str(cwd)}})
    client.execute()


def _errors(cell: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


def rehearsal(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[tuple[int, int, int]]]:
    """The learner's notebook with each exercise's folded solution run after it:
    exercise (as written), check, solution, check again. Returns the notebook and,
    per exercise, (number, index of the first check, index of the second)."""
    cells = nb.cells
    solutions = {c.id.removeprefix("solution-"): c for c in cells if c.id.startswith("solution-")}
    checks = {i + 1 for i, c in enumerate(cells) if c.id.startswith("exercise-")}
    out, marks = [], []
    for i, cell in enumerate(cells):
        if i in checks or cell.id.startswith("solution-") or "solutions" in cell.metadata.get("tags", []):
            continue
        out.append(cell)
        if cell.id.startswith("exercise-"):
            k = cell.id.removeprefix("exercise-")
            check = cells[i + 1]
            assert "check" in check.metadata.get("tags", []), f"exercise {k} is not followed by its check"
            sol = nbformat.from_dict(solutions[k])
            sol.metadata.pop("jupyter", None)
            out += [check, sol, check]
            marks.append((int(k), len(out) - 3, len(out) - 1))
    new = nbformat.from_dict({**nb, "cells": [nbformat.from_dict(c) for c in out]})
    for c in new.cells:
        c.pop("id", None)  # each check runs twice: no cell id here
    return new, marks


def assert_rehearsal_passes(nb: nbformat.NotebookNode, kernels: str, monkeypatch, cwd: Path) -> None:
    """Run ``nb`` as a learner would (empty, then solved); every check behaves."""
    run, marks = rehearsal(nb)
    probe = nbformat.v4.new_code_cell("import sys; print(sys.executable)")
    run.cells.append(probe)
    _execute(run, kernels, monkeypatch, cwd)
    assert len(marks) >= 2, "a notebook poses at least two exercises"
    expected_failures = {first for _, first, _ in marks}
    for i, cell in enumerate(run.cells):
        if cell.cell_type != "code":
            continue
        errs = _errors(cell)
        if i in expected_failures:
            k = next(k for k, first, _ in marks if first == i)
            assert errs and errs[0].ename == "AssertionError", f"exercise {k}'s check passes on an empty answer"
            assert f"Exercise {k}" in errs[0].evalue, f"exercise {k}'s check gives no helpful message: {errs[0].evalue!r}"
        else:
            assert not errs, f"cell {i} failed:\n{cell.source}\n{errs[0].ename}: {errs[0].evalue}"
    printed = "".join(o.get("text", "") for o in run.cells[-1].outputs)
    assert printed.strip() == sys.executable, "the notebook ran in another interpreter"


def test_course_lab_writes_a_notebook_that_runs(tmp_path: Path, kernel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from course.cli.main import cli

    t0 = time.perf_counter()
    monkeypatch.chdir(tmp_path)  # a relative --dir, as a learner types it
    res = CliRunner().invoke(cli, ["lab", "superposition", "--dir", "tmp"], obj={"course": plugins.load()})
    assert res.exit_code == 0, res.output
    assert res.output.strip() == str(Path("tmp") / "superposition.ipynb")
    nb = nbformat.read(tmp_path / "tmp" / "superposition.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    ids = [c.id for c in nb.cells]
    assert [i for i in ids if i.startswith("exercise-")] == ["exercise-1", "exercise-2", "exercise-3"]
    # the solutions are folded at the end, after every exercise and check
    first_solution = ids.index("solution-1")
    assert all(i.startswith("solution-") for i in ids[first_solution:])
    assert all(c.metadata.jupyter.source_hidden for c in nb.cells[first_solution:])
    assert nb.cells[first_solution - 1].cell_type == "markdown"
    for c in nb.cells:
        if c.id.startswith("exercise-"):
            assert "..." in c.source and "unit" not in c.source, "an exercise cell gives its answer away"
    assert_rehearsal_passes(nb, kernel, monkeypatch, tmp_path)
    print(f"superposition notebook: {time.perf_counter() - t0:.1f}s")


@pytest.mark.slow
@pytest.mark.parametrize("slug", _with_notebooks())
def test_every_notebook_runs_on_quick_settings(slug: str, tmp_path: Path, kernel: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    concept = plugins.load().get(slug).concept
    assert_rehearsal_passes(lab.notebook(concept), kernel, monkeypatch, tmp_path)


def test_every_concept_chapter_has_a_well_formed_notebook() -> None:
    found = set(_with_notebooks())
    assert CONCEPT_CHAPTERS <= found, f"no notebook.py: {sorted(CONCEPT_CHAPTERS - found)}"
    for reg in _concepts():
        path = lab.source(reg.concept)
        if path is None:
            continue
        nb = lab.read(path)
        assert lab.problems(nb) == [], f"{path}: {lab.problems(nb)}"
        # the learner's file is deterministic: a build rewrites the same bytes
        assert lab.dumps(lab.notebook(reg.concept)) == lab.dumps(lab.notebook(reg.concept))


def _runtime_modules() -> set[str]:
    """The import names of what `pip install superposition-course` gives (its
    requirements, recursively, without extras), plus the standard library."""
    import importlib.metadata as md
    import re

    names: set[str] = set(sys.stdlib_module_names)
    todo, done = ["superposition-course"], set()
    while todo:
        dist_name = todo.pop()
        key = re.sub(r"[-_.]+", "-", dist_name).lower()
        if key in done:
            continue
        done.add(key)
        try:
            dist = md.distribution(dist_name)
        except md.PackageNotFoundError:
            continue
        top = dist.read_text("top_level.txt")
        names |= set(top.split()) if top else {key.replace("-", "_")}
        for f in dist.files or []:
            parts = f.parts
            if len(parts) > 1 and parts[1] == "__init__.py" or (len(parts) == 1 and parts[0].endswith(".py")):
                names.add(parts[0].removesuffix(".py"))
        for req in dist.requires or []:
            if "extra ==" in req:
                continue
            todo.append(re.split(r"[\s;<>=!~\[(]", req, maxsplit=1)[0])
    return names


def test_notebooks_import_only_what_the_package_installs() -> None:
    allowed = _runtime_modules() | {"course", "course_plugins", "course_animations", "course_book"}
    for reg in _concepts():
        if lab.source(reg.concept) is None:
            continue
        slug, nb = reg.concept.slug, lab.notebook(reg.concept)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(cell.source)):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                for name in names:
                    top = name.split(".")[0]
                    assert top not in {"tests", "pytest", "fakeplugins", "helpers", "playwright"}, f"{slug}: imports {name}"
                    assert top in allowed, f"{slug} imports {name}, which `pip install superposition-course` does not give"


def test_a_notebook_keys_no_cache() -> None:
    for reg in _concepts():
        path = lab.source(reg.concept)
        if path is None:
            continue
        for stage in ("experiment", "analysis", "figures", "scene"):
            assert path not in reg.concept.stage_files(stage), f"{reg.concept.slug}: notebook.py keys {stage}"


def course(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([COURSE, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_lab_errors_are_one_clear_line(tmp_path: Path) -> None:
    bad = course("lab", "no-such-concept", cwd=tmp_path)
    assert bad.returncode == 2
    assert "unknown concept 'no-such-concept'" in bad.stderr and "superposition" in bad.stderr
    assert "Traceback" not in bad.stderr
    for other in [r.concept.slug for r in _concepts() if lab.source(r.concept) is None][:1]:
        none = course("lab", other, cwd=tmp_path)
        assert none.returncode == 2 and f"concept {other!r} has no notebook" in none.stderr
        assert "superposition" in none.stderr.split("these have one:")[1] and "Traceback" not in none.stderr
    (tmp_path / "mine").mkdir()
    answers = tmp_path / "mine" / "superposition.ipynb"
    answers.write_text("my answers", encoding="utf-8")
    taken = course("lab", "superposition", "--dir", "mine", cwd=tmp_path)
    assert taken.returncode == 1 and "Traceback" not in taken.stderr
    assert "already exists" in taken.stderr and "--force" in taken.stderr
    assert answers.read_text(encoding="utf-8") == "my answers", "an existing notebook was overwritten"
    forced = course("lab", "superposition", "--dir", "mine", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert nbformat.reads(answers.read_text(encoding="utf-8"), as_version=4).metadata.course.concept == "superposition"


def test_a_malformed_source_is_named(tmp_path: Path) -> None:
    (tmp_path / "notebook.py").write_text('# %% tags=["exercise"]\nx = ...\n', encoding="utf-8")
    found = lab.problems(lab.read(tmp_path / "notebook.py"))
    assert any("solution" in p for p in found) and any("at least 2" in p for p in found)
    assert any(lab.QUICK_ENV in p for p in found)


def test_the_book_gets_each_notebook_and_a_box_linking_it(tmp_path: Path) -> None:
    concept = plugins.load().get("superposition").concept
    box = lab.publish(concept, tmp_path)
    written = tmp_path / "_static" / "notebooks" / "superposition.ipynb"
    assert written.read_text(encoding="utf-8") == lab.dumps(lab.notebook(concept))
    assert 'href="../_static/notebooks/superposition.ipynb" download' in box
    assert box.startswith(":::{admonition} Notebook") and "course lab superposition" in box
    page = "# Title\n\nThe opening answer.\n\n## First section\n\nText.\n"
    linked = lab.with_link(page, box)
    assert linked.index("The opening answer") < linked.index("Notebook") < linked.index("## First section")
    assert lab.with_link("# Title\n\nNo sections.\n", box).endswith(box)
    assert lab.with_link(page, "") == page
    # a concept without notebook.py gets neither file nor box
    for other in [r.concept for r in _concepts() if lab.source(r.concept) is None][:1]:
        assert lab.publish(other, tmp_path / "none") == ""
        assert not (tmp_path / "none").exists()


def test_the_build_keeps_each_learner_notebook_it_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second publish of the same notebook.py reads the cached notebook
    (nothing is converted); an edited source, a damaged cache file and a
    malformed source are converted again, and a malformed one is never kept."""
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    real = plugins.load().get("superposition").concept

    class Stub:  # a concept whose notebook.py is the test's own copy
        slug = "superposition"

        def source_dir(self) -> Path:
            return tmp_path / "plugin"

    (tmp_path / "plugin").mkdir()
    source = tmp_path / "plugin" / lab.NOTEBOOK_FILE
    source.write_text(lab.source(real).read_text(encoding="utf-8"), encoding="utf-8")
    made: list[Path] = []
    convert = lab.learner_notebook

    def counted(path: Path, slug: str):
        made.append(path)
        return convert(path, slug)

    monkeypatch.setattr(lab, "learner_notebook", counted)
    written = tmp_path / "book" / "_static" / "notebooks" / "superposition.ipynb"
    first = lab.publish(Stub(), tmp_path / "book")  # type: ignore[arg-type]
    text = written.read_text(encoding="utf-8")
    assert text == lab.dumps(lab.notebook(real)) and len(made) == 2  # the build's, and this check's
    written.unlink()
    assert lab.publish(Stub(), tmp_path / "book") == first  # type: ignore[arg-type]
    assert written.read_text(encoding="utf-8") == text and len(made) == 2, "converted again"
    (stored,) = (tmp_path / "cache" / lab.CACHE_DIR).iterdir()
    stored.write_text("{not json", encoding="utf-8")
    assert lab.publish(Stub(), tmp_path / "book") == first and len(made) == 3  # type: ignore[arg-type]
    assert written.read_text(encoding="utf-8") == text
    source.write_text(source.read_text(encoding="utf-8") + "\n# %%\nprint('one more cell')\n", encoding="utf-8")
    lab.publish(Stub(), tmp_path / "book")  # type: ignore[arg-type]
    assert len(made) == 4 and "one more cell" in written.read_text(encoding="utf-8")
    source.write_text('# %% tags=["exercise"]\nx = ...\n', encoding="utf-8")
    for _ in (1, 2):
        with pytest.raises(lab.LabError, match="solution"):
            lab.publish(Stub(), tmp_path / "book")  # type: ignore[arg-type]
    assert len(made) == 6 and len(list((tmp_path / "cache" / lab.CACHE_DIR).iterdir())) == 2


@pytest.mark.slow
def test_every_chapter_with_a_notebook_links_it_in_the_built_book(built_book: Path) -> None:
    for slug in _with_notebooks():
        page = (built_book / "concepts" / f"{slug}.html").read_text(encoding="utf-8")
        href = f"../_static/notebooks/{slug}.ipynb"
        assert f'href="{href}"' in page, f"{slug}: the chapter does not link its notebook"
        nb = nbformat.read(built_book / "concepts" / href, as_version=4)
        assert nb.metadata.course.concept == slug


@pytest.mark.slow
def test_the_notebook_course_new_writes_runs(tmp_path: Path, kernel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from course.scaffold import scaffold

    root = scaffold("coat-check", tmp_path)
    nb = lab.learner_notebook(root / "course_coat_check" / "notebook.py", "coat-check")
    monkeypatch.setenv("PYTHONPATH", str(root))  # the kernel imports the plugin without installing it
    assert_rehearsal_passes(nb, kernel, monkeypatch, tmp_path)
