"""``course lab``: write a concept's Jupyter notebook for a learner to open.

:mod:`course.cli.main` attaches it to the ``course`` group.
"""

from __future__ import annotations

from pathlib import Path

import click

from course.cli.common import CONCEPT, fail, load_course


@click.command(name="lab")
@click.argument("concept", type=CONCEPT)
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=Path("."), show_default=True,
              metavar="DIR", help="Folder to write SLUG.ipynb in (made if missing).")
@click.option("--force", is_flag=True, help="Overwrite the notebook if DIR already has one (its answers are lost).")
@click.pass_context
def lab(ctx: click.Context, concept: str, directory: Path, force: bool) -> None:
    """Write CONCEPT's notebook, DIR/CONCEPT.ipynb, and print its path.

    The notebook trains the chapter's models with the course's engine,
    redraws the chapter's main figure, and poses exercises, each with a
    cell to fill in and a check that says when it is right (solutions are
    folded at the end). It needs only this package and a Jupyter to open
    it in, e.g. `jupyter lab DIR/CONCEPT.ipynb`. Set COURSE_QUICK=1 for
    quick settings (seconds; not the chapter's numbers).
    """
    from course import lab as notebooks

    course = load_course(ctx)
    reg = course.get(concept)
    if notebooks.source(reg.concept) is None:
        having = ", ".join(r.concept.slug for r in course.concepts if notebooks.source(r.concept)) or "(none)"
        fail(f"concept {concept!r} has no notebook; these have one: {having}", code=2)
    try:
        path = notebooks.write(reg.concept, directory, force=force)
    except notebooks.LabError as exc:
        fail(str(exc))
    except OSError as exc:
        from course.cache import describe_os_error

        fail(f"cannot write the notebook into {directory}: {describe_os_error(exc)}; choose another folder with --dir")
    click.echo(str(path))


def attach(group: click.Group) -> None:
    """Add ``course lab`` to ``group``."""
    group.add_command(lab)
