"""The sparsity experiments' numerics: exact expected losses, the phase grid and
its classification.

Two things here are specific to this chapter:

- **Keeping the best seed needs an exact loss.** At density 0.001 a sampled
  evaluation batch holds only a handful of active features, so the sampled
  loss of two seeds differs mostly by noise. :func:`expected_loss` splits the
  expectation by how many features are active: no feature and exactly one
  feature are integrated exactly (one-dimensional quadrature), two or more by
  quadrature when n = 2 and otherwise by Monte Carlo, shared by every seed of
  a level so that their comparison is fair. At low density the one-feature
  term is nearly all of the loss, so the comparison is nearly exact.
- **The phase diagram** (n = 2, m = 1) classifies the kept W of each grid
  point, and compares with the closed-form losses of the three idealised
  solutions the paper compares.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: a feature counts as represented when its column norm ‖W_i‖ exceeds this
NORM_THRESHOLD = 0.5

#: the phase-diagram classes, in the order the figure and the JSON use
NOT_LEARNED = "not learned"
DEDICATED = "dedicated"
SUPERPOSITION = "superposition"
OTHER = "other"
PHASES = (NOT_LEARNED, DEDICATED, SUPERPOSITION)


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


# --------------------------------------------------------------------------- phase diagram


def phase_grid(relative_importance: list[float], density: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Per-level (importance, density), each (levels, 2), for the n = 2 grid.

    Rows of the grid are densities, columns relative importances; level
    ``row * len(relative_importance) + col``. Feature 1 has importance 1.
    """
    imp = [[1.0, float(r)] for _ in density for r in relative_importance]
    dens = [[float(d), float(d)] for d in density for _ in relative_importance]
    return np.asarray(imp), np.asarray(dens)


def classify_phase(W: Any, threshold: float = NORM_THRESHOLD) -> str:
    """The extra feature's situation in a trained n = 2, m = 1 model.

    ``W`` is the 1 × 2 weight matrix (any shape with two entries),
    feature 1 first and the extra feature second:

    - ``"not learned"``: ‖W_2‖ ≤ ``threshold`` (the extra feature has no direction);
    - ``"dedicated"``: ‖W_2‖ > threshold and ‖W_1‖ ≤ threshold, W ≈ [0, ±1]
      (the extra feature owns the dimension);
    - ``"superposition"``: both above the threshold with opposite signs,
      W ≈ [a, −b] (an antipodal pair);
    - ``"other"``: both above the threshold with the same sign (a
      configuration the paper does not find; reported, not hidden).
    """
    w1, w2 = (float(v) for v in np.asarray(W, dtype=float).reshape(-1))
    if abs(w2) <= threshold:
        return NOT_LEARNED
    if abs(w1) <= threshold:
        return DEDICATED
    return SUPERPOSITION if w1 * w2 < 0 else OTHER


def ideal_losses(relative_importance: float, density: float) -> dict[str, float]:
    """Closed-form loss of the three idealised solutions (n = 2, m = 1, ReLU).

    With x_i uniform on [0, 1] when present (probability p) and feature 1's
    importance 1, the extra feature's r, in the engine's units (loss summed
    over features, divided by n = 2):

    - not learned, W = [1, 0], b = [0, p/2]: only the extra feature's
      variance is lost: r (p/3 − p²/4);
    - dedicated, W = [0, 1], b = [p/2, 0]: feature 1's variance: p/3 − p²/4;
    - antipodal, W = [1, −1], b = 0: exact when one feature is active;
      when both are, each read-out is off by min(x₁, x₂), whose mean
      square is 1/6: (1 + r) p² / 6.

    These are the configurations the paper compares; the trained model may
    beat the antipodal one slightly with a negative bias.
    """
    r, p = float(relative_importance), float(density)
    var = p / 3 - p * p / 4
    return {
        NOT_LEARNED: r * var / 2,
        DEDICATED: var / 2,
        SUPERPOSITION: (1 + r) * p * p / 6 / 2,
    }


def ideal_phase(relative_importance: float, density: float) -> str:
    """The idealised solution with the lowest closed-form loss."""
    losses = ideal_losses(relative_importance, density)
    return min(PHASES, key=lambda k: losses[k])


def antipodal_boundary(relative_importance: np.ndarray) -> np.ndarray:
    """Density below which W = [1, −1] beats both alternatives (closed form).

    Solving (1 + r) p² / 6 = min(r, 1) (p/3 − p²/4) for p gives
    p* = 4 min(r, 1) / (2 + 2r + 3 min(r, 1)).
    """
    r = np.asarray(relative_importance, dtype=float)
    lo = np.minimum(r, 1.0)
    return 4 * lo / (2 + 2 * r + 3 * lo)


def log_grid(start: float, stop: float, num: int) -> list[float]:
    """``num`` points from ``start`` to ``stop``, evenly spaced in log, rounded to 4 significant digits."""
    vals = np.logspace(math.log10(start), math.log10(stop), num)
    return [float(f"{v:.4g}") for v in vals]
