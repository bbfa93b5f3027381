"""The toy-model engine: many small models trained in one tensor program.

Three models from "Toy Models of Superposition" (W is m x n, hidden x features):

- ``"relu"``   — ReLU output model:   x' = ReLU(WᵀW x + b)
- ``"linear"`` — linear model:        x' = WᵀW x + b
- ``"neuron"`` — privileged basis:    h = ReLU(W x),  x' = ReLU(Wᵀ h + b)

Data: feature i is 0 with probability S (density p = 1 − S) and otherwise
uniform on [0, 1]; optionally the first features form correlated sets (all
active together or none) or anticorrelated sets (at most one active: the set is
active with probability p and then exactly one random member is).

Every model of a sweep is an *instance*: the instance dimension is
(levels × seeds), where a level is one setting of density and importance. All
instances train together in one batched program; the best seed of each level
(lowest loss on a fixed evaluation batch) is what the course measures.

The step uses hand-written gradients with preallocated buffers for all three
models (checked against autograd in the tests): on CPU one compiled kernel that
takes a few rows at a time through the whole forward and backward pass
(:func:`course.kernels.grad`, or :func:`course.kernels.grad_by_row` for few
features), on other devices (and with ``sampler="torch"``) torch's batched
products. Correlated and anticorrelated sets are drawn by torch's generator
(on every device) and take the compiled gradient on CPU, autograd elsewhere.

**Devices.** ``train(cfg, device=...)`` takes ``"cpu"``, ``"cuda"`` or
``"cuda:N"`` (:func:`check_device` validates and normalises the name; call it
before any work starts). The program is device-generic: on a GPU the data is
drawn on the device with a torch generator (no host-to-device copy per step),
and the step, the neuron model, the evaluation and the best-seed selection all
run there; only the final arrays come back. On CPU the data is drawn by a
compiled counter-based generator (SplitMix64, :mod:`course.kernels`; about ten
times torch's CPU generator), and at low density only the active entries are
drawn (:data:`SPARSE_BELOW`). ``sampler="torch"`` runs the device sampler on
CPU too, which is how the CPU tests exercise the GPU's code path.
``cuda_graph=True`` captures the step in a CUDA graph (used only on CUDA).
A seed gives the same result on the same device type; different devices draw
different random streams, so their results differ (and the cache keys the
device).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import torch

ModelKind = Literal["relu", "linear", "neuron"]
#: which generator draws the data: compiled SplitMix64 (CPU only, :mod:`course.kernels`),
#: torch's (any device), or "auto" (splitmix on CPU, torch elsewhere)
SamplerKind = Literal["auto", "splitmix", "torch"]
#: sweeps whose (instances × batch × features) tensor is smaller than this train on one thread
SMALL_SWEEP = 1 << 18
Schedule = Literal["constant", "linear", "cosine"]
#: on the CPU sampler, instances whose densities all lie below this draw only
#: their active entries (geometric gaps between them) instead of one uniform per
#: entry. The crossover measured by ``benchmarks/bench_engine.py`` (its sampler
#: sweep) lies between 0.01 and 0.03 on an idle 2-core Xeon, on one thread or
#: two (dense ≈ 0.4 ns per entry and thread, sparse ≈ 7 to 20 ns per active entry)
SPARSE_BELOW = 0.02
#: the CPU sampler splits the batch's rows into this many fixed lanes, drawn in
#: parallel when torch has threads to spare (the compiled gradient uses the same lanes)
LANES = 2
#: on CPU, models with fewer features than this take the compiled gradient
#: with the rows as the vector axis (:func:`course.kernels.grad_by_row`),
#: larger ones with the features (:func:`course.kernels.grad`). Measured by
#: ``benchmarks/bench_engine.py`` (its table of the two kernels) on an idle 2-core
#: AMD EPYC: by row is about 3 times faster at n = 5 to 20 and 1.1 times at n = 48;
#: from n = 64 by feature is faster (1.3 times at n = 100, 1.7 times at n = 200)
BY_ROW_BELOW = 64
#: the compiled gradient (either kernel) draws the dense instances' rows
#: itself instead of reading the sampler's batch (the same values, bit for
#: bit; False: the sampler draws every batch, as the test that compares the
#: two does)
FUSED_DRAW = True


def check_device(name: str) -> str:
    """The normalised device name (``"cpu"``, ``"cuda"`` or ``"cuda:N"``) for
    ``name``, or a ValueError that lists the valid choices and says whether
    CUDA is available."""
    cuda = torch.cuda.is_available()
    count = torch.cuda.device_count() if cuda else 0
    if cuda:
        choices = "cpu, cuda" + "".join(f", cuda:{i}" for i in range(count))
        state = f"CUDA is available with {count} device{'s' if count != 1 else ''}"
    else:
        choices = "cpu"
        why = "this torch was built without CUDA" if torch.version.cuda is None else "no CUDA device is visible"
        state = f"CUDA is not available: {why}"
    try:
        dev = torch.device(str(name).strip())
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"unknown device {name!r}; choose {choices} ({state})") from None
    if dev.type == "cpu":
        return "cpu"
    if dev.type != "cuda":
        raise ValueError(f"device {name!r} is not supported by the engine; choose {choices} ({state})")
    if not cuda:
        raise ValueError(f"device {name!r} needs CUDA, but {state}; choose {choices}")
    if dev.index is not None and dev.index >= count:
        raise ValueError(f"device {name!r} does not exist: {state}; choose {choices}")
    return "cuda" if dev.index is None else f"cuda:{dev.index}"


def _as_levels(value: float | Sequence[Any] | np.ndarray, n_features: int, name: str) -> np.ndarray:
    """Broadcast a scalar, (n,), (L,) or (L, n) value to a (L, n) float array."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full((1, n_features), float(arr))
    if arr.ndim == 2:
        if arr.shape[1] != n_features:
            raise ValueError(f"{name}: expected shape (levels, {n_features}), got {arr.shape}")
        return arr
    raise ValueError(f"{name}: expected a scalar or a (levels, features) array; got shape {arr.shape}")


