"""The foundations chapters (features as directions, terminology map) and the paper plugin."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from course import book, pipeline
from course.plugins import PluginInfo, Registered
from course_plugins import features_as_directions as fad
from course_plugins import paper, terminology


def _reg(concept) -> Registered:
    return Registered(concept, PluginInfo(concept.slug))


def _page(concept, result, metrics, figures) -> str:
    """The chapter as the book renders it (figures as MyST, no video)."""
    ctx = {
        "concept": concept, "metrics": metrics, "runs": metrics["runs"], "video": "",
        "figures": {f.name: book.figure_markdown(f, f"figures/{Path(f.path).name}") for f in figures},
        "claims": concept.claims(metrics),
    }
    return book.render_template(concept.chapter(), **ctx)


# --------------------------------------------------------------------------- terminology


@pytest.fixture(scope="module")
def terms(tmp_path_factory):
    c = terminology.CONCEPT
    result, _ = pipeline.experiment(_reg(c), use_cache=False)
    metrics = pipeline.metrics(_reg(c), result)
    figures = c.figures(result, metrics, tmp_path_factory.mktemp("terms"))
    return c, result, metrics, figures


def test_the_four_codes_have_exactly_the_properties_the_map_claims(terms):
    _, _, metrics, _ = terms
    c = metrics["codes"]
    assert list(c) == list(terminology.CODES)
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


def test_terminology_map_figure_and_chapter(terms):
    concept, result, metrics, figures = terms
    (fig,) = figures
    assert Path(fig.path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "2 of 2 neurons polysemantic" in fig.alt and "Look at" in fig.caption
    assert terminology.figures.where(metrics["codes"], lambda r: r["superposition"]) == "right column"
    assert terminology.figures.where(metrics["codes"], lambda r: r["distributed"]) == "bottom row"
    assert terminology.figures.where(metrics["codes"], lambda r: r["polysemantic_neurons"] > 0) == "3 of 4 codes"
    page = _page(concept, result, metrics, figures)
    assert page.startswith("# Terminology map\n\n**Polysemanticity, superposition")
    assert "{{" not in page and ":::{figure}" in page


# --------------------------------------------------------------------------- features as directions


def test_angles():
    assert fad.off_axis_angle(np.array([1.0, 0.0])) == pytest.approx(0.0)
    assert fad.off_axis_angle(np.array([0.0, -2.0])) == pytest.approx(0.0)
    assert fad.off_axis_angle(np.array([1.0, 1.0])) == pytest.approx(45.0)
    t = math.radians(-143.2)  # a trained run's W_1: 36.8° from the negative neuron-1 axis
    assert fad.off_axis_angle(np.array([math.cos(t), math.sin(t)])) == pytest.approx(36.8)
    assert fad.angle_between(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == pytest.approx(90.0)
    assert fad.angle_between(np.array([1.0, 0.0]), np.array([-1.0, 0.0])) == pytest.approx(180.0)
    assert fad.angle_between(np.array([0.0, 0.0]), np.array([1.0, 0.0])) == 0.0


@pytest.fixture(scope="module")
def directions_quick():
    c = fad.CONCEPT
    result, _ = pipeline.experiment(_reg(c), quick=True, use_cache=False)
    return c, result, pipeline.metrics(_reg(c), result)


def test_directions_metrics_are_consistent_with_the_weights(directions_quick):
    _, result, metrics = directions_quick
    x = np.asarray(metrics["example_input"])
    assert len(metrics["runs"]) == result.settings["n_seeds"]
    for r in metrics["runs"]:
        W, b = np.asarray(r["W"]), np.asarray(r["bias"])
        assert np.allclose(r["h"], W @ x, atol=1e-3)
        assert np.allclose(r["readout"], W.T @ (W @ x) + b, atol=2e-3)
        assert np.allclose(r["feature_norms"], np.linalg.norm(W, axis=0), atol=1e-3)
    shown = metrics["runs"][metrics["shown"]]
    assert shown["off_axis_deg"] == max(r["off_axis_deg"] for r in metrics["runs"])


def test_directions_claim_judges_lengths_and_angles(directions_quick):
    concept, _, metrics = directions_quick
    good = {**metrics, "runs": [{**r, "feature_norms": [1.0, 0.99, 0.01], "angle_12": 90.0} for r in metrics["runs"]]}
    assert concept.claims(good)[0].holds
    bad = {**metrics, "runs": [{**r, "feature_norms": [1.0, 0.6, 0.7], "angle_12": 70.0} for r in metrics["runs"]]}
    (claim,) = concept.claims(bad)
    assert not claim.holds and "0 of" in claim.measured


@pytest.mark.slow
def test_directions_full_run_reproduces_the_linear_model_claim(tmp_path):
    c = fad.CONCEPT
    result, _ = pipeline.experiment(_reg(c), use_cache=False)
    metrics = pipeline.metrics(_reg(c), result)
    (claim,) = c.claims(metrics)
    assert claim.holds, claim.measured
    figures = c.figures(result, metrics, tmp_path)
    assert Path(figures[0].path).stat().st_size > 10_000
    page = _page(c, result, metrics, figures)
    shown = metrics["runs"][metrics["shown"]]
    assert abs(shown["angle_12"] - 90) < 1
    assert "{{" not in page and f"meet at {shown['angle_12']:.1f}°" in page


@pytest.mark.slow
def test_directions_scene_constructs_and_ends_on_the_full_picture(directions_quick):
    from course import render

    concept, result, metrics = directions_quick
    scene = render.construct(concept.animation(result, metrics))
    frame = np.asarray(scene.renderer.get_frame())
    background = np.array([0x0F, 0x17, 0x2A])
    differs = np.abs(frame[..., :3].astype(int) - background).sum(axis=-1) > 30
    assert differs.mean() > 0.02, "the last frame is nearly empty"
    amber = np.array([0xF5, 0x9E, 0x0B])
    assert (np.abs(frame[..., :3].astype(int) - amber).sum(axis=-1) < 40).sum() > 50, "feature 1's arrow is missing"


# --------------------------------------------------------------------------- paper plugin


def test_paper_plugin_lists_sections_five_onward_and_the_sequels():
    entries = []
    paper.register_roadmap(entries.append)
    sections = [e for e in entries if e.group == paper.SECTIONS]
    sequels = [e for e in entries if e.group == paper.SEQUELS]
    assert [int(e.title.split()[0][1:]) for e in sections] == list(range(5, 12))
    titles = " ".join(e.title for e in sequels)
    for name in ("Double Descent", "Towards Monosemanticity", "Scaling Monosemanticity", "ARENA"):
        assert name in titles
    assert all(e.link.startswith("https://") and e.description for e in entries)


def test_paper_plugin_glossary_terms_have_sources():
    terms = []
    paper.register_glossary(terms.append)
    assert len({t.term.lower() for t in terms}) == len(terms)
    assert all(t.link.startswith("https://") and len(t.definition) > 30 for t in terms)
