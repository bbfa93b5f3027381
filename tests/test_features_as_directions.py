"""The features-as-directions chapter (a foundations chapter): its angles, metrics, claim,
figure, page and video."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from helpers import random_rotation

from course import Result, chapters, pipeline
from course.markup import figure_markdown, render_template
from course.plugins import PluginInfo, Registered
from course_plugins.features_as_directions import CONCEPT
from course_plugins.features_as_directions.analysis import angle_between, off_axis_angle
from course_plugins.features_as_directions.experiment import Settings


def _reg(concept) -> Registered:
    return Registered(concept, PluginInfo(concept.slug))


def _page(concept, result, metrics, figures) -> str:
    """The chapter as the book renders it (figures as MyST with their words, no video)."""
    figures = chapters.describe(_reg(concept), metrics, figures, None, [], False).figures
    ctx = {
        "concept": concept, "metrics": metrics, "runs": metrics["runs"], "video": "",
        "figures": {f.name: figure_markdown(f, f"figures/{Path(f.path).name}") for f in figures},
        "claims": concept.claims(metrics),
    }
    return render_template(concept.chapter(), **ctx)


def test_angles():
    assert off_axis_angle(np.array([1.0, 0.0])) == pytest.approx(0.0)
    assert off_axis_angle(np.array([0.0, -2.0])) == pytest.approx(0.0)
    assert off_axis_angle(np.array([1.0, 1.0])) == pytest.approx(45.0)
    t = math.radians(-143.2)  # a trained run's W_1: 36.8° from the negative neuron-1 axis
    assert off_axis_angle(np.array([math.cos(t), math.sin(t)])) == pytest.approx(36.8)
    assert angle_between(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == pytest.approx(90.0)
    assert angle_between(np.array([1.0, 0.0]), np.array([-1.0, 0.0])) == pytest.approx(180.0)
    assert angle_between(np.array([0.0, 0.0]), np.array([1.0, 0.0])) == 0.0


@pytest.fixture(scope="module")
def directions_quick():
    c = CONCEPT
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


# --------------------------------------------------------------------------- negative controls
#
# The claim is run on weights that must fail it: untrained models (the engine's
# initialisation), the trained models with features 2 and 3 swapped (the wrong
# features kept), and the trained arrows grown to 1.5 times their length (WᵀW
# then over-reads every kept feature). A rotation of the hidden plane must not
# change the verdict: the linear model has no privileged basis.


def result_from(W_all: np.ndarray, b_all: np.ndarray | None = None) -> Result:
    """A Result of the experiment's shape holding these models (seeds, m, n)."""
    s = Settings()
    b_all = np.zeros(W_all.shape[::2]) if b_all is None else b_all
    return Result(CONCEPT.slug, asdict(s), 0, arrays={
        "W_all": W_all[None], "b_all": b_all[None], "loss_all": np.zeros((1, len(W_all)))},
        info={"example_input": list(s.example_input)})


def untrained(seeds: int, seed: int) -> np.ndarray:
    """The engine's initialisation: Xavier normal, std √(2 / (m + n))."""
    return np.random.default_rng(seed).normal(size=(seeds, 2, 3)) * math.sqrt(2 / 5)


def controls(W_all: np.ndarray, b_all: np.ndarray) -> dict[str, Result]:
    return {
        "untrained": result_from(untrained(len(W_all), 0)),
        "features 2 and 3 swapped": result_from(W_all[..., [0, 2, 1]].copy(), b_all[..., [0, 2, 1]].copy()),
        "arrows 1.5 times longer": result_from(1.5 * W_all, b_all),
    }


def holds(result: Result) -> bool:
    (j,) = CONCEPT.judgements(CONCEPT.metrics(result))
    assert not j.identity
    return bool(j.holds)


def pca_solution(seeds: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The linear model's optimum: unit arrows for features 1 and 2 at a right angle,
    turned by a different angle in each model, feature 3 left out (bias 0.5)."""
    W = np.stack([random_rotation(2, seed=k) @ np.eye(2, 3) for k in range(seeds)])
    return W, np.tile([0.0, 0.0, 0.5], (seeds, 1))


def test_the_claim_fails_its_negative_controls_on_the_pca_solution():
    W, b = pca_solution()
    assert holds(result_from(W, b))
    for name, control in controls(W, b).items():
        assert not holds(control), name


def test_no_untrained_model_passes():
    assert not any(holds(result_from(untrained(4, seed))) for seed in range(40))


@pytest.mark.slow
def test_negative_controls_on_the_trained_models():
    result, _ = pipeline.experiment(_reg(CONCEPT), quick=False)
    W, b = result["W_all"][0].astype(np.float64), result["b_all"][0].astype(np.float64)
    assert holds(result_from(W, b))
    # no privileged basis: turning every model's plane keeps the verdict
    assert holds(result_from(np.stack([random_rotation(2, seed=k) @ w for k, w in enumerate(W)]), b))
    for name, control in controls(W, b).items():
        assert not holds(control), name


@pytest.mark.slow
def test_directions_full_run_reproduces_the_linear_model_claim(tmp_path):
    c = CONCEPT
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
    from course import palette

    first = np.array([int(palette.feature_color(0)[k : k + 2], 16) for k in (1, 3, 5)])
    assert (np.abs(frame[..., :3].astype(int) - first).sum(axis=-1) < 40).sum() > 50, "feature 1's arrow is missing"
