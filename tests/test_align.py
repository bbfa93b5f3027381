"""course.align: separately trained models in one frame, and motion between them
that never shrinks an arrow through the origin (the Superposition video's)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course import align

STEPS = np.linspace(0.0, 1.0, 101)


def rotation(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


def random_orthogonal(m: int, seed: int) -> np.ndarray:
    Q, R = np.linalg.qr(np.random.default_rng(seed).normal(size=(m, m)))
    return Q * np.sign(np.diag(R))


def polygon(degrees: list[float], norms: list[float] | None = None) -> np.ndarray:
    r = np.radians(degrees)
    W = np.stack([np.cos(r), np.sin(r)])
    return W * (np.asarray(norms) if norms is not None else 1.0)


# the introduction figure's three regimes, by hand (n = 5, m = 2)
DENSE = polygon([0, 90, 0, 0, 0], [1, 1, 0, 0, 0])  # features 1, 2 orthogonal, 3-5 not stored
ANTIPODAL = polygon([0, 90, 180, 270, 0], [1, 1, 1, 1, 0])  # 1-3 and 2-4 antipodal
PENTAGON = polygon([0, 144, 288, 72, 216], [1, 1, 1, 1, 1])  # neighbours 72° apart


def lengths_along(Ws: list[np.ndarray], move) -> np.ndarray:
    """(steps, n): each arrow's length along the path between consecutive levels."""
    out = []
    for k in range(len(Ws) - 1):
        for t in STEPS:
            out.append(np.linalg.norm(move(Ws[k], Ws[k + 1], t), axis=0))
    return np.asarray(out)


def straight(A: np.ndarray, B: np.ndarray, t: float) -> np.ndarray:
    return (1 - t) * A + t * B


def turning(A: np.ndarray, B: np.ndarray, t: float) -> np.ndarray:
    return align.interpolate(A, B, t)[0]


def represented_in_both(Ws: list[np.ndarray], floor: float = 0.5) -> np.ndarray:
    """(steps, n): True where the feature is represented at both ends of that step's move."""
    out = []
    for k in range(len(Ws) - 1):
        both = (np.linalg.norm(Ws[k], axis=0) > floor) & (np.linalg.norm(Ws[k + 1], axis=0) > floor)
        out += [both] * len(STEPS)
    return np.asarray(out)


# --------------------------------------------------------------------------- Procrustes and relabelling


@pytest.mark.parametrize("m", [2, 3, 5])
def test_procrustes_undoes_rotations_and_reflections(m: int) -> None:
    P = np.random.default_rng(m).normal(size=(m, 7))
    for seed in range(3):
        R = random_orthogonal(m, seed)
        np.testing.assert_allclose(align.procrustes(R @ P, P) @ (R @ P), P, atol=1e-10)


def test_match_relabels_interchangeable_features_and_says_how() -> None:
    P = polygon([0, 150, 280, 60, 210], [1.0, 0.9, 0.8, 0.7, 0.6])  # no symmetry of its own
    shuffled = rotation(0.7) @ P[:, [0, 3, 1, 4, 2]]
    fitted, cols = align.match(shuffled, P, interchangeable=[1, 2, 3, 4])
    np.testing.assert_allclose(fitted, P, atol=1e-10)
    assert cols == [0, 2, 4, 1, 3]
    # without the relabelling no rotation fits
    assert np.abs(align.match(shuffled, P)[0] - P).max() > 0.5
    # two groups of their own: the relabelling stays inside each
    Q = polygon([10, 100, 190, 280, 40, 160], [1, 0.9, 0.8, 0.7, 0.6, 0.5])
    fitted, cols = align.match(rotation(2.0) @ Q[:, [1, 0, 2, 3, 5, 4]], Q, interchangeable=[[0, 1], [4, 5]])
    np.testing.assert_allclose(fitted, Q, atol=1e-10)
    assert cols == [1, 0, 2, 3, 5, 4]


