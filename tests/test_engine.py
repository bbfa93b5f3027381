"""The toy-model engine: data distribution, gradients, determinism, selection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course import engine
from course import metrics as M
from course.engine import ToyConfig, _CompiledGrad, _ManualGrad, check_device, loss_per_instance, sample_batch, train

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA device")


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


@pytest.mark.parametrize("model", ["relu", "neuron"])
def test_sets_train_with_the_compiled_gradient_on_cpu(model, monkeypatch):
    """Correlated and anticorrelated sets: on CPU the batches come from torch's
    generator (with either sampler setting) and the step takes the compiled
    gradient, except with sampler="torch", the GPU's path (autograd). The same
    batches, so the two trainings agree to float32 rounding."""
    cfg = ToyConfig.sweep(6, 2, density=[0.3, 0.05], correlated_sets=(2,), anticorrelated_sets=(2,),
                          steps=60, batch_size=96, n_seeds=2, model=model)
    made: list[str] = []
    real = engine._CompiledGrad.__init__

    def spy(self, *args, **kwargs):
        made.append("compiled")
        real(self, *args, **kwargs)

    monkeypatch.setattr(engine._CompiledGrad, "__init__", spy)
    compiled = train(cfg, seed=3)
    assert made == ["compiled"]
    reference = train(cfg, seed=3, sampler="torch")
    assert made == ["compiled"]  # the GPU's path: autograd
    np.testing.assert_allclose(compiled.W, reference.W, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(compiled.final_loss, reference.final_loss, rtol=1e-4)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("model", ["relu", "neuron"])
@pytest.mark.parametrize("n", [7, 71])
def test_the_fused_draw_trains_bit_for_bit_as_the_batch(n, model, threads, monkeypatch):
    """The compiled gradient, by row (n = 7) or by feature (n = 71), draws
    the dense instances' rows itself (the sparse ones still come from the
    sampler's batch): the same counters and the same float32 arithmetic as
    the sampler, so training is bit-for-bit what it is with the batch drawn
    first. Odd n leaves a lone entry per row, 302 rows a part block per lane
    (of 128 rows by row, of 4 by feature)."""
    assert (n < engine.BY_ROW_BELOW) == (n == 7)
    cfg = ToyConfig.sweep(n, 3, importance=0.9 ** np.arange(n), density=[1.0, 0.3, 0.01], steps=40,
                          batch_size=302, n_seeds=2, model=model)
    fused: list[bool] = []
    real = engine._CompiledGrad.draw_from

    def spy(self, sampler):
        fused.append(real(self, sampler))
        return fused[-1]

    monkeypatch.setattr(engine._CompiledGrad, "draw_from", spy)
    with engine._torch_threads(threads):
        drawn = train(cfg, seed=5)
        assert fused == [True]
        monkeypatch.setattr(engine, "FUSED_DRAW", False)
        batched = train(cfg, seed=5)
    assert fused == [True]  # the second training drew every batch first
    np.testing.assert_array_equal(drawn.W, batched.W)
    np.testing.assert_array_equal(drawn.b, batched.b)
    np.testing.assert_array_equal(drawn.loss_curve, batched.loss_curve)


def test_the_gradient_draws_only_on_the_compiled_sampler():
    """No fused draw from torch's batches; either kernel draws from the compiled sampler's."""
    imp = torch.ones(2, 1, 70)
    wide = _CompiledGrad(2, 8, 70, 5, imp, relu=True, hidden_relu=False, bounds=[(0, 4), (4, 8)])
    cfg = ToyConfig.sweep(70, 5, density=[1.0, 0.5], batch_size=8)
    assert not wide.draw_from(engine._Sampler(cfg, torch.ones(2, 1, 70), 8, torch.Generator(), "torch"))
    assert wide.draw_from(engine._Sampler(cfg, torch.ones(2, 1, 70), 8, torch.Generator()))
    narrow = _CompiledGrad(2, 8, 7, 3, imp[..., :7], relu=True, hidden_relu=False, bounds=[(0, 4), (4, 8)])
    cfg = ToyConfig.sweep(7, 3, density=[1.0, 0.5], batch_size=8)
    torch_batches = engine._Sampler(cfg, torch.ones(2, 1, 7), 8, torch.Generator(), "torch")
    assert not narrow.draw_from(torch_batches)
    assert narrow.draw_from(engine._Sampler(cfg, torch.ones(2, 1, 7), 8, torch.Generator(), "splitmix"))


@pytest.mark.parametrize("model", ["relu", "linear", "neuron"])
def test_manual_gradient_matches_autograd(model):
    torch.manual_seed(0)
    inst, batch, n, m = 3, 64, 7, 3
    W = torch.randn(inst, m, n, dtype=torch.float64)
    b = torch.randn(inst, n, dtype=torch.float64) * 0.1
    x = torch.rand(inst, batch, n, dtype=torch.float64) * (torch.rand(inst, batch, n) < 0.4)
    imp = (0.8 ** torch.arange(n, dtype=torch.float64)).expand(inst, 1, n).clone()
    grad = _ManualGrad(inst, batch, n, m, imp, relu=model != "linear", hidden_relu=model == "neuron")
    dW, db, loss = grad(W, b, x, want_loss=True)

    Wa, ba = W.clone().requires_grad_(True), b.clone().requires_grad_(True)
    per = loss_per_instance(Wa, ba, x, imp, model)
    per.sum().backward()
    torch.testing.assert_close(loss, per.detach())
    torch.testing.assert_close(dW, Wa.grad)
    torch.testing.assert_close(db, ba.grad)


@pytest.mark.parametrize("model", ["relu", "linear", "neuron"])
@pytest.mark.parametrize(("inst", "batch", "n"), [(3, 64, 70), (3, 37, 65), (3, 37, 11), (70, 9, 7), (2, 300, 3)])
def test_compiled_gradient_matches_autograd(model, inst, batch, n):
    """The CPU's compiled kernels (float32, two lanes) against autograd in
    float64: by features (rows four at a time; 37 rows leave a padded block
    in each lane) and, below BY_ROW_BELOW features, by row (300 rows: in
    each lane of 150, a full block of 128 rows and a part)."""
    torch.manual_seed(1)
    m = 5
    W = torch.randn(inst, m, n) * 0.6
    b = torch.randn(inst, n) * 0.1
    x = torch.rand(inst, batch, n) * (torch.rand(inst, batch, n) < 0.4)
    imp = (0.8 ** torch.arange(n, dtype=torch.float32)).expand(inst, 1, n).clone()
    bounds = [(0, batch // 2), (batch // 2, batch)]
    grad = _CompiledGrad(inst, batch, n, m, imp, relu=model != "linear", hidden_relu=model == "neuron", bounds=bounds)
    assert grad.by_row == (n < engine.BY_ROW_BELOW)
    dW, db, loss = grad(W, b, x, want_loss=True)

    Wa, ba = W.double().requires_grad_(True), b.double().requires_grad_(True)
    per = loss_per_instance(Wa, ba, x.double(), imp.double(), model)
    per.sum().backward()
    assert loss is not None
    torch.testing.assert_close(loss.double(), per.detach(), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(dW.double(), Wa.grad, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(db.double(), ba.grad, rtol=1e-5, atol=1e-7)
    # the buffers are reused: a second call gives the same, not twice as much
    again, _, _ = grad(W, b, x, want_loss=False)
    torch.testing.assert_close(again.double(), Wa.grad, rtol=1e-5, atol=1e-7)


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


# --------------------------------------------------------------- devices


def test_check_device_normalises_names():
    assert check_device("cpu") == "cpu"
    assert check_device("cpu:0") == "cpu"
    assert check_device(" cpu ") == "cpu"


@pytest.mark.parametrize("name", ["gpu", "", "meta", f"cuda:{torch.cuda.device_count() if CUDA else 0}"])
def test_check_device_rejects_with_the_valid_choices(name):
    with pytest.raises(ValueError) as err:
        check_device(name)
    text = str(err.value)
    assert "choose cpu" in text
    assert ("CUDA is available" in text) if CUDA else ("CUDA is not available" in text)


@pytest.mark.skipif(CUDA, reason="CUDA is present")
def test_cuda_without_cuda_says_so():
    with pytest.raises(ValueError, match="needs CUDA"):
        check_device("cuda")
    cfg = ToyConfig.sweep(5, 2, density=0.5, steps=2, batch_size=8)
    with pytest.raises(ValueError, match="needs CUDA"):
        train(cfg, device="cuda")


def test_splitmix_sampler_is_cpu_only_and_names_are_checked():
    cfg = ToyConfig.sweep(5, 2, density=0.5)
    with pytest.raises(ValueError, match="unknown sampler"):
        sample_batch(cfg, 8, sampler="jax")  # type: ignore[arg-type]
    if CUDA:
        with pytest.raises(ValueError, match="CPU only"):
            sample_batch(cfg, 8, device="cuda", sampler="splitmix")


# --------------------------------------------------------------- samplers


def _stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per level and feature: activity rate, number active, magnitude mean and variance."""
    active = x > 0
    count = active.sum(axis=1)
    mean = np.where(active, x, 0).sum(axis=1) / np.maximum(count, 1)
    var = np.where(active, (x - mean[:, None, :]) ** 2, 0).sum(axis=1) / np.maximum(count - 1, 1)
    return active.mean(axis=1), count, mean, var


