"""The sparsity concept: its registration, JSON, classification, exact losses, and
(slow) the paper's claims on the full settings."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
from helpers import course_json

from course import Result
from course_plugins.sparsity import CONCEPT
from course_plugins.sparsity.analysis import _dense_split
from course_plugins.sparsity.experiment import MODELS, Settings, expected_loss, phase_grid, phase_grid_3
from course_plugins.sparsity.phases import (
    DEDICATED,
    DROP_1,
    DROP_3,
    JOINT,
    NOT_LEARNED,
    OTHER,
    OTHER_3,
    PAIR_3,
    PAIR_12,
    PAPER_PHASES_3,
    SUPERPOSITION,
    antipodal_boundary,
    boundary_3,
    classify_phase,
    classify_phase_3,
    ideal_losses,
    ideal_losses_3,
    ideal_phase,
    ideal_phase_3,
    ideal_weights_3,
    is_blend,
)

RUN_KEYS = {"model", "sparsity", "density", "frobenius_sq", "features_represented", "feature_norms",
            "interference", "bias"}


# --------------------------------------------------------------------------- fast



@pytest.mark.parametrize(
    "W, expected",
    [
        ([1.0, 0.0], NOT_LEARNED),  # feature 1 owns the dimension
        ([-0.98, 0.03], NOT_LEARNED),
        ([1.0, 0.45], NOT_LEARNED),  # below the 0.5 cut: not represented
        ([0.0, 0.0], NOT_LEARNED),
        ([0.02, -0.97], DEDICATED),  # the extra feature owns it
        ([0.4, 1.1], DEDICATED),
        ([1.0, -1.0], SUPERPOSITION),  # antipodal pair
        ([-0.9, 1.2], SUPERPOSITION),
        ([[0.7, -0.6]], SUPERPOSITION),  # a (1, 2) matrix works too
        ([1.0, 1.0], OTHER),  # same direction: not a configuration the paper finds
    ],
)
def test_classify_phase_on_hand_made_weights(W, expected):
    assert classify_phase(np.array(W)) == expected


def test_classify_phase_threshold_is_a_parameter():
    assert classify_phase([0.6, -0.6]) == SUPERPOSITION
    assert classify_phase([0.6, -0.6], threshold=0.7) == NOT_LEARNED


def test_closed_form_boundary():
    # at r = 1 the antipodal pair wins below p* = 4/7, and the losses cross exactly there
    p = float(antipodal_boundary(np.array([1.0]))[0])
    assert p == pytest.approx(4 / 7)
    losses = ideal_losses(1.0, p)
    assert losses[SUPERPOSITION] == pytest.approx(losses[DEDICATED])
    for r in (0.1, 0.5, 2.0, 10.0):
        p = float(antipodal_boundary(np.array([r]))[0])
        losses = ideal_losses(r, p)
        assert losses[SUPERPOSITION] == pytest.approx(min(losses[NOT_LEARNED], losses[DEDICATED]))
    # dense data never superposes; the more important feature wins the dimension
    assert ideal_phase(0.5, 1.0) == NOT_LEARNED
    assert ideal_phase(2.0, 1.0) == DEDICATED
    assert ideal_phase(0.5, 0.01) == SUPERPOSITION


def test_phase_grid_rows_are_densities():
    imp, dens = phase_grid([0.1, 1.0, 10.0], [1.0, 0.1])
    assert imp.shape == dens.shape == (6, 2)
    assert imp[:, 0].tolist() == [1.0] * 6
    assert imp[:3, 1].tolist() == [0.1, 1.0, 10.0]
    assert dens[:3, 0].tolist() == [1.0] * 3 and dens[3:, 1].tolist() == [0.1] * 3


def test_expected_loss_matches_the_closed_forms():
    r, p = 0.7, 0.2
    W = np.array([[[1.0, 0.0]], [[0.0, 1.0]], [[1.0, -1.0]]])
    b = np.array([[0.0, p / 2], [p / 2, 0.0], [0.0, 0.0]])
    got = expected_loss(W, b, np.array([[1.0, r]] * 3), np.full(3, p), "relu")
    want = ideal_losses(r, p)
    assert got == pytest.approx([want[NOT_LEARNED], want[DEDICATED], want[SUPERPOSITION]], rel=1e-3)


@pytest.mark.parametrize("model", ["relu", "linear"])
def test_expected_loss_matches_sampling(model):
    import torch

    from course.engine import ToyConfig, loss_per_instance, sample_batch

    rng = np.random.default_rng(1)
    n, m, dens = 8, 3, [1.0, 0.2]
    W = rng.normal(size=(4, m, n)) * 0.5
    b = rng.normal(size=(4, n)) * 0.1
    imp = np.tile(0.8 ** np.arange(n), (4, 1))
    p = np.repeat(dens, 2)
    exact = expected_loss(W, b, imp, p, model, seeds_per_level=2, mc_samples=100_000)
    cfg = ToyConfig.sweep(n, m, importance=imp, density=np.repeat(p[:, None], n, axis=1))
    x = sample_batch(cfg, 100_000, seed=3).double()
    sampled = loss_per_instance(torch.tensor(W), torch.tensor(b), x, torch.tensor(imp)[:, None, :], model).numpy()
    assert exact == pytest.approx(sampled, rel=0.03)


# --------------------------------------------------------------------------- n = 3, m = 2

C, S_ = np.cos(2 * np.pi / 3), np.sin(2 * np.pi / 3)


@pytest.mark.parametrize(
    "W, expected",
    [
        ([[1, 0, 0], [0, 1, 0]], DROP_3),
        ([[0.9, 0.1, 0.02], [-0.1, 1.05, 0.3]], DROP_3),  # W_3 below the cut
        ([[0, 1, 0], [0, 0, 1]], DROP_1),
        ([[1, 0, 0], [0, 0, 1]], DROP_1),  # feature 2 dropped: the same class by symmetry
        ([[0.55, -0.84, 0], [0, 0, 1]], DROP_1),  # dense-data blend of 1 and 2 (‖W‖_F² = 2)
        ([[1, 0, 0], [0, 1, -1]], PAIR_3),
        ([[0, 1, 0], [1, 0, -0.8]], PAIR_3),  # feature 3 antipodal with feature 1, shorter
        ([[1, -1, 0], [0, 0, 1]], PAIR_12),
        ([[1, C, C], [0, S_, -S_]], JOINT),
        ([[1, 1, 0], [0, 0, 1]], OTHER_3),  # 1 and 2 in the same direction: no candidate
        ([[0.71, 0.71, 0], [0.0, 0.0, 0.0]], OTHER_3),  # rank 1
        ([[0.8, 0.8, 0.1], [-0.5, 0.5, 0.8]], OTHER_3),  # no superposition, v between the axes
    ],
)
def test_classify_phase_3_on_hand_made_weights(W, expected):
    assert classify_phase_3(np.array(W, dtype=float)) == expected


def test_classify_phase_3_ignores_rotations_of_the_hidden_plane():
    rng = np.random.default_rng(0)
    for name in (DROP_3, DROP_1, PAIR_3, PAIR_12, JOINT):
        W, _ = ideal_weights_3(name)
        for _ in range(5):
            Q, _r = np.linalg.qr(rng.normal(size=(2, 2)))
            assert classify_phase_3(Q @ W) == name
    # the blend is counted as W⊥[1,0,0], and is_blend tells it from a dropped feature
    assert is_blend([[0.55, -0.84, 0], [0, 0, 1]]) and not is_blend(ideal_weights_3(DROP_1)[0])


@pytest.mark.parametrize("r, p", [(0.3, 0.4), (1.0, 0.15), (4.0, 0.2)])
def test_closed_forms_3_match_the_engine_on_hand_built_weights(r, p):
    """The chapter's formulas against the training engine's own loss on sampled data."""
    import torch

    from course.engine import ToyConfig, loss_per_instance, sample_batch

    names = (DROP_3, DROP_1, PAIR_3, PAIR_12, JOINT)
    built = [ideal_weights_3(k) for k in names]
    W = np.array([w for w, _ in built])
    b = np.array([mask * p / 2 for _, mask in built])
    imp = np.tile([1.0, 1.0, r], (len(names), 1))
    cfg = ToyConfig.sweep(3, 2, importance=imp, density=np.full((len(names), 3), p))
    x = sample_batch(cfg, 400_000, seed=5).double()
    sampled = loss_per_instance(torch.tensor(W), torch.tensor(b), x, torch.tensor(imp)[:, None, :], "relu").numpy()
    exact = expected_loss(W, b, imp, np.full(len(names), p), "relu", mc_samples=200_000)
    want = ideal_losses_3(r, p)
    for k, got_s, got_e in zip(names, sampled, exact, strict=True):
        assert got_s == pytest.approx(want[k], rel=0.05), k
        assert got_e == pytest.approx(want[k], rel=0.02), k


def test_closed_forms_3_at_low_density():
    """At density 0.02 a sample holds too few collisions; the exact loss (one active
    feature integrated, two or more by Monte Carlo on collisions only) still matches."""
    r, p = 2.0, 0.02
    names = (DROP_3, DROP_1, PAIR_3, PAIR_12, JOINT)
    built = [ideal_weights_3(k) for k in names]
    W = np.array([w for w, _ in built])
    b = np.array([mask * p / 2 for _, mask in built])
    exact = expected_loss(W, b, np.tile([1.0, 1.0, r], (len(names), 1)), np.full(len(names), p), "relu",
                          mc_samples=200_000)
    want = ideal_losses_3(r, p)
    assert exact == pytest.approx([want[k] for k in names], rel=0.02)


def test_closed_form_layout_3():
    # dense: the least important feature is dropped; sparse: a pair; the triple point at (1, 4/7)
    assert ideal_phase_3(0.5, 1.0) == DROP_3 and ideal_phase_3(2.0, 1.0) == DROP_1
    assert ideal_phase_3(0.5, 0.05) == PAIR_3 and ideal_phase_3(2.0, 0.05) == PAIR_12
    assert boundary_3(np.array([1.0]))[0] == pytest.approx(4 / 7)
    for r in (0.1, 0.5, 2.0, 10.0):
        p = float(boundary_3(np.array([r]))[0])
        L = ideal_losses_3(r, p)
        assert min(L[PAIR_3], L[PAIR_12]) == pytest.approx(min(L[DROP_3], L[DROP_1]))
    # the unit triangle never has the lowest loss (the chapter's argument), at any point
    for r in np.logspace(-1, 1, 41):
        for p in np.logspace(-3, 0, 31):
            L = ideal_losses_3(r, p)
            assert L[JOINT] > min(L[c] for c in PAPER_PHASES_3)


def test_phase_grid_3_rows_are_densities():
    imp, dens = phase_grid_3([0.1, 10.0], [1.0, 0.1, 0.01])
    assert imp.shape == dens.shape == (6, 3)
    assert imp[:, :2].tolist() == [[1.0, 1.0]] * 6 and imp[:2, 2].tolist() == [0.1, 10.0]
    assert dens[2:4].tolist() == [[0.1] * 3] * 2


def ideal_result_3(seed: int = 0) -> Result:
    """The phase-3 part of a result built from the closed-form winners' hand-built
    weights (no training), rotated at random in the hidden plane."""
    s = Settings().phase3
    rel, dens = s.relative_importance, s.density
    imp, prob = phase_grid_3(rel, dens)
    rng = np.random.default_rng(seed)
    Ws, bs = [], []
    for d in dens:
        for r in rel:
            W, mask = ideal_weights_3(ideal_phase_3(r, d))
            Q, _r = np.linalg.qr(rng.normal(size=(2, 2)))
            Ws.append(Q @ W)
            bs.append(mask * d / 2)
    W, b = np.array(Ws), np.array(bs)
    loss = expected_loss(W, b, imp, prob[:, 0], "relu", mc_samples=4096)
    arrays = {"phase3_W": W, "phase3_b": b, "phase3_W_all": W[:, None], "phase3_loss": loss,
              "phase3_importance": imp, "phase3_density": prob}
    return Result("sparsity", {}, 0, arrays=arrays, info={
        "phase3_relative_importance": list(rel), "phase3_density": list(dens)})


def _claims_3_on(result: Result) -> dict[str, bool]:
    from course_plugins.sparsity.analysis import _claims_3, phase3_metrics

    return {j.id: j.holds for j in _claims_3(phase3_metrics(result))}


#: the phase-3 claims -> the controls that must fail them
CONTROLS_3 = {
    "sparsity-phase3-regions": ("untrained", "reversed densities", "joint superposition"),
    "sparsity-phase3-layout": ("untrained", "reversed densities", "swapped phase3 features"),
    "sparsity-phase3-near-ideal": ("untrained", "reversed densities", "swapped phase3 features"),
    "sparsity-phase3-no-joint": ("untrained", "joint superposition"),
}


def test_phase3_claims_on_hand_built_weights_and_their_controls():
    """The claims hold on the closed-form winners and fail on every control."""
    result = ideal_result_3()
    assert all(_claims_3_on(result).values()), _claims_3_on(result)
    for name in {c for names in CONTROLS_3.values() for c in names}:
        got = _claims_3_on(MAKERS[name](result))
        held = [cid for cid, names in CONTROLS_3.items() if name in names and got[cid]]
        assert held == [], name


@pytest.fixture(scope="module")
def quick() -> dict:
    return course_json("sparsity", "--quick")


def test_quick_json_has_the_documented_keys(quick):
    assert quick["concept"] == "sparsity"
    settings = CONCEPT.settings(quick=True)
    runs = quick["runs"]
    assert {r["model"] for r in runs} == {"linear", "relu"}
    assert len(runs) == 2 * len(settings["densities"])
    for r in runs:
        assert RUN_KEYS <= set(r)
        assert r["sparsity"] == pytest.approx(1 - r["density"])
        assert len(r["feature_norms"]) == quick["n_features"]
        assert r["frobenius_sq"] == pytest.approx(sum(v * v for v in r["feature_norms"]), rel=1e-3)
    pd_ = quick["phase_diagram"]
    assert pd_["relative_importance"] == list(settings["phase"]["relative_importance"])
    assert pd_["density"] == list(settings["phase"]["density"])
    classes = pd_["classes"]
    assert len(classes) == len(pd_["density"])
    assert all(len(row) == len(pd_["relative_importance"]) for row in classes)
    assert {c for row in classes for c in row} <= {NOT_LEARNED, DEDICATED, SUPERPOSITION, OTHER}
    assert sum(pd_["counts"].values()) == len(pd_["density"]) * len(pd_["relative_importance"])
    # each class agrees with the kept weights it was computed from
    for row_c, row_w in zip(classes, pd_["W"], strict=True):
        assert [classify_phase(w) for w in row_w] == row_c


def _metrics(linear_fro, relu_fro, relu_count, phase_rows):
    """Hand-made metrics in the shape analysis.metrics returns (what the claims read)."""
    dens = [1.0, 0.1, 0.01][: len(linear_fro)]

    def run(model, d, f, k):
        norms = [1.0] * k + [0.0] * (20 - k)
        return {"model": model, "density": d, "sparsity": 1 - d, "frobenius_sq": f,
                "features_represented": k, "feature_norms": norms}

    runs = [run("linear", d, f, 5) for d, f in zip(dens, linear_fro, strict=True)]
    runs += [run("relu", d, f, k) for d, f, k in zip(dens, relu_fro, relu_count, strict=True)]
    rel = [0.1, 0.7, 1.4, 10.0]
    pdens = [1.0, 0.1, 0.01]
    counts = {c: sum(row.count(c) for row in phase_rows) for c in (NOT_LEARNED, DEDICATED, SUPERPOSITION, OTHER)}
    sup = [d for d, row in zip(pdens, phase_rows, strict=True) if SUPERPOSITION in row]
    return {
        "n_hidden": 5, "norm_threshold": 0.5, "runs": runs,
        "phase_diagram": {
            "relative_importance": rel, "density": pdens, "classes": phase_rows, "counts": counts,
            "superposition_fraction": [row.count(SUPERPOSITION) / len(rel) for row in phase_rows],
            "densest_superposition": max(sup) if sup else 0.0,
            "dense_classes": phase_rows[0],
            "dense_split": _dense_split(rel, phase_rows[0]),
        },
    }


GOOD_PHASE = [[NOT_LEARNED, NOT_LEARNED, DEDICATED, DEDICATED],
              [NOT_LEARNED, SUPERPOSITION, SUPERPOSITION, DEDICATED],
              [SUPERPOSITION] * 4]


def test_claims_hold_on_paper_like_metrics():
    claims = CONCEPT.claims(_metrics([5.0, 5.0, 4.9], [5.0, 8.0, 12.0], [5, 8, 11], GOOD_PHASE))
    assert [c.id for c in claims if not c.holds] == []
    assert len(claims) == 5


def test_claims_fail_when_the_paper_is_not_reproduced():
    # a linear model that superposes, a ReLU model that does not grow, superposition on dense data
    bad_phase = [[NOT_LEARNED, SUPERPOSITION, DEDICATED, DEDICATED], *GOOD_PHASE[1:]]
    claims = {c.id: c for c in CONCEPT.claims(_metrics([5.0, 6.5, 7.0], [5.0, 5.1, 5.0], [5, 5, 5], bad_phase))}
    assert not claims["sparsity-linear-flat"].holds
    assert not claims["sparsity-relu-grows"].holds
    assert not claims["sparsity-phase-regions"].holds
    assert not claims["sparsity-phase-dense-split"].holds
    assert claims["sparsity-dense-relu-like-linear"].holds


def test_the_relu_claim_needs_growth_not_a_level():
    # ‖W‖_F² above m + 1 at every density, but flat: an untrained model looks like this
    claims = {c.id: c for c in CONCEPT.claims(_metrics([5.0, 5.0, 4.9], [8.0, 8.1, 8.2], [9, 9, 10], GOOD_PHASE))}
    assert not claims["sparsity-relu-grows"].holds


# --------------------------------------------------------------------------- negative controls
#
# Every claim is run on metrics computed from weights that must fail it: untrained
# models, the other model's weights (the linear model where the ReLU model's are and
# back), the densities reversed (each density given another's weights), and the phase
# grid's two features swapped. The Interference chapter reads the same result, so its
# tests use these controls too.


def _swap(result: Result, **arrays) -> Result:
    return Result(result.concept, result.settings, result.seed, arrays={**result.arrays, **arrays}, info=result.info)


def _losses(W, b, model, result, prefix):
    """Exact expected losses of weights put in a sweep's place."""
    return expected_loss(W, b, result[f"{prefix}_importance"], result[f"{prefix}_density"][:, 0], model,
                         mc_samples=4096)


