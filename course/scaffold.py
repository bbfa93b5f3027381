"""``course new``: write a standalone, installable concept plugin.

The files come from ``course/templates/plugin/`` (``*.j2``). They are rendered
with Jinja2 using ``{= name =}`` for variables, so the Jinja syntax of the
chapter template they contain (``{{ runs[0].x }}``, ``{% for %}``) passes
through untouched. Names in a path (``__module__``) are replaced too, and
one ``.j2`` is dropped from each file name: ``words.md.j2.j2`` writes the
plugin's ``words.md.j2``.

The files are the plugin layout (see :class:`course.Concept` and the plugin
author's guide, ``book/plugin-guide.md``, whose tree of them a test compares
with :func:`render_files`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from course.concept import SLUG_RE

TEMPLATES = "templates/plugin"


class ScaffoldError(ValueError):
    """A name or folder ``course new`` cannot use; the message says why and what to do."""


@dataclass(frozen=True)
class Names:
    """Every name derived from the NAME given to ``course new``."""

    slug: str  # concept slug and entry-point name: feature-splitting
    module: str  # import name: course_feature_splitting
    dist: str  # distribution name: course-feature-splitting
    title: str  # chapter title: Feature splitting
    class_name: str  # Concept subclass: FeatureSplitting

    @classmethod
    def from_name(cls, name: str) -> Names:
        """Validate ``name`` and derive the rest; raise :class:`ScaffoldError` if invalid."""
        if not isinstance(name, str) or not SLUG_RE.match(name):
            raise ScaffoldError(
                f"invalid name {name!r}: use lower-case letters and digits in words joined by "
                "single hyphens, starting with a letter, like 'feature-splitting'"
            )
        words = name.split("-")
        return cls(
            slug=name,
            module="course_" + "_".join(words),  # always an identifier, given SLUG_RE
            dist="course-" + name,
            title=" ".join(words).capitalize(),
            class_name="".join(w.capitalize() for w in words),
        )


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        variable_start_string="{=",
        variable_end_string="=}",
        block_start_string="{%=",
        block_end_string="=%}",
        comment_start_string="{#=",
        comment_end_string="=#}",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def _template_files() -> list[tuple[str, str]]:
    """(relative path, template text) for every file of the plugin template."""
    root = resources.files("course").joinpath(TEMPLATES)
    out: list[tuple[str, str]] = []

    def walk(node: Any, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.name.startswith((".", "__pycache__")):
                continue
            rel = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, rel + "/")
            elif child.name.endswith(".j2"):
                out.append((rel[: -len(".j2")], child.read_text(encoding="utf-8")))

    walk(root, "")
    return out


def render_files(names: Names) -> dict[str, str]:
    """The plugin's files, path (relative to its folder) to content."""
    from course import __version__

    env = _environment()
    context = {**names.__dict__, "course_version": __version__}
    files: dict[str, str] = {}
    for rel, text in _template_files():
        path = rel.replace("__module__", names.module)
        files[path] = env.from_string(text).render(**context)
    return files


def scaffold(name: str, directory: Path | str = ".", taken: dict[str, str] | None = None) -> Path:
    """Write the plugin for concept ``name`` into ``directory/course-NAME``; return that folder.

    ``taken`` maps concept slugs already installed to what provides them; a
    name among them is refused, since two concepts cannot share a slug.
    Raises :class:`ScaffoldError` for a bad name or an existing folder.
    """
    names = Names.from_name(name)
    if taken and names.slug in taken:
        raise ScaffoldError(
            f"a concept named {names.slug!r} is already installed (from {taken[names.slug]}); "
            "choose another name"
        )
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"{directory} is not a folder; give --dir an existing or new folder")
    target = directory / names.dist
    if target.exists():
        raise ScaffoldError(f"folder {target} already exists; choose another name or --dir")
    files = render_files(names)
    tmp = directory / f".{names.dist}.partial"
    if tmp.exists():
        raise ScaffoldError(f"{tmp} is left over from an interrupted run; remove it and retry")
    tmp.mkdir(parents=True)
    try:
        for rel, content in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        tmp.rename(target)  # all files appear at once, or none
    except BaseException:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