def _assert_paper_distribution(x: np.ndarray, prob: np.ndarray, sigmas: float = 5.0) -> None:
    """Each feature active with probability p (binomial error), magnitude
    uniform on (0, 1]: mean 1/2 (sd 1/√12 per sample), variance 1/12 (the
    variance of a uniform's sample variance is 1/180)."""
    batch = x.shape[1]
    rate, count, mean, var = _stats(x)
    assert np.all(np.abs(rate - prob) <= sigmas * np.sqrt(prob * (1 - prob) / batch) + 1e-12)
    assert np.all(x >= 0) and np.all(x <= 1)
    c = np.maximum(count, 2)
    assert np.all(np.abs(mean - 0.5) <= sigmas * np.sqrt(1 / 12 / c))
    assert np.all(np.abs(var - 1 / 12) <= sigmas * np.sqrt(1 / 180 / c))


@pytest.mark.parametrize("sampler", ["splitmix", "torch"])
def test_samplers_draw_the_papers_distribution(sampler):
    """Dense (p ≥ SPARSE_BELOW), sparse (p below it) and the device sampler
    draw one distribution: per-feature activity rate, magnitude mean and variance."""
    density = [1.0, 0.5, engine.SPARSE_BELOW, 0.15, 0.05, 0.01, 0.003]
    cfg = ToyConfig.sweep(40, 2, density=density)
    x = sample_batch(cfg, 30_000, seed=3, sampler=sampler).numpy()
    _, prob = cfg.arrays()
    _assert_paper_distribution(x, prob)


