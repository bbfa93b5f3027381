"""A concept's Jupyter notebook, made from the plugin's ``notebook.py``.

The source is a plain-text notebook in jupytext's ``py:percent`` format, so a
review in git reads it like any Python file. Cells are marked with tags::

    # %% tags=["exercise"]     a cell the learner fills in (placeholder: ...)
    # %% tags=["solution"]     its solution, the cell right after the exercise
    # %% tags=["check"]        assert-style checks after the exercise
    # %% [markdown] tags=["solutions"]   the heading the folded solutions go under

:func:`notebook` turns the source into the learner's notebook: the solutions
move to the end, under the ``solutions`` heading, with their code folded (the
``jupyter.source_hidden`` metadata JupyterLab and Notebook honour), so a learner
meets each exercise empty and its check fails until it is done. A notebook reads
the environment variable :data:`QUICK_ENV`: set to ``1``, it trains on the
experiment's quick settings (what the tests run); otherwise on the chapter's own.

A notebook keys no experiment, figure or video: editing ``notebook.py``
retrains nothing. The build keeps each learner notebook it made in the
cache's ``notebooks/`` folder, by the SHA-256 of its source.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from course.concept import Concept
    from course.plugins import Registered

#: the plugin file a notebook is made from
NOTEBOOK_FILE = "notebook.py"
#: set to "1", a notebook trains on the experiment's quick settings
QUICK_ENV = "COURSE_QUICK"
#: where the build puts the notebooks, relative to the book's sources
BOOK_FOLDER = "_static/notebooks"
#: the kernel a notebook asks for: the usual name of a Python 3 kernel
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


class LabError(ValueError):
    """A notebook that cannot be made or written; the message says what to do."""


def source(concept: Concept) -> Path | None:
    """The concept's ``notebook.py``, or None if its plugin has none."""
    path = concept.source_dir() / NOTEBOOK_FILE
    return path if path.is_file() else None


def file_name(concept: Concept) -> str:
    """The notebook's file name: ``SLUG.ipynb``."""
    return f"{concept.slug}.ipynb"


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def read(path: Path) -> NotebookNode:
    """The notebook of a ``py:percent`` file, as written (solutions in place)."""
    import jupytext  # type: ignore[import-untyped]

    try:
        return jupytext.reads(path.read_text(encoding="utf-8"), fmt="py:percent")
    except Exception as exc:  # noqa: BLE001 - any parse failure is the author's to fix
        raise LabError(f"{path}: not a py:percent notebook: {exc}") from None


def problems(nb: NotebookNode) -> list[str]:
    """What is wrong with a source notebook's exercise structure (empty: nothing)."""
    out = []
    cells = nb.cells
    exercises = 0
    for i, cell in enumerate(cells):
        tags = _tags(cell)
        if "exercise" in tags:
            exercises += 1
            nxt = cells[i + 1] if i + 1 < len(cells) else None
            if nxt is None or "solution" not in _tags(nxt):
                out.append(f"exercise cell {i} is not followed by its solution cell (tag 'solution')")
            after = cells[i + 2] if i + 2 < len(cells) else None
            if after is None or "check" not in _tags(after):
                out.append(f"exercise cell {i} has no check cell (tag 'check') after its solution")
        if "solution" in tags and (i == 0 or "exercise" not in _tags(cells[i - 1])):
            out.append(f"solution cell {i} does not follow an exercise cell")
    if exercises < 2:
        out.append(f"{exercises} exercise(s): a notebook poses at least 2")
    if sum("solutions" in _tags(c) and c.cell_type == "markdown" for c in cells) != 1:
        out.append("no markdown cell tagged 'solutions' (the heading the folded solutions go under)")
    if not any(QUICK_ENV in c.source for c in cells if c.cell_type == "code"):
        out.append(f"no code cell reads {QUICK_ENV} (the quick switch the tests use)")
    return out


def notebook(concept: Concept) -> NotebookNode:
    """The learner's notebook of ``concept``: exercises empty, solutions folded
    at the end, every cell with a stable id (the same file from one build to
    the next). Raises :class:`LabError` if the plugin has no notebook or its
    source is malformed."""
    path = source(concept)
    if path is None:
        raise LabError(f"concept {concept.slug!r} has no notebook (its plugin has no {NOTEBOOK_FILE})")
    return learner_notebook(path, concept.slug)


