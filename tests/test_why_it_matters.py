"""The why-it-matters concept (plugins/safety): the ablation, attack, reading and
dictionary measures on hand-built weights whose answer is known, a negative
control for every claim (weights that must fail it), the introduction's guarded
safety paragraph, a `course check` of the quick settings, and (slow) the
default settings against the paper's claims."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from course import check, plugins
from course import metrics as M
from course_plugins.safety import CONCEPT
from course_plugins.safety import analysis as A
from course_plugins.safety.experiment import Dictionary, Settings, fit_dictionary, sample_inputs

REPO = Path(__file__).resolve().parent.parent
NEURON_DENSITIES = (0.75, 0.35, 0.1, 0.01)
RELU_DENSITIES = (1.0, 0.3, 0.03, 0.001)


def pentagon(scale: float = 1.0) -> np.ndarray:
    """Five unit directions at 72° in two dimensions."""
    angles = 2 * np.pi * np.arange(5) / 5
    return scale * np.stack([np.cos(angles), np.sin(angles)])


def xavier(m: int, n: int, seed: int = 0) -> np.ndarray:
    """An untrained model's weights, drawn as the engine draws them."""
    return np.random.default_rng(seed).normal(size=(m, n)) * np.sqrt(2.0 / (m + n))


def neuron_runs(W: np.ndarray, b: np.ndarray) -> list[dict]:
    imp = 0.75 ** np.arange(W.shape[1])
    return [A.neuron_level(W, b, imp, d, seed=k, samples=4096) for k, d in enumerate(NEURON_DENSITIES)]


def attack_runs(W: np.ndarray, b: np.ndarray) -> list[dict]:
    imp = 0.7 ** np.arange(W.shape[1])
    return [A.attack_level(W, b, imp, d, seed=k, samples=1024) for k, d in enumerate(RELU_DENSITIES)]


def verdicts(metrics: dict) -> dict[str, bool]:
    return {j.id: j.holds for j in A.claims(metrics)}


@pytest.fixture(scope="module")
def good_dictionary() -> dict:
    W = pentagon()
    x = sample_inputs(5, 0.1, 512, seed=0)
    H = x @ W.T
    return A.dictionary_metrics(W, W.copy(), H, x, x.copy())


@pytest.fixture(scope="module")
def identity_metrics(good_dictionary) -> dict:
    """An orthogonal, monosemantic model with m = n everywhere: no superposition at all."""
    return A.assemble(neuron_runs(np.eye(10), np.zeros(10)), attack_runs(np.eye(20), np.zeros(20)),
                      good_dictionary)


# --------------------------------------------------------------------------- registration


def test_concept_is_registered_after_interference(monkeypatch):
    monkeypatch.setenv("COURSE_PLUGINS", "why-it-matters")
    course = plugins.load()
    assert not course.errors, course.errors
    assert course.slugs() == ["why-it-matters"]
    assert CONCEPT.order == 55 and CONCEPT.part == "concepts"
    assert CONCEPT.question.endswith("?")


def test_settings_round_trip_through_json():
    quick = CONCEPT.settings(quick=True)
    s = Settings(**quick)
    assert s == Settings.quick()
    assert isinstance(s.neuron.densities, tuple) and isinstance(s.dictionary, Dictionary)
    full = Settings()
    # the settings of the chapters the models come from
    assert (full.neuron_features, full.neuron_hidden, full.neuron_importance_decay) == (10, 5, 0.75)
    assert full.neuron.densities == (0.75, 0.35, 0.15, 0.1, 0.06, 0.02, 0.01)
    assert (full.relu_features, full.relu_hidden, full.relu_importance_decay) == (20, 5, 0.7)
    assert full.relu.densities == (1.0, 0.3, 0.1, 0.03, 0.01, 0.001)
    assert (full.pentagon_features, full.pentagon_hidden, full.pentagon.densities) == (5, 2, (0.1,))


# --------------------------------------------------------------------------- measures on exact weights


