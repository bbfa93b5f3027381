"""``course slides``: a lecture deck of the rendered animations (:mod:`course.slides`).

:mod:`course.cli.main` attaches it to the ``course`` group.
"""

from __future__ import annotations

import re
import time
from importlib import resources
from pathlib import Path

import click

from course.cli.common import CONCEPT, fail, load_course
from course.render import QUALITIES, THEMES

DEFAULT_TITLE = "Superposition, from toy models"


def book_title() -> str:
    """The book's title (``title:`` of its ``_config.yml``), the deck's default."""
    try:
        text = resources.files("course_book").joinpath("_config.yml").read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):
        return DEFAULT_TITLE
    m = re.search(r"""^title:\s*["']?(.*?)["']?\s*$""", text, re.M)
    return m.group(1) if m and m.group(1) else DEFAULT_TITLE


@click.command(name="slides")
@click.argument("concepts", nargs=-1, type=CONCEPT)
@click.option("--all", "all_", is_flag=True, help="A slide deck of every concept that has an animation.")
@click.option(
    "-q",
    "--quality",
    type=click.Choice(list(QUALITIES)),
    default="low",
    show_default=True,
    help="Video quality: low 480p15, medium 720p30, high 1080p60, production 1440p60, 4k 2160p60.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("_build/slides"),
    show_default=True,
    help="Folder for the deck: index.html with everything it loads.",
)
@click.option(
    "--theme",
    type=click.Choice(THEMES),
    default="light",
    show_default=True,
    help="Video theme: light (white, where white means zero as in the book's figures, and prints well in the "
    "handout; the book's own, so its cached videos are reused) or dark (for a dim hall).",
)
@click.option("--pdf", is_flag=True, help="Also write OUT/handout.pdf: one page per slide with its frame and notes.")
@click.option("--title", default=None, help="The title slide's title (default: the book's title).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the experiments.")
@click.option("--device", default="cpu", show_default=True, help="Torch device for training.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes for experiments and renders (default: the number of CPU cores).",
)
@click.option("--quick", is_flag=True, help="Smallest settings: a fast smoke deck whose numbers are not the science.")
@click.option("--quiet", is_flag=True, help="No progress or summary on stderr, only errors.")
@click.pass_context
def slides(
    ctx: click.Context,
    concepts: tuple[str, ...],
    all_: bool,
    quality: str,
    out: Path,
    theme: str,
    pdf: bool,
    title: str | None,
    seed: int,
    device: str,
    jobs: int | None,
    quick: bool,
    quiet: bool,
) -> None:
    """Write a slide deck of the animation of each CONCEPT (or --all); print the path of its index.html.

    A title slide, then one slide per narration step of each video: the
    slide plays its part of the video and stops (→ or Space: the next step,
    R: play it again). Speaker notes hold the narration, what the video
    shows and this build's numbers; S opens reveal.js's speaker view. OUT
    holds every script, style, font and video, so the deck presents with no
    network: open OUT/index.html in a browser.

    Videos come from the cache when already rendered at that quality and theme (as by
    `course render`); the others are rendered first.
    """
    from course import outdir, pipeline
    from course import slides as deck_mod
    from course.plugins import PluginError
    from course.progress import Reporter, summary
    from course.render import missing_system_tools

    if all_ and concepts:
        raise click.UsageError("give concept names or --all, not both")
    if not all_ and not concepts:
        raise click.UsageError("name a concept for the slides, or use --all")
    missing = missing_system_tools()
    if missing:
        fail("missing system dependencies:\n" + "\n".join(f"  {what}: {how}" for what, how in missing))
    course = load_course(ctx)
    regs = course.concepts if all_ else [course.get(s) for s in dict.fromkeys(concepts)]
    reporter = Reporter(mode="quiet" if quiet else None)
    t0 = time.perf_counter()
    opts = pipeline.Options(seed=seed, device=device, quick=quick, quality=quality, fmt="mp4", theme=theme)
    try:
        with outdir.output_lock(out, "slides"):
            outcome = pipeline.produce_all(course, regs, opts, jobs=jobs, emit=reporter)
            reporter.close()
            items = []
            for reg in regs:
                art = outcome.artifacts.get(reg.concept.slug)
                if art is None or art.video is None:
                    if not all_:
                        fail(f"concept {reg.concept.slug!r} has no animation")
                    continue
                items.append((reg, art))
            if not items:
                fail("no concept has an animation")
            deck = deck_mod.plan(items, quality, title or book_title())
            written = deck_mod.write(deck, out, pdf=pdf)
    except PluginError as exc:
        reporter.close()
        fail(str(exc))
    except RuntimeError as exc:
        reporter.close()
        fail(str(exc))
    finally:
        reporter.close()
    if not quiet:
        extra = [
            f"slides: {written.slides} in {written.index}" + (f"; handout {written.handout}" if written.handout else "")
        ]
        click.echo(summary(outcome.records, time.perf_counter() - t0, (), extra), err=True)
    click.echo(str(written.index))
    if written.handout is not None:
        click.echo(str(written.handout))


COMMANDS = (slides,)


def attach(group: click.Group) -> None:
    """Add this module's commands to ``group``."""
    for command in COMMANDS:
        group.add_command(command)