def untrained_weights(result: Result, seed: int = 0) -> Result:
    """Every sweep replaced by the engine's initialisation (Xavier normal, zero bias)."""
    rng = np.random.default_rng(seed)
    out = {}
    for model in (*MODELS, "arrows") if f"{MODELS[0]}_W" in result.arrays else ():
        W = result[f"{model}_W"]
        levels, m, n = W.shape
        Wu, bu = rng.normal(size=W.shape) * np.sqrt(2 / (m + n)), np.zeros((levels, n))
        out.update({f"{model}_W": Wu, f"{model}_b": bu,
                    f"{model}_loss": _losses(Wu, bu, "linear" if model == "linear" else "relu", result, model)})
    if "phase_W" in result.arrays:
        P = rng.normal(size=result["phase_W"].shape) * np.sqrt(2 / 3)
        out.update(phase_W=P, phase_b=np.zeros(result["phase_b"].shape), phase_W_all=P[:, None],
                   phase_loss_all=np.zeros((len(P), 1)))
    W3 = rng.normal(size=result["phase3_W"].shape) * np.sqrt(2 / 5)
    out.update(_phase3(result, W3, np.zeros(result["phase3_b"].shape)))
    return _swap(result, **out)


def _phase3(result: Result, W: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """The n = 3 grid's kept weights replaced (each point's only seed), with their exact losses."""
    loss = expected_loss(W, b, result["phase3_importance"], result["phase3_density"][:, 0], "relu",
                         mc_samples=4096)
    return {"phase3_W": W, "phase3_b": b, "phase3_W_all": W[:, None], "phase3_loss": loss}


def swapped_phase3_features(result: Result) -> Result:
    """The n = 3 grid's features 1 and 3 exchanged in the kept weights."""
    order = [2, 1, 0]
    return _swap(result, **_phase3(result, result["phase3_W"][..., order].copy(), result["phase3_b"][..., order].copy()))


def joint_superposition(result: Result) -> Result:
    """Every point of the n = 3 grid given the hand-built W⊥[1,1,1] triangle."""
    W, _ = ideal_weights_3(JOINT)
    n = len(result["phase3_W"])
    return _swap(result, **_phase3(result, np.repeat(W[None], n, axis=0), np.zeros((n, 3))))


def swapped_models(result: Result) -> Result:
    """The linear model's weights where the ReLU model's are, and the other way round."""
    out = {}
    for a, b in (("linear", "relu"), ("relu", "linear")):
        out.update({f"{b}_W": result[f"{a}_W"], f"{b}_b": result[f"{a}_b"],
                    f"{b}_loss": _losses(result[f"{a}_W"], result[f"{a}_b"], b, result, b)})
    return _swap(result, **out)


def reversed_densities(result: Result) -> Result:
    """Each density given the weights trained at another (the order reversed)."""
    out = {}
    for model in MODELS if f"{MODELS[0]}_W" in result.arrays else ():
        W, b = result[f"{model}_W"][::-1].copy(), result[f"{model}_b"][::-1].copy()
        out.update({f"{model}_W": W, f"{model}_b": b, f"{model}_loss": _losses(W, b, model, result, model)})
    if "phase_W" in result.arrays:
        rows = len(result.info["phase_density"])
        for key in ("phase_W", "phase_b", "phase_W_all", "phase_loss_all"):
            a = result[key]
            out[key] = a.reshape(rows, -1, *a.shape[1:])[::-1].reshape(a.shape).copy()
    rows = len(result.info["phase3_density"])
    W3, b3 = (result[k].reshape(rows, -1, *result[k].shape[1:])[::-1].reshape(result[k].shape).copy()
              for k in ("phase3_W", "phase3_b"))
    out.update(_phase3(result, W3, b3))
    return _swap(result, **out)


def swapped_phase_features(result: Result) -> Result:
    """The phase grid's two features exchanged: feature 1 where the extra feature was."""
    return _swap(result, **{key: result[key][..., ::-1].copy() for key in ("phase_W", "phase_b", "phase_W_all")})


def biases_zeroed(result: Result) -> Result:
    """The ReLU model without its learned biases (nothing filters its interference)."""
    return _swap(result, relu_b=np.zeros_like(result["relu_b"]))


#: claim -> the controls that must fail it
CONTROLS = {
    "sparsity-linear-flat": ("untrained", "swapped models"),
    "sparsity-relu-grows": ("untrained", "swapped models", "reversed densities"),
    "sparsity-dense-relu-like-linear": ("untrained", "reversed densities"),
    "sparsity-phase-regions": ("untrained", "reversed densities"),
    "sparsity-phase-dense-split": ("untrained", "reversed densities", "swapped phase features"),
    **CONTROLS_3,
}
MAKERS = {"untrained": untrained_weights, "swapped models": swapped_models, "reversed densities": reversed_densities,
          "swapped phase features": swapped_phase_features, "biases zeroed": biases_zeroed,
          "swapped phase3 features": swapped_phase3_features, "joint superposition": joint_superposition}


def verdicts(concept, result: Result) -> dict[str, bool]:
    return {j.id: j.holds for j in concept.judgements(concept.metrics(result))}


def check_controls(concept, result: Result, controls: dict[str, tuple[str, ...]]) -> None:
    """Each claim holds on ``result`` and fails on each of its controls; every claim
    that is not an identity has at least one control."""
    judged = concept.judgements(concept.metrics(result))
    assert {j.id for j in judged if not j.identity} == set(controls)
    assert all(j.holds for j in judged), [j.id for j in judged if not j.holds]
    for name in {c for names in controls.values() for c in names}:
        got = verdicts(concept, MAKERS[name](result))
        held = [cid for cid, names in controls.items() if name in names and got[cid]]
        assert held == [], name


def fake_result(seed: int = 0) -> Result:
    """A result of the experiment's shape from untrained weights (no training)."""
    s = Settings()
    rel, pdens = s.phase.relative_importance, s.phase.density
    imp = np.tile(s.importance_decay ** np.arange(s.n_features), (len(s.densities), 1))
    dens = np.repeat(np.asarray(s.densities)[:, None], s.n_features, axis=1)
    a = s.arrows
    arrays = {}
    for model in MODELS:
        arrays.update({f"{model}_W": np.zeros((len(s.densities), s.n_hidden, s.n_features)),
                       f"{model}_b": np.zeros(dens.shape), f"{model}_importance": imp, f"{model}_density": dens})
    arrays.update(arrows_W=np.zeros((1, a.n_hidden, a.n_features)), arrows_b=np.zeros((1, a.n_features)),
                  arrows_importance=a.importance_decay ** np.arange(a.n_features)[None],
                  arrows_density=np.full((1, a.n_features), 1 - a.sparsity),
                  phase_W=np.zeros((len(rel) * len(pdens), 1, 2)), phase_b=np.zeros((len(rel) * len(pdens), 2)))
    imp3, dens3 = phase_grid_3(s.phase3.relative_importance, s.phase3.density)
    arrays.update(phase3_W=np.zeros((len(imp3), 2, 3)), phase3_b=np.zeros((len(imp3), 3)),
                  phase3_importance=imp3, phase3_density=dens3)
    result = Result("sparsity", asdict(s), 0, arrays=arrays, info={
        "densities": list(s.densities), "models": list(MODELS), "relative_importance": list(rel),
        "phase_density": list(pdens), "phase3_relative_importance": list(s.phase3.relative_importance),
        "phase3_density": list(s.phase3.density)})
    return untrained_weights(result, seed)


def test_no_claim_holds_on_untrained_models():
    for seed in range(20):
        assert not any(verdicts(CONCEPT, fake_result(seed)).values()), seed


# --------------------------------------------------------------------------- slow


@pytest.fixture(scope="module")
def full() -> dict:
    return course_json("sparsity")


@pytest.mark.slow
def test_negative_controls_on_the_trained_models(full):
    from course.pipeline import experiment
    from course.plugins import load

    result, _ = experiment(load().get("sparsity"), quick=False)
    check_controls(CONCEPT, result, CONTROLS)


@pytest.mark.slow
def test_linear_model_stays_at_m_features(full):
    m = full["n_hidden"]
    lin = [r for r in full["runs"] if r["model"] == "linear"]
    assert {r["density"] for r in lin} >= {1.0, 0.3, 0.1, 0.03, 0.01, 0.001}
    for r in lin:
        assert r["frobenius_sq"] == pytest.approx(m, abs=0.25)
        top = [i for i, v in enumerate(r["feature_norms"]) if v > 0.5]
        assert top == list(range(m)), r["density"]  # the m most important, as PCA would


@pytest.mark.slow
def test_relu_model_grows_with_sparsity(full):
    m = full["n_hidden"]
    relu = sorted((r for r in full["runs"] if r["model"] == "relu"), key=lambda r: -r["density"])
    fro = [r["frobenius_sq"] for r in relu]
    assert relu[0]["density"] == 1.0
    assert fro[0] == pytest.approx(m, abs=0.25) and relu[0]["features_represented"] == m
    assert all(b > a - 0.5 for a, b in zip(fro, fro[1:], strict=False)), fro
    assert fro[-1] > m + 3 and relu[-1]["features_represented"] > m + 3
    # superposition starts with the least important features
    sparse = relu[1]
    assert sparse["features_represented"] > m
    assert 0 < sparse["orthogonal_features"] < m


@pytest.mark.slow
def test_phase_diagram_has_three_regions_and_superposition_needs_sparsity(full):
    pd_ = full["phase_diagram"]
    assert all(pd_["counts"][c] > 0 for c in (NOT_LEARNED, DEDICATED, SUPERPOSITION))
    dens = pd_["density"]
    dense = dens.index(max(dens))
    sparse = dens.index(min(dens))
    assert SUPERPOSITION not in pd_["classes"][dense]
    assert pd_["superposition_fraction"][sparse] >= 0.9
    # the dense row splits near relative importance 1
    lo, hi = pd_["dense_split"]
    assert 0.5 <= lo < hi <= 2.0
    row = pd_["classes"][dense]
    rel = pd_["relative_importance"]
    assert all(c == NOT_LEARNED for r, c in zip(rel, row, strict=True) if r < 0.5)
    assert all(c == DEDICATED for r, c in zip(rel, row, strict=True) if r > 2.0)
    assert pd_["agreement_with_ideal"] >= 0.85
    assert pd_["example"]["class"] == SUPERPOSITION
    w = pd_["example"]["W"]
    assert w[0] * w[1] < 0 and min(abs(w[0]), abs(w[1])) > 0.8


@pytest.mark.slow
def test_every_claim_holds_on_the_full_run(full):
    failed = [(c.id, c.measured) for c in CONCEPT.claims(full) if not c.holds]
    assert failed == []


@pytest.mark.slow
def test_figures_and_scene_from_a_quick_run(tmp_path):
    from course import render
    from course.chapters import describe
    from course.pipeline import experiment, metrics
    from course.plugins import load

    reg = load().get("sparsity")
    result, _ = experiment(reg, quick=True)
    met = metrics(reg, result)
    figs = CONCEPT.figures(result, met, tmp_path)
    assert {f.name for f in figs} == {"basic_linear", "basic_relu", "phase", "phase3"}
    for f in describe(reg, met, figs, None, [], False).figures:  # captions and alt texts from the words
        assert f.path.stat().st_size > 10_000 and f.caption and f.alt
        assert str(met["n_features"]) in f.alt or "relative importance" in f.alt
    anim = CONCEPT.animation(result, met)
    scene = render.construct(anim)
    # every narration step has its words
    timeline = [[0.0, 1.0, str(sub.content)] for sub in scene.renderer.file_writer.subcaptions]
    described = describe(reg, met, [], {"title": anim.title, "description": anim.description}, timeline, True)
    assert described.title and described.description and described.captions.count("-->") == len(timeline)
    assert "@" not in described.captions  # no step left unnarrated
    frame = np.asarray(scene.renderer.get_frame())
    # the last frame shows the norm bars: many pixels differ from the background
    background = frame[0, 0, :3]
    assert (np.abs(frame[..., :3].astype(int) - background).sum(-1) > 60).mean() > 0.02
