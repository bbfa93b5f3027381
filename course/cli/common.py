"""What the commands of ``course`` share: loading the course once per
invocation, the CONCEPT and DEVICE parameter types, the system-tools
preflight, and one-line errors."""

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


def device_problem(device: str) -> str:
    """What is wrong with the torch device name ``device`` on this machine ("" if nothing).

    ``cpu`` needs nothing; ``cuda`` and ``cuda:N`` need CUDA and that many
    GPUs; ``mps`` needs Apple's backend. The answer names the valid choices
    and whether CUDA is available.
    """
    if device == "cpu":
        return ""  # the default: no need to import torch to know it
    import torch

    try:
        d = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        return f"{device!r} is not a torch device; {device_choices()}"
    if d.type == "cpu":
        return f"{device!r}: the CPU takes no index; {device_choices()}"
    if d.type == "cuda":
        if not torch.cuda.is_available():
            return f"{device!r}: {device_choices()}"
        n = torch.cuda.device_count()
        if d.index is not None and d.index >= n:
            return f"{device!r}: this machine has {n} CUDA device{'s' if n != 1 else ''}; {device_choices()}"
        return ""
    if d.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        return "" if mps is not None and mps.is_available() else f"{device!r}: Apple's MPS is not available here; {device_choices()}"
    return f"{device!r}: the course trains on the CPU or a CUDA GPU; {device_choices()}"


def device_choices() -> str:
    """The devices this machine can train on, and whether CUDA is available (and why not)."""
    import torch

    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        return f"choose one of: cpu, cuda, {', '.join(f'cuda:{i}' for i in range(n))} (CUDA is available, {n} device{'s' if n != 1 else ''})"
    why = (f"this torch {torch.__version__} is built without CUDA" if torch.version.cuda is None
           else "no CUDA GPU or driver was found")
    return f"choose cpu (CUDA is not available on this machine: {why})"


class DeviceType(click.ParamType):
    """A torch device this machine has, checked before any plugin runs."""

    name = "device"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        problem = device_problem(str(value).strip())
        if problem:
            self.fail(problem, param, ctx)
        return str(value).strip()


DEVICE = DeviceType()


def preflight() -> None:
    """Stop (one line each, with the command that installs it) if a system
    program or library the renderer needs is missing, before any work."""
    from course.render import missing_system_tools

    missing = missing_system_tools()
    if missing:
        lines = [f"  {what}: {how}" for what, how in missing]
        fail("missing system dependencies:\n" + "\n".join(lines))


def fail(message: str, code: int = 1) -> NoReturn:
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(code)


def report_plugin_errors(course: Any, strict: bool) -> None:
    for err in course.errors:
        click.secho(f"Error: {err}", fg="red", err=True)
    if course.errors and strict:
        sys.exit(1)


