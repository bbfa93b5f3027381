"""The distributed-representations concept: registration, JSON, participation and
interference on constructed codes, the rotation search, the claim logic, and (slow)
the claims on the full settings."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import course_json

from course import Result
from course_plugins.distributed_representations import CONCEPT
from course_plugins.distributed_representations.analysis import describe_code
from course_plugins.distributed_representations.experiment import TRAINED, Settings, finish
from course_plugins.distributed_representations.rotation import best_rotation, rotation_matrix

RUN_KEYS = {"name", "n_features", "n_hidden", "participation", "features_per_dimension",
            "max_interference", "interference", "loss", "trained"}


def spreading_rotation(m: int) -> np.ndarray:
    """(2/m)·11ᵀ − I: orthogonal, every entry non-zero, so every unit mixes every feature."""
    return 2.0 / m * np.ones((m, m)) - np.eye(m)


# --------------------------------------------------------------------------- fast



def test_local_code_has_participation_one_and_no_interference():
    code = describe_code(np.eye(3))
    assert code["participation"] == [1.0, 1.0, 1.0]
    assert code["max_interference"] == 0.0
    assert code["features_per_dimension"] == 1.0
    assert code["superposition"] is False and code["gram_rank"] == 3


def test_rotated_orthonormal_basis_is_distributed_without_interference():
    # 45° in the plane: each feature split evenly over both units
    plane = describe_code(rotation_matrix(np.pi / 4))
    np.testing.assert_allclose(plane["participation"], [2.0, 2.0], atol=1e-6)
    assert plane["max_interference"] == pytest.approx(0.0, abs=1e-9)
    # five features in five units, every unit taking part in every feature
    R = spreading_rotation(5)
    np.testing.assert_allclose(R.T @ R, np.eye(5), atol=1e-12)
    code = describe_code(R)
    # column: one entry 3/5, four entries 2/5 → (1)² / (0.6⁴ + 4·0.4⁴)
    np.testing.assert_allclose(code["participation"], [1 / (0.6**4 + 4 * 0.4**4)] * 5, atol=1e-6)
    assert min(code["participation"]) > 4
    assert code["max_interference"] == pytest.approx(0.0, abs=1e-9)
    assert code["features_per_dimension"] == pytest.approx(1.0)
    assert code["superposition"] is False


def test_antipodal_pair_in_one_unit_is_superposed_but_local():
    code = describe_code(np.array([[1.0, -1.0]]))
    assert code["participation"] == [1.0, 1.0]
    assert code["interference"] == [1.0, 1.0]
    assert code["features_per_dimension"] == 2.0
    assert code["superposition"] is True and code["antipodal_pairs"] == 1 and code["gram_rank"] == 1


def test_rotation_search_spreads_and_aligns_without_touching_the_gram_matrix():
    W = np.eye(5)
    R = best_rotation(W, "spread", steps=150, starts=2)
    np.testing.assert_allclose(R.T @ R, np.eye(5), atol=1e-9)
    assert np.linalg.det(R) == pytest.approx(1.0)
    spread = R @ W
    np.testing.assert_allclose(spread.T @ spread, W.T @ W, atol=1e-9)
    assert describe_code(spread)["min_participation"] > 3.5
    # and back: aligning a spread-out code finds a local one again
    back = best_rotation(spreading_rotation(5), "align", steps=300, starts=3) @ spreading_rotation(5)
    assert describe_code(back)["mean_participation"] == pytest.approx(1.0, abs=0.02)
    with pytest.raises(ValueError):
        best_rotation(W, "sideways")


def _metrics(**over: dict) -> dict:
    base = {
        "neurons": {"n_features": 5, "n_hidden": 5, "density": 0.5, "mean_participation": 1.0, "loss": 0.0},
        "neurons-spread": {"mean_participation": 4.3, "loss": 0.09},
        "distributed": {"density": 0.5, "mean_participation": 2.6, "min_participation": 1.6, "n_hidden": 5,
                        "features_per_dimension": 1.0, "max_interference": 0.0, "loss": 0.0},
        "distributed-spread": {"mean_participation": 4.3, "min_participation": 4.3,
                               "max_interference": 0.0, "loss": 0.0},
        "superposition": {"density": 0.05, "n_features": 10, "n_hidden": 5, "mean_participation": 2.6,
                          "features_per_dimension": 2.0, "max_interference": 1.0, "loss": 4e-4},
        "superposition-aligned": {"mean_participation": 1.0, "max_interference": 1.0, "loss": 4e-4},
    }
    for name, changes in over.items():
        base[name.replace("_", "-")].update(changes)
    runs = [{"name": k, **v} for k, v in base.items()]
    return {"runs": runs, "rotation_loss_change": {"distributed-spread": 0.0, "superposition-aligned": 0.0,
                                                   "neurons-spread": 0.09}}


def test_claims_follow_the_measurements():
    assert all(c.holds for c in CONCEPT.claims(_metrics()))
    ok = {c.id: c.holds for c in CONCEPT.claims(_metrics(distributed_spread={"max_interference": 0.3}))}
    assert ok["distributed-without-superposition"] is False
    ok = {c.id: c.holds for c in CONCEPT.claims(_metrics(superposition_aligned={"mean_participation": 2.0}))}
    assert ok["superposition-needs-no-spreading"] is False
    ok = {c.id: c.holds for c in CONCEPT.claims(_metrics(neurons_spread={"loss": 0.0}))}
    assert ok == {"distributed-without-superposition": True, "superposition-needs-no-spreading": True,
                  "rotation-invariance": True, "neuron-basis-privileged": False}
    bad = _metrics()
    bad["rotation_loss_change"]["distributed-spread"] = 1e-3
    assert {c.id: c.holds for c in CONCEPT.claims(bad)}["rotation-invariance"] is False


# --------------------------------------------------------------------------- negative controls
#
# Every finding is run on weights that must fail it: untrained codes (the engine's
# initialisation, zero biases), the neuron model and the square ReLU-output code
# swapped (a code from the wrong model), and the square code and the superposed code
# swapped (codes from the wrong density and size). Each control goes through the
# experiment's own finish(): the rotations are searched again and every loss measured
# on the same inputs. The rotation invariance of the ReLU-output model is a check of
# the mathematics (identity=True): it holds for any weights, untrained ones too.


def _trained(result: Result) -> dict[str, np.ndarray]:
    return {k: result[k].astype(np.float64) for name in TRAINED for k in (f"W_{name}", f"b_{name}")}


def untrained(seed: int = 0) -> dict[str, np.ndarray]:
    """Every trained code replaced by the engine's initialisation (Xavier normal, zero bias)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, (_, n, m, _) in TRAINED.items():
        out[f"W_{name}"] = rng.normal(size=(m, n)) * np.sqrt(2 / (m + n))
        out[f"b_{name}"] = np.zeros(n)
    return out