def test_sparse_sampler_with_a_density_per_feature():
    """A level whose features have different densities (thinning at the
    largest): each feature at its own rate, magnitudes uniform."""
    rows = [[0.015, 0.008, 0.002, 0.015, 0.0005], [0.01] * 5, [0.9, 0.1, 0.1, 0.5, 0.01]]
    assert max(rows[0]) < engine.SPARSE_BELOW and max(rows[2]) >= engine.SPARSE_BELOW
    cfg = ToyConfig.sweep(5, 2, density=rows)
    x = sample_batch(cfg, 400_000, seed=4).numpy()
    _assert_paper_distribution(x, np.asarray(rows))


def _splitmix(key: int, counter: int) -> int:
    """SplitMix64's output at a counter, in plain Python integers."""
    mask = (1 << 64) - 1
    z = (key + counter * 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def test_the_cpu_sampler_reads_splitmix64_at_its_counters():
    """The compiled generator is SplitMix64 (checked against a plain Python
    one and a published value), and a dense entry is the formula of
    course.kernels at its counter: the top 24 bits for even features, bits 8
    to 31 for odd ones."""
    from course import kernels

    key, counters = 0x0123456789ABCDEF, np.array([0, 1, 2, 10**12, 2**63 + 5], dtype=np.uint64)
    assert [int(v) for v in kernels.bits(np.uint64(key), counters)] == [_splitmix(key, int(c)) for c in counters]
    # Java's new SplittableRandom(0).nextLong(): SplitMix64's first output for seed 0
    assert int(kernels.bits(np.uint64(0), np.array([1], dtype=np.uint64))[0]) == 0xE220A8397B1DCDAF

    cfg = ToyConfig.sweep(5, 2, density=[1.0, 0.5])
    _, prob = cfg.arrays()
    p = torch.tensor(prob, dtype=torch.float32).unsqueeze(1)
    draw = engine._Sampler(cfg, p, 4, torch.Generator().manual_seed(0))
    draw()
    x = draw().numpy()  # the second step
    key, inst, batch, pairs = int(draw.key), 2, 4, 3
    for i, r, f in [(0, 0, 0), (0, 3, 4), (1, 2, 1), (1, 1, 3)]:
        z = _splitmix(key, ((1 * inst + i) * batch + r) * pairs + f // 2 + 1)
        u = ((z >> 40) if f % 2 == 0 else (z >> 8) & 0xFFFFFF) / 2**24
        assert x[i, r, f] == pytest.approx(max(0.0, 1.0 - u / prob[i, f]), abs=1e-6)


def test_a_sparse_walk_longer_than_its_record_clears_its_whole_block():
    """The sampler records where a sparse walk wrote, to zero just those
    entries next time; a walk longer than the record marks it, and the next
    draw zeroes the whole block instead of leaving stale entries."""
    cfg = ToyConfig.sweep(100, 2, density=[0.01])
    _, prob = cfg.arrays()
    p = torch.tensor(prob, dtype=torch.float32).unsqueeze(1)
    draw = engine._Sampler(cfg, p, 400, torch.Generator().manual_seed(1))
    draw.last = np.zeros((draw.last.shape[0], 3), dtype=np.int64)  # room for three entries only
    first = draw().numpy().copy()
    assert np.all(draw.nlast == -1)
    second = draw().numpy()
    assert abs((second > 0).sum() - 0.01 * second.size) < 5 * np.sqrt(0.01 * second.size)
    both = ((first > 0) & (second > 0)).sum()
    assert both < 0.01 * 0.01 * first.size + 5 * np.sqrt(0.01 * 0.01 * first.size) + 5  # nothing left over


def test_sparse_sampler_clears_the_previous_draw():
    """The buffer is reused: each draw holds only its own active entries,
    and successive draws are independent."""
    cfg = ToyConfig.sweep(50, 2, density=[0.015, 0.005])
    _, prob = cfg.arrays()
    p = torch.tensor(prob, dtype=torch.float32).unsqueeze(1)
    draw = engine._Sampler(cfg, p, 2000, torch.Generator().manual_seed(0))
    first = draw().numpy().copy()
    for _ in range(5):
        second = draw().numpy().copy()
    for level, q in enumerate([0.015, 0.005]):
        n = first[level].size
        for x in (first[level], second[level]):
            assert abs((x > 0).sum() - q * n) < 5 * np.sqrt(q * n)
        both = ((first[level] > 0) & (second[level] > 0)).sum()
        assert both < q * q * n + 5 * np.sqrt(q * q * n) + 5


def test_samplers_are_deterministic_for_a_seed():
    cfg = ToyConfig.sweep(30, 2, density=[1.0, 0.1, 0.01])
    for sampler in ("splitmix", "torch"):
        a = sample_batch(cfg, 500, seed=9, sampler=sampler)
        b = sample_batch(cfg, 500, seed=9, sampler=sampler)
        assert torch.equal(a, b)
        assert not torch.equal(a, sample_batch(cfg, 500, seed=10, sampler=sampler))


@pytest.mark.parametrize("sampler", ["splitmix", "torch"])
def test_samplers_draw_independent_uniform_features(sampler):
    """Beyond the moments: the magnitudes of active entries are uniform (a
    Kolmogorov–Smirnov distance), and features are independent -- pairs of
    features, and the same feature in neighbouring examples, are active
    together at rate p² (the sparse path walks one flattened block, so its
    neighbours are exactly these entries)."""
    density = [0.5, engine.SPARSE_BELOW, 0.01]
    cfg = ToyConfig.sweep(20, 2, density=density)
    x = sample_batch(cfg, 100_000, seed=11, sampler=sampler).numpy()
    for level, p in enumerate(density):
        a = x[level] > 0
        vals = np.sort(x[level][a])
        ks = np.max(np.abs(np.arange(1, vals.size + 1) / vals.size - vals))
        assert ks < 1.8 / np.sqrt(vals.size)  # the 0.3% critical value
        for pair in (a[:, :-1] & a[:, 1:], a[:-1] & a[1:]):  # next feature, next example
            tol = 5 * np.sqrt(p * p * (1 - p * p) / pair.size)
            assert abs(pair.mean() - p * p) < tol


def test_cpu_lanes_draw_the_same_on_one_thread_or_two():
    """The CPU sampler's lanes (dense entries read at their own counters,
    sparse walks a stream per lane) give one batch whether they ran on the
    thread pool or one after the other."""
    cfg = ToyConfig.sweep(30, 2, density=[1.0, 0.4, 0.01])
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = sample_batch(cfg, 999, seed=2)
        torch.set_num_threads(2)
        two = sample_batch(cfg, 999, seed=2)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one, two)
    # the two lanes are different streams: the halves of the batch differ
    assert not torch.equal(one[0, :499], one[0, 499:998])
    assert not torch.equal(one[2, :499], one[2, 499:998])


@pytest.mark.parametrize(("n", "seeds", "model"), [(70, 2, "relu"), (10, 8, "neuron")])
def test_cpu_training_is_the_same_on_one_thread_or_two(n, seeds, model):
    """The compiled gradient's lanes add into gradients of their own, summed
    in a fixed order: training gives the same weights whether the lanes ran
    on threads or one after the other (both kernels: by feature, by row)."""
    cfg = ToyConfig.sweep(n, 5, density=[1.0, 0.1, 0.01], steps=40, batch_size=1101, n_seeds=seeds, model=model)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = train(cfg, seed=4)
        torch.set_num_threads(2)
        two = train(cfg, seed=4)
    finally:
        torch.set_num_threads(before)
    assert cfg.n_levels * cfg.n_seeds * cfg.batch_size * cfg.n_features >= engine.SMALL_SWEEP  # two threads used
    np.testing.assert_array_equal(one.W, two.W)
    np.testing.assert_array_equal(one.loss_curve, two.loss_curve)


# --------------------------------------------------------------- the device code path on CPU


@pytest.mark.parametrize("model", ["relu", "neuron"])
def test_device_code_path_trains_on_cpu(model):
    """The GPU's path (torch generator, the same step, evaluation and
    selection) run on CPU: deterministic, it learns, and it reaches the loss
    the CPU sampler's run reaches."""
    cfg = ToyConfig.sweep(6, 3, importance=0.9 ** np.arange(6), density=[1.0, 0.1], model=model,
                          steps=400, batch_size=256, log_every=50, lr=1e-2, n_seeds=2)
    a = train(cfg, seed=3, sampler="torch")
    b = train(cfg, seed=3, sampler="torch")
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.best, a.final_loss.argmin(axis=1))
    curve = a.best_curve()
    assert np.all(curve[:, -1] < 0.7 * curve[:, 0])
    ref = train(cfg, seed=3)
    assert not np.array_equal(ref.W, a.W)  # another random stream
    np.testing.assert_allclose(a.best_loss, ref.best_loss, rtol=0.25)


