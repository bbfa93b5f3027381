"""What the commands of ``course`` share: loading the course once per
invocation, the CONCEPT argument type, and one-line errors."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def load_course(ctx: click.Context) -> Any:
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
        course = load_course(ctx) if ctx else None
        slugs = course.slugs() if course else []
        if value in slugs:
            return value
        choices = ", ".join(slugs) or "(no concepts are installed)"
        self.fail(f"unknown concept {value!r}; choose one of: {choices}", param, ctx)

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str):
        from click.shell_completion import CompletionItem

        return [CompletionItem(s) for s in load_course(ctx).slugs() if s.startswith(incomplete)]


CONCEPT = ConceptType()


def fail(message: str, code: int = 1) -> NoReturn:
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(code)


def report_plugin_errors(course: Any, strict: bool) -> None:
    for err in course.errors:
        click.secho(f"Error: {err}", fg="red", err=True)
    if course.errors and strict:
        sys.exit(1)


