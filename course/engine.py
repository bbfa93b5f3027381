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

For the ReLU and linear models with independent features the step uses
hand-written gradients with preallocated buffers (checked against autograd in
the tests); the other cases use autograd.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import torch

ModelKind = Literal["relu", "linear", "neuron"]
#: sweeps whose (instances × batch × features) tensor is smaller than this train on one thread
SMALL_SWEEP = 1 << 18
Schedule = Literal["constant", "linear", "cosine"]


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
    """Draws batches of shape (instances, batch, features) into a reused buffer."""

    def __init__(self, cfg: ToyConfig, prob: torch.Tensor, batch: int, gen: torch.Generator) -> None:
        self.cfg = cfg
        self.prob = prob  # (I, 1, n)
        self.neg_inv_prob = -1.0 / prob
        self.one = torch.ones((1, 1, 1), device=prob.device)
        self.gen = gen
        inst, _, n = prob.shape
        self.simple = not cfg.correlated_sets and not cfg.anticorrelated_sets
        self.np_gen = None
        if prob.device.type == "cpu" and self.simple:
            # numpy's PCG64 fills float32 buffers about 1.6x faster than torch's
            # CPU generator, and the draw is the largest cost of a step; seeded
            # from the torch generator so a run stays deterministic for its seed
            seed = int(torch.randint(0, 2**62, (1,), generator=gen))
            self.np_gen = np.random.Generator(np.random.PCG64(seed))
            self.np_buf = np.empty((inst, batch, n), dtype=np.float32)
            self.buf = torch.from_numpy(self.np_buf)
        else:
            self.buf = torch.empty(inst, batch, n, device=prob.device)

    def __call__(self) -> torch.Tensor:
        if self.simple:
            # One uniform draw u serves both purposes, in three passes and no
            # temporaries: x = ReLU(1 − u / p) is 0 when u ≥ p (probability
            # 1 − p) and, given u < p, uniform on (0, 1].
            x = self.buf
            if self.np_gen is not None:
                self.np_gen.random(out=self.np_buf, dtype=np.float32)
            else:
                torch.rand(x.shape, generator=self.gen, out=x)
            torch.addcmul(self.one, x, self.neg_inv_prob, out=x)
            return x.relu_()
        return self._with_sets()

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