def test_match_refuses_what_it_cannot_do() -> None:
    with pytest.raises(ValueError, match="one shape"):
        align.match(np.zeros((2, 5)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="among the 5 features"):
        align.match(PENTAGON, PENTAGON, interchangeable=[3, 7])
    with pytest.raises(ValueError, match="at most"):
        align.match(np.ones((2, 12)), np.ones((2, 12)), interchangeable=list(range(12)))


def test_align_chain_turns_separately_trained_copies_into_one_frame() -> None:
    P = polygon([17 + 72 * k for k in range(5)])
    Ws = [random_orthogonal(2, s) @ P for s in range(4)]
    out = align.align_chain(Ws, start=2, up=0)
    for W in out:
        np.testing.assert_allclose(W, out[2], atol=1e-10)
    np.testing.assert_allclose(out[2][:, 0], [0, 1], atol=1e-12)  # feature 1 points up
    with pytest.raises(ValueError, match="not one of the 4 levels"):
        align.align_chain(Ws, start=4)


# --------------------------------------------------------------------------- motion between models


def test_an_arrow_in_both_models_turns_and_never_shrinks_below_the_shorter_end() -> None:
    A = polygon([0, 90], [1.0, 0.8])
    B = polygon([180, 200], [0.6, 1.2])  # feature 1 flipped: a straight line goes through the origin
    lengths = lengths_along([A, B], turning)
    assert lengths[:, 0].min() >= 0.6 - 1e-9 and lengths[:, 1].min() >= 0.8 - 1e-9
    # the negative control: the straight line between the same two models passes the origin
    assert lengths_along([A, B], straight)[:, 0].min() < 0.01
    # the ends are the models themselves, and the turn is along the shorter arc
    np.testing.assert_allclose(align.interpolate(A, B, 0.0)[0], A, atol=1e-12)
    np.testing.assert_allclose(align.interpolate(A, B, 1.0)[0], B, atol=1e-12)
    mid = align.interpolate(A, B, 0.5)[0][:, 1]
    assert math.degrees(math.atan2(mid[1], mid[0])) == pytest.approx(145.0)


def test_a_feature_that_appears_or_disappears_fades_at_its_own_length() -> None:
    A, B = DENSE, ANTIPODAL  # features 3, 4 appear
    for t in (0.0, 0.3, 1.0):
        W, alpha = align.interpolate(B, A, t)  # ... and disappear the other way
        np.testing.assert_allclose(alpha[[2, 3]], 1 - t)
        np.testing.assert_allclose(np.linalg.norm(W[:, [2, 3]], axis=0), 1.0)
        W, alpha = align.interpolate(A, B, t)
        np.testing.assert_allclose(alpha[[2, 3]], t)
        np.testing.assert_allclose(alpha[[0, 1]], 1.0)
        assert alpha[4] == 0.0  # stored in neither


def test_the_superposition_video_never_moves_a_stored_arrow_through_the_origin() -> None:
    """The video's own path (its levels aligned, then moved arrow by arrow) on
    separately trained models: each in a basis of its own, one mirrored."""
    from course_plugins.superposition import scene

    trained = [rotation(0.4) @ DENSE, np.diag([1.0, -1.0]) @ rotation(2.9) @ ANTIPODAL, rotation(-1.3) @ PENTAGON]
    aligned = scene.levels(np.stack(trained))
    positions = np.concatenate([k + STEPS for k in range(len(aligned) - 1)])
    lengths = np.asarray([np.linalg.norm(scene.arrows_at(aligned, p)[0], axis=0) for p in positions])
    both = represented_in_both(aligned)
    assert both.any()
    assert lengths[both].min() > 0.5 - 1e-9
    # the negative control: the models moved in straight lines as trained shrink an arrow to almost nothing
    raw = lengths_along(trained, straight)
    assert raw[represented_in_both(trained)].min() < 0.3
    # and aligning alone moves less than not aligning
    moved = sum(np.abs(aligned[k + 1] - aligned[k]).sum() for k in range(len(aligned) - 1))
    assert moved < sum(np.abs(trained[k + 1] - trained[k]).sum() for k in range(len(trained) - 1))


def test_the_non_uniform_chapter_uses_the_same_alignment() -> None:
    from course_plugins.non_uniform_superposition import analysis

    assert analysis.procrustes is align.procrustes
    P = PENTAGON
    shuffled = rotation(0.7) @ P[:, [0, 3, 1, 4, 2]]
    np.testing.assert_allclose(analysis.match(shuffled, P, interchangeable=[1, 2, 3, 4]), P, atol=1e-10)
