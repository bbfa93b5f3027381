"""The plugin contract, checked in one place.

Each validator takes what a stage of a concept returned and gives back the
:class:`Violation` list (empty: it keeps the contract). ``course build`` and
``course run`` stop on the first (:func:`error` turns it into the plugin's
error); ``course check`` lists them all. Both therefore refuse exactly the
same things, with the same words.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from course.concept import Animation, Claim, Figure, Judgement
from course.results import Result

if TYPE_CHECKING:
    from course.plugins import PluginError, Registered

#: the stages the contract checks, as they are named in messages
STAGES = ("settings", "run", "metrics", "figures", "animation", "claims", "chapter")


@dataclass(frozen=True)
class Violation:
    """One way a stage's output breaks the contract, and how to fix it."""

    message: str
    fix: str = ""

    def text(self) -> str:
        return f"{self.message}. Fix: {self.fix}" if self.fix else self.message


def error(reg: Registered, where: str, violation: Violation) -> PluginError:
    """The :class:`course.plugins.PluginError` a build raises for ``violation``."""
    from course.plugins import PluginError

    return PluginError(reg.plugin.name, f"{reg.concept.slug}.{where}()", violation.text())


def _not_json(value: Any, path: str) -> str | None:
    """The path of the first value in ``value`` that JSON cannot hold, or None."""
    if value is None or isinstance(value, bool | int | str):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"{path}[{k!r}] (a key that is not a string)"
            found = _not_json(v, f"{path}.{k}" if path else k)
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = _not_json(v, f"{path}[{i}]")
            if found:
                return found
        return None
    return f"{path or '(top)'} (a {type(value).__name__})"


def json_value(value: Any, what: str) -> list[Violation]:
    """``value`` must be plain JSON: dicts with string keys, lists, strings, finite numbers."""
    bad = _not_json(value, "")
    if bad is None:
        return []
    if "(a " in bad:
        return [Violation(f"{what} is not JSON: the value at {bad} cannot be saved",
                          "use plain numbers, strings, lists and dicts (course.jsonable converts numpy values)")]
    return [Violation(f"non-finite value at {bad or '(top)'}",
                      f"keep every number in {what} finite (guard divisions by zero)")]


def settings(value: Any) -> list[Violation]:
    """``Concept.settings()``: a dict of JSON values."""
    if not isinstance(value, dict):
        return [Violation(f"returned {type(value).__name__}, expected a dict",
                          "return the settings as a dict (a Settings dataclass in experiment.py gives one)")]
    return json_value(value, "settings")


def result(value: Any) -> list[Violation]:
    """``Concept.run()``: a :class:`course.Result` whose arrays are numpy arrays."""
    import numpy as np

    if not isinstance(value, Result):
        return [Violation(f"returned {type(value).__name__}, expected a course.Result",
                          "return course.Result(name, settings, seed, arrays={...}, info={...}) from run()")]
    out = [Violation(f"result array {k!r} is a {type(a).__name__}, not a numpy array",
                     "convert tensors with .detach().cpu().numpy() before building the Result")
           for k, a in value.arrays.items() if not isinstance(a, np.ndarray)]
    return out + json_value(value.info, "the result's info")


def metrics(value: Any) -> list[Violation]:
    """``Concept.metrics()``: a dict of JSON with a ``"runs"`` list."""
    if not isinstance(value, dict) or not isinstance(value.get("runs"), list):
        return [Violation('must return a dict with a "runs" list',
                          'return {"runs": [...], ...} holding plain JSON numbers')]
    return json_value(value, "metrics")