def sample_batch(cfg: ToyConfig, batch: int, seed: int = 0, device: str = "cpu") -> torch.Tensor:
    """A batch (levels, batch, n) drawn from ``cfg``'s data distribution."""
    _, prob = cfg.arrays()
    gen = torch.Generator(device).manual_seed(seed)
    p = torch.tensor(prob, dtype=torch.float32, device=device).unsqueeze(1)
    return _Sampler(cfg, p, batch, gen)().clone()


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
    """Hand-written loss gradient for the ReLU-output and linear models.

    With z = (x Wᵀ) W + b, x' = ReLU(z) and e = x' − x, the per-instance
    loss L = mean(I ⊙ e²) has dL/dz = c ⊙ e ⊙ 1[z > 0] with
    c = 2 I / (B n) (no mask for the linear model). The per-feature factor c
    is folded into the small tensors (W's columns, dW, db) rather than the
    (instances, batch, features) ones, so the large tensors see only: the
    bias broadcast, one subtraction, one ReLU-mask pass and one reduction.
    """

    def __init__(self, inst: int, batch: int, n: int, m: int, imp: torch.Tensor, relu: bool) -> None:
        dev = imp.device
        self.z = torch.empty(inst, batch, n, device=dev)
        self.e = torch.empty(inst, batch, n, device=dev)
        self.h = torch.empty(inst, batch, m, device=dev)
        self.dh = torch.empty(inst, batch, m, device=dev)
        self.coef = ((2.0 / (batch * n)) * imp).reshape(inst, 1, n)  # c, per instance and feature
        self.relu = relu

    def __call__(self, W: torch.Tensor, b: torch.Tensor, x: torch.Tensor, want_loss: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        z, e, h, dh, c = self.z, self.e, self.h, self.dh, self.coef
        torch.bmm(x, W.transpose(1, 2), out=h)
        torch.baddbmm(b.unsqueeze(1), h, W, out=z)
        torch.sub(z, x, out=e)  # z − x, equal to x' − x wherever z > 0
        if self.relu:
            torch.ops.aten.threshold_backward.grad_input(e, z, 0, grad_input=e)  # zero where z ≤ 0
        loss = None
        if want_loss:
            out = torch.relu(z) if self.relu else z
            loss = (c * (out - x).square()).sum(dim=(1, 2)) / 2.0
        # g = c ⊙ e; c multiplies columns, so apply it to the small products
        db = e.sum(dim=1) * c.squeeze(1)
        dW = torch.bmm(h.transpose(1, 2), e).mul_(c)  # decoder term
        torch.bmm(e, (W * c).transpose(1, 2), out=dh)
        dW.baddbmm_(dh.transpose(1, 2), x)  # encoder term
        return dW, db, loss


def _adam(params: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
    """Adam, fused into one kernel per parameter where this torch supports it."""
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr)


@contextmanager
def _threads_for(elements: int):
    """One torch thread for small sweeps: their ops are too short to share."""
    before = torch.get_num_threads()
    if elements < SMALL_SWEEP and before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train(
    cfg: ToyConfig,
    seed: int = 0,
    device: str = "cpu",
    progress: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Train every instance of ``cfg`` together; deterministic for a seed."""
    with _threads_for(cfg.n_levels * cfg.n_seeds * cfg.batch_size * cfg.n_features):
        return _train(cfg, seed, device, progress)


def _train(
    cfg: ToyConfig,
    seed: int,
    device: str,
    progress: Callable[[int, int], None] | None,
) -> TrainResult:
    imp_np, prob_np = cfg.arrays()
    levels, n, m, k = cfg.n_levels, cfg.n_features, cfg.n_hidden, cfg.n_seeds
    inst = levels * k
    dev = torch.device(device)
    gen = torch.Generator(dev).manual_seed(seed)

    def per_instance(a: np.ndarray) -> torch.Tensor:
        t = torch.tensor(a, dtype=torch.float32, device=dev)  # (L, n)
        return t.repeat_interleave(k, dim=0).unsqueeze(1)  # (I, 1, n)

    imp, prob = per_instance(imp_np), per_instance(prob_np)
    std = math.sqrt(2.0 / (m + n))  # xavier normal, per instance
    W = (torch.randn(inst, m, n, generator=gen, device=dev) * std).requires_grad_(True)
    b = torch.zeros(inst, n, device=dev, requires_grad=True)
    opt = _adam([W, b], cfg.lr)
    sampler = _Sampler(cfg, prob, cfg.batch_size, gen)
    manual = None
    if cfg.model in ("relu", "linear") and sampler.simple:
        manual = _ManualGrad(inst, cfg.batch_size, n, m, imp, relu=cfg.model == "relu")

    log_every = max(1, cfg.log_every)
    curve: list[torch.Tensor] = []
    curve_steps: list[int] = []
    for step in range(cfg.steps):
        want = step % log_every == 0 or step == cfg.steps - 1
        for group in opt.param_groups:
            group["lr"] = cfg.lr * _lr_factor(cfg.lr_schedule, step, cfg.steps)
        x = sampler()
        if manual is not None:
            with torch.no_grad():
                dW, db, loss = manual(W, b, x, want)
            W.grad, b.grad = dW, db
        else:
            opt.zero_grad(set_to_none=True)
            per = loss_per_instance(W, b, x, imp, cfg.model)
            per.sum().backward()
            loss = per.detach()
        opt.step()
        if want and loss is not None:
            curve.append(loss.detach().clone())
            curve_steps.append(step)
            if progress is not None:
                progress(step + 1, cfg.steps)
    if progress is not None:
        progress(cfg.steps, cfg.steps)

    final = evaluate(cfg, W.detach(), b.detach(), imp, prob, seed=seed + 1_000_003)
    curve_t = torch.stack(curve, dim=1) if curve else torch.zeros(inst, 0)
    return TrainResult(
        config=cfg,
        W=W.detach().cpu().numpy().reshape(levels, k, m, n),
        b=b.detach().cpu().numpy().reshape(levels, k, n),
        final_loss=final.cpu().numpy().reshape(levels, k),
        loss_curve=curve_t.cpu().numpy().reshape(levels, k, -1),
        curve_steps=np.asarray(curve_steps, dtype=np.int64),
    )


@torch.no_grad()
def evaluate(
    cfg: ToyConfig,
    W: torch.Tensor,
    b: torch.Tensor,
    imp: torch.Tensor,
    prob: torch.Tensor,
    seed: int,
) -> torch.Tensor:
    """Loss per instance on a fixed evaluation set of ``cfg.eval_batch`` samples."""
    gen = torch.Generator(W.device).manual_seed(seed)
    chunk = min(cfg.batch_size, cfg.eval_batch)
    sampler = _Sampler(cfg, prob, chunk, gen)
    total = torch.zeros(W.shape[0], device=W.device)
    chunks = max(1, cfg.eval_batch // chunk)
    for _ in range(chunks):
        total += loss_per_instance(W, b, sampler(), imp, cfg.model)
    return total / chunks
