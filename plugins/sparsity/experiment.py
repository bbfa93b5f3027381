"""The experiment of the Sparsity and Interference chapters, trained together
in one result (both concepts name this module as their ``shared_experiment``,
so the two chapters quote one trained model per setting):

- the paper's "basic results": n = 20 features, m = 5 hidden dimensions, a
  sweep of feature densities 1 − S, for the linear model and the ReLU-output
  model. Importance is ``importance_decay ** arange(n)``: numbering features
  from 1, as the chapters do, I_i = 0.7^(i−1), so feature 1 has importance 1;
- the paper's phase diagram for n = 2, m = 1: the extra feature's relative
  importance against the density (the grid is classified in analysis.py);
- the paper's phase diagram for n = 3, m = 2: features 1 and 2 of importance 1,
  the third feature's relative importance against the density (classified in
  analysis.py by the null direction of W, the paper's W⊥[a, b, c] names);
- one small ReLU model (n = 5, m = 2) whose weights the Interference chapter
  draws as arrows.

**Keeping the best seed needs an exact loss.** At density 0.001 a sampled
evaluation batch holds only a handful of active features, so the sampled
loss of two seeds differs mostly by noise. :func:`expected_loss` splits the
expectation by how many features are active: no feature and exactly one
feature are integrated exactly (one-dimensional quadrature), two or more by
quadrature when n = 2 and otherwise by Monte Carlo, shared by every seed of
a level so that their comparison is fair. At low density the one-feature
term is nearly all of the loss, so the comparison is nearly exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from course import Result, profiles

MODELS = ("linear", "relu")


def log_grid(start: float, stop: float, num: int) -> list[float]:
    """``num`` points from ``start`` to ``stop``, evenly spaced in log, rounded to 4 significant digits."""
    vals = np.logspace(math.log10(start), math.log10(stop), num)
    return [float(f"{v:.4g}") for v in vals]


@dataclass(frozen=True)
class Training:
    """How one sweep is trained."""

    n_seeds: int
    steps: int
    batch_size: int
    lr: float
    lr_schedule: str


@dataclass(frozen=True)
class PhaseGrid:
    """The n = 2, m = 1 grid and how each of its points is trained."""

    relative_importance: tuple[float, ...]
    density: tuple[float, ...]
    n_seeds: int
    steps: int
    batch_size: int
    lr: float
    lr_schedule: str


@dataclass(frozen=True)
class Arrows:
    """The small ReLU model the Interference chapter draws as arrows (importance
    ``importance_decay ** arange(n)``, one density)."""

    n_features: int = 5
    n_hidden: int = 2
    importance_decay: float = 0.9
    sparsity: float = 0.9
    n_seeds: int = 6
    steps: int = 5000
    batch_size: int = 1024
    lr: float = 1e-3


@dataclass(frozen=True)
class Settings:
    """What the experiments train; :meth:`quick` is the smallest that exercises the code."""

    n_features: int = 20
    n_hidden: int = 5
    importance_decay: float = 0.7
    densities: tuple[float, ...] = (1.0, 0.3, 0.1, 0.03, 0.01, 0.001)
    # the linear model's optimum does not depend on the density and
    # Adam reaches it quickly; the ReLU model needs longer at low density
    linear: Training = Training(n_seeds=2, steps=2000, batch_size=1024, lr=1e-2, lr_schedule="cosine")
    relu: Training = Training(n_seeds=4, steps=2000, batch_size=1024, lr=1e-2, lr_schedule="cosine")
    phase: PhaseGrid = PhaseGrid(
        relative_importance=tuple(log_grid(0.1, 10.0, 13)), density=tuple(log_grid(1.0, 0.01, 13)),
        n_seeds=8, steps=1000, batch_size=128, lr=1e-2, lr_schedule="cosine",
    )
    arrows: Arrows = Arrows()
    # the n = 3, m = 2 diagram: a coarser grid over the same ranges (m = 2
    # models are harder to optimise: more seeds per point than points)
    phase3: PhaseGrid = PhaseGrid(
        relative_importance=tuple(log_grid(0.1, 10.0, 7)), density=tuple(log_grid(1.0, 0.01, 7)),
        n_seeds=8, steps=1000, batch_size=128, lr=1e-2, lr_schedule="cosine",
    )

    def __post_init__(self) -> None:
        # Settings(**settings) hands the nested parts over as dicts
        for name, kind in (("linear", Training), ("relu", Training), ("phase", PhaseGrid), ("arrows", Arrows),
                           ("phase3", PhaseGrid)):
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, kind(**value))

    @classmethod
    def quick(cls) -> Settings:
        fast = Training(n_seeds=1, steps=100, batch_size=256, lr=3e-3, lr_schedule="constant")
        return cls(
            densities=(1.0, 0.1, 0.01), linear=fast, relu=fast,
            phase=PhaseGrid(relative_importance=(0.1, 1.0, 10.0), density=(1.0, 0.1, 0.01),
                            n_seeds=2, steps=100, batch_size=128, lr=1e-2, lr_schedule="constant"),
            arrows=Arrows(n_seeds=1, steps=150, batch_size=256),
            phase3=PhaseGrid(relative_importance=(0.1, 1.0, 10.0), density=(1.0, 0.1, 0.01),
                             n_seeds=2, steps=100, batch_size=128, lr=1e-2, lr_schedule="constant"),
        )

    @classmethod
    def for_profile(cls, name: str) -> Settings:
        """Under ``paper``: every sweep trains the notebook's 10,000 steps at
        batch 1024, and each phase-diagram point the paper's ten models
        (the chapter keeps each point's lowest-loss model, where the paper
        averages the ten less the worst)."""
        s = cls()
        train = {"steps": "steps", "batch_size": "batch_size"}
        return cls(
            densities=s.densities,
            linear=profiles.update(s.linear, name, **train),
            relu=profiles.update(s.relu, name, **train),
            phase=profiles.update(s.phase, name, n_seeds="phase_models", **train),
            arrows=profiles.update(s.arrows, name, **train),
            phase3=profiles.update(s.phase3, name, n_seeds="phase_models", **train),
        )


def run(s: Settings, seed: int = 0, device: str = "cpu",
        progress: Callable[[int, int], None] | None = None) -> Result:
    """Both basic-results sweeps, the phase grid and the arrows model, each in one
    batched program; every level keeps its seed of lowest exact expected loss."""
    from course.engine import ToyConfig, train

    ps = s.phase
    n, m = s.n_features, s.n_hidden
    dens = np.asarray(s.densities, dtype=float)
    importance = s.importance_decay ** np.arange(n)
    a = s.arrows
    p3 = s.phase3
    total = sum(getattr(s, model).steps for model in MODELS) + ps.steps + p3.steps + a.steps
    done = 0

    def report(offset: int) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda step, _steps: progress(offset + step, total)

    arrays: dict[str, np.ndarray] = {}
    for i, model in enumerate(MODELS):
        bs = getattr(s, model)
        cfg = ToyConfig.sweep(
            n, m, importance=importance, density=dens, model=model,
            n_seeds=bs.n_seeds, steps=bs.steps, batch_size=bs.batch_size,
            lr=bs.lr, lr_schedule=bs.lr_schedule,
        )
        tr = train(cfg, seed=seed + i, device=device, progress=report(done))
        done += bs.steps
        arrays.update(_keep_best(tr, f"{model}_", seed=seed))

    imp_grid, dens_grid = phase_grid(ps.relative_importance, ps.density)
    cfg = ToyConfig.sweep(
        2, 1, importance=imp_grid, density=dens_grid, model="relu",
        n_seeds=ps.n_seeds, steps=ps.steps, batch_size=ps.batch_size,
        lr=ps.lr, lr_schedule=ps.lr_schedule,
    )
    tr = train(cfg, seed=seed + len(MODELS), device=device, progress=report(done))
    done += ps.steps
    arrays.update(_keep_best(tr, "phase_", seed=seed))

    imp3, dens3 = phase_grid_3(p3.relative_importance, p3.density)
    cfg = ToyConfig.sweep(
        3, 2, importance=imp3, density=dens3, model="relu",
        n_seeds=p3.n_seeds, steps=p3.steps, batch_size=p3.batch_size,
        lr=p3.lr, lr_schedule=p3.lr_schedule,
    )
    tr = train(cfg, seed=seed + len(MODELS) + 2, device=device, progress=report(done))
    done += p3.steps
    arrays.update(_keep_best(tr, "phase3_", seed=seed))

    cfg = ToyConfig.sweep(
        a.n_features, a.n_hidden, importance=a.importance_decay ** np.arange(a.n_features),
        density=[1.0 - a.sparsity], model="relu", n_seeds=a.n_seeds, steps=a.steps,
        batch_size=a.batch_size, lr=a.lr,
    )
    tr = train(cfg, seed=seed + len(MODELS) + 1, device=device, progress=report(done))
    arrays.update(_keep_best(tr, "arrows_", seed=seed))
    return Result("sparsity", asdict(s), seed, arrays=arrays, info={
        "densities": [float(d) for d in dens],
        "models": list(MODELS),
        "relative_importance": list(ps.relative_importance),
        "phase_density": list(ps.density),
        "phase3_relative_importance": list(p3.relative_importance),
        "phase3_density": list(p3.density),
        "arrows_density": 1.0 - a.sparsity,
        "seed_rule": "lowest expected loss",
    })


def _keep_best(tr: Any, prefix: str, seed: int) -> dict[str, np.ndarray]:
    """The kept seed of every level by exact expected loss, plus every seed's W, b and
    loss, and each level's importance and density (per feature)."""
    cfg = tr.config
    levels, k, m, n = tr.W.shape
    imp, prob = cfg.arrays()
    loss = expected_loss(
        tr.W.reshape(levels * k, m, n), tr.b.reshape(levels * k, n),
        np.repeat(imp, k, axis=0), np.repeat(prob[:, 0], k), cfg.model,
        seeds_per_level=k, seed=seed,
    ).reshape(levels, k)
    best = keep_best(loss)
    idx = np.arange(levels)
    return {
        f"{prefix}W": tr.W[idx, best].astype(np.float32),
        f"{prefix}b": tr.b[idx, best].astype(np.float32),
        f"{prefix}loss": loss[idx, best],
        f"{prefix}W_all": tr.W.astype(np.float32),
        f"{prefix}b_all": tr.b.astype(np.float32),
        f"{prefix}loss_all": loss,
        f"{prefix}best": best.astype(np.int64),
        f"{prefix}loss_curve": tr.best_curve().astype(np.float32),
        f"{prefix}curve_steps": tr.curve_steps.astype(np.int64),
        f"{prefix}importance": imp,
        f"{prefix}density": prob,
    }