@dataclass(frozen=True)
class ToyConfig:
    """A sweep of toy models.

    ``importance`` and ``feature_probability`` are given per level and per
    feature as nested lists of shape (levels, n_features); use
    :meth:`sweep` to build them from the usual per-feature importance and
    per-level density.
    """

    n_features: int
    n_hidden: int
    importance: tuple[tuple[float, ...], ...]
    feature_probability: tuple[tuple[float, ...], ...]
    model: ModelKind = "relu"
    n_seeds: int = 1
    steps: int = 10_000
    batch_size: int = 1024
    lr: float = 1e-3
    lr_schedule: Schedule = "constant"
    correlated_sets: tuple[int, ...] = ()
    anticorrelated_sets: tuple[int, ...] = ()
    log_every: int = 100
    eval_batch: int = 8192

    @classmethod
    def sweep(
        cls,
        n_features: int,
        n_hidden: int,
        *,
        importance: float | Sequence[float] | np.ndarray = 1.0,
        density: float | Sequence[float] | np.ndarray = 1.0,
        **kwargs: Any,
    ) -> ToyConfig:
        """Levels are densities (one per entry of ``density``); ``importance``
        is per feature (shared by all levels) or per level and feature."""
        dens = np.asarray(density, dtype=np.float64)
        if dens.ndim <= 1:
            dens = np.broadcast_to(dens.reshape(-1, 1), (dens.size, n_features))
        imp = np.asarray(importance, dtype=np.float64)
        if imp.ndim == 0:
            imp = np.full((1, n_features), float(imp))
        elif imp.ndim == 1:
            imp = imp.reshape(1, -1)
        levels = max(dens.shape[0], imp.shape[0])
        dens = np.broadcast_to(dens, (levels, n_features))
        imp = np.broadcast_to(imp, (levels, n_features))
        return cls(
            n_features=n_features,
            n_hidden=n_hidden,
            importance=tuple(tuple(float(v) for v in row) for row in imp),
            feature_probability=tuple(tuple(float(v) for v in row) for row in dens),
            **kwargs,
        )

    def __post_init__(self) -> None:
        if self.n_features < 1 or self.n_hidden < 1:
            raise ValueError("n_features and n_hidden must be positive")
        imp = _as_levels(self.importance, self.n_features, "importance")
        prob = _as_levels(self.feature_probability, self.n_features, "feature_probability")
        if len({imp.shape[0], prob.shape[0]} - {1}) > 1:
            raise ValueError("importance and feature_probability disagree on the number of levels")
        if np.any(prob <= 0) or np.any(prob > 1):
            raise ValueError("feature probabilities must lie in (0, 1]")
        if self.model not in ("relu", "linear", "neuron"):
            raise ValueError(f"unknown model {self.model!r}; choose relu, linear or neuron")
        if self.lr_schedule not in ("constant", "linear", "cosine"):
            raise ValueError(f"unknown lr_schedule {self.lr_schedule!r}")
        if sum(self.correlated_sets) + sum(self.anticorrelated_sets) > self.n_features:
            raise ValueError("feature sets use more features than the model has")

    @property
    def n_levels(self) -> int:
        return max(len(self.importance), len(self.feature_probability))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(importance, probability), each (levels, n_features)."""
        imp = _as_levels(self.importance, self.n_features, "importance")
        prob = _as_levels(self.feature_probability, self.n_features, "feature_probability")
        shape = (self.n_levels, self.n_features)
        return np.broadcast_to(imp, shape).copy(), np.broadcast_to(prob, shape).copy()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    """All instances of a sweep after training.

    Shapes: ``W`` (levels, seeds, m, n); ``b`` (levels, seeds, n);
    ``final_loss`` (levels, seeds); ``loss_curve`` (levels, seeds, points)
    measured at ``curve_steps``; ``best`` (levels,) the seed kept per level.
    """

    config: ToyConfig
    W: np.ndarray
    b: np.ndarray
    final_loss: np.ndarray
    loss_curve: np.ndarray
    curve_steps: np.ndarray
    best: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.best = np.argmin(self.final_loss, axis=1)

    @property
    def best_W(self) -> np.ndarray:
        """(levels, m, n): the kept model of each level."""
        return self.W[np.arange(self.W.shape[0]), self.best]

    @property
    def best_b(self) -> np.ndarray:
        return self.b[np.arange(self.b.shape[0]), self.best]

    @property
    def best_loss(self) -> np.ndarray:
        return self.final_loss[np.arange(self.final_loss.shape[0]), self.best]

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The arrays worth saving in a :class:`course.Result`."""
        imp, prob = self.config.arrays()
        return {
            f"{prefix}W": self.best_W.astype(np.float32),
            f"{prefix}b": self.best_b.astype(np.float32),
            f"{prefix}loss": self.best_loss.astype(np.float64),
            f"{prefix}W_all": self.W.astype(np.float32),
            f"{prefix}b_all": self.b.astype(np.float32),
            f"{prefix}loss_all": self.final_loss.astype(np.float64),
            f"{prefix}loss_curve": self.best_curve().astype(np.float32),
            f"{prefix}curve_steps": self.curve_steps.astype(np.int64),
            f"{prefix}importance": imp,
            f"{prefix}density": prob,
        }

    def best_curve(self) -> np.ndarray:
        return self.loss_curve[np.arange(self.loss_curve.shape[0]), self.best]


