"""The terminology map (a foundations chapter): the four codes, the claims, the figure and the page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from course import chapters, pipeline
from course.markup import figure_markdown, render_template
from course.plugins import PluginInfo, Registered
from course_plugins.terminology import CONCEPT
from course_plugins.terminology import analysis as term_analysis
from course_plugins.terminology import figures as term_figures


def _reg(concept) -> Registered:
    return Registered(concept, PluginInfo(concept.slug))


def _page(concept, result, metrics, figures) -> str:
    """The chapter as the book renders it (figures as MyST, no video)."""
    ctx = {
        "concept": concept, "metrics": metrics, "runs": metrics["runs"], "video": "",
        "figures": {f.name: figure_markdown(f, f"figures/{Path(f.path).name}") for f in figures},
        "claims": concept.claims(metrics),
    }
    return render_template(concept.chapter(), **ctx)


@pytest.fixture(scope="module")
def terms(tmp_path_factory):
    """The concept, its result and metrics, and its figures with their words filled in."""
    c = CONCEPT
    result, _ = pipeline.experiment(_reg(c), use_cache=False)
    metrics = pipeline.metrics(_reg(c), result)
    figures = c.figures(result, metrics, tmp_path_factory.mktemp("terms"))
    figures = chapters.describe(_reg(c), metrics, figures, None, [], False).figures
    return c, result, metrics, figures


def test_the_four_codes_have_exactly_the_properties_the_map_claims(terms):
    _, _, metrics, _ = terms
    c = metrics["codes"]
    assert list(c) == list(term_analysis.CODES)
    local, dist, sup, both = c["local"], c["distributed"], c["superposed-local"], c["superposed-distributed"]
    # local: nothing at all
    assert (local["superposition"], local["distributed"], local["polysemantic_neurons"], local["orthogonal"]) == (False, False, 0, True)
    # distributed without superposition: polysemantic neurons, no interference
    assert dist["mean_participation"] == pytest.approx(2.0) and dist["distributed"]
    assert dist["polysemantic_neurons"] == 2 and dist["orthogonal"] and not dist["superposition"]
    assert dist["max_interference"] == pytest.approx(0.0, abs=1e-9)
    # superposition on the neurons: not distributed, but WᵀW is singular and features interfere
    assert sup["superposition"] and sup["gram_rank"] == 2 and sup["n_features"] == 4
    assert sup["mean_participation"] == pytest.approx(1.0) and not sup["distributed"]
    assert sup["max_interference"] == pytest.approx(1.0) and not sup["orthogonal"]
    assert both["superposition"] and both["distributed"] and both["polysemantic_neurons"] == 2


def test_terminology_claims_hold_and_say_what_was_measured(terms):
    concept, _, metrics, _ = terms
    claims = concept.claims(metrics)
    assert {cl.id for cl in claims} == {"distributed-without-superposition", "superposition-implies-polysemanticity"}
    assert all(cl.holds for cl in claims)
    assert all(cl.source.startswith("https://") for cl in claims)


def test_terminology_claim_fails_when_the_codes_do_not_show_it(terms):
    concept, _, metrics, _ = terms
    broken = {**metrics, "codes": {**metrics["codes"], "distributed": metrics["codes"]["superposed-distributed"]}}
    assert not next(cl for cl in concept.claims(broken) if cl.id == "distributed-without-superposition").holds


def test_the_claims_are_checks_of_the_mathematics_that_fail_on_codes_without_the_property(terms):
    concept, _, metrics, _ = terms
    # hand-built codes: the claims are identities, listed apart from the reproduced findings
    assert all(j.identity for j in concept.judgements(metrics))
    assert all(cl.identity for cl in concept.claims(metrics))

    def verdicts(**codes: str) -> dict[str, bool]:
        c = {**metrics["codes"], **{k.replace("_", "-"): metrics["codes"][v] for k, v in codes.items()}}
        return {j.id: j.holds for j in concept.judgements({**metrics, "codes": c})}

    # a local code in the distributed code's place is not distributed; the superposed pairs there
    # are in superposition; a local code in the superposed code's place has no superposition
    assert not verdicts(distributed="local")["distributed-without-superposition"]
    assert not verdicts(distributed="superposed-local")["distributed-without-superposition"]
    assert not verdicts(distributed="local")["superposition-implies-polysemanticity"]
    assert not verdicts(superposed_local="local")["superposition-implies-polysemanticity"]
    assert not verdicts(superposed_local="distributed")["superposition-implies-polysemanticity"]


def test_superposition_is_judged_on_the_represented_features():
    # the linear model's answer for 3 features in 2 dimensions: WᵀW has rank 2 < 3, yet the
    # third feature is simply left out, so there is no superposition
    linear = term_analysis.measure(np.eye(2, 3))
    assert linear["gram_rank"] == 2 < linear["n_features"]
    assert linear["features_represented"] == 2 and linear["represented_rank"] == 2
    assert linear["superposition"] is False
    # three features squeezed into two dimensions are in superposition
    angles = np.radians([90, 210, 330])
    assert term_analysis.measure(np.stack([np.cos(angles), np.sin(angles)]))["superposition"] is True


def test_terminology_map_figure_and_chapter(terms):
    concept, result, metrics, figures = terms
    (fig,) = figures
    assert Path(fig.path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "2 of 2 neurons polysemantic" in fig.alt and "Look at" in fig.caption
    assert term_figures.where(metrics["codes"], lambda r: r["superposition"]) == "right column"
    assert term_figures.where(metrics["codes"], lambda r: r["distributed"]) == "bottom row"
    assert term_figures.where(metrics["codes"], lambda r: r["polysemantic_neurons"] > 0) == "3 of 4 codes"
    page = _page(concept, result, metrics, figures)
    assert page.startswith("# Terminology map\n\n**Polysemanticity, superposition")
    assert "{{" not in page and ":::{figure}" in page