def figures(value: Any, outdir: Path) -> list[Violation]:
    """``Concept.figures()``: Figure objects with unique names, each an existing
    file inside ``outdir`` (a symbolic link is judged by its target)."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        return [Violation(f"returned {type(value).__name__}, expected a list of course.Figure",
                          "return a list of course.Figure (or, on the plugin layout, {name: path} from draw())")]
    out: list[Violation] = []
    root = Path(outdir).resolve()
    names: set[str] = set()
    for f in value:
        if not isinstance(f, Figure):
            out.append(Violation(f"returned a {type(f).__name__} in its list",
                                 "return course.Figure objects only"))
            continue
        if not isinstance(f.name, str) or not f.name.strip():
            out.append(Violation("a figure has no name", "give every figure a short name, like 'arrows'"))
        elif f.name in names:
            out.append(Violation(f"two figures are named {f.name!r}", "give every figure its own name"))
        names.add(str(f.name))
        target = Path(f.path).resolve()
        if not target.is_file():
            out.append(Violation(f"figure {f.name!r}: {f.path} does not exist",
                                 "write the file inside outdir before returning it"))
        elif not target.is_relative_to(root):
            out.append(Violation(f"figure {f.name!r}: {target} is not inside the folder it was given ({outdir})",
                                 "write every figure inside outdir (the build copies that folder)"))
    return out


def described_figures(value: Iterable[Figure]) -> list[Violation]:
    """Every figure, once its words are filled in, has a caption and an alt text."""
    out: list[Violation] = []
    for f in value:
        block = f"figure_{f.name}".replace("-", "_")
        if not str(f.caption).strip():
            out.append(Violation(f"figure {f.name!r} has no caption",
                                 f"say what to look at in the words block {block}_caption (or Figure(caption=...))"))
        if not str(f.alt).strip():
            out.append(Violation(f"figure {f.name!r} has no alt text",
                                 f"describe the picture for a reader who cannot see it in the words block "
                                 f"{block}_alt (or Figure(alt=...))"))
    return out


def animation(value: Any) -> list[Violation]:
    """``Concept.animation()``: None, or an :class:`course.Animation` with a callable scene."""
    if value is None:
        return []
    if not isinstance(value, Animation):
        return [Violation(f"returned {type(value).__name__}, expected a course.Animation or None",
                          "return course.Animation(scene=functools.partial(MyScene, ...)) or None")]
    if not callable(value.scene):
        return [Violation("Animation.scene is not callable",
                          "pass a callable that returns a new Scene, e.g. functools.partial(MyScene, weights)")]
    return []


def described_video(title: str, description: str) -> list[Violation]:
    """A video, once its words are filled in, has a title and a description."""
    out = []
    if not str(title).strip():
        out.append(Violation("the video has no title", "give it one in the words block video_title"))
    if not str(description).strip():
        out.append(Violation("the video has no description",
                             "describe in words what the video shows, in the words block video_description"))
    return out


def captions(count: int) -> list[Violation]:
    """A video must ship with captions: its scene narrates at least once."""
    if count:
        return []
    return [Violation("the scene adds no subcaptions, so its video would ship without captions",
                      "narrate each step with self.add_subcaption(step('NAME'), duration=...) and write "
                      "the text in the words block narration_NAME")]


def judgements(value: Any) -> list[Violation]:
    """``analysis.claims()``: :class:`course.Judgement` objects with unique ids and JSON values."""
    if not isinstance(value, list | tuple) or not all(isinstance(j, Judgement) for j in value):
        return [Violation(f"analysis.claims() returned {_describe(value)}", "return a list of course.Judgement")]
    out = _repeated_ids(value)
    for j in value:
        out += json_value(j.values, f"the values of claim {j.id!r}")
    return out


def claims(value: Any) -> list[Violation]:
    """``Concept.claims()``: :class:`course.Claim` objects with unique ids and words."""
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(c, Claim) for c in value):
        return [Violation(f"returned {_describe(value)}", "return a list of course.Claim")]
    out = _repeated_ids(value)
    for c in value:
        if not str(c.statement).strip():
            out.append(Violation(f"claim {c.id!r} has no statement", "state the paper's claim in words"))
    return out


def _repeated_ids(items: Iterable[Judgement | Claim]) -> list[Violation]:
    """One violation per claim whose id an earlier claim already has."""
    out: list[Violation] = []
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            out.append(Violation(f"two claims have the id {item.id!r}", "give every claim its own id"))
        seen.add(item.id)
    return out


def _describe(value: Any) -> str:
    if isinstance(value, list | tuple):
        kinds = sorted({type(x).__name__ for x in value})
        return f"a {type(value).__name__} of {', '.join(kinds) or 'nothing'}"
    return f"a {type(value).__name__}"


def chapter_page(page: str, figures: dict[str, str], video: str) -> list[Violation]:
    """A rendered chapter: starts with its title, shows every figure and the video."""
    out: list[Violation] = []
    first = next((ln for ln in page.splitlines() if ln.strip()), "")
    if not first.startswith("# "):
        out.append(Violation("the page does not start with a '# Title' heading",
                             "make the first line the chapter's title, like '# Superposition'"))
    for name, markup in figures.items():
        if markup not in page:
            out.append(Violation(f"figure {name!r} never appears in the page",
                                 f"place {{{{ figures.{name} }}}} where the reader should see it"))
    if video and video not in page:
        out.append(Violation("the video never appears in the page", "place {{ video }} in the chapter"))
    return out



def practice_page(page: str) -> list[Violation]:
    """A rendered ``practice.md.j2``: every exercise has a label of its own, and
    every solution names an exercise of the page and is folded (``:class: dropdown``)."""
    import re

    out: list[Violation] = []
    labels: list[str] = []
    for block in re.findall(r"^:::\{exercise\}[^\n]*\n((?::\w+:[^\n]*\n)*)", page, re.MULTILINE):
        found = re.search(r"^:label:\s*(\S+)", block, re.MULTILINE)
        if not found:
            out.append(Violation("an exercise has no label",
                                 "give every exercise ':label: SLUG-NAME' so its solution and links can name it"))
        elif found.group(1) in labels:
            out.append(Violation(f"two exercises have the label {found.group(1)!r}", "give every exercise its own label"))
        else:
            labels.append(found.group(1))
    for target, block in re.findall(r"^:::\{solution\}[ \t]*(\S*)[^\n]*\n((?::\w+:[^\n]*\n)*)", page, re.MULTILINE):
        if target not in labels:
            out.append(Violation(f"a solution names {target or 'no exercise'!r}, which no exercise of the page has",
                                 "write ':::{solution} LABEL' with the label of the exercise it answers"))
        elif not re.search(r"^:class:\s*dropdown\b", block, re.MULTILINE):
            out.append(Violation(f"the solution of {target!r} is not folded", "add ':class: dropdown' under it"))
    return out