def test_identity_ablation_harms_exactly_its_own_feature():
    W, b = np.eye(10), np.zeros(10)
    run = A.neuron_level(W, b, 0.75 ** np.arange(10), 0.3, samples=20_000)
    assert run["harmed"] == [1] * 10
    assert run["harmed_features"] == [[k] for k in range(10)]
    damage = np.asarray(run["damage"])
    off = damage - np.diag(np.diag(damage))
    assert np.abs(off).max() == 0.0  # the other features do not move at all
    # switching off neuron k forgets feature k: the loss rises by I_k E[x_k²], up to sampling
    np.testing.assert_allclose(np.diag(damage), 1.0, atol=0.06)
    assert run["monosemantic"] == [True] * 10 and run["readable"] == run["represented"] == list(range(10))


def test_shared_neuron_harms_both_features():
    # one neuron carries features 1 and 2 (both positive), a bias of -0.5 filters their
    # echo in each other: feature 1 alone at v is read back as max(v - 0.5, 0), so its loss
    # is E[min(v, 0.5)²] + E[max(v - 0.5, 0)²] (the echo) = 5/24 against 1/3 for forgetting
    # it; switching the neuron off forgets both, a rise of 3/8 of that cost for each
    W = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    run = A.neuron_level(W, np.array([-0.5, -0.5, 0.0]), np.ones(3), 0.02, samples=100_000)
    damage = np.asarray(run["damage"])
    np.testing.assert_allclose(damage[:2, 0], 3 / 8, atol=0.06)
    np.testing.assert_allclose(damage[2, 1], 1.0, atol=0.06)
    assert run["harmed_features"][0] == [0, 1] and run["harmed_features"][1] == [2]
    assert run["monosemantic"] == [False, True]
    assert run["readable"] == [2] and run["represented"] == [0, 1, 2] and run["missed"] == [0, 1]


def test_attack_on_identity_does_nothing_off_feature():
    W, b = np.eye(6), np.zeros(6)
    assert np.allclose(M.interference(W), 0.0)
    dirs = A.attack_directions(W)
    np.testing.assert_allclose(dirs, np.eye(6))
    x = sample_inputs(6, 0.3, 256, seed=1)
    for i in range(6):
        change = A.relu_forward(W, b, x + 0.1 * dirs[i]) - A.relu_forward(W, b, x)
        np.testing.assert_allclose(np.delete(change, i, axis=1), 0.0)
        np.testing.assert_allclose(change[:, i], 0.1)
    level = A.attack_level(W, b, np.ones(6), 0.3, samples=512)
    assert level["vulnerability"] == pytest.approx(1.0)
    assert level["vulnerability_gradient"] == pytest.approx(1.0, abs=1e-6)
    assert level["false_activation"] == 0.0
    assert level["features_per_dimension"] == pytest.approx(6 / 6)


def test_attack_along_a_shared_direction_is_amplified():
    # two features on one line, same direction: (WᵀW)_0 = (1, 1), so the analytic
    # attack of norm ε on an empty input lights both outputs with √2 ε each
    W = np.array([[1.0, 1.0]])
    eps = 0.05
    incs = A.analytic_attacks(W, np.zeros(2), np.ones(2), np.zeros((1, 2)), eps)
    np.testing.assert_allclose(incs[:, 0], [4 * eps**2, 4 * eps**2])
    # the model without superposition loses only ε² to the same budget
    W0, b0 = A.reference_model(2, 1, 0.5)
    np.testing.assert_allclose(W0, [[1.0, 0.0]])
    np.testing.assert_allclose(b0, [0.0, 0.25])
    ref = A.analytic_attacks(W0, b0, np.ones(2), np.zeros((1, 2)), eps)
    assert ref[0, 0] == pytest.approx(eps**2)
    # a negative bias larger than the attack filters it out completely
    filtered = A.analytic_attacks(W, np.full(2, -0.1), np.ones(2), np.zeros((1, 2)), eps)
    np.testing.assert_allclose(filtered, 0.0)


def test_gradient_attack_respects_the_budget_and_never_loses_to_its_start():
    W = xavier(3, 8, seed=2)
    b = np.full(8, -0.05)
    x = sample_inputs(8, 0.2, 128, seed=3)
    eps = 0.05
    incs = A.analytic_attacks(W, b, np.ones(8), x, eps)
    start = eps * A.attack_directions(W)[np.argmax(incs, axis=0)]
    found = A.gradient_attack(W, b, np.ones(8), x, eps, start, steps=20)
    assert np.all(found >= incs.max(axis=0) - 1e-12)