def swapped(trained: dict[str, np.ndarray], a: str, b: str) -> dict[str, np.ndarray]:
    """Codes ``a`` and ``b`` exchanged (each put in the other's model, density and place)."""
    out = dict(trained)
    for x, y in ((a, b), (b, a)):
        out[f"W_{x}"], out[f"b_{x}"] = trained[f"W_{y}"], trained[f"b_{y}"]
    return out


#: finding -> the controls that must fail it
CONTROLS = {
    "distributed-without-superposition": ("untrained", "neuron and square codes swapped",
                                          "square and superposed codes swapped"),
    "superposition-needs-no-spreading": ("untrained", "square and superposed codes swapped"),
    "neuron-basis-privileged": ("untrained", "neuron and square codes swapped"),
}
MAKERS = {
    "untrained": lambda trained: untrained(),
    "neuron and square codes swapped": lambda trained: swapped(trained, "neurons", "distributed"),
    "square and superposed codes swapped": lambda trained: swapped(trained, "distributed", "superposition"),
}


def verdicts(settings: Settings, trained: dict[str, np.ndarray]) -> dict[str, bool]:
    return {j.id: j.holds for j in CONCEPT.judgements(CONCEPT.metrics(finish(settings, trained)))}


def test_identity_is_marked_and_holds_on_untrained_codes():
    judged = CONCEPT.judgements(CONCEPT.metrics(finish(Settings.quick(), untrained(0))))
    assert {j.id for j in judged if j.identity} == {"rotation-invariance"}
    assert {j.id for j in judged if not j.identity} == set(CONTROLS)
    assert next(j for j in judged if j.id == "rotation-invariance").holds


def test_no_finding_holds_on_untrained_codes():
    for seed in range(6):
        held = [cid for cid, ok in verdicts(Settings.quick(), untrained(seed)).items() if ok and cid in CONTROLS]
        assert held == [], seed


def test_quick_run_json_and_rotation_invariance():
    doc = course_json("distributed-representations", "--quick")
    assert doc["concept"] == "distributed-representations"
    names = [r["name"] for r in doc["runs"]]
    assert {"neurons", "distributed", "distributed-spread", "superposition",
            "superposition-aligned", "plane", "squeezed"} <= set(names)
    for r in doc["runs"]:
        assert RUN_KEYS <= set(r)
        assert len(r["participation"]) == r["n_features"] == len(r["interference"])
        assert r["max_interference"] == pytest.approx(max(r["interference"]))
    by = {r["name"]: r for r in doc["runs"]}
    # a rotation changes participation, never features per dimension or interference
    for rotated, source in (("distributed-spread", "distributed"), ("superposition-aligned", "superposition")):
        assert by[rotated]["features_per_dimension"] == pytest.approx(by[source]["features_per_dimension"], abs=1e-5)
        np.testing.assert_allclose(by[rotated]["interference"], by[source]["interference"], atol=1e-5)
        assert doc["rotation_loss_change"][rotated] == pytest.approx(0.0, abs=1e-9)
    assert by["distributed-spread"]["min_participation"] > by["distributed"]["min_participation"]
    assert by["superposition-aligned"]["mean_participation"] < by["superposition"]["mean_participation"]
    # the turn puts feature 1 exactly halfway between the units (feature 2 only nearly, since
    # the quick model is barely trained and its two directions are not yet at a right angle)
    assert doc["plane_spread"]["participation"][0] == pytest.approx(2.0, abs=1e-4)
    assert doc["plane_spread"]["participation"][1] == pytest.approx(2.0, abs=0.05)