def test_cuda_graph_flag_is_ignored_on_cpu():
    cfg = ToyConfig.sweep(5, 2, density=[1.0, 0.05], steps=30, batch_size=32)
    np.testing.assert_array_equal(train(cfg, seed=1, cuda_graph=True).W, train(cfg, seed=1).W)


# --------------------------------------------------------------- on a GPU (skipped without CUDA)


@needs_cuda
@pytest.mark.parametrize("model", ["relu", "linear", "neuron"])
def test_cuda_training_is_deterministic_and_matches_cpu(model):
    cfg = ToyConfig.sweep(6, 3, importance=0.9 ** np.arange(6), density=[1.0, 0.1], model=model,
                          steps=400, batch_size=256, log_every=50, lr=1e-2, n_seeds=2, lr_schedule="cosine")
    a, b = train(cfg, seed=5, device="cuda"), train(cfg, seed=5, device="cuda")
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.final_loss, b.final_loss)
    np.testing.assert_array_equal(a.best, a.final_loss.argmin(axis=1))
    cpu = train(cfg, seed=5, sampler="torch")
    np.testing.assert_allclose(a.best_loss, cpu.best_loss, rtol=0.25)


@needs_cuda
@pytest.mark.parametrize("model", ["relu", "neuron"])
def test_cuda_graph_replays_the_eager_step(model):
    cfg = ToyConfig.sweep(8, 3, importance=0.9 ** np.arange(8), density=[1.0, 0.05], model=model,
                          steps=120, batch_size=128, log_every=20, lr=1e-2, n_seeds=3, lr_schedule="linear")
    eager = train(cfg, seed=2, device="cuda")
    graph = train(cfg, seed=2, device="cuda", cuda_graph=True)
    again = train(cfg, seed=2, device="cuda", cuda_graph=True)
    np.testing.assert_array_equal(graph.W, again.W)
    np.testing.assert_allclose(graph.W, eager.W, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(graph.curve_steps, eager.curve_steps)


@needs_cuda
def test_cuda_sampler_draws_the_papers_distribution():
    cfg = ToyConfig.sweep(40, 2, density=[1.0, 0.3, 0.05, 0.01])
    x = sample_batch(cfg, 30_000, seed=3, device="cuda")
    assert x.device.type == "cuda"
    _assert_paper_distribution(x.cpu().numpy(), cfg.arrays()[1])


@needs_cuda
def test_cuda_training_copies_nothing_to_the_device_per_step():
    """Host-to-device copies do not grow with the number of steps."""
    from torch.profiler import ProfilerActivity, profile

    def copies(steps: int) -> int:
        cfg = ToyConfig.sweep(20, 5, density=[1.0, 0.1], steps=steps, batch_size=256, log_every=10_000)
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            train(cfg, device="cuda")
        return sum(e.count for e in prof.key_averages() if "HtoD" in e.key)

    assert copies(50) == copies(150)


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
    """R1: n=5, m=2: 2 orthogonal features, then 4 as antipodal pairs, then a
    pentagon. At density 0.2 about one start in three reaches the antipodal
    pairs of the four most important features (others settle in a pentagon
    or in pairs that leave out another feature, at a higher loss), so the
    best of 24 starts is kept."""
    cfg = ToyConfig.sweep(5, 2, importance=0.9 ** np.arange(5), density=[1.0, 0.2, 0.1], n_seeds=24, steps=10_000)
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
    """R5: importance 1, n ≫ m: m/‖W‖_F² falls from 1 as density drops and
    sits near 1/2 over a range of densities (here 1/2.5 to 1/3.5, where it
    stays within 0.035 of 1/2 while over the sweep it falls to below 0.3)."""
    density = 1 / np.array([1.0, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 7.0, 10.0])
    cfg = ToyConfig.sweep(100, 10, importance=1.0, density=density, steps=5000, batch_size=1024)
    W = train(cfg, seed=0).best_W
    dpf = np.array([float(M.dimensions_per_feature(W[k])) for k in range(len(density))])
    assert dpf[0] == pytest.approx(1.0, abs=0.1)
    assert dpf[-1] < 0.3, dpf
    near_half = np.abs(dpf - 0.5) < 0.035
    assert near_half.sum() >= 3, dpf


@pytest.mark.slow
def test_the_engine_benchmark_runs_and_ends_with_its_figures() -> None:
    """benchmarks/bench_engine.py --quick: the script the README's speed table comes from still runs."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_engine.py"
    done = subprocess.run([sys.executable, str(script), "--quick", "--neuron-seeds", "4", "--threads", "1"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("torch ") and lines[1].startswith("CPU: ")
    assert re.fullmatch(r"speedup_vs_reference=\d+\.\d\d matmul_fraction=\d+\.\d\d", lines[-1])
    assert any(line.startswith("sparse draws faster at") or line.startswith("sparse draws were not faster")
               for line in lines)


@pytest.mark.slow
def test_the_profile_estimate_projects_a_sweep_from_its_cut_run() -> None:
    """benchmarks/estimate_profile.py: a concept's sweeps cut to a few steps,
    projected to the steps they would train, laid out on the workers."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "estimate_profile.py"
    done = subprocess.run([sys.executable, str(script), "--profile", "default", "--steps", "3",
                           "--only", "superposition", "features-as-directions"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    rows = {line.split()[0]: line.split() for line in lines[2:4]}
    assert set(rows) == {"superposition", "features-as-directions"}
    assert rows["superposition"][1:4] == ["1", "36", "10000"]  # one sweep: 6 sparsities x 6 seeds, 10,000 steps
    assert re.fullmatch(r"profile=default device=cpu training_min=\d+\.\d makespan_min=\d+\.\d", lines[-1])
    bad = subprocess.run([sys.executable, str(script), "--profile", "huge"], capture_output=True, text=True,
                         timeout=120, check=False)
    assert bad.returncode == 2 and "huge" in bad.stderr and "Traceback" not in bad.stderr


def test_the_profile_estimate_lays_concepts_out_costliest_first() -> None:
    import importlib
    import sys
    from pathlib import Path

    bench = str(Path(__file__).resolve().parents[1] / "benchmarks")
    sys.path.insert(0, bench)
    try:
        module = importlib.import_module("estimate_profile")
    finally:
        sys.path.remove(bench)
    # costliest first, each to the worker free soonest: 5 + 3 | 4 + 3 + 3 (as the build's pool does)
    assert module.makespan([3.0, 5.0, 3.0, 4.0, 3.0], 2) == 10.0
    assert module.makespan([10.0, 1.0], 2) == 10.0
    assert module.makespan([], 2) == 0.0
    assert module.hours(40) == "40 s" and module.hours(750) == "12.5 min" and module.hours(3900) == "1 h 05 min"