def phase_grid(relative_importance: Sequence[float], density: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Per-level (importance, density), each (levels, 2), for the n = 2 grid.

    Rows of the grid are densities, columns relative importances; level
    ``row * len(relative_importance) + col``. Feature 1 has importance 1.
    """
    imp = [[1.0, float(r)] for _ in density for r in relative_importance]
    dens = [[float(d), float(d)] for d in density for _ in relative_importance]
    return np.asarray(imp), np.asarray(dens)


def phase_grid_3(relative_importance: Sequence[float], density: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Per-level (importance, density), each (levels, 3), for the n = 3 grid:
    features 1 and 2 of importance 1, feature 3 of the relative importance;
    rows are densities, level ``row * len(relative_importance) + col``."""
    imp = [[1.0, 1.0, float(r)] for _ in density for r in relative_importance]
    dens = [[float(d)] * 3 for d in density for _ in relative_importance]
    return np.asarray(imp), np.asarray(dens)


# --------------------------------------------------------------------------- exact loss


def expected_loss(
    W: np.ndarray,
    b: np.ndarray,
    importance: np.ndarray,
    density: np.ndarray,
    model: str,
    *,
    seeds_per_level: int = 1,
    quad: int = 128,
    mc_samples: int = 8192,
    seed: int = 0,
) -> np.ndarray:
    """Expected loss of each model under its data distribution.

    ``W`` (I, m, n), ``b`` (I, n), ``importance`` (I, n), ``density`` (I,)
    — one density shared by all features of an instance. Instances come in
    groups of ``seeds_per_level`` consecutive models trained on the same
    level; each group shares its Monte Carlo samples. The loss is the
    engine's: (1/n) Σ_i I_i E[(x_i − x'_i)²].
    """
    import torch

    Wt = torch.as_tensor(np.asarray(W, dtype=np.float64))
    bt = torch.as_tensor(np.asarray(b, dtype=np.float64))
    imp = torch.as_tensor(np.asarray(importance, dtype=np.float64))
    p = torch.as_tensor(np.asarray(density, dtype=np.float64).reshape(-1))
    inst, _, n = Wt.shape
    if imp.shape != (inst, n) or p.shape != (inst,) or bt.shape != (inst, n):
        raise ValueError("expected W (I, m, n), b (I, n), importance (I, n), density (I,)")
    if inst % seeds_per_level:
        raise ValueError("the number of instances is not a multiple of seeds_per_level")
    act = (lambda z: z) if model == "linear" else torch.relu
    G = Wt.transpose(1, 2) @ Wt  # (I, n, n), symmetric

    # k = 0: x = 0, the output is the bias
    loss0 = (imp * act(bt).square()).sum(-1)

    # k = 1: x = t e_j, t uniform on [0, 1]; every j equally likely
    t = (torch.arange(quad, dtype=torch.float64) + 0.5) / quad
    z = t[None, None, :, None] * G[:, :, None, :] + bt[:, None, None, :]  # (I, j, Q, i)
    target = t[None, None, :, None] * torch.eye(n, dtype=torch.float64)[None, :, None, :]
    err = (act(z) - target).square()
    loss1 = (imp[:, None, None, :] * err).sum(-1).mean(dim=(1, 2))

    # k >= 2
    if n == 2:
        t1, t2 = torch.meshgrid(t, t, indexing="ij")
        x = torch.stack([t1.reshape(-1), t2.reshape(-1)], dim=-1)  # (Q², 2)
        out = act(x[None] @ G + bt[:, None, :])
        loss2 = (imp[:, None, :] * (out - x[None]).square()).sum(-1).mean(-1)
    else:
        loss2 = _many_active_mc(G, bt, imp, p, act, seeds_per_level, mc_samples, seed)

    k = torch.arange(n + 1, dtype=torch.float64)
    log_binom = torch.lgamma(torch.tensor(n + 1.0, dtype=torch.float64)) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)
    pk = torch.exp(log_binom[None] + k[None] * torch.log(p[:, None]) + (n - k)[None] * torch.log1p(-p[:, None].clamp(max=1 - 1e-300)))
    pk = torch.where(p[:, None] >= 1.0, (k[None] == n).to(torch.float64), pk)
    p0, p1 = pk[:, 0], pk[:, 1]
    pmany = (1.0 - p0 - p1).clamp_min(0.0)
    total = p0 * loss0 + p1 * loss1 + pmany * loss2
    return (total / n).numpy()


