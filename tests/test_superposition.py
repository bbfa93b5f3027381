"""The superposition concept (the paper's introduction figure): its measures on exactly
constructed weights, and negative controls for every claim: each judgement run on weights
that must fail it (an untrained model, the solution of the wrong sparsity, four or five
evenly spread directions that are not pairs or a pentagon, a blurred solution) does fail."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import random_rotation

from course import Result
from course_plugins.superposition import CONCEPT
from course_plugins.superposition.analysis import angle_gaps, claims, metrics, partner_cosines

SPARSITIES = (0.0, 0.8, 0.9)


def arrows(degrees: list[float | None], length: float = 1.0) -> np.ndarray:
    """A 2 × 5 W with feature i at angle degrees[i] (None: not represented)."""
    W = np.zeros((2, 5))
    for i, d in enumerate(degrees):
        if d is not None:
            W[:, i] = length * np.array([math.cos(math.radians(d)), math.sin(math.radians(d))])
    return W


#: the paper's three regimes, built exactly
DENSE = arrows([0, 90, None, None, None])
PAIRS = arrows([0, 180, 90, 270, None])
PENTAGON = arrows([0, 72, 144, 216, 288])
#: four directions 45° apart: D_i = 1/2 each (a tight frame), but no feature has an opposite
FOUR_SPREAD = arrows([0, 45, 90, 135, None])
#: five lines 36° apart: D_i = 2/5 each, but all in one half-plane, not a pentagon
FIVE_LINES = arrows([0, 36, 72, 108, 144])


def untrained(seed: int = 0) -> np.ndarray:
    """Weights at the engine's initialisation (Xavier normal), before any training."""
    return np.random.default_rng(seed).normal(scale=math.sqrt(2 / 7), size=(2, 5))


def judged(dense: np.ndarray, s08: np.ndarray, s09: np.ndarray) -> dict[str, bool]:
    """The claims judged on metrics of these weights at S = 0, 0.8 and 0.9."""
    W = np.stack([dense, s08, s09]).astype(np.float32)
    result = Result("superposition", {}, 0, arrays={"W": W, "b": np.zeros((3, 5), np.float32),
                                                   "loss": np.zeros(3, np.float32)},
                    info={"sparsities": list(SPARSITIES)})
    return {j.id: j.holds for j in claims(metrics(result))}


def test_partner_cosines_and_angle_gaps_of_constructed_codes():
    assert partner_cosines(PAIRS)[:4] == pytest.approx([-1.0] * 4)
    assert partner_cosines(PAIRS)[4] == 1.0  # not represented
    assert max(partner_cosines(FOUR_SPREAD)[:4]) == pytest.approx(0.0, abs=1e-9)  # 45° vs 135°
    assert angle_gaps(PENTAGON) == pytest.approx([72.0] * 5)
    assert sorted(angle_gaps(FIVE_LINES)) == pytest.approx([36.0] * 4 + [216.0])
    assert sum(angle_gaps(untrained())) == pytest.approx(360.0)
    assert angle_gaps(np.zeros((3, 4))) == []


def test_the_decoys_have_the_sticky_dimensionalities():
    # why D_i alone cannot judge pairs or a pentagon: the decoys give the same values
    from course.metrics import feature_dimensionality

    assert feature_dimensionality(FOUR_SPREAD)[:4] == pytest.approx([0.5] * 4)
    assert feature_dimensionality(FIVE_LINES) == pytest.approx([0.4] * 5)


def test_the_exact_solutions_pass_in_any_rotation():
    assert judged(DENSE, PAIRS, PENTAGON) == dict.fromkeys(
        ("intro-dense", "intro-antipodal", "intro-pentagon"), True)
    R = random_rotation(2, seed=3)
    assert all(judged(R @ DENSE, R @ PAIRS, R @ PENTAGON).values())


@pytest.mark.parametrize("name, weights", [
    ("untrained", untrained()),
    ("pairs (S = 0.8's solution)", PAIRS),
    ("pentagon (S = 0.9's solution)", PENTAGON),
    ("the two least important features", arrows([None, None, None, 0, 90])),
    ("three orthogonal-ish features", arrows([0, 90, 45, None, None])),
])
def test_intro_dense_fails_on_the_wrong_weights(name, weights):
    assert judged(weights, PAIRS, PENTAGON)["intro-dense"] is False, name


@pytest.mark.parametrize("name, weights", [
    ("untrained", untrained(1)),
    ("dense solution", DENSE),
    ("pentagon", PENTAGON),
    ("four directions 45° apart", FOUR_SPREAD),
    ("pairs with one arrow 25° off", arrows([0, 180, 90, 295, None])),
    ("pairs of the wrong features", arrows([0, 180, 90, None, 270])),
])
def test_intro_antipodal_fails_on_the_wrong_weights(name, weights):
    assert judged(DENSE, weights, PENTAGON)["intro-antipodal"] is False, name


@pytest.mark.parametrize("name, weights", [
    ("untrained", untrained(2)),
    ("pairs", PAIRS),
    ("five lines 36° apart", FIVE_LINES),
    ("a pentagon with one corner 20° off", arrows([0, 72, 144, 236, 288])),
    ("a square and a feature on top of one corner", arrows([0, 90, 180, 270, 5])),
])
def test_intro_pentagon_fails_on_the_wrong_weights(name, weights):
    assert judged(DENSE, PAIRS, weights)["intro-pentagon"] is False, name


def test_claims_are_findings_of_training_not_identities():
    assert not any(c.identity for c in CONCEPT.claims(metrics(Result(
        "superposition", {}, 0,
        arrays={"W": np.stack([DENSE, PAIRS, PENTAGON]), "b": np.zeros((3, 5)), "loss": np.zeros(3)},
        info={"sparsities": list(SPARSITIES)}))))


def test_claims_words_quote_the_new_measurements():
    result = Result("superposition", {}, 0,
                    arrays={"W": np.stack([DENSE, PAIRS, PENTAGON]), "b": np.zeros((3, 5)),
                            "loss": np.zeros(3)}, info={"sparsities": list(SPARSITIES)})
    by = {c.id: c for c in CONCEPT.claims(metrics(result))}
    assert "-1.000, -1.000, -1.000, -1.000" in by["intro-antipodal"].measured
    assert "cosine below -0.95" in by["intro-antipodal"].tolerance
    assert "72.0°, 72.0°, 72.0°, 72.0°, 72.0°" in by["intro-pentagon"].measured
    assert "within 12° of 72°" in by["intro-pentagon"].tolerance