def learner_notebook(path: Path, slug: str) -> NotebookNode:
    """The learner's notebook of the ``py:percent`` source ``path`` (see :func:`notebook`)."""
    import nbformat

    nb = read(path)
    found = problems(nb)
    if found:
        raise LabError(f"{path}: {found[0]}")
    body, solutions = [], []
    heading = None
    for cell in nb.cells:
        tags = _tags(cell)
        if "solution" in tags:
            solutions.append(cell)
        elif "solutions" in tags and cell.cell_type == "markdown":
            heading = cell
        else:
            body.append(cell)
    assert heading is not None
    exercises = [c for c in body if "exercise" in _tags(c)]
    cells = [*body, heading, *solutions]
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i}"
        if cell.cell_type == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    for k, (ex, sol) in enumerate(zip(exercises, solutions, strict=True), start=1):
        ex["id"], sol["id"] = f"exercise-{k}", f"solution-{k}"
        sol.metadata["jupyter"] = {"source_hidden": True}
    out = nbformat.v4.new_notebook(cells=cells)
    out.metadata = {"kernelspec": dict(KERNELSPEC),
                    "language_info": {"name": "python"},
                    "course": {"concept": slug}}
    nbformat.validate(out)
    return out


def dumps(nb: NotebookNode) -> str:
    """The ``.ipynb`` text of ``nb`` (ends with a newline)."""
    import nbformat

    return nbformat.writes(nb) + "\n"


def write(concept: Concept, directory: Path, force: bool = False) -> Path:
    """Write ``concept``'s notebook to ``directory/SLUG.ipynb`` and return its path.

    An existing file is kept (a :class:`LabError`) unless ``force``: it may
    hold a learner's answers."""
    text = dumps(notebook(concept))
    directory = Path(directory)
    target = directory / file_name(concept)
    if directory.exists() and not directory.is_dir():
        raise LabError(f"{directory} is a file, not a folder: choose a folder with --dir")
    if (target.exists() or target.is_symlink()) and not force:
        raise LabError(f"{target} already exists (it may hold your answers); "
                       "choose another folder with --dir, or overwrite it with --force")
    directory.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target


def publish(concept: Concept, src: Path) -> str:
    """Write ``concept``'s notebook into a book's sources, ``src/_static/notebooks/SLUG.ipynb``,
    and return the MyST box that links it from the chapter ("" if it has no notebook)."""
    from markupsafe import Markup

    from course.markup import render_template

    path = source(concept)
    if path is None:
        return ""
    text, exercises = _learner_text(path, concept.slug)
    name = file_name(concept)
    target = src / BOOK_FOLDER / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    depth = "../"  # chapters are src/concepts/SLUG.md
    link = Markup('<a class="course-notebook-download" href="{}" download>{}</a>').format(
        f"{depth}{BOOK_FOLDER}/{name}", name)
    template = resources.files("course").joinpath("templates/notebook-link.md.j2").read_text(encoding="utf-8")
    return render_template(template, "course/templates/notebook-link.md.j2", link=link, slug=concept.slug,
                           exercises=exercises)


#: the folder of the cache (:func:`course.cache.cache_dir`) that keeps learner notebooks
CACHE_DIR = "notebooks"


def _learner_text(path: Path, slug: str) -> tuple[str, int]:
    """The ``.ipynb`` text of the learner's notebook of ``path`` and its number
    of exercises, from the cache's ``notebooks/`` folder when this source was
    made into one before (a warm build then imports neither jupytext nor
    nbformat). The file is named by the SHA-256 of the source, the slug, this
    module's code and the versions of jupytext and nbformat, and written whole
    or not at all; a malformed source is never stored, so its error is raised
    on every build."""
    import hashlib
    import importlib.metadata as md
    import json

    from course.cache import cache_dir, keep

    versions = []
    for dist in ("jupytext", "nbformat"):
        try:
            versions.append(md.version(dist))
        except md.PackageNotFoundError:
            versions.append("?")
    parts = [path.read_text(encoding="utf-8"), slug, Path(__file__).read_text(encoding="utf-8"), versions]
    stored = cache_dir() / CACHE_DIR / (hashlib.sha256(json.dumps(parts).encode()).hexdigest() + ".json")
    try:
        got = json.loads(stored.read_text(encoding="utf-8"))
        if isinstance(got, dict) and isinstance(got.get("ipynb"), str) and isinstance(got.get("exercises"), int):
            return got["ipynb"], got["exercises"]
    except (OSError, ValueError):
        pass
    nb = learner_notebook(path, slug)
    text = dumps(nb)
    exercises = sum(c.id.startswith("exercise-") for c in nb.cells)
    keep(stored, json.dumps({"ipynb": text, "exercises": exercises}).encode("utf-8"))
    return text, exercises


def with_link(page: str, box: str) -> str:
    """``page`` with the notebook ``box`` before its first section (after the
    title and the opening answer), or at its end if it has no section."""
    if not box:
        return page
    found = re.search(r"^## ", page, flags=re.MULTILINE)
    if found is None:
        return page.rstrip("\n") + "\n\n" + box
    return page[:found.start()] + box.rstrip("\n") + "\n\n" + page[found.start():]


def chapter_box(reg: Registered, src: Path) -> str:
    """:func:`publish` for a build: a malformed ``notebook.py`` is the plugin's error."""
    from course.plugins import PluginError

    try:
        return publish(reg.concept, src)
    except LabError as exc:
        raise PluginError(reg.plugin.name, f"{reg.concept.slug}.notebook", str(exc)) from exc
