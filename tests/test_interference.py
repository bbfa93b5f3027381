"""The interference concept: registration, JSON, the read-out and filter helpers on
hand-made weights, the loss split checked against sampled data, and (slow) the
paper's claims on the full settings."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import course_json
from test_sparsity import MAKERS, check_controls, fake_result, verdicts

from course_plugins.interference import CONCEPT
from course_plugins.interference.analysis import (
    filter_threshold,
    positive_interference,
    readout,
    variance_uniform_sparse,
)

RUN_KEYS = {"model", "sparsity", "interference", "benefit", "interference_loss", "gram_rank",
            "gram_eigenvalues", "feature_norms", "bias", "loss", "linear_form_loss"}


def pentagon(scale: float = 1.0) -> np.ndarray:
    a = 2 * np.pi * np.arange(5) / 5
    return scale * np.stack([np.cos(a), np.sin(a)])


# --------------------------------------------------------------------------- fast



def test_readout_stages_on_an_antipodal_pair_and_an_orthogonal_feature():
    # features 1 and 2 antipodal on the first axis, feature 3 alone on the second
    W = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
    b = np.array([0.0, 0.0, -0.1])
    r = readout(W, b, feature=0, value=0.5)
    assert r["readout"] == pytest.approx([0.5, -0.5, 0.0])
    assert r["with_bias"] == pytest.approx([0.5, -0.5, -0.1])
    assert r["output"] == pytest.approx([0.5, 0.0, 0.0])  # the ReLU cuts the antipode


def test_filter_threshold_is_where_the_first_echo_gets_through():
    W = pentagon()
    b = np.full(5, -0.2)
    cos72 = np.cos(2 * np.pi / 5)
    thr = filter_threshold(W, b, 0)
    assert thr == pytest.approx(0.2 / cos72)
    # just below the threshold nothing leaks, just above the neighbours do
    below = readout(W, b, 0, thr - 1e-3)["output"]
    above = readout(W, b, 0, thr + 1e-2)["output"]
    assert all(v == 0 for v in below[1:])
    assert above[1] > 0 and above[4] > 0 and above[2] == 0 and above[3] == 0


def test_filter_threshold_is_none_without_a_negative_bias_or_positive_overlap():
    assert filter_threshold(pentagon(), np.zeros(5), 0) is None
    W = np.array([[1.0, -1.0]])  # only a negative overlap
    assert filter_threshold(W, np.array([-0.1, -0.1]), 0) is None


def test_positive_interference_ignores_antipodes_and_counts_leaning_neighbours():
    anti = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
    assert positive_interference(anti) == pytest.approx([0, 0, 0])
    cos72 = np.cos(2 * np.pi / 5)
    assert positive_interference(pentagon()) == pytest.approx(np.full(5, 2 * cos72**2))


def test_linear_loss_split_matches_sampled_data():
    """σ²/n (Σ I − benefit + interference) is the linear model's loss with the best bias."""
    import torch

    from course import metrics as M
    from course.engine import ToyConfig, loss_per_instance, sample_batch

    rng = np.random.default_rng(0)
    n, m, p = 6, 3, 0.3
    W = rng.normal(size=(m, n)) * 0.6
    imp = 0.8 ** np.arange(n)
    cfg = ToyConfig.sweep(n, m, importance=imp, density=p, model="linear")
    x = sample_batch(cfg, 400_000, seed=1).double()
    G = W.T @ W
    b = -(G - np.eye(n)) @ np.full(n, p / 2)  # the optimal bias cancels the mean error
    loss = loss_per_instance(torch.tensor(W)[None], torch.tensor(b)[None], x,
                             torch.tensor(imp)[None, None], "linear").item()
    benefit, interf = M.loss_decomposition(W, imp)
    predicted = variance_uniform_sparse(p) / n * (imp.sum() - benefit + interf)
    assert loss == pytest.approx(predicted, rel=0.02)


def test_variance_of_a_sparse_uniform_feature():
    from course.engine import ToyConfig, sample_batch

    cfg = ToyConfig.sweep(4, 2, density=0.2)
    x = sample_batch(cfg, 200_000, seed=3).numpy().ravel()
    assert x.var() == pytest.approx(variance_uniform_sparse(0.2), rel=0.02)


def test_quick_run_json_has_the_issue_keys():
    doc = course_json("interference", "--quick")
    assert doc["concept"] == "interference"
    n, m = doc["n_features"], doc["n_hidden"]
    runs = doc["runs"]
    assert {r["model"] for r in runs} == {"linear", "relu"}
    for r in runs:
        assert RUN_KEYS <= set(r)
        assert len(r["interference"]) == n and len(r["bias"]) == n
        assert isinstance(r["benefit"], float) and isinstance(r["interference_loss"], float)
        assert 0 < r["gram_rank"] <= m
        assert sum(e > 1e-6 for e in r["gram_eigenvalues"]) <= m
        assert sum(r["gram_eigenvalues"]) == pytest.approx(r["frobenius_sq"], rel=1e-3)
    a = doc["arrows"]
    assert a["n_hidden"] == 2 and len(a["W"]) == 2 and len(a["W"][0]) == a["n_features"]
    assert np.allclose(np.array(a["gram"]), np.array(a["W"]).T @ np.array(a["W"]), atol=1e-4)


