"""``course claims``: the reproduction report's claims of the installed concepts, from the cache.

:mod:`course.cli.main` attaches it to the ``course`` group.
"""

from __future__ import annotations

import json
import sys

import click

from course.cli.common import CONCEPT, fail, load_course


@click.command(name="claims")
@click.argument("concepts", nargs=-1, type=CONCEPT, metavar="[CONCEPT]...")
@click.option("--json", "as_json", is_flag=True,
              help="Print the report as one JSON document, the same as the build's reproduction.json.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when a claim of the paper does not hold.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the experiments.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes for experiments that are not cached yet.")
@click.pass_context
def claims(ctx: click.Context, concepts: tuple[str, ...], as_json: bool, strict: bool, seed: int,
           jobs: int | None) -> None:
    """The paper's claims each CONCEPT (default: every installed one) checks, and whether they hold.

    Results come from the cache; an experiment that is not cached is trained
    first (no figures are drawn and no video is rendered that were not
    already). Checks of the mathematics (identities) are listed but not
    counted. A plugin author's CI can run `course claims my-concept --strict`.
    """
    from course import chapters, pages, pipeline
    from course.plugins import PluginError

    course = load_course(ctx)
    regs = [course.get(s) for s in dict.fromkeys(concepts)] if concepts else course.concepts
    opts = pipeline.Options(seed=seed, video=False)
    try:
        outcome = pipeline.produce_all(course, regs, opts, jobs=jobs, keep_going=True)
        done = []
        for reg in regs:
            art = outcome.artifacts.get(reg.concept.slug)
            if art is not None:
                found = chapters.claims_of(reg, art.metrics)
                done.append(chapters.ChapterOutput(reg, art.metrics, [], None, found))
    except PluginError as exc:
        fail(str(exc))
    doc = pages.reproduction_document(done)
    for err in outcome.errors:
        click.secho(f"failed: {err}", fg="yellow", err=True)
    if as_json:
        click.echo(json.dumps(doc, indent=1, ensure_ascii=False))
    else:
        for row in doc["claims"]:
            mark = "holds   " if row["holds"] else "FAILS   "
            kind = " (identity)" if row["identity"] else ""
            click.echo(f"{mark}{row['chapter']}/{row['id']}{kind}: {row['measured']}"
                       + (f"  [tolerance: {row['tolerance']}]" if row["tolerance"] else ""))
        ids = f", and {doc['identities']} checks of the mathematics" if doc["identities"] else ""
        click.echo(f"{doc['held']} of {doc['total']} claims hold{ids}.")
    if outcome.errors or (strict and doc["held"] < doc["total"]):
        sys.exit(1)


def attach(group: click.Group) -> None:
    """Add ``course claims`` to ``group``."""
    group.add_command(claims)
