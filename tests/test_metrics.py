"""course.metrics on exact geometries with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import random_rotation

from course import metrics as M


def polygon(k: int) -> np.ndarray:
    """k unit vectors evenly spaced on the circle, as a (2, k) matrix."""
    th = 2 * np.pi * np.arange(k) / k
    return np.stack([np.cos(th), np.sin(th)])


def tetrahedron() -> np.ndarray:
    v = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float).T
    return v / np.linalg.norm(v, axis=0)


def square_antiprism() -> np.ndarray:
    """8 unit vectors on two squares at heights ±1/√3, twisted by 45°.

    That height makes the points a tight frame (Σ v vᵀ ∝ I), which is what
    gives every feature D = 3/8; the Thomson solution for 8 charges is a
    square antiprism very close to it.
    """
    h = 1 / math.sqrt(3)
    r = math.sqrt(1 - h * h)
    pts = []
    for k in range(4):
        a = k * math.pi / 2
        pts.append([r * math.cos(a), r * math.sin(a), h])
        pts.append([r * math.cos(a + math.pi / 4), r * math.sin(a + math.pi / 4), -h])
    return np.array(pts).T


GEOMETRIES = {
    "orthonormal basis": (np.eye(3), 1.0),
    "antipodal pair": (np.array([[1.0, -1.0]]), 1 / 2),
    "triangle": (polygon(3), 2 / 3),
    "tetrahedron": (tetrahedron(), 3 / 4),
    "pentagon": (polygon(5), 2 / 5),
    "square antiprism": (square_antiprism(), 3 / 8),
}


@pytest.mark.parametrize("name", GEOMETRIES)
def test_feature_dimensionality_of_exact_geometries(name):
    W, expected = GEOMETRIES[name]
    D = M.feature_dimensionality(W)
    np.testing.assert_allclose(D, expected, atol=1e-9)
    # efficiently packed: the dimensionalities add up to the rank (leverage scores)
    assert D.sum() == pytest.approx(np.linalg.matrix_rank(W), abs=1e-9)


def test_square_antiprism_is_two_twisted_squares():
    W = square_antiprism()
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1.0)
    top, bottom = W[:, W[2] > 0], W[:, W[2] < 0]
    assert top.shape[1] == bottom.shape[1] == 4
    angles = lambda P: np.sort(np.degrees(np.arctan2(P[1], P[0])) % 360)  # noqa: E731
    np.testing.assert_allclose(np.diff(angles(top)), 90)
    np.testing.assert_allclose((angles(bottom) - angles(top)) % 360, 45)


def test_unrepresented_feature_has_zero_dimensionality_and_interference():
    W = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # third feature is not embedded
    np.testing.assert_allclose(M.feature_dimensionality(W), [1, 1, 0])
    np.testing.assert_allclose(M.interference(W), [0, 0, 0])
    np.testing.assert_allclose(M.feature_norms(W), [1, 1, 0])


def test_interference_values():
    # antipodal: each projects fully onto the other
    np.testing.assert_allclose(M.interference(np.array([[1.0, -1.0]])), [1, 1])
    # pentagon: Σ_{j≠i} cos²(θ_ij) = 2cos²72° + 2cos²144° = 1.5
    np.testing.assert_allclose(M.interference(polygon(5)), 1.5)
    # interference uses the unit vector of i but the full W_j: scaling j scales it by |s|²
    W = np.array([[1.0, 2.0]])
    np.testing.assert_allclose(M.interference(W), [4.0, 1.0])


def test_rotated_orthonormal_code_is_fully_distributed_without_interference():
    R = random_rotation(4, seed=3)
    W = R @ np.eye(4)
    np.testing.assert_allclose(M.gram(W), np.eye(4), atol=1e-12)
    np.testing.assert_allclose(M.interference(W), 0, atol=1e-12)
    np.testing.assert_allclose(M.feature_dimensionality(W), 1, atol=1e-12)
    assert np.all(M.participation(W) > 1.5)  # spread over many neurons
    np.testing.assert_allclose(M.participation(np.eye(4)), 1)  # the axis-aligned code is not


def test_participation_range():
    W = np.ones((4, 1)) / 2  # one feature spread evenly over 4 dimensions
    np.testing.assert_allclose(M.participation(W), [4.0])
    np.testing.assert_allclose(M.participation(np.zeros((3, 2))), [0, 0])


def test_frobenius_and_dimensions_per_feature():
    W = polygon(5)
    assert M.features_learned(W) == pytest.approx(5)
    assert M.dimensions_per_feature(W) == pytest.approx(2 / 5)
    assert M.dimensions_per_feature(np.eye(3)) == pytest.approx(1)


def test_gram_spectrum_rank_at_most_m():
    W = polygon(5) * 1.3
    ev = M.gram_spectrum(W)
    assert ev.shape == (5,)
    assert np.all(np.diff(ev) <= 1e-12)  # largest first
    np.testing.assert_allclose(ev[2:], 0, atol=1e-9)
    np.testing.assert_allclose(ev[:2], 5 * 1.3**2 / 2)  # a tight frame: equal eigenvalues
    assert M.gram_rank(W) == 2
    # not invertible: the superposition criterion
    assert np.linalg.matrix_rank(M.gram(W)) < W.shape[1]


def test_neuron_polysemanticity():
    W = np.array([[1.0, 0.0, 0.0], [0.0, 0.7, 0.7], [0.0, 0.0, 0.0]])
    res = M.neuron_polysemanticity(W)
    np.testing.assert_allclose(res.features_per_neuron, [1, 2, 0])
    np.testing.assert_allclose(res.monosemanticity, [1, 1 / math.sqrt(2), 0])
    assert list(res.monosemantic) == [True, False, False]


def test_loss_decomposition_matches_paper_formula():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(2, 4))
    imp = 0.9 ** np.arange(4)
    terms = M.loss_decomposition(W, imp)
    G = W.T @ W
    norms_sq = np.diag(G)
    interf = sum(imp[j] * G[j, i] ** 2 for i in range(4) for j in range(4) if i != j)
    assert terms.interference == pytest.approx(interf)
    assert terms.benefit == pytest.approx(np.sum(imp * (1 - (1 - norms_sq) ** 2)))
    # orthonormal features: full benefit, no interference
    t = M.loss_decomposition(np.eye(3), 1.0)
    assert (float(t.benefit), float(t.interference)) == (3.0, 0.0)


def test_batched_and_torch_inputs_return_same_kind():
    Ws = np.stack([polygon(5), np.vstack([np.eye(2), np.zeros((0, 2))]) @ np.eye(2, 5)])
    D = M.feature_dimensionality(Ws)
    assert isinstance(D, np.ndarray) and D.shape == (2, 5)
    np.testing.assert_allclose(D[0], 0.4)
    np.testing.assert_allclose(D[1], [1, 1, 0, 0, 0])
    Dt = M.feature_dimensionality(torch.tensor(Ws, dtype=torch.float32))
    assert isinstance(Dt, torch.Tensor) and Dt.dtype == torch.float32
    np.testing.assert_allclose(Dt.numpy(), D, atol=1e-6)
    assert M.features_learned(Ws).shape == (2,)
    assert M.gram(Ws).shape == (2, 5, 5)


def test_torch_is_imported_only_when_a_metric_runs() -> None:
    """A build that reads cached metrics imports course.metrics (through the
    plugins' analysis modules) but should not pay for importing torch."""
    import subprocess
    import sys

    code = ("import sys, numpy as np; import course.metrics as M; assert 'torch' not in sys.modules; "
            "print(float(M.feature_norms(np.eye(2))[0])); assert 'torch' in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1.0"
