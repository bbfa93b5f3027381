"""Commands for plugin authors: ``course new``, ``course check`` and ``course plugins``.

:mod:`course.cli.main` attaches them to the ``course`` group; both use
:mod:`course.cli.common`, and neither imports the other's commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from course.cli.common import CONCEPT, DEVICE, load_course, preflight


class _Concept(click.ParamType):
    """:data:`course.cli.common.CONCEPT`; an unknown slug also prints the load
    errors of the plugins that failed (the concept's plugin may be among them)."""

    name = "concept"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return CONCEPT.convert(value, param, ctx)
        except click.BadParameter as exc:
            message = exc.message
            errors = load_course(ctx).errors if ctx else []
            if errors:
                message += f"; {len(errors)} plugin(s) failed to load: " + "; ".join(str(e) for e in errors)
            raise click.BadParameter(message, ctx, param, param_hint="'CONCEPT'") from None

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        return CONCEPT.shell_complete(ctx, param, incomplete)


@click.command(name="new")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, metavar="PATH", help="Folder to create the plugin's folder course-NAME in.")
@click.pass_context
def new(ctx: click.Context, name: str, directory: Path) -> None:
    """Create a concept plugin NAME: an installable package with every hook filled in.

    NAME is the concept's slug: lower-case words joined by hyphens, like
    feature-splitting. The plugin goes to PATH/course-NAME; install it with
    `pip install -e PATH/course-NAME` and it appears in `course list`.
    """
    from course.scaffold import ScaffoldError, scaffold

    course = load_course(ctx)
    taken = {r.concept.slug: r.plugin.distribution or r.plugin.name for r in course.concepts}
    try:
        target = scaffold(name, directory, taken=taken)
    except ScaffoldError as exc:
        raise click.UsageError(str(exc), ctx) from exc
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    click.echo(f"Created {target} for concept {name!r}:")
    for f in files:
        click.echo(f"  {f}")
    click.echo("Next:")
    click.echo(f"  pip install -e {target}")
    click.echo(f"  course check {name}")
    click.echo(f"  course run {name}")


@click.command(name="check")
@click.argument("concepts", nargs=-1, type=_Concept(), metavar="[CONCEPT]...")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the quick experiments.")
@click.option("--device", type=DEVICE, default="cpu", show_default=True, help="Torch device, e.g. cpu or cuda.")
@click.option("--traceback", "show_tb", is_flag=True, help="Print the traceback under each problem that has one.")
@click.pass_context
def check(ctx: click.Context, concepts: tuple[str, ...], seed: int, device: str, show_tb: bool) -> None:
    """Check plugins against the contract on their smallest settings (no book, no video).

    Checks every installed concept, or only CONCEPTS. Prints one line per
    problem, naming the plugin and the fix, and one line per concept that
    passes. Exit status 1 when anything fails.
    """
    from course.check import Problem, iter_check

    preflight()  # as `course build` does: a missing LaTeX is the machine's, not the scene's
    course = load_course(ctx)
    failed = passed = 0

    def fail(p: Problem) -> None:
        click.secho(f"FAIL {p.line()}", fg="red")
        if show_tb and p.traceback:
            click.echo("\n".join("     " + ln for ln in p.traceback.rstrip().splitlines()))

    if not concepts and not course.concepts and not course.errors:
        click.echo("No concepts are installed.")
        return
    for item in iter_check(course, list(concepts) or None, seed=seed, device=device):
        if isinstance(item, Problem):
            failed += 1
            fail(item)
        elif item.ok:
            passed += 1
            click.secho(f"ok   {item.line()}", fg="green")
        else:
            failed += len(item.problems)
            for p in item.problems:
                fail(p)
    summary = f"{passed} concept{'s' if passed != 1 else ''} passed, {failed} problem{'s' if failed != 1 else ''}."
    click.echo(summary)
    if failed:
        sys.exit(1)


def plugin_rows(course) -> list[dict[str, Any]]:
    """Each loaded plugin: name, distribution, version, module, hooks, concepts."""
    rows = []
    for p in sorted(course.plugins, key=lambda p: p.name):
        rows.append({
            "name": p.name,
            "distribution": p.distribution,
            "version": p.version,
            "module": p.module.__name__ if p.module is not None else "",
            "hooks": list(p.hooks),
            "concepts": [r.concept.slug for r in course.concepts if r.plugin is p],
        })
    return rows


@click.command(name="plugins")
@click.option("--json", "as_json", is_flag=True, help='Print one JSON document: {"plugins": [...], "errors": [...]}.')
@click.pass_context
def plugins_(ctx: click.Context, as_json: bool) -> None:
    """List installed plugins: distribution, version, the hooks each implements, load errors."""
    course = load_course(ctx)
    rows = plugin_rows(course)
    errors = [{"plugin": e.plugin, "where": e.where, "message": e.message} for e in course.errors]
    if as_json:
        click.echo(json.dumps({"plugins": rows, "errors": errors}, indent=1))
        return
    if not rows:
        click.echo("No plugins are installed.")
    for r in rows:
        dist = " ".join(x for x in (r["distribution"], r["version"]) if x)
        click.echo(f"{r['name']}  ({dist})  module {r['module'] or '-'}")
        click.echo(f"  hooks: {', '.join(r['hooks']) or '(none)'}")
        if r["concepts"]:
            click.echo(f"  concepts: {', '.join(r['concepts'])}")
    for e in course.errors:
        click.secho(f"Error: {e}", fg="red", err=True)


COMMANDS = (new, check, plugins_)


def attach(group: click.Group) -> None:
    """Add this module's commands to ``group``."""
    for command in COMMANDS:
        group.add_command(command)