def test_quick_figures_and_chapter(tmp_path):
    from course import chapters, plugins
    from course.markup import render_template

    result = CONCEPT.run(CONCEPT.settings(quick=True))
    metrics = CONCEPT.metrics(result)
    figs = CONCEPT.figures(result, metrics, tmp_path)
    assert [f.name for f in figs] == ["codes", "axes"]
    assert all(f.path.stat().st_size > 10_000 for f in figs)
    # the words file gives each figure its caption and alt text
    reg = plugins.load().get("distributed-representations")
    figs = chapters.describe(reg, metrics, figs, None, [], False).figures
    assert all(f.caption and f.alt for f in figs)
    codes = figs[0]
    assert codes.caption.startswith("**Five codes, read two ways.** A: one unit per feature; B: ")
    assert "E: superposition, turned onto the units. Top row:" in codes.caption
    assert codes.alt.startswith("Two rows of five heat maps. one unit per feature (5 features, 5 units): participation ")
    page = render_template(CONCEPT.chapter(), concept=CONCEPT, metrics=metrics, runs=metrics["runs"],
                           figures={"codes": "FIG-CODES", "axes": "FIG-AXES"}, video="VIDEO",
                           claims=CONCEPT.claims(metrics))
    assert page.startswith("# Distributed representations")
    assert f"**{CONCEPT.question}**" in page
    for word in ("FIG-CODES", "FIG-AXES", "VIDEO", "Polysemanticity", "Superposition", "Interference",
                 "Orthogonal", "Linear combination", "Distributed representation"):
        assert word in page, word


# --------------------------------------------------------------------------- slow


@pytest.fixture(scope="module")
def full() -> dict:
    return course_json("distributed-representations")


@pytest.mark.slow
def test_full_distributed_code_beside_superposed_code(full):
    by = {r["name"]: r for r in full["runs"]}
    d, ds, sp, sa = by["distributed"], by["distributed-spread"], by["superposition"], by["superposition-aligned"]
    assert d["n_features"] == d["n_hidden"] and sp["n_features"] > sp["n_hidden"]
    assert d["mean_participation"] > 1.5 and ds["min_participation"] > 4
    assert max(d["max_interference"], ds["max_interference"]) < 0.01
    assert d["features_per_dimension"] == pytest.approx(1.0, abs=0.05)
    assert sp["features_per_dimension"] > 1.5 and min(sp["max_interference"], sa["max_interference"]) > 0.5
    assert sa["mean_participation"] < 1.1
    assert by["neurons"]["mean_participation"] < 1.05


@pytest.mark.slow
def test_full_claims_hold(full):
    claims = CONCEPT.claims({k: v for k, v in full.items() if k != "concept"})
    failing = [(c.id, c.measured) for c in claims if not c.holds]
    assert not failing, failing


@pytest.mark.slow
def test_negative_controls_on_the_trained_codes():
    from course.pipeline import experiment
    from course.plugins import load

    result, _ = experiment(load().get("distributed-representations"), quick=False)
    settings, trained = Settings(**result.settings), _trained(result)
    assert all(verdicts(settings, trained).values())
    for name, make in MAKERS.items():
        got = verdicts(settings, make(trained))
        assert got["rotation-invariance"], name  # the identity holds whatever the weights
        held = [cid for cid, names in CONTROLS.items() if name in names and got[cid]]
        assert held == [], name


@pytest.mark.slow
def test_scene_ends_with_three_arrows_and_a_gram_matrix():
    from course import plugins, render

    result = CONCEPT.run(CONCEPT.settings(quick=True))
    metrics = CONCEPT.metrics(result)
    scene = render.construct(CONCEPT.animation(result, metrics))
    # every caption is a narration step whose words render
    words = plugins.load().get("distributed-representations").concept.words()
    narration = [words.narration(str(sub.content), **CONCEPT.words_context(metrics))
                 for sub in scene.renderer.file_writer.subcaptions]
    assert len(narration) == 5 and all(narration) and not any(n.startswith("@") for n in narration)
    assert narration[-1].endswith("squeezing features in are different things.")
    frame = np.asarray(scene.renderer.get_frame())[..., :3].astype(int)
    left = frame[:, : frame.shape[1] // 2]
    # the third feature's arrow, in the third feature colour, is drawn on the left
    from course import palette

    third = np.array([int(palette.feature_color(2)[k : k + 2], 16) for k in (1, 3, 5)])
    assert (np.abs(left - third).sum(axis=-1) < 60).sum() > 50
    # a 3 × 3 WᵀW heat map on the right has red diagonal cells
    right = frame[:, frame.shape[1] // 2 :]
    assert ((right[..., 0] > 180) & (right[..., 1] < 80) & (right[..., 2] < 80)).sum() > 200