#: what both chapters quote for one model at one density
SHARED_KEYS = ("frobenius_sq", "features_represented", "feature_norms", "bias", "interference", "loss")


def shared_numbers(metrics: dict, density: float) -> dict:
    """The numbers of each model at ``density`` that both chapters' runs carry."""
    return {r["model"]: {k: r[k] for k in SHARED_KEYS}
            for r in metrics["runs"] if r["density"] == pytest.approx(density)}


@pytest.fixture(scope="module")
def quick_result():
    return CONCEPT.run(CONCEPT.settings(quick=True), seed=0)


def test_interference_shares_the_sparsity_experiment():
    from course import cache
    from course_plugins.sparsity import CONCEPT as SPARSITY

    assert CONCEPT.experiment_module() is SPARSITY.experiment_module()
    settings = CONCEPT.settings(quick=True)
    assert settings == SPARSITY.settings(quick=True) and CONCEPT.settings() == SPARSITY.settings()
    # one cache entry, keyed by the configuration: trained once for both chapters
    assert CONCEPT.experiment_group() == SPARSITY.experiment_group()
    assert cache.experiment_path(CONCEPT, settings, 0, "cpu") == cache.experiment_path(SPARSITY, settings, 0, "cpu")


def test_both_chapters_quote_identical_numbers_from_one_result(quick_result):
    from course_plugins.sparsity import CONCEPT as SPARSITY

    ours, theirs = CONCEPT.metrics(quick_result), SPARSITY.metrics(quick_result)
    densities = quick_result.info["densities"]
    assert 0.01 in densities  # the setting both chapters discuss
    for d in densities:
        mine, other = shared_numbers(ours, d), shared_numbers(theirs, d)
        assert set(mine) == {"linear", "relu"}
        assert mine == other, d
    # and one importance convention: I_i = decay^(i−1) for features numbered from 1
    imp = quick_result["relu_importance"][0]
    assert imp[0] == 1.0 and imp[1] == pytest.approx(ours["importance_decay"])
    assert ours["importance_decay"] == theirs["importance_decay"]


def test_chapter_renders_from_quick_metrics_and_claims_are_judged(quick_result):
    from course.book import render_template

    result = quick_result
    metrics = CONCEPT.metrics(result)
    claims = CONCEPT.claims(metrics)
    assert {c.id for c in claims} >= {"gram-rank", "linear-no-interference", "relu-tradeoff"}
    assert next(c for c in claims if c.id == "gram-rank").holds  # rank ≤ m is exact
    page = render_template(
        CONCEPT.chapter(), concept=CONCEPT, metrics=metrics, runs=metrics["runs"],
        figures={k: f"FIG-{k}" for k in ("reading", "tradeoff", "bias", "spectrum")},
        video="VIDEO", claims=claims,
    )
    assert page.startswith("# Interference")
    assert CONCEPT.question in page
    for k in ("reading", "tradeoff", "bias", "spectrum"):
        assert f"FIG-{k}" in page
    assert "VIDEO" in page


# --------------------------------------------------------------------------- negative controls
# (the controls are the Sparsity chapter's: the two chapters read one result)

#: claim -> the controls that must fail it; gram-rank and linear-loss-split are
#: checks of the mathematics (identities), true of any model with its best bias
CONTROLS = {
    "linear-no-interference": ("untrained", "swapped models"),
    "relu-tradeoff": ("untrained", "swapped models", "reversed densities"),
    "relu-negative-bias": ("untrained", "swapped models", "reversed densities", "biases zeroed"),
}


def test_identities_are_marked_and_hold_on_any_model():
    untrained = fake_result(0)
    judged = {j.id: j for j in CONCEPT.judgements(CONCEPT.metrics(untrained))}
    assert {cid for cid, j in judged.items() if j.identity} == {"gram-rank", "linear-loss-split"}
    assert judged["gram-rank"].holds  # rank ≤ m whatever the weights
    # the loss split is exact only with the best bias, which an untrained model lacks
    assert not judged["linear-loss-split"].holds
    assert {c.id for c in CONCEPT.claims(CONCEPT.metrics(untrained)) if c.identity} == {"gram-rank", "linear-loss-split"}


def test_no_finding_holds_on_untrained_models():
    for seed in range(20):
        held = [cid for cid, ok in verdicts(CONCEPT, fake_result(seed)).items() if ok and cid in CONTROLS]
        assert held == [], seed


