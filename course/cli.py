"""The ``course`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from course.render import FORMATS, QUALITIES

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _load(ctx: click.Context):
    """The loaded course, once per invocation."""
    from course import plugins

    root = ctx.find_root()
    if root.obj is None:
        root.obj = {}
    if "course" not in root.obj:
        root.obj["course"] = plugins.load()
    return root.obj["course"]


class ConceptType(click.ParamType):
    """A concept slug; an unknown one lists the valid choices."""

    name = "concept"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        course = _load(ctx) if ctx else None
        slugs = course.slugs() if course else []
        if value in slugs:
            return value
        choices = ", ".join(slugs) or "(no concepts are installed)"
        self.fail(f"unknown concept {value!r}; choose one of: {choices}", param, ctx)

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str):
        from click.shell_completion import CompletionItem

        return [CompletionItem(s) for s in _load(ctx).slugs() if s.startswith(incomplete)]


CONCEPT = ConceptType()


def _fail(message: str, code: int = 1) -> None:
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(code)


def _report_plugin_errors(course, strict: bool) -> None:
    for err in course.errors:
        click.secho(f"Error: {err}", fg="red", err=True)
    if course.errors and strict:
        sys.exit(1)


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="superposition-course", prog_name="course")
def cli() -> None:
    """A course on superposition in neural networks, built from toy-model experiments.

    Each concept is a plugin with an experiment, metrics, figures, an animation
    and a chapter. `course list` shows them; `course build` makes the book.
    """


@cli.command(name="list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """List the concepts in book order: slug, title, and the distribution providing it."""
    course = _load(ctx)
    rows = [(r.concept.slug, r.concept.title, r.plugin.distribution or r.plugin.name) for r in course.concepts]
    if rows:
        w1 = max(len(r[0]) for r in rows)
        w2 = max(len(r[1]) for r in rows)
        for slug, title, dist in rows:
            click.echo(f"{slug:<{w1}}  {title:<{w2}}  {dist}")
    else:
        click.echo("No concepts are installed.")
    _report_plugin_errors(course, strict=False)


@cli.command()
@click.argument("concept", type=CONCEPT)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the experiment.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
@click.option("--quick", is_flag=True, help="Smallest settings: a fast smoke run, not the science.")
@click.option("--device", default="cpu", show_default=True, help="Torch device, e.g. cpu or cuda.")
@click.option("--no-cache", is_flag=True, help="Retrain even if a cached result exists.")
@click.pass_context
def run(ctx: click.Context, concept: str, seed: int, as_json: bool, quick: bool, device: str, no_cache: bool) -> None:
    """Train CONCEPT's experiment and print its metrics.

    With --json, stdout is one document: {"concept": SLUG, "runs": [...], ...}.
    """
    from course import pipeline
    from course.plugins import PluginError

    course = _load(ctx)
    reg = course.get(concept)
    try:
        result, _ = pipeline.experiment(reg, seed=seed, device=device, quick=quick, use_cache=not no_cache)
        metrics = pipeline.metrics(reg, result)
    except PluginError as exc:
        _fail(str(exc))
    doc = {"concept": concept, **metrics}
    if as_json:
        click.echo(json.dumps(doc, indent=1))
        return
    click.echo(format_table(metrics["runs"]))
    extra = {k: v for k, v in metrics.items() if k != "runs"}
    for k, v in extra.items():
        if not isinstance(v, list | dict):
            click.echo(f"{k}: {v}")


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, list):
        if len(v) > 8:
            return f"[{len(v)} values, mean {sum(float(x) for x in v) / len(v):.3g}]"
        return " ".join(_cell(x) for x in v)
    return str(v)


def format_table(runs: list[dict[str, Any]]) -> str:
    """A plain-text table of the runs: one row each, one column per key."""
    if not runs:
        return "(no runs)"
    keys = [k for k in runs[0] if not isinstance(runs[0][k], dict)]
    cells = [[_cell(r.get(k, "")) for k in keys] for r in runs]
    widths = [max(len(k), *(len(row[i]) for row in cells)) for i, k in enumerate(keys)]
    lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


@cli.command()
@click.argument("concept", type=CONCEPT)
@click.option("-q", "--quality", type=click.Choice(list(QUALITIES)), default="low", show_default=True,
              help="Video quality: low 480p15, medium 720p30, high 1080p60, production 1440p60, 4k 2160p60.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="mp4", show_default=True, help="Video format.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("media"), show_default=True,
              help="Folder for the video, its poster (PNG) and captions (WebVTT).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the experiment.")
@click.option("--device", default="cpu", show_default=True, help="Torch device for training.")
@click.pass_context
def render(ctx: click.Context, concept: str, quality: str, fmt: str, out: Path, seed: int, device: str) -> None:
    """Render CONCEPT's animation from its trained weights; print the video's path."""
    from course import pipeline
    from course import render as R
    from course.plugins import PluginError

    _preflight()
    course = _load(ctx)
    reg = course.get(concept)
    try:
        result, _ = pipeline.experiment(reg, seed=seed, device=device)
        metrics = pipeline.metrics(reg, result)
        anim = pipeline.stage(reg, "animation", reg.concept.animation, result, metrics)
        if anim is None:
            _fail(f"concept {concept!r} has no animation")
        suffix = "" if quality == "low" else f"-{quality}"
        done = pipeline.stage(reg, "render", R.render, anim, out, f"{concept}{suffix}", quality, fmt)
    except PluginError as exc:
        _fail(str(exc))
    click.echo(str(done.video))


@cli.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("_build/book"), show_default=True,
              help="Build folder; the HTML book goes to OUT/_build/html.")
@click.option("-q", "--quality", type=click.Choice(list(QUALITIES)), default="low", show_default=True,
              help="Quality of the videos embedded in the book.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of every experiment.")
@click.option("--device", default="cpu", show_default=True, help="Torch device for training.")
@click.option("--keep-going", is_flag=True, help="Build the rest of the book when a plugin fails; list failures at the end.")
@click.pass_context
def build(ctx: click.Context, out: Path, quality: str, seed: int, device: str, keep_going: bool) -> None:
    """Run every concept and write the HTML book; print the path of its index.html."""
    from course import book
    from course.plugins import PluginError

    _preflight()
    course = _load(ctx)
    try:
        report = book.build(course, out, quality=quality, seed=seed, device=device, keep_going=keep_going)
    except PluginError as exc:
        _fail(f"{exc}\n(use --keep-going to build the rest of the book)")
    except RuntimeError as exc:
        _fail(str(exc))
    for err in report.errors:
        click.secho(f"failed: {err}", fg="yellow", err=True)
    click.echo(str(report.index))


def _preflight() -> None:
    from course.render import missing_system_tools

    missing = missing_system_tools()
    if missing:
        lines = [f"  {what}: {how}" for what, how in missing]
        _fail("missing system dependencies:\n" + "\n".join(lines))


from course import cli_contrib  # noqa: E402 - `course new`, `check`, `plugins` (plugin authors)

cli_contrib.attach(cli)


def main() -> None:
    """Entry point of the ``course`` script: load plugins once, add their commands, run."""
    from course import plugins

    course = plugins.load()
    builtin = dict(cli.commands)
    try:
        course.pm.hook.register_commands(cli=cli)
    except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the CLI
        click.secho(f"Warning: a plugin's register_commands failed: {exc}", fg="yellow", err=True)
    cli.commands.update(builtin)  # plugins may add commands, never replace ours
    try:
        code = cli.main(prog_name="course", obj={"course": course}, standalone_mode=False)
    except click.UsageError as exc:  # one line, no usage dump: say what is valid
        hint = f" (see 'course {exc.ctx.info_name} --help')" if exc.ctx and exc.ctx.parent else " (see 'course --help')"
        click.secho(f"Error: {exc.format_message()}{hint}", fg="red", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.secho("Interrupted.", fg="red", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