def _many_active_mc(G, b, imp, p, act, seeds_per_level: int, samples: int, seed: int):
    """E[loss | at least two features active], by Monte Carlo shared within a level."""
    import torch

    inst, n = b.shape
    levels = inst // seeds_per_level
    gen = torch.Generator().manual_seed(seed)
    p_level = p.reshape(levels, seeds_per_level)[:, 0]
    k = torch.arange(2, n + 1, dtype=torch.float64)
    log_binom = torch.lgamma(torch.tensor(n + 1.0, dtype=torch.float64)) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)
    logp = torch.log(p_level[:, None])
    logq = torch.log1p(-p_level[:, None].clamp(max=1 - 1e-12))
    w = torch.exp(log_binom[None] + k[None] * logp + (n - k)[None] * logq)
    w = torch.where(p_level[:, None] >= 1.0, (k[None] == n).to(torch.float64), w)
    w = w / w.sum(-1, keepdim=True).clamp_min(1e-300)
    counts = torch.multinomial(w.float(), samples, replacement=True, generator=gen) + 2  # (L, B)
    ranks = torch.rand(levels, samples, n, generator=gen).argsort(-1).argsort(-1)
    mask = ranks < counts[..., None]
    x = torch.rand(levels, samples, n, generator=gen, dtype=torch.float64) * mask
    x = x.repeat_interleave(seeds_per_level, dim=0)  # (I, B, n)
    out = act(x @ G + b[:, None, :])
    return (imp[:, None, :] * (out - x).square()).sum(-1).mean(-1)


def keep_best(loss: np.ndarray) -> np.ndarray:
    """Index of the lowest-loss seed per level; ``loss`` is (levels, seeds)."""
    return np.argmin(np.asarray(loss), axis=1)