def test_the_tradeoff_needs_a_trend_not_two_points():
    def run(model, sparsity, benefit, interference):
        return {"model": model, "sparsity": sparsity, "benefit": benefit, "interference_loss": interference,
                "gram_rank": 5, "bias_split": {"positive": [-0.1], "other": []}, "loss": 1.0, "linear_form_loss": 1.0}

    def judged(itf):
        runs = [run("relu", 1 - d, 2.8 + 0.1 * k, v) for k, (d, v) in enumerate(zip([1, 0.1, 0.01], itf, strict=True))]
        return {j.id: j.holds for j in CONCEPT.judgements({"runs": runs, "n_hidden": 5, "n_features": 20})}

    assert judged([0.0, 1.0, 3.0])["relu-tradeoff"]
    assert not judged([0.0, 4.0, 3.0])["relu-tradeoff"]  # up, then down
    assert not judged([1.0, 2.0, 3.0])["relu-tradeoff"]  # interference already on dense data


# --------------------------------------------------------------------------- slow


@pytest.fixture(scope="module")
def full() -> dict:
    return course_json("interference")


@pytest.mark.slow
def test_negative_controls_on_the_trained_models(full):
    from course.pipeline import experiment
    from course.plugins import load

    result, _ = experiment(load().get("interference"), quick=False)
    assert set(MAKERS) >= {c for names in CONTROLS.values() for c in names}
    check_controls(CONCEPT, result, CONTROLS)


@pytest.mark.slow
def test_full_run_reproduces_the_paper(full):
    runs = full["runs"]
    m = full["n_hidden"]
    lin = [r for r in runs if r["model"] == "linear"]
    relu = [r for r in runs if r["model"] == "relu"]
    # rank of WᵀW never exceeds m
    assert all(r["gram_rank"] <= m for r in runs)
    # the linear model: top-m features, no interference, benefit independent of sparsity
    assert all(r["features_represented"] == m for r in lin)
    assert max(r["interference_loss"] for r in lin) < 0.05
    assert max(r["benefit"] for r in lin) - min(r["benefit"] for r in lin) < 0.05
    # its loss is the benefit/interference formula
    for r in lin:
        assert r["loss"] == pytest.approx(r["linear_form_loss"], rel=0.05)
    # the ReLU model: interference and benefit both rise with sparsity
    dense, sparse = relu[0], relu[-1]
    assert sparse["interference_loss"] > dense["interference_loss"] + 1.0
    assert sparse["benefit"] > dense["benefit"] + 0.1
    assert sparse["features_represented"] > m
    # positive interference comes with negative biases at high sparsity
    assert sparse["bias_split"]["positive"]
    assert max(sparse["bias_split"]["positive"]) < -0.05
    assert not dense["bias_split"]["positive"]


@pytest.mark.slow
def test_full_run_arrows_model_filters_weak_inputs(full):
    a = full["arrows"]
    assert a["n_features"] == 5 and a["gram_rank"] == 2
    assert max(a["bias"]) < 0
    assert a["filter_threshold"] is not None and 0 < a["filter_threshold"] < 1
    assert a["weak_clean"] == (a["weak"]["value"] < a["filter_threshold"])


@pytest.mark.slow
def test_full_run_quotes_the_sparsity_chapters_numbers(full):
    """Both chapters' `course run --json` give the same numbers for the shared setting
    (20 features, 5 dimensions), density 0.01 included."""
    sparsity = course_json("sparsity")
    for d in {r["density"] for r in full["runs"]}:
        assert shared_numbers(full, d) == shared_numbers(sparsity, d), d
    assert shared_numbers(full, 0.01)["relu"]["features_represented"] > full["n_hidden"]


@pytest.mark.slow
def test_full_claims_hold(full):
    claims = CONCEPT.claims({k: v for k, v in full.items() if k != "concept"})
    failing = [c.id for c in claims if not c.holds]
    assert not failing, failing


@pytest.mark.slow
def test_scene_ends_with_the_gram_matrix_and_bars(tmp_path):
    from course import render
    from course.chapters import describe
    from course.plugins import load

    result = CONCEPT.run(CONCEPT.settings(quick=True))
    metrics = CONCEPT.metrics(result)
    anim = CONCEPT.animation(result, metrics)
    scene = render.construct(anim)
    # the figures and every narration step have their words
    reg = load().get("interference")
    figs = CONCEPT.figures(result, metrics, tmp_path)
    timeline = [[0.0, 1.0, str(sub.content)] for sub in scene.renderer.file_writer.subcaptions]
    described = describe(reg, metrics, figs, {"title": anim.title, "description": anim.description}, timeline, True)
    assert {f.name for f in described.figures} == {"reading", "tradeoff", "bias", "spectrum"}
    assert all(f.caption and f.alt for f in described.figures)
    assert described.title and described.description and described.captions.count("-->") == len(timeline)
    assert "@" not in described.captions  # no step left unnarrated
    frame = np.asarray(scene.renderer.get_frame())[..., :3].astype(int)
    # the right third holds the WᵀW heat map: red and blue cells, not just background
    right = frame[:, frame.shape[1] * 2 // 3 :]
    reds = (right[..., 0] > right[..., 2] + 40).sum()
    blues = (right[..., 2] > right[..., 0] + 80).sum()  # the background is slightly blue
    assert reds > 500 and blues > 500