def test_rank_correlation():
    assert A.rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert A.rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert A.rank_correlation([1, 1, 1], [1, 2, 3]) == 0.0
    assert A.rank_correlation([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(np.corrcoef([1, 2.5, 2.5, 4], [1, 2, 3, 4])[0, 1])
    assert A.pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)


def test_recovery_matches_one_to_one():
    W = pentagon(1.1)
    perm = [3, 0, 4, 1, 2]
    rec = A.recovery(W, W[:, perm] / 1.1)
    assert rec["recovered"] == 5 and rec["cosines"] == pytest.approx([1.0] * 5)
    assert [perm[a] for a in rec["match"]] == [0, 1, 2, 3, 4]
    # two atoms match at most two features; the rest get none
    two = A.recovery(W, np.eye(2))
    assert two["match"].count(-1) == 3 and two["recovered"] <= 2


def test_sparse_coding_recovers_a_pentagon_from_its_activations():
    W = pentagon()
    x = sample_inputs(5, 0.1, 1024, seed=4)
    H = x @ W.T
    fits = [fit_dictionary(H, Dictionary(samples=1024, restarts=1), seed=s) for s in range(4)]
    D = min(fits, key=lambda f: f[2])[0]
    assert A.recovery(W, D)["recovered"] == 5


# --------------------------------------------------------------------------- negative controls


def test_untrained_model_fails_the_dense_ablation_claim(good_dictionary):
    W = xavier(5, 10)
    metrics = A.assemble(neuron_runs(W, np.zeros(10)), attack_runs(np.eye(20), np.zeros(20)), good_dictionary)
    assert metrics["runs"][0]["monosemantic_neurons"] < 5
    ok = verdicts(metrics)
    assert ok["ablation-monosemantic-one"] is False
    assert ok["reading-gap"] is False  # its dense reading already misses features


def test_monosemantic_model_fails_the_polysemantic_and_reading_claims(identity_metrics):
    ok = verdicts(identity_metrics)
    assert ok["ablation-polysemantic-several"] is False  # there is no polysemantic neuron to harm several
    assert ok["reading-gap"] is False  # every represented feature is readable at every density
    # ... while the one claim this model should pass, passes: with m = n, one neuron per feature
    sparse = identity_metrics["runs"][-1]
    assert sparse["harmed"] == [1] * 10


def test_model_without_superposition_fails_the_attack_claims(identity_metrics):
    vuln = [a["vulnerability"] for a in identity_metrics["attack"]]
    assert vuln == pytest.approx([1.0] * len(vuln))
    ok = verdicts(identity_metrics)
    assert ok["attack-rise"] is False
    assert ok["attack-tracks"] is False
    assert identity_metrics["attack_rank_correlation"] == 0.0


def test_untrained_model_fails_the_attack_claims(good_dictionary):
    # one untrained model at every density: 1/D* does not change, nothing can track it,
    # and the random weights' crosstalk is not a rise that superposition formed
    W = xavier(5, 20)
    attack = [A.attack_level(W, np.zeros(20), 0.7 ** np.arange(20), d, seed=k, samples=1024)
              for k, d in enumerate(RELU_DENSITIES)]
    metrics = A.assemble(neuron_runs(np.eye(10), np.zeros(10)), attack, good_dictionary)
    assert len({a["features_per_dimension"] for a in attack}) == 1
    assert verdicts(metrics)["attack-tracks"] is False
    assert verdicts(metrics)["attack-rise"] is False


def test_untrained_models_never_pass_the_rise_by_chance(good_dictionary):
    # the same untrained weights at every density: the vulnerability ratio alone passes 3×
    # for some draws (seeds 8, 26 and 27 of these), but superposition never forms
    rises = []
    for seed in (8, 26, 27):
        W = xavier(5, 20, seed=seed)
        attack = [A.attack_level(W, np.zeros(20), 0.7 ** np.arange(20), d, seed=k, samples=1024)
                  for k, d in enumerate(RELU_DENSITIES)]
        v = [a["vulnerability"] for a in attack]
        rises.append(max(v[1:]) / v[0])
        metrics = A.assemble(neuron_runs(np.eye(10), np.zeros(10)), attack, good_dictionary)
        assert verdicts(metrics)["attack-rise"] is False, seed
    assert max(rises) > A.RISE_MIN  # the ratio alone would have passed


def test_hidden_axes_and_random_atoms_fail_the_dictionary_claim(identity_metrics):
    W = pentagon()
    x = sample_inputs(5, 0.1, 512, seed=0)
    H = x @ W.T
    axes = A.dictionary_metrics(W, A.hidden_basis(H), H, x, x[:, :2])
    assert axes["recovered"] <= 2
    assert verdicts({**identity_metrics, "dictionary": axes})["dictionary-recovers"] is False
    D = np.random.default_rng(5).normal(size=(2, 5))
    rand = A.dictionary_metrics(W, D, H, x, x.copy())
    assert verdicts({**identity_metrics, "dictionary": rand})["dictionary-recovers"] is False
    assert verdicts(identity_metrics)["dictionary-recovers"] is True


# --------------------------------------------------------------------------- words, pages, contract


def test_every_claim_has_its_words(identity_metrics):
    claims = CONCEPT.claims(identity_metrics)
    assert {c.id for c in claims} == {"ablation-monosemantic-one", "ablation-polysemantic-several", "reading-gap",
                                      "attack-rise", "attack-tracks", "dictionary-recovers"}
    for c in claims:
        assert c.statement and c.measured and c.tolerance
        assert c.source.startswith("https://transformer-circuits.pub/2022/toy_model")


def test_intro_quotes_the_chapter_only_when_it_is_built(identity_metrics):
    from course.markup import render_template

    text = (REPO / "book" / "intro.md.j2").read_text(encoding="utf-8")
    without = render_template(text, "intro.md.j2", concepts={}, claims_held=0, claims_total=0, models_table="")
    assert "why-it-matters" not in without
    entry = {"concept": CONCEPT, "metrics": identity_metrics, "runs": identity_metrics["runs"],
             "claims": CONCEPT.claims(identity_metrics)}
    page = render_template(text, "intro.md.j2", concepts={"why-it-matters": entry}, claims_held=0, claims_total=0,
                           models_table="")
    flat = " ".join(page.split())
    assert "](concepts/why-it-matters.md)" in flat
    assert "lists 10 of them" in flat and "harms 1 feature." in flat


def test_contract_on_quick_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_PLUGINS", "why-it-matters")
    report = check.check(plugins.load(), ["why-it-matters"], workdir=tmp_path)
    assert report.ok, "\n".join(report.lines())


# --------------------------------------------------------------------------- slow


@pytest.mark.slow
def test_default_settings_against_the_paper():
    result = CONCEPT.run(CONCEPT.settings())
    metrics = CONCEPT.metrics(result)
    ok = verdicts(metrics)
    # side effects, misreadings and the way out: the claims hold on the trained models
    assert ok["ablation-monosemantic-one"], metrics["runs"][0]
    assert ok["ablation-polysemantic-several"]
    assert ok["reading-gap"]
    assert ok["dictionary-recovers"], metrics["dictionary"]
    # the paper's adversarial claims, as the chapter reports them: vulnerability
    # rises while superposition forms ...
    attack = metrics["attack"]
    peak = attack[metrics["attack_peak"]]
    assert attack[0]["vulnerability"] == pytest.approx(1.0, abs=0.05)
    assert peak["vulnerability"] > 1.5
    assert peak["features_per_dimension"] > A.FORMED_MIN * attack[0]["features_per_dimension"]  # formed, as the claim defines it
    # ... and where it falls again, the attack budget is smaller than the negative biases
    if attack[-1]["vulnerability"] < peak["vulnerability"]:
        assert attack[-1]["eps"] < -attack[-1]["bias_min"]
    # the verdicts on >3x and on tracking 1/D* follow their tolerances
    assert ok["attack-rise"] == (peak["vulnerability"] / attack[0]["vulnerability"] > A.RISE_MIN
                                 and peak["features_per_dimension"] > A.FORMED_MIN * attack[0]["features_per_dimension"])
    assert ok["attack-tracks"] == (metrics["attack_rank_correlation"] >= A.TRACK_RANK_MIN)
