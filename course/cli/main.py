"""The ``course`` command line."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from course.cli.claims import attach as attach_claims
from course.cli.common import CONCEPT, CONTEXT, DEVICE, fail, load_course, preflight, report_plugin_errors
from course.cli.contrib import attach as attach_contrib
from course.cli.lab import attach as attach_lab
from course.cli.slides import attach as attach_slides
from course.render import FORMATS, QUALITIES, THEMES

#: the build profiles (course.profiles.NAMES), checked before any plugin runs
PROFILE = click.Choice(["default", "paper"], case_sensitive=False)
PROFILE_HELP = ("Training budget: default (each chapter's reduced sizes, for 2 CPU cores) or paper "
                "(the paper's sizes where it states them).")
#: the --theme of `course render` and `course slides`
THEME_HELP = ("Video theme: light (a white background, where white means zero as in the book's figures; "
              "the book's own, so its cached videos are reused) or dark (for a dim hall).")


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
    course = load_course(ctx)
    rows = [(r.concept.slug, r.concept.title, r.plugin.distribution or r.plugin.name) for r in course.concepts]
    if rows:
        w1 = max(len(r[0]) for r in rows)
        w2 = max(len(r[1]) for r in rows)
        for slug, title, dist in rows:
            click.echo(f"{slug:<{w1}}  {title:<{w2}}  {dist}")
    else:
        click.echo("No concepts are installed.")
    report_plugin_errors(course, strict=False)


@cli.command()
@click.argument("concept", type=CONCEPT)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the experiment.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
@click.option("--quick", is_flag=True, help="Smallest settings: a fast smoke run, not the science.")
@click.option("--device", type=DEVICE, default="cpu", show_default=True, help="Torch device, e.g. cpu or cuda.")
@click.option("--profile", type=PROFILE, default="default", show_default=True, help=PROFILE_HELP)
@click.option("--no-cache", is_flag=True, help="Retrain even if a cached result exists.")
@click.pass_context
def run(ctx: click.Context, concept: str, seed: int, as_json: bool, quick: bool, device: str, profile: str,
        no_cache: bool) -> None:
    """Train CONCEPT's experiment and print its metrics.

    With --json, stdout is one document: {"concept": SLUG, "runs": [...], ...}.
    """
    from course import pipeline
    from course.plugins import PluginError

    course = load_course(ctx)
    reg = course.get(concept)
    try:
        result, _ = pipeline.experiment(reg, seed=seed, device=device, quick=quick, use_cache=not no_cache,
                                        profile=profile.lower())
        metrics = pipeline.metrics(reg, result)
    except (PluginError, RuntimeError) as exc:  # a plugin's failure, or a cache that cannot be written
        fail(str(exc))
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


JOBS_HELP = ("Worker processes for experiments and renders (default: the number of CPU cores); "
             "each gives torch cores/jobs threads unless OMP_NUM_THREADS is set.")


def _reporter(quiet: bool):
    from course.progress import Reporter

    return Reporter(mode="quiet" if quiet else None)


def _show_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        click.secho(f"warning: {w.message}", fg="yellow", err=True)
    caught.clear()


def _plugin_failure(exc, log: Path | None, hint: str = "") -> str:
    where = f"\n(traceback in {log})" if log is not None and exc.tb else ""
    return f"{exc}{where}{hint}"


@cli.command()
@click.argument("concepts", nargs=-1, type=CONCEPT)
@click.option("--all", "all_", is_flag=True, help="Render every concept that has an animation.")
@click.option("-q", "--quality", type=click.Choice(list(QUALITIES)), default="low", show_default=True,
              help="Video quality: low 480p15, medium 720p30, high 1080p60, production 1440p60, 4k 2160p60.")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="mp4", show_default=True, help="Video format.")
@click.option("--theme", type=click.Choice(THEMES), default="light", show_default=True, help=THEME_HELP)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("media"), show_default=True,
              help="Folder for the videos, their posters (PNG) and captions (WebVTT).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the experiment.")
@click.option("--device", type=DEVICE, default="cpu", show_default=True, help="Torch device for training.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help=JOBS_HELP)
@click.option("--keep-going", is_flag=True, help="Render the other concepts when one fails; list failures at the end.")
@click.option("--quiet", is_flag=True, help="No progress on stderr, only errors.")
@click.pass_context
def render(ctx: click.Context, concepts: tuple[str, ...], all_: bool, quality: str, fmt: str, theme: str, out: Path,
           seed: int, device: str, jobs: int | None, keep_going: bool, quiet: bool) -> None:
    """Render the animation of each CONCEPT (or --all) from its trained weights.

    For each concept it writes, with names that stay the same from one render
    to the next so that a slide deck can link them:

    \b
      OUT/SLUG-QUALITY.FORMAT   the video   (e.g. media/superposition-high.mp4)
      OUT/SLUG-QUALITY.png      its poster frame (the last frame)
      OUT/SLUG-QUALITY.vtt      its captions (WebVTT, from the scene's narration)

    (with --theme dark, SLUG-QUALITY-dark.FORMAT and so on, so that the two
    themes of one video can sit side by side) and prints the videos' paths,
    one per line. Renders are cached: asking
    again for the same quality, format and theme copies the cached files.
    """
    import time

    from course import cache, chapters, outdir, pipeline
    from course.plugins import PluginError
    from course.progress import summary

    if all_ and concepts:
        raise click.UsageError("give concept names or --all, not both")
    if not all_ and not concepts:
        raise click.UsageError("name a concept to render, or use --all")
    preflight()
    try:  # before any plugin runs: a video that cannot be written is not worth rendering
        outdir.check_writable(out, "the videos' folder", "choose a folder you can write with --out DIR")
        cache.check_writable("logs")
    except RuntimeError as exc:
        fail(str(exc))
    course = load_course(ctx)
    regs = course.concepts if all_ else [course.get(s) for s in dict.fromkeys(concepts)]
    reporter = _reporter(quiet)
    log = cache.cache_dir() / "logs" / "render.log"
    t0 = time.perf_counter()
    opts = pipeline.Options(seed=seed, device=device, quality=quality, fmt=fmt, theme=theme)
    try:  # the lock lives in the cache: the lecturer's folder gets the videos and nothing else
        with outdir.output_lock(out, "render", lock_dir=cache.cache_dir() / "locks"):
            outcome = pipeline.produce_all(course, regs, opts, jobs=jobs, emit=reporter, keep_going=keep_going)
            written = []
            for reg in regs:
                art = outcome.artifacts.get(reg.concept.slug)
                if art is None:
                    continue
                if art.video is None:
                    if not all_:
                        fail(f"concept {reg.concept.slug!r} has no animation")
                    continue
                written.append(publish_render(art, out, quality, chapters.captions_vtt(reg, art), theme))
    except PluginError as exc:
        reporter.close()
        outdir.write_log(log, [exc])
        fail(_plugin_failure(exc, log, "\n(use --keep-going to render the others)"))
    except RuntimeError as exc:
        reporter.close()
        fail(str(exc))
    except OSError as exc:  # a full disk while copying the videos out
        reporter.close()
        fail(f"cannot write the videos into {out}: {cache.describe_os_error(exc)}")
    finally:
        reporter.close()
    failures = [str(e) for e in outcome.errors]
    if outcome.errors:
        outdir.write_log(log, outcome.errors)
        failures.append(f"tracebacks: {log}")
    if not quiet:
        stem = f"SLUG-{quality}" + theme_suffix(theme)
        extra = [f"videos in {out}/ as {stem}.{fmt}, with {stem}.png and .vtt"] if written else []
        click.echo(summary(outcome.records, time.perf_counter() - t0, failures, extra), err=True)
        if not written and not outcome.errors:
            click.echo("No concept has an animation.", err=True)
    elif failures:
        for f in failures:
            click.secho(f"failed: {f}", fg="yellow", err=True)
    for video in written:
        click.echo(str(video))
    if outcome.errors:
        sys.exit(1)


def theme_suffix(theme: str) -> str:
    """What a render's file names add for ``theme``: nothing for the default
    (light), ``-dark`` for dark."""
    return "" if theme == THEMES[0] else f"-{theme}"


def publish_render(art, out: Path, quality: str, captions: str | None, theme: str = "light") -> Path:
    """Copy a cached render to ``out/SLUG-QUALITY.{ext,png}`` (``SLUG-QUALITY-dark``
    for the dark theme) and write its ``captions`` (WebVTT text) to ``.vtt``,
    each file in one rename.

    The poster and captions go first and the video last, so a video present
    means its poster and captions are too.
    """
    import os
    import shutil

    from course import cache

    out.mkdir(parents=True, exist_ok=True)
    stem = f"{art.slug}-{quality}{theme_suffix(theme)}"
    v = art.video
    vtt = out / f"{stem}.vtt"
    if captions is not None:
        tmp = vtt.with_name(cache.tmp_name())
        tmp.write_text(captions, encoding="utf-8")
        os.replace(tmp, vtt)
    else:
        vtt.unlink(missing_ok=True)
    pairs = [(v.poster, out / f"{stem}.png"), (v.video, out / f"{stem}{v.video.suffix}")]
    for src, dest in pairs:
        tmp = dest.with_name(cache.tmp_name())
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    return pairs[-1][1]


@cli.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("_build/book"), show_default=True,
              help="Build folder; the HTML book goes to OUT/_build/html.")
@click.option("-q", "--quality", type=click.Choice(list(QUALITIES)), default="low", show_default=True,
              help="Quality of the videos embedded in the book.")
@click.option("--download-quality", type=click.Choice([q for q in QUALITIES if q != "low"]), default=None,
              help="Also render every video at this quality and link it for download beside the embedded one.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of every experiment.")
@click.option("--device", type=DEVICE, default="cpu", show_default=True, help="Torch device for training.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help=JOBS_HELP)
@click.option("--keep-going", is_flag=True, help="Build the rest of the book when a plugin fails; list failures at the end.")
@click.option("--quiet", is_flag=True, help="No progress or summary on stderr, only errors.")
@click.option("--fresh", is_flag=True, help="Have Sphinx rebuild every page, not only the changed ones.")
@click.option("--quick", is_flag=True, help="Smallest settings: a fast smoke build whose numbers are not the science.")
@click.option("--profile", type=PROFILE, default="default", show_default=True, help=PROFILE_HELP)
@click.option("--pdf", is_flag=True, help="Also write OUT/book.pdf: the whole book, each video as its poster and "
              "description (needs Chromium: bash scripts/setup.sh --pdf).")
@click.pass_context
def build(ctx: click.Context, out: Path, quality: str, download_quality: str | None, seed: int, device: str,
          jobs: int | None, keep_going: bool, quiet: bool, fresh: bool, quick: bool, profile: str,
          pdf: bool) -> None:
    """Run every concept and write the HTML book; print the path of its index.html.

    Experiments, figures and videos come from the cache when nothing they
    depend on changed, and the others run in parallel (--jobs); editing a
    chapter's text rewrites only its page. Progress and a summary of what
    was cached and rebuilt go to stderr. Use `course clean` to start afresh.
    """
    import os

    from course import book
    from course.plugins import PluginError
    from course.progress import fmt_seconds, summary

    if pdf:  # before any work: printing needs Chromium
        from course import pdf as pdf_mod

        try:
            pdf_mod.find_chromium()
        except pdf_mod.PdfError as exc:
            fail(str(exc))
    preflight()
    os.environ["COURSE_PROFILE"] = profile.lower()  # read by pipeline.Options, here and in the worker processes
    course = load_course(ctx)
    reporter = _reporter(quiet)
    log = Path(out) / "build.log"
    with warnings.catch_warnings(record=True) as caught:  # shown after the progress, not through it
        warnings.simplefilter("default")
        quiet_known_warnings()
        try:
            report = book.build(course, out, quality=quality, seed=seed, device=device, keep_going=keep_going,
                                jobs=jobs, emit=reporter, quick=quick, fresh=fresh,
                                download_quality=download_quality)
        except PluginError as exc:
            reporter.close()
            _show_warnings(caught)
            fail(_plugin_failure(exc, log, "\n(use --keep-going to build the rest of the book)"))
        except book.SphinxFailed as exc:
            reporter.close()
            _show_warnings(caught)
            for err in exc.report.errors:
                click.secho(f"failed: {err}", fg="yellow", err=True)
            fail(str(exc))
        except RuntimeError as exc:
            reporter.close()
            _show_warnings(caught)
            fail(str(exc))
        finally:
            reporter.close()
    _show_warnings(caught)
    failures = [str(e) for e in report.errors]
    if report.errors:
        failures.append(f"tracebacks: {report.log}")
    if not quiet:
        extra = [
            f"book sources: {report.files} files, {report.files_written} written, {report.files_removed} removed; "
            + ("HTML unchanged (no page changed)" if report.sphinx_skipped else f"HTML in {fmt_seconds(report.sphinx_seconds)}"),
        ]
        click.echo(summary(report.records, report.seconds, failures, extra), err=True)
    else:
        for f in failures:
            click.secho(f"failed: {f}", fg="yellow", err=True)
    click.echo(str(report.index))
    if pdf and not report.errors:
        try:
            printed = pdf_mod.write_book_pdf(Path(out) / "_build" / "html", Path(out) / pdf_mod.BOOK_PDF,
                                             emit=None if quiet else lambda line: click.echo(line, err=True))
        except pdf_mod.PdfError as exc:
            fail(str(exc))
        if not quiet:
            click.echo(f"pdf: {len(printed.pages)} pages of the book, {sum(printed.page_counts.values())} "
                       f"PDF pages, in {printed.path}", err=True)
        click.echo(str(printed.path))
    if report.errors:  # --keep-going built what it could; the book is not whole
        sys.exit(1)


@cli.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("_build/book"), show_default=True,
              help="The build folder to remove (one that `course build --out` wrote).")
@click.option("--all", "all_", is_flag=True, help="Also drop the trained experiments (the next build retrains everything).")
def clean(out: Path, all_: bool) -> None:
    """Remove the build folder and the cached metrics, figures, videos, compiled templates and notebooks.

    Only a folder that `course build` marked as its own is cleaned, and only
    what the build wrote there is removed: a file you put in it stays (and
    so does the folder). The trained experiments stay cached (they are the
    slow part) unless --all is given. Rendered videos in a `course render
    --out` folder are not touched.
    """
    from course import cache, outdir
    from course.lab import CACHE_DIR as NOTEBOOKS
    from course.words import CODE_DIR

    def mb(n: int) -> str:
        return f"{n / 1e6:.1f} MB"

    try:
        if out.exists() or out.is_symlink():
            n, kept = outdir.clean(out)
            click.echo(f"removed {out} ({mb(n)})" if not kept else
                       f"removed what the build wrote in {out} ({mb(n)}); kept {len(kept)} file(s) it did not "
                       f"write, such as {kept[0]}")
        kinds = (*cache.KINDS, CODE_DIR, NOTEBOOKS) if all_ else ("analysis", "figures", "renders", CODE_DIR, NOTEBOOKS)
        for folder, n in cache.clean(kinds):
            click.echo(f"removed {folder} ({mb(n)})")
        swept = cache.sweep()
    except RuntimeError as exc:  # not a build folder, in use, or something cannot be removed
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot clean {out}: {cache.describe_os_error(exc)}")
    if swept:
        click.echo(f"removed {len(swept)} temporary folder(s) left by interrupted builds")
    if not all_:
        click.echo(f"kept the trained experiments in {cache.cache_dir() / 'experiments'} (drop them with --all)")


def quiet_known_warnings() -> None:
    """Hide the warnings of libraries that say nothing the reader can act on
    (pydub, which Manim imports, warns that ``audioop`` is deprecated)."""
    warnings.filterwarnings("ignore", message=r".*'audioop' is deprecated", category=DeprecationWarning)


attach_contrib(cli)  # `course new`, `check`, `plugins` (plugin authors)
attach_slides(cli)  # `course slides` (lecturers)
attach_claims(cli)  # `course claims`
attach_lab(cli)  # `course lab` (learners)


def main() -> None:
    """Entry point of the ``course`` script: load plugins once, add their commands, run."""
    from course import plugins

    quiet_known_warnings()  # before the plugins load: they may import Manim
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
        name = exc.ctx.info_name if exc.ctx and exc.ctx.parent else _command_named(sys.argv[1:])
        hint = f" (see 'course {name} --help')" if name else " (see 'course --help')"
        click.secho(f"Error: {exc.format_message()}{hint}", fg="red", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.secho("Interrupted.", fg="red", err=True)
        sys.exit(130)
    except OSError as exc:  # the last resort: a file operation no command foresaw, in one line
        from course.cache import describe_os_error

        click.secho(f"Error: {describe_os_error(exc)}", fg="red", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _command_named(args: list[str]) -> str:
    """The subcommand ``args`` name (for the hint of an error click gives no context), or ""."""
    for arg in args:
        if not arg.startswith("-"):
            return arg if arg in cli.commands else ""
    return ""


if __name__ == "__main__":
    main()