# --------------------------------------------------------------------------- data


class _Sampler:
    """Draws batches of shape (instances, batch, features) into a reused buffer.

    Two generators draw independent features, one distribution (x_i = 0 with
    probability 1 − p_i, else uniform on (0, 1]):

    - torch's generator (any device): one uniform u per entry, x = ReLU(1 − u / p);
    - on CPU, SplitMix64 read at a counter, compiled (:mod:`course.kernels`):
      the same one uniform per entry for instances whose densities reach
      :data:`SPARSE_BELOW`, and for sparser ones only the active entries
      (a walk with geometric gaps at rate q = maxᵢ pᵢ, thinned to each
      feature's pᵢ; the entries written last time are zeroed instead of the
      whole block, so a draw costs O(p · entries)). The batch's rows are
      split into :data:`LANES` fixed lanes, drawn on threads when torch has
      more than one; a dense entry's value depends only on the seed and its
      place, a sparse walk's on its lane, so a seed gives the same batch on
      one thread or two.
    """

    def __init__(self, cfg: ToyConfig, prob: torch.Tensor, batch: int, gen: torch.Generator,
                 backend: SamplerKind = "auto") -> None:
        self.cfg = cfg
        self.prob = prob  # (I, 1, n)
        self.neg_inv_prob = -1.0 / prob
        self.one = torch.ones((1, 1, 1), device=prob.device)
        self.gen = gen
        inst, _, n = prob.shape
        self.simple = not cfg.correlated_sets and not cfg.anticorrelated_sets
        if backend not in ("auto", "splitmix", "torch"):
            raise ValueError(f"unknown sampler {backend!r}; choose auto, splitmix or torch")
        if backend == "splitmix" and prob.device.type != "cpu":
            raise ValueError(f"the splitmix sampler draws on the CPU only, not on {prob.device}")
        self.kernel: Callable[..., None] | None = None
        # the lanes of rows: the compiled sampler's and the compiled gradient's
        self.bounds = [(lane * batch // LANES, (lane + 1) * batch // LANES) for lane in range(LANES)]
        if self.simple and (backend == "splitmix" or (backend == "auto" and prob.device.type == "cpu")):
            from course import kernels  # numba: imported only when a CPU sampler is made

            self.kernel = kernels.fill
            self.parallel = torch.get_num_threads() > 1  # the lanes on threads, if torch may use them
            # the key comes from the torch generator, so a run is deterministic for its seed
            self.key = np.uint64(int(torch.randint(0, 2**62, (1,), generator=gen)))
            self.step = 0
            self.np_buf = np.zeros((inst, batch, n), dtype=np.float32)
            self.flat = self.np_buf.reshape(-1)
            self.buf = torch.from_numpy(self.np_buf)
            p = prob.reshape(inst, n).cpu().numpy().astype(np.float64)
            q = p.max(axis=1)
            sparse = q < SPARSE_BELOW
            self.neg_inv = (-1.0 / p).astype(np.float32)
            self.inv_rate = np.where(sparse, -1.0 / np.log1p(-np.minimum(q, 0.5)), -1.0)
            self.scale = (q[:, None] / p).astype(np.float32)
            # room to record a walk's entries: its mean plus eight standard deviations
            block = -(-batch // LANES) * n
            mean = float((q * sparse).max()) * block
            self.last = np.zeros((inst * LANES, int(mean + 8.0 * math.sqrt(mean)) + 64 if sparse.any() else 1),
                                 dtype=np.int64)
            self.nlast = np.zeros(inst * LANES, dtype=np.int64)  # the buffer starts zeroed
            self.dense = self.inv_rate < 0
            #: whether the dense instances are drawn here (False: by the gradient, see :meth:`fuse`)
            self.draws_dense = True
        else:
            self.buf = torch.empty(inst, batch, n, device=prob.device)

    def __call__(self) -> torch.Tensor:
        if not self.simple:
            return self._with_sets()
        x = self.buf
        if self.kernel is None:
            # One uniform draw u serves both purposes, in three passes and no
            # temporaries: x = ReLU(1 − u / p) is 0 when u ≥ p (probability
            # 1 − p) and, given u < p, uniform on (0, 1].
            torch.rand(x.shape, generator=self.gen, out=x)
            torch.addcmul(self.one, x, self.neg_inv_prob, out=x)
            return x.relu_()
        inst, batch, n = self.np_buf.shape
        _on_lanes(self.kernel, [(self.flat, batch, n, self.neg_inv, self.inv_rate, self.scale, self.key, self.step,
                                 lane, LANES, lo, hi, self.last, self.nlast, self.draws_dense)
                                for lane, (lo, hi) in enumerate(self.bounds)], self.parallel)
        self.step += 1
        return x

    def fuse(self) -> tuple[np.ndarray, np.uint64, np.ndarray] | None:
        """Leave the dense instances' draw to the gradient: from now on a
        batch holds only the sparse instances' rows. Returns the dense mask,
        the key and the ``neg_inv`` the gradient draws with (:meth:`drawn_step`
        gives the step), or None where this sampler is not the compiled one."""
        if self.kernel is None or not self.simple:
            return None
        self.draws_dense = False
        return self.dense, self.key, self.neg_inv

    def drawn_step(self) -> int:
        """The step whose batch the last call returned."""
        return self.step - 1

    def _with_sets(self) -> torch.Tensor:
        inst, batch, n = self.buf.shape
        dev = self.buf.device
        mag = torch.rand(inst, batch, n, generator=self.gen, device=dev)
        present = torch.rand(inst, batch, n, generator=self.gen, device=dev) < self.prob
        start = 0
        for size in self.cfg.correlated_sets:
            # the whole set is present or absent together, decided by its first member
            present[..., start : start + size] = present[..., start : start + 1]
            start += size
        for size in self.cfg.anticorrelated_sets:
            active = torch.rand(inst, batch, 1, generator=self.gen, device=dev) < self.prob[..., start : start + 1]
            which = torch.randint(0, size, (inst, batch, 1), generator=self.gen, device=dev)
            onehot = torch.zeros(inst, batch, size, dtype=torch.bool, device=dev)
            onehot.scatter_(-1, which, True)
            present[..., start : start + size] = onehot & active
            start += size
        return mag * present


_POOL: dict[int, ThreadPoolExecutor] = {}


def _on_lanes(kernel: Callable[..., None], args: list[tuple[Any, ...]], parallel: bool) -> None:
    """Run a compiled kernel (which releases the GIL) once per argument tuple:
    on the lane threads when ``parallel``, the first lane on this thread; one
    after the other otherwise."""
    if parallel and len(args) > 1:
        pool = _lane_pool()
        pending = [pool.submit(kernel, *a) for a in args[1:]]
        kernel(*args[0])
        for job in pending:
            job.result()
    else:
        for a in args:
            kernel(*a)


def _lane_pool() -> ThreadPoolExecutor:
    """The threads that run the compiled kernels' lanes;
    one pool per process (a forked child does not inherit the parent's threads)."""
    pid = os.getpid()
    if pid not in _POOL:
        _POOL.clear()
        _POOL[pid] = ThreadPoolExecutor(max_workers=LANES, thread_name_prefix="course-sampler")
    return _POOL[pid]


def sample_batch(cfg: ToyConfig, batch: int, seed: int = 0, device: str = "cpu",
                 sampler: SamplerKind = "auto") -> torch.Tensor:
    """A batch (levels, batch, n) drawn from ``cfg``'s data distribution."""
    _, prob = cfg.arrays()
    dev = torch.device(check_device(device))
    gen = torch.Generator(dev).manual_seed(seed)
    p = torch.tensor(prob, dtype=torch.float32, device=dev).unsqueeze(1)
    return _Sampler(cfg, p, batch, gen, sampler)().clone()


# --------------------------------------------------------------------------- model


def forward(W: torch.Tensor, b: torch.Tensor, x: torch.Tensor, model: ModelKind) -> torch.Tensor:
    """x' for a batch. Shapes: W (I, m, n), b (I, n), x (I, B, n) -> (I, B, n)."""
    h = torch.bmm(x, W.transpose(1, 2))
    if model == "neuron":
        h = torch.relu(h)
    out = torch.baddbmm(b.unsqueeze(1), h, W)
    return out if model == "linear" else torch.relu(out)


def loss_per_instance(W: torch.Tensor, b: torch.Tensor, x: torch.Tensor, imp: torch.Tensor, model: ModelKind) -> torch.Tensor:
    """Importance-weighted mean squared error per instance, shape (I,).

    L = (1 / (B n)) Σ_x Σ_i I_i (x_i − x'_i)², the paper's loss averaged
    over the batch and features (as the official notebook does).
    """
    err = forward(W, b, x, model) - x
    return (imp * err.square()).mean(dim=(1, 2))


def _lr_factor(schedule: Schedule, step: int, steps: int) -> float:
    if schedule == "linear":
        return 1.0 - step / steps
    if schedule == "cosine":
        return math.cos(0.5 * math.pi * step / max(steps - 1, 1))
    return 1.0


class _ManualGrad:
    """Hand-written loss gradient for the ReLU-output, linear and neuron models.

    With h = x Wᵀ, z = h W + b, x' = ReLU(z) and e = x' − x, the per-instance
    loss L = mean(I ⊙ e²) has dL/dz = c ⊙ e ⊙ 1[z > 0] with
    c = 2 I / (B n) (no mask for the linear model). The per-feature factor c
    is folded into the small tensors (W's columns, dW, db) rather than the
    (instances, batch, features) ones. The bias rides in the matmuls: h has
    an extra column of ones and W an extra row b, so z = [h 1] [W; b] needs
    no broadcast of b, and [h 1]ᵀ e gives the decoder's dW and db in one
    product. The large tensors then see only the matmuls, one subtraction
    and one ReLU-mask pass. The neuron model (``hidden_relu``) has
    h = ReLU(x Wᵀ), and its hidden gradient is masked where h = 0, as
    autograd's ReLU does.
    """

    def __init__(self, inst: int, batch: int, n: int, m: int, imp: torch.Tensor, relu: bool,
                 hidden_relu: bool = False) -> None:
        kw: dict[str, Any] = {"device": imp.device, "dtype": imp.dtype}
        self.m = m
        self.z = torch.empty(inst, batch, n, **kw)
        self.e = torch.empty(inst, batch, n, **kw)
        self.h1 = torch.empty(inst, batch, m + 1, **kw)  # [h 1]
        self.enc = torch.zeros(inst, n, m + 1, **kw)  # [Wᵀ 0], so that x [Wᵀ 0] = [h 0]
        self.dec = torch.empty(inst, m + 1, n, **kw)  # [W; b]
        self.dh = torch.empty(inst, batch, m, **kw)
        self.coef = ((2.0 / (batch * n)) * imp).reshape(inst, 1, n)  # c, per instance and feature
        self.relu = relu
        self.hidden_relu = hidden_relu

    def __call__(self, W: torch.Tensor, b: torch.Tensor, x: torch.Tensor, want_loss: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        z, e, h1, dh, c, m = self.z, self.e, self.h1, self.dh, self.coef, self.m
        self.enc[:, :, :m].copy_(W.transpose(1, 2))
        self.dec[:, :m].copy_(W)
        self.dec[:, m].copy_(b)
        torch.bmm(x, self.enc, out=h1)
        h1[:, :, m] = 1.0  # the product wrote 0 there
        h = h1[:, :, :m]
        if self.hidden_relu:
            h.relu_()
        torch.bmm(h1, self.dec, out=z)
        torch.sub(z, x, out=e)  # z − x, equal to x' − x wherever z > 0
        if self.relu:
            torch.ops.aten.threshold_backward.grad_input(e, z, 0, grad_input=e)  # zero where z ≤ 0
        loss = None
        if want_loss:
            out = torch.relu(z) if self.relu else z
            loss = (c * (out - x).square()).sum(dim=(1, 2)) / 2.0
        # g = c ⊙ e; c multiplies columns, so apply it to the small products
        dWb = torch.bmm(h1.transpose(1, 2), e).mul_(c)  # decoder term, and db in the last row
        dW, db = dWb[:, :m].contiguous(), dWb[:, m].contiguous()  # the optimizer wants dense grads
        torch.bmm(e, (W * c).transpose(1, 2), out=dh)
        if self.hidden_relu:
            torch.ops.aten.threshold_backward.grad_input(dh, h, 0, grad_input=dh)  # zero where h = 0
        dW.baddbmm_(dh.transpose(1, 2), x)  # encoder term
        return dW, db, loss


class _CompiledGrad:
    """The CPU step's gradient from one compiled kernel (:mod:`course.kernels`).

    The same loss gradient as :class:`_ManualGrad`, but the five products, the
    error and the mask run a few rows at a time inside the cache, so the step
    reads the batch once and writes nothing of its size: :func:`~course.kernels.grad`
    vectorised over the features, or, for models with fewer than
    :data:`BY_ROW_BELOW` features, :func:`~course.kernels.grad_by_row`
    vectorised over the rows. Each of the sampler's lanes of rows adds into a
    gradient of its own (on the lane threads when torch has more than one),
    and the lanes are summed in a fixed order, so one thread or two give the
    same result. After :meth:`draw_from` the kernel draws the dense
    instances' rows itself, and reads only the sparse ones from the batch.
    """

    def __init__(self, inst: int, batch: int, n: int, m: int, imp: torch.Tensor, relu: bool,
                 hidden_relu: bool, bounds: list[tuple[int, int]]) -> None:
        from course import kernels

        self.by_row = n < BY_ROW_BELOW
        self.kernel: Callable[..., None] = kernels.grad_by_row if self.by_row else kernels.grad
        coef = ((2.0 / (batch * n)) * imp).reshape(inst, n).cpu().numpy()
        self.coef = np.ascontiguousarray(coef, dtype=np.float32)
        lanes = len(bounds)
        self.dW = np.zeros((lanes, inst, m, n), dtype=np.float32)
        self.db = np.zeros((lanes, inst, n), dtype=np.float32)
        self.loss = np.zeros((lanes, inst), dtype=np.float32)
        self.dW_t, self.db_t = torch.from_numpy(self.dW[0]), torch.from_numpy(self.db[0])
        self.bounds = bounds
        self.relu = relu
        self.hidden_relu = hidden_relu
        self.parallel = torch.get_num_threads() > 1
        # what the kernel draws itself (nothing until :meth:`draw_from`)
        self.source: _Sampler | None = None
        self.drawn = np.zeros(inst, dtype=np.bool_)
        self.key = np.uint64(0)
        self.neg_inv = np.zeros((inst, n), dtype=np.float32)

    def draw_from(self, sampler: _Sampler) -> bool:
        """Draw the dense instances' rows inside the gradient, where ``sampler``
        is the compiled one: the same values, but their batch is neither
        written nor read. True if the gradient now draws them."""
        fused = sampler.fuse()
        if fused is None:
            return False
        self.drawn, self.key, self.neg_inv = fused
        self.source = sampler
        return True

    def __call__(self, W: torch.Tensor, b: torch.Tensor, x: torch.Tensor, want_loss: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        dW, db, loss = self.dW, self.db, self.loss
        dW.fill(0.0)
        db.fill(0.0)
        loss.fill(0.0)
        Wn, bn, xn = W.detach().numpy(), b.detach().numpy(), x.numpy()
        step = self.source.drawn_step() if self.source is not None else 0
        _on_lanes(self.kernel, [(xn, Wn, bn, self.coef, lo, hi, self.relu, self.hidden_relu, dW[lane], db[lane], loss[lane],
                                 self.drawn, self.key, step, self.neg_inv)
                                for lane, (lo, hi) in enumerate(self.bounds)], self.parallel)
        for lane in range(1, len(self.bounds)):
            dW[0] += dW[lane]
            db[0] += db[lane]
            loss[0] += loss[lane]
        return self.dW_t, self.db_t, torch.from_numpy(loss[0] / 2.0) if want_loss else None


def _adam(params: list[torch.Tensor], lr: float, lr_on_device: torch.Tensor | None = None) -> torch.optim.Optimizer:
    """Adam, fused into one kernel per parameter where this torch supports it;
    with ``lr_on_device`` (CUDA), reading its rate from that tensor. (The fused
    kernel is the same whether or not the step is captured in a graph:
    ``capturable`` only tells ``step()`` that capture is allowed.)"""
    if lr_on_device is not None:
        return torch.optim.Adam(params, lr=lr_on_device, fused=True)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr)


@contextmanager
def _torch_threads(threads: int):
    """At most ``threads`` torch threads inside the block."""
    before = torch.get_num_threads()
    if threads < before:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _threads_for(elements: int):
    """One torch thread for small sweeps: their ops are too short to share."""
    return _torch_threads(1 if elements < SMALL_SWEEP else torch.get_num_threads())


def train(
    cfg: ToyConfig,
    seed: int = 0,
    device: str = "cpu",
    progress: Callable[[int, int], None] | None = None,
    *,
    sampler: SamplerKind = "auto",
    cuda_graph: bool = False,
) -> TrainResult:
    """Train every instance of ``cfg`` together; deterministic for a seed on
    one device type.

    ``device``: ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (see :func:`check_device`).
    ``sampler``: the data's generator (``"auto"``: splitmix on CPU, torch on a
    GPU; ``"torch"`` on CPU runs the GPU's code path). ``cuda_graph``: on CUDA,
    replay the training step from a captured CUDA graph (a small model's step
    is then one launch instead of a few dozen); ignored on other devices."""
    dev = torch.device(check_device(device))
    if dev.type == "cpu":
        with _threads_for(cfg.n_levels * cfg.n_seeds * cfg.batch_size * cfg.n_features):
            return _train(cfg, seed, dev, progress, sampler, graph=False)
    with torch.cuda.device(dev):
        return _train(cfg, seed, dev, progress, sampler, graph=cuda_graph)


def _train(
    cfg: ToyConfig,
    seed: int,
    dev: torch.device,
    progress: Callable[[int, int], None] | None,
    sampler_kind: SamplerKind,
    graph: bool,
) -> TrainResult:
    imp_np, prob_np = cfg.arrays()
    levels, n, m, k = cfg.n_levels, cfg.n_features, cfg.n_hidden, cfg.n_seeds
    inst = levels * k
    gen = torch.Generator(dev).manual_seed(seed)

    def per_instance(a: np.ndarray) -> torch.Tensor:
        t = torch.tensor(a, dtype=torch.float32, device=dev)  # (L, n)
        return t.repeat_interleave(k, dim=0).unsqueeze(1)  # (I, 1, n)

    imp, prob = per_instance(imp_np), per_instance(prob_np)
    std = math.sqrt(2.0 / (m + n))  # xavier normal, per instance
    W = (torch.randn(inst, m, n, generator=gen, device=dev) * std).requires_grad_(True)
    b = torch.zeros(inst, n, device=dev, requires_grad=True)
    # on CUDA the learning rate lives on the device (set by a kernel, read by
    # Adam's fused kernel), so a step needs nothing from the host and can be
    # captured in a graph; eager and captured steps run the same kernels
    on_cuda = dev.type == "cuda"
    lr_t = torch.full((), cfg.lr, device=dev) if on_cuda else None
    opt = _adam([W, b], cfg.lr, lr_t)
    sampler = _Sampler(cfg, prob, cfg.batch_size, gen, sampler_kind)
    manual: _ManualGrad | _CompiledGrad | None = None
    if dev.type == "cpu" and sampler_kind != "torch":
        # the compiled gradient, on the compiled sampler's batches or (for
        # correlated and anticorrelated sets) torch's
        manual = _CompiledGrad(inst, cfg.batch_size, n, m, imp, relu=cfg.model != "linear",
                               hidden_relu=cfg.model == "neuron", bounds=sampler.bounds)
        if FUSED_DRAW:
            manual.draw_from(sampler)
    elif sampler.simple:
        manual = _ManualGrad(inst, cfg.batch_size, n, m, imp, relu=cfg.model != "linear",
                             hidden_relu=cfg.model == "neuron")

    def one_step(want: bool, zero_grad: bool = True) -> torch.Tensor | None:
        x = sampler()
        if manual is not None:
            with torch.no_grad():
                dW, db, loss = manual(W, b, x, want)
            W.grad, b.grad = dW, db
        else:
            if zero_grad:
                opt.zero_grad(set_to_none=True)
            per = loss_per_instance(W, b, x, imp, cfg.model)
            per.sum().backward()
            loss = per.detach()
        opt.step()
        return loss

    def set_lr(step: int) -> None:
        value = cfg.lr * _lr_factor(cfg.lr_schedule, step, cfg.steps)
        if lr_t is not None:
            if cfg.lr_schedule != "constant":
                lr_t.fill_(value)
        else:
            for group in opt.param_groups:
                group["lr"] = value

    log_every = max(1, cfg.log_every)
    curve: list[torch.Tensor] = []
    curve_steps: list[int] = []

    def log(step: int, loss: torch.Tensor | None) -> None:
        if loss is not None and (step % log_every == 0 or step == cfg.steps - 1):
            curve.append(loss.detach().clone())
            curve_steps.append(step)
            if progress is not None:
                progress(step + 1, cfg.steps)

    warm = min(cfg.steps, 3) if graph and on_cuda else cfg.steps
    if warm < cfg.steps:
        # warm-up steps on a side stream (Adam creates its state lazily), then
        # capture one step (its loss always computed) and replay it
        side = torch.cuda.Stream(dev)
        side.wait_stream(torch.cuda.current_stream(dev))
        with torch.cuda.stream(side):
            for step in range(warm):
                set_lr(step)
                log(step, one_step(True))
        torch.cuda.current_stream(dev).wait_stream(side)
        captured = torch.cuda.CUDAGraph()
        captured.register_generator_state(gen)
        for group in opt.param_groups:
            group["capturable"] = True  # fused Adam: the same kernel, now allowed in a capture
        opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(captured):
            static_loss = one_step(True, zero_grad=False)
        for step in range(warm, cfg.steps):
            set_lr(step)
            captured.replay()
            log(step, static_loss)
    else:
        # with the compiled gradient the step's work runs on the lane threads;
        # torch keeps one thread for Adam, or its idle threads would spin
        # against the lanes on every step
        with _torch_threads(1 if isinstance(manual, _CompiledGrad) else torch.get_num_threads()):
            for step in range(cfg.steps):
                set_lr(step)
                log(step, one_step(step % log_every == 0 or step == cfg.steps - 1))
    if progress is not None:
        progress(cfg.steps, cfg.steps)

    final = evaluate(cfg, W.detach(), b.detach(), imp, prob, seed=seed + 1_000_003, sampler=sampler_kind)
    best = final.reshape(levels, k).argmin(dim=1)  # the kept seed per level, chosen on the device
    curve_t = torch.stack(curve, dim=1) if curve else torch.zeros(inst, 0, device=dev)
    result = TrainResult(
        config=cfg,
        W=W.detach().cpu().numpy().reshape(levels, k, m, n),
        b=b.detach().cpu().numpy().reshape(levels, k, n),
        final_loss=final.cpu().numpy().reshape(levels, k),
        loss_curve=curve_t.cpu().numpy().reshape(levels, k, -1),
        curve_steps=np.asarray(curve_steps, dtype=np.int64),
    )
    result.best = best.cpu().numpy()  # equal to argmin of final_loss (first minimum on ties)
    return result


@torch.no_grad()
def evaluate(
    cfg: ToyConfig,
    W: torch.Tensor,
    b: torch.Tensor,
    imp: torch.Tensor,
    prob: torch.Tensor,
    seed: int,
    sampler: SamplerKind = "auto",
) -> torch.Tensor:
    """Loss per instance on a fixed evaluation set of ``cfg.eval_batch`` samples."""
    gen = torch.Generator(W.device).manual_seed(seed)
    chunk = min(cfg.batch_size, cfg.eval_batch)
    draw = _Sampler(cfg, prob, chunk, gen, sampler)
    total = torch.zeros(W.shape[0], device=W.device)
    chunks = max(1, cfg.eval_batch // chunk)
    for _ in range(chunks):
        total += loss_per_instance(W, b, draw(), imp, cfg.model)
    return total / chunks
