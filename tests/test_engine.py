"""The toy-model engine: data distribution, gradients, determinism, selection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course import metrics as M
from course.engine import ToyConfig, _ManualGrad, loss_per_instance, sample_batch, train


def test_sweep_broadcasts_levels_and_features():
    cfg = ToyConfig.sweep(5, 2, importance=0.9 ** np.arange(5), density=[1.0, 0.1])
    imp, prob = cfg.arrays()
    assert imp.shape == prob.shape == (2, 5)
    np.testing.assert_allclose(imp[1], 0.9 ** np.arange(5))
    np.testing.assert_allclose(prob[:, 0], [1.0, 0.1])
    # per-level importance (the phase diagram varies one feature's importance)
    cfg2 = ToyConfig.sweep(2, 1, importance=[[1, 0.1], [1, 10]], density=0.5)
    assert cfg2.n_levels == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"density": 0.0},
        {"density": 1.5},
        {"model": "tanh"},
        {"lr_schedule": "step"},
        {"correlated_sets": (4, 4)},
    ],
)
def test_config_rejects_bad_values(bad):
    kwargs = {"importance": 1.0, "density": 0.5} | bad
    with pytest.raises(ValueError):
        ToyConfig.sweep(5, 2, **kwargs)


def test_data_distribution_matches_the_paper():
    """x_i = 0 with probability S, otherwise uniform on [0, 1]."""
    cfg = ToyConfig.sweep(50, 2, density=[1.0, 0.3, 0.05])
    x = sample_batch(cfg, 4000, seed=1).numpy()  # (levels, batch, n)
    for level, p in enumerate([1.0, 0.3, 0.05]):
        vals = x[level]
        present = vals > 0
        assert present.mean() == pytest.approx(p, rel=0.03)
        nz = vals[present]
        assert nz.min() >= 0 and nz.max() <= 1
        assert nz.mean() == pytest.approx(0.5, abs=0.01)
        assert np.var(nz) == pytest.approx(1 / 12, abs=0.005)
        # features independent: the co-occurrence rate is p²
        both = (present[:, 0] & present[:, 1]).mean()
        assert both == pytest.approx(p * p, abs=0.01 + 0.1 * p * p)


def test_correlated_and_anticorrelated_sets():
    cfg = ToyConfig.sweep(5, 2, density=0.2, correlated_sets=(2,), anticorrelated_sets=(2,))
    x = sample_batch(cfg, 20000, seed=2).numpy()[0] > 0
    # correlated pair: present together or not at all
    assert np.array_equal(x[:, 0], x[:, 1])
    assert x[:, 0].mean() == pytest.approx(0.2, abs=0.02)
    # anticorrelated pair: never together; the set is active with p, one member at a time
    assert not np.any(x[:, 2] & x[:, 3])
    assert (x[:, 2] | x[:, 3]).mean() == pytest.approx(0.2, abs=0.02)
    assert x[:, 2].mean() == pytest.approx(0.1, abs=0.015)
    # the last feature is independent
    assert x[:, 4].mean() == pytest.approx(0.2, abs=0.02)


@pytest.mark.parametrize("model", ["relu", "linear"])
def test_manual_gradient_matches_autograd(model):
    torch.manual_seed(0)
    inst, batch, n, m = 3, 64, 7, 3
    W = torch.randn(inst, m, n, dtype=torch.float64)
    b = torch.randn(inst, n, dtype=torch.float64) * 0.1
    x = torch.rand(inst, batch, n, dtype=torch.float64) * (torch.rand(inst, batch, n) < 0.4)
    imp = (0.8 ** torch.arange(n, dtype=torch.float64)).expand(inst, 1, n).clone()
    grad = _ManualGrad(inst, batch, n, m, imp, relu=model == "relu")
    grad.z, grad.e = grad.z.double(), grad.e.double()
    grad.h, grad.dh = grad.h.double(), grad.dh.double()
    dW, db, loss = grad(W, b, x, want_loss=True)

    Wa, ba = W.clone().requires_grad_(True), b.clone().requires_grad_(True)
    per = loss_per_instance(Wa, ba, x, imp, model)
    per.sum().backward()
    torch.testing.assert_close(loss, per.detach())
    torch.testing.assert_close(dW, Wa.grad)
    torch.testing.assert_close(db, ba.grad)


def test_training_is_deterministic_for_a_seed():
    cfg = ToyConfig.sweep(5, 2, importance=0.9 ** np.arange(5), density=[1.0, 0.1], steps=150, batch_size=128, n_seeds=2)
    a, b = train(cfg, seed=7), train(cfg, seed=7)
    np.testing.assert_array_equal(a.W, b.W)
    c = train(cfg, seed=8)
    assert not np.array_equal(a.W, c.W)


def test_result_shapes_and_best_seed_selection():
    cfg = ToyConfig.sweep(5, 2, density=[1.0, 0.3, 0.1], steps=100, batch_size=64, n_seeds=3, log_every=10)
    r = train(cfg, seed=0)
    assert r.W.shape == (3, 3, 2, 5) and r.b.shape == (3, 3, 5)
    assert r.final_loss.shape == (3, 3) and r.loss_curve.shape[:2] == (3, 3)
    assert r.curve_steps[0] == 0 and r.curve_steps[-1] == 99
    np.testing.assert_array_equal(r.best, r.final_loss.argmin(axis=1))
    np.testing.assert_array_equal(r.best_W[1], r.W[1, r.best[1]])
    saved = r.arrays()
    assert saved["W_all"].shape == (3, 3, 2, 5) and saved["b_all"].shape == (3, 3, 5)
    np.testing.assert_array_equal(saved["b"][2], r.b[2, r.best[2]].astype(np.float32))
    assert np.all(r.best_loss <= r.final_loss.min(axis=1) + 1e-12)


@pytest.mark.parametrize("model", ["relu", "linear", "neuron"])
def test_training_lowers_the_loss(model):
    cfg = ToyConfig.sweep(6, 3, importance=0.9 ** np.arange(6), density=[1.0, 0.2], model=model,
                          steps=400, batch_size=256, log_every=50, lr=1e-2)
    r = train(cfg)
    curve = r.best_curve()
    assert np.all(curve[:, -1] < 0.7 * curve[:, 0])


def test_learning_rate_schedules_run():
    for schedule in ("linear", "cosine"):
        cfg = ToyConfig.sweep(5, 2, density=0.5, steps=50, batch_size=32, lr_schedule=schedule)
        assert np.isfinite(train(cfg).W).all()


def test_progress_callback_reaches_the_end():
    seen = []
    cfg = ToyConfig.sweep(5, 2, density=0.5, steps=30, batch_size=32, log_every=10)
    train(cfg, progress=lambda step, total: seen.append((step, total)))
    assert seen[-1] == (30, 30)
    assert all(t == 30 for _, t in seen)


# --------------------------------------------------------------- the paper's claims


@pytest.mark.slow
def test_linear_model_learns_top_m_features_at_any_sparsity():
    """R2: the linear model never superposes: ‖W‖_F² ≈ m and the top-m features."""
    cfg = ToyConfig.sweep(20, 5, importance=0.7 ** np.arange(20), density=[1.0, 0.1, 0.01],
                          model="linear", steps=4000, n_seeds=2)
    W = train(cfg, seed=0).best_W
    for level in range(3):
        assert M.features_learned(W[level]) == pytest.approx(5, abs=0.35)
        norms = M.feature_norms(W[level])
        assert set(np.argsort(-norms)[:5]) == set(range(5))


@pytest.mark.slow
def test_relu_model_learns_more_features_as_sparsity_grows():
    """R3: n=20, m=5, I=0.7^i: dense ≈ the linear model; sparse stores many more."""
    density = [1.0, 0.1, 0.03, 0.01]
    cfg = ToyConfig.sweep(20, 5, importance=0.7 ** np.arange(20), density=density, steps=6000, n_seeds=2)
    W = train(cfg, seed=0).best_W
    counts = [(M.feature_norms(W[k]) > 0.5).sum() for k in range(len(density))]
    frob = [float(M.features_learned(W[k])) for k in range(len(density))]
    assert counts[0] == 5 and frob[0] == pytest.approx(5, abs=0.5)
    assert counts[-1] >= 9
    assert frob[-1] > frob[1] > frob[0]


@pytest.mark.slow
def test_intro_figure_two_then_antipodal_then_pentagon():
    """R1: n=5, m=2: 2 orthogonal features, then 4 as antipodal pairs, then a pentagon."""
    cfg = ToyConfig.sweep(5, 2, importance=0.9 ** np.arange(5), density=[1.0, 0.2, 0.1], n_seeds=6, steps=10_000)
    W = train(cfg, seed=0).best_W
    norms = M.feature_norms(W)
    D = M.feature_dimensionality(W)
    assert (norms[0] > 0.5).sum() == 2 and np.all(D[0, :2] > 0.95)
    assert abs(M.gram(W[0])[0, 1]) < 0.05  # orthogonal
    assert (norms[1] > 0.5).sum() == 4
    np.testing.assert_allclose(D[1, :4], 0.5, atol=0.06)
    assert norms[1, 4] < 0.1
    assert (norms[2] > 0.5).sum() == 5
    np.testing.assert_allclose(D[2], 0.4, atol=0.05)


@pytest.mark.slow
def test_uniform_superposition_rests_at_half_a_dimension_per_feature():
    """R5: importance 1, n ≫ m: m/‖W‖_F² sits near 1/2 over a range of densities."""
    density = 1 / np.array([1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0])
    cfg = ToyConfig.sweep(100, 10, importance=1.0, density=density, steps=5000, batch_size=1024)
    W = train(cfg, seed=0).best_W
    dpf = np.array([float(M.dimensions_per_feature(W[k])) for k in range(len(density))])
    assert dpf[0] == pytest.approx(1.0, abs=0.1)
    near_half = np.abs(dpf - 0.5) < 0.06
    assert near_half.sum() >= 2, dpf
