"""The data of the book's interactive figures, written from the build's cached results.

A chapter shows an interactive figure by loading the figure's data script,
``_static/interactive/SLUG.js`` (from the page: ``../_static/interactive/SLUG.js``),
and placing the figure's markup (see the Superposition chapter). The build
writes that script only for a page that loads it (:func:`write_data`): it
holds the weights of every level of the concept's sweep, read from the
experiment's cached result, beside the measurements of its metrics, so
editing a page never trains a model. The scripts that draw (``toy-model.js``,
``toy-draw.js``, ``explorer.js``, ``trainer.js``) are the book's own, in
``book/_static``, and load nothing from the network.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from course.plugins import PluginError, Registered
from course.results import CorruptResult, Result, jsonable

if TYPE_CHECKING:
    from course.pipeline import Artifacts

#: the folder under ``_static`` that holds the figures' data scripts (kept off
#: the pages that do not load them: see ``book/_ext/course_html.py``)
DATA_FOLDER = "interactive"
#: decimals kept of each weight
DIGITS = 5
#: feature colours handed to the page (the trainer draws up to 8 features; more cycle)
COLOURS = 12


def data_script(slug: str) -> str:
    """Where the data script of ``slug``'s interactive figures lies, from the book's root."""
    return f"_static/{DATA_FOLDER}/{slug}.js"


def sweep_data(slug: str, result: Result, metrics: dict[str, Any]) -> dict[str, Any]:
    """The explorer's data: per run of ``metrics`` (one per level of the sweep),
    the run's measurements with the kept model's W (m rows of n numbers, from
    ``result["W"]``, shape (levels, m, n)) and bias ``b`` added."""
    W = np.asarray(result["W"], dtype=np.float64)
    runs = metrics.get("runs", [])
    if W.ndim != 3 or W.shape[0] != len(runs):
        raise ValueError(f"the result's W has shape {W.shape}; an interactive figure needs one "
                         f"(m, n) matrix per run, {len(runs)} runs")
    b = np.asarray(result["b"], dtype=np.float64) if "b" in result.arrays else np.zeros((W.shape[0], W.shape[2]))
    out_runs = []
    for k, run in enumerate(runs):
        entry = dict(run)
        entry["W"] = jsonable(W[k], DIGITS)
        entry["b"] = jsonable(b[k], DIGITS)
        out_runs.append(entry)
    return {
        "concept": slug,
        "n_features": int(W.shape[2]),
        "n_hidden": int(W.shape[1]),
        "represented_threshold": metrics.get("represented_threshold"),
        "runs": out_runs,
    }


def palette_data() -> dict[str, Any]:
    """The colours the static figures use (``course_animations.palette``),
    for the drawings in the page: :data:`COLOURS` feature colours and the
    WᵀW scale."""
    from course_animations import palette

    return {"features": [palette.feature_color(i) for i in range(COLOURS)], "muted": palette.MUTED,
            "negative": palette.NEGATIVE, "zero": palette.ZERO_LIGHT, "positive": palette.POSITIVE}


def _json(value: Any) -> str:
    # no "</script>" can end it early, wherever it is pasted
    return json.dumps(value, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def script(data: dict[str, Any]) -> str:
    """The data as a script that adds it to ``window.CourseData`` and sets
    ``window.CoursePalette`` (:func:`palette_data`), so the page's drawings
    take the static figures' colours."""
    return ("/* Written by course build from this build's cached result: edit the plugin, not this file. */\n"
            f"window.CoursePalette = {_json(palette_data())};\n"
            f"(window.CourseData = window.CourseData || {{}})[{_json(data['concept'])}] = {_json(data)};\n")


def write_data(reg: Registered, art: Artifacts, page: str, src: Path) -> list[Path]:
    """Write what ``reg``'s chapter ``page`` loads for its interactive figures
    into the book sources ``src``: the data script (:func:`data_script`), read
    from the experiment's cached result (``art.experiment``), and any of the
    chapter's figures it shows as a fallback image from the same folder
    (``_static/interactive/NAME.png``, NAME the figure's file). Returns what
    it wrote: nothing when the page shows no interactive figure."""
    slug = reg.concept.slug
    written = []
    folder = src / "_static" / DATA_FOLDER
    for fig in art.figures:
        name = Path(fig.path).name
        if f"_static/{DATA_FOLDER}/{name}" in page:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fig.path, folder / name)
            written.append(folder / name)
    rel = data_script(slug)
    if rel not in page:
        return written
    where = f"{slug}.interactive"
    try:
        if art.experiment is None:
            raise CorruptResult("the build did not say where the result is cached")
        result = Result.load(art.experiment)
    except CorruptResult as exc:
        raise PluginError(reg.plugin.name, where,
                          f"the chapter shows an interactive figure, drawn from the experiment's cached result, "
                          f"which cannot be read ({exc}); run `course clean` and build again to train it afresh") from None
    try:
        data = sweep_data(slug, result, art.metrics)
    except (KeyError, ValueError) as exc:
        raise PluginError(reg.plugin.name, where, f"the interactive figure's data: {exc}") from None
    path = src / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script(data), encoding="utf-8")
    return [*written, path]
