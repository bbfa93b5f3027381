"""The reading aids of the book: "The models of this course at a glance" (one
table generated from every plugin's settings), the "Before you start" page
opening the Foundations part, and the reading path on the introduction."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from course import pages, pipeline, plugins
from course.book import render_static_pages
from course.chapters import ChapterOutput
from course.toc import write_toc

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def course() -> plugins.Course:
    return plugins.load()


#: the model kinds a chapter's runs name, where its settings do not (no training here)
RUN_MODELS = {"sparsity": ["linear", "relu"], "interference": ["linear", "relu"]}


def _chapters(course: plugins.Course) -> list[ChapterOutput]:
    """Every concept as a built chapter, with runs that only name their model."""
    return [ChapterOutput(r, {"runs": [{"model": k} for k in RUN_MODELS.get(r.concept.slug, [])]}, [], None, [])
            for r in course.concepts]


def _row(rows: list[dict[str, Any]], slug: str) -> dict[str, Any]:
    return next(r for r in rows if r["slug"] == slug)


def test_the_models_table_has_a_row_per_chapter_read_from_its_settings(course: plugins.Course) -> None:
    from course_plugins.polysemanticity.experiment import Settings as Poly
    from course_plugins.superposition.experiment import Settings as Sup

    rows = pages.model_rows(_chapters(course))
    assert [r["slug"] for r in rows] == course.slugs()
    s = Sup()
    sup = _row(rows, "superposition")
    assert (sup["n"], sup["m"]) == (str(s.n_features), str(s.n_hidden))
    assert sup["importance"] == f"{s.importance_decay:g}^(i−1)"
    dens = sorted({round(1 - x, 6) for x in s.sparsities}, reverse=True)
    assert sup["densities"] == f"{dens[0]:g} to {dens[-1]:g} ({len(dens)} levels)"
    assert (sup["seeds"], sup["steps"], sup["model"]) == (str(s.n_seeds), str(s.steps), "ReLU output")
    p = Poly()
    poly = _row(rows, "polysemanticity")
    assert (poly["seeds"], poly["steps"], poly["model"]) == (str(p.n_seeds), str(p.steps), "ReLU neurons")
    # a chapter with several models gives ranges: sparsity's linear and ReLU sweeps, phase grid, arrows
    sp = _row(rows, "sparsity")
    assert sp["model"] == "linear, ReLU output" and " to " in sp["seeds"]
    assert _row(rows, "terminology")["densities"] == ""  # built by hand, not trained

    table = pages.models_table(_chapters(course))
    lines = [ln for ln in table.splitlines() if ln.startswith("| [")]
    assert len(lines) == len(rows)
    assert all(f"(concepts/{r['slug']}.md)" in ln for r, ln in zip(rows, lines, strict=True))
    assert all(ln.count("|") == 10 for ln in lines), "every row has the nine columns"


def test_the_models_table_follows_the_settings(course: plugins.Course, monkeypatch: pytest.MonkeyPatch) -> None:
    # negative control: the table is not typed in; changed settings change it
    real = pipeline.settings_of

    def changed(reg: plugins.Registered, *args: Any, **kwargs: Any) -> dict[str, Any]:
        out = real(reg, *args, **kwargs)
        if reg.concept.slug == "superposition":
            out = {**out, "steps": 1234, "n_seeds": 3, "sparsities": [0.0, 0.99]}
        return out

    monkeypatch.setattr(pipeline, "settings_of", changed)
    sup = _row(pages.model_rows(_chapters(course)), "superposition")
    assert (sup["steps"], sup["seeds"], sup["densities"]) == ("1234", "3", "1 to 0.01 (2 levels)")


def test_the_models_table_shows_what_the_build_trained(course: plugins.Course) -> None:
    """A --quick or --profile paper build's table gives the settings that build trained."""
    chapters = _chapters(course)
    poly = next(ch for ch in chapters if ch.reg.concept.slug == "polysemanticity")
    poly.settings = pipeline.settings_of(poly.reg, quick=True)
    row = _row(pages.model_rows(chapters), "polysemanticity")
    assert (row["seeds"], row["steps"]) == (str(poly.settings["n_seeds"]), str(poly.settings["steps"]))
    poly.settings = pipeline.settings_of(poly.reg, profile="paper")
    row = _row(pages.model_rows(chapters), "polysemanticity")
    assert (row["seeds"], row["steps"]) == ("1000", "10000")


def test_before_you_start_opens_the_foundations_with_free_sources(tmp_path: Path, course: plugins.Course) -> None:
    text = (REPO / "book" / "before-you-start.md").read_text(encoding="utf-8")
    assert text.startswith("# Before you start\n\n**")
    for topic in ("Vectors and dot products", "Matrix multiplication", "Rank", "A little PyTorch", "How long"):
        assert f"## {topic}" in text
    links = re.findall(r"\]\((https?://[^)]+)\)", text)
    assert len(links) >= 6 and all(u.startswith("https://") for u in links)
    for name in ("intro", "before-you-start", "references"):
        (tmp_path / f"{name}.md").write_text("# x\n", encoding="utf-8")
    write_toc(tmp_path, _chapters(course))
    toc = yaml.safe_load((tmp_path / "_toc.yml").read_text(encoding="utf-8"))
    foundations = toc["parts"][0]
    assert foundations["caption"] == "Foundations"
    assert foundations["chapters"][0] == {"file": "before-you-start"}


def test_the_introduction_has_a_reading_path_and_the_models_table(tmp_path: Path, course: plugins.Course) -> None:
    (tmp_path / "intro.md.j2").write_text((REPO / "book" / "intro.md.j2").read_text(encoding="utf-8"),
                                          encoding="utf-8")
    chapters = [ch for ch in _chapters(course) if ch.reg.concept.slug not in ("superposition", "why-it-matters")]
    render_static_pages(tmp_path, chapters)
    intro = (tmp_path / "intro.md").read_text(encoding="utf-8")
    path = intro.split("## A reading path", 1)[1].split("\n## ", 1)[0]
    for goal in ("**Just the terms**", "**Measuring superposition**", "**The geometry**"):
        assert goal in path
    for ch in chapters:
        assert f"(concepts/{ch.reg.concept.slug}.md)" in path, ch.reg.concept.slug
    # a chapter this book lacks is named, not linked (no broken link)
    assert "(concepts/superposition.md)" not in intro and "*Superposition*" in path
    glance = intro.split("## The models of this course at a glance", 1)[1]
    assert glance.count("\n| [") == len(chapters)
    assert "before-you-start.md" in intro

