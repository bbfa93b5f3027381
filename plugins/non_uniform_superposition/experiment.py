"""The non-uniform superposition experiments, trained together in one result.

1. **Density perturbation.** n = 5 features in m = 2 dimensions, importance 1,
   every feature at density 0.05 (a regular pentagon) except feature 0, whose
   density is 0.05 × ratio for a log-spaced range of ratios. Three things are
   trained per ratio:

   - *free*: the ReLU-output model from random starts (best of several seeds),
     what training actually finds;
   - the *pentagon branch*: the regular pentagon, optimised at ratio 1, then
     re-optimised at every ratio starting from it;
   - the *two-digon branch*: two antipodal pairs of features 1–4 with
     feature 0's column held at zero, optimised at every ratio.

   The two branches are optimised on the *exact* expected loss (below), so the
   ratio where their loss curves cross is a number, not a noisy guess.

2. **Correlated and anticorrelated pairs.** n = 4, m = 2, two sets of two
   features: correlated sets (both present or both absent) and, separately,
   anticorrelated sets in the paper's sense: a set is all zero with
   probability S and otherwise exactly one of its members, chosen at random,
   is present (``course.engine`` samples them so).

3. **Collapse to PCA.** n = 6 in three correlated pairs, m = 2, across
   densities (the lowest one is also the paper's "three correlated pairs").

4. **Local orthogonal bases.** n = 20 in two correlated sets of ten, m = 10.

**The exact loss.** ``course.engine`` trains on sampled batches and picks each
level's best seed on a sampled evaluation batch. For these small models the
expected loss can be computed instead: the inputs split into *activity
patterns* (which features are non-zero), each with a probability that follows
from the densities and the feature sets, and within a pattern the loss is an
integral over the active features' magnitudes on [0, 1]ᵏ, done with the
midpoint rule (:data:`POINTS` points per axis, fewer as k grows: patterns with
many active features are rare). The engine has no such function and cannot
start training from given weights, so both live here: :class:`ExactLoss`
and :func:`optimise` (L-BFGS on the exact loss from given weights).
"""

from __future__ import annotations

import copy
import itertools
import math
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from course import Result, profiles

#: midpoint-rule points per axis for a pattern with k active features (index k);
#: the last entry serves every larger k
POINTS = (1, 100, 40, 12, 8, 5, 4, 3)
#: the coarser grid :func:`optimise` descends on (its minima move by less than
#: 1e-7 in loss; every reported loss is re-evaluated on :data:`POINTS`)
FIT_POINTS = (1, 60, 24, 8, 5, 4, 3)


@dataclass(frozen=True)
class Settings:
    """What the experiments train; :meth:`quick` is the smallest that exercises the code."""

    # 1. density perturbation (n = 5, m = 2)
    base_density: float = 0.05
    ratio_min: float = 0.2
    ratio_max: float = 5.0
    ratio_levels: int = 17
    perturb_seeds: int = 6
    perturb_steps: int = 4000
    branch_iterations: int = 300
    # 2. two correlated / two anticorrelated pairs (n = 4, m = 2)
    correlated_densities: tuple[float, ...] = (0.05, 0.01)
    anticorrelated_densities: tuple[float, ...] = (0.3, 0.1)
    pair_seeds: int = 8
    pair_steps: int = 3000
    # 3. three correlated pairs across densities (n = 6, m = 2)
    pca_densities: tuple[float, ...] = (0.02, 0.04, 0.1, 0.175, 0.3, 0.4, 0.7)
    pca_seeds: int = 12
    pca_steps: int = 3000
    # 4. two correlated sets of ten (n = 20, m = 10)
    local_densities: tuple[float, ...] = (0.01, 0.05)
    local_seeds: int = 3
    local_steps: int = 3000
    # shared by every sampled training run
    batch_size: int = 256
    lr: float = 0.01
    lr_schedule: str = "cosine"
    eval_batch: int = 16384

    @classmethod
    def quick(cls) -> Settings:
        return cls(ratio_levels=5, perturb_seeds=2, perturb_steps=150, branch_iterations=20,
                   correlated_densities=(0.05,), anticorrelated_densities=(0.3,), pair_seeds=2, pair_steps=100,
                   pca_densities=(0.02, 0.4), pca_seeds=2, pca_steps=100,
                   local_densities=(0.05,), local_seeds=1, local_steps=100,
                   batch_size=64, eval_batch=1024)

    @classmethod
    def for_profile(cls, name: str) -> Settings:
        """Under ``paper``: every sampled run trains the notebook's 10,000 steps
        at batch 1024 (the paper gives no restarts for these sections, so
        the numbers of seeds stay the course's)."""
        return profiles.build(cls, name, perturb_steps="steps", pair_steps="steps", pca_steps="steps",
                              local_steps="steps", batch_size="batch_size")

    def ratios(self) -> list[float]:
        """Feature 0's density relative to the others, log-spaced (1 is included
        when the range is symmetric and the number of levels odd)."""
        vals = np.geomspace(self.ratio_min, self.ratio_max, self.ratio_levels)
        return [float(f"{v:.4g}") for v in vals]


# --------------------------------------------------------------------------- the exact loss


def feature_units(n: int, correlated: Sequence[int] = (), anticorrelated: Sequence[int] = ()
                  ) -> list[tuple[str, tuple[int, ...]]]:
    """The independent units of the data, as ``course.engine`` lays them out:
    correlated sets first, then anticorrelated sets, then single features."""
    out: list[tuple[str, tuple[int, ...]]] = []
    start = 0
    for kind, sizes in (("correlated", correlated), ("anticorrelated", anticorrelated)):
        for size in sizes:
            out.append((kind, tuple(range(start, start + size))))
            start += size
    out += [("independent", (i,)) for i in range(start, n)]
    return out


def activity_patterns(units: Sequence[tuple[str, tuple[int, ...]]]
                      ) -> list[tuple[tuple[int, ...], list[tuple[int, bool, int]]]]:
    """Every pattern of present features, with the factors of its probability:
    ``(feature, present, k)`` stands for p_feature / k when present and
    1 − p_feature when not (the set's density is its first member's)."""
    options = []
    for kind, feats in units:
        head = feats[0]
        absent = ((), [(head, False, 1)])
        if kind == "anticorrelated":  # exactly one member, each with chance 1/k
            options.append([absent] + [((f,), [(head, True, len(feats))]) for f in feats])
        else:  # an independent feature, or a correlated set present as a whole
            options.append([absent, (feats, [(head, True, 1)])])
    out = []
    for combo in itertools.product(*options):
        active = tuple(sorted(f for part in combo for f in part[0]))
        out.append((active, [factor for part in combo for factor in part[1]]))
    return out


class ExactLoss:
    """The expected loss L = (1/n) E[Σ_i I_i (x_i − x'_i)²] of the ReLU-output
    model, per instance, for the data of ``course.engine`` (the loss the engine
    trains on, as an expectation instead of a batch mean).

    ``density`` is (instances, n); ``importance`` broadcasts to it. Calling it
    with W (instances, m, n) and b (instances, n), torch float64, gives the
    losses (instances,), differentiable.
    """

    def __init__(self, density: Any, importance: Any = 1.0, correlated: Sequence[int] = (),
                 anticorrelated: Sequence[int] = (), points: Sequence[int] = POINTS) -> None:
        import torch

        p = torch.as_tensor(np.asarray(density, dtype=np.float64))
        inst, n = p.shape
        rows, logw = [], []
        for active, factors in activity_patterns(feature_units(n, correlated, anticorrelated)):
            lp = torch.zeros(inst, dtype=torch.float64)
            for f, present, k in factors:
                lp = lp + (torch.log(p[:, f] / k) if present else torch.log1p(-p[:, f]))
            k = len(active)
            q = points[min(k, len(points) - 1)]
            pts = np.zeros((q**k, n))
            if k:
                grid = (np.arange(q) + 0.5) / q
                pts[:, list(active)] = np.stack(np.meshgrid(*[grid] * k, indexing="ij"), -1).reshape(-1, k)
            rows.append(torch.as_tensor(pts))
            logw.append((lp - math.log(len(pts)))[:, None].expand(inst, len(pts)))
        self.x = torch.cat(rows)  # (R, n): the quadrature inputs
        self.weight = torch.exp(torch.cat(logw, dim=1))  # (instances, R): probability × cell size
        imp = torch.as_tensor(np.asarray(importance, dtype=np.float64))
        self.importance = torch.broadcast_to(imp, (inst, n))
        self.n = n

    def __call__(self, W: Any, b: Any) -> Any:
        import torch

        G = W.transpose(1, 2) @ W
        out = torch.relu(torch.einsum("rj,ijk->irk", self.x, G) + b[:, None, :])
        err = (self.importance[:, None, :] * (out - self.x).square()).sum(dim=-1)
        return (self.weight * err).sum(dim=-1) / self.n

    def repeat(self, k: int) -> ExactLoss:
        """The same loss with each instance repeated ``k`` times in a row (one per seed)."""
        out = copy.copy(self)
        out.weight = self.weight.repeat_interleave(k, dim=0)
        out.importance = self.importance.repeat_interleave(k, dim=0)
        return out

    def numpy(self, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The losses for numpy weights (instances, m, n) and biases (instances, n)."""
        import torch

        with torch.no_grad():
            return self(torch.as_tensor(np.asarray(W, dtype=np.float64)),
                        torch.as_tensor(np.asarray(b, dtype=np.float64))).numpy()


@contextmanager
def _one_thread():
    """The optimisation's tensors are small: one torch thread is faster on a busy machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def optimise(W0: np.ndarray, b0: np.ndarray, loss: ExactLoss, mask: np.ndarray | None = None,
             iterations: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """L-BFGS on the exact loss from (W0, b0): the local minimum nearest the
    start. ``mask`` (same shape as W0) holds the entries where it is 0 at zero.
    Returns (W, b, loss), one row per instance."""
    import torch

    with _one_thread():
        W = torch.tensor(np.asarray(W0, dtype=np.float64)).requires_grad_(True)
        b = torch.tensor(np.asarray(b0, dtype=np.float64)).requires_grad_(True)
        keep = torch.ones_like(W) if mask is None else torch.as_tensor(np.asarray(mask, dtype=np.float64))
        opt = torch.optim.LBFGS([W, b], lr=1.0, max_iter=max(1, iterations), history_size=50,
                                line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-16)

        def closure() -> Any:
            opt.zero_grad()
            total = loss(W * keep, b).sum()
            total.backward()
            return total

        opt.step(closure)
        with torch.no_grad():
            Wf = W * keep
            return Wf.numpy().copy(), b.detach().numpy().copy(), loss(Wf, b).numpy()


def regular_polygon(k: int, radius: float = 1.0) -> np.ndarray:
    """(2, k): k unit directions at equal angles, the first along the x-axis."""
    angles = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angles), np.sin(angles)])


def two_digons(n: int = 5, dropped: int = 0) -> np.ndarray:
    """(2, n): the other features as two antipodal pairs on the axes, ``dropped`` at zero."""
    W = np.zeros((2, n))
    others = [i for i in range(n) if i != dropped]
    for j, i in enumerate(others[:4]):
        W[j // 2, i] = 1.0 if j % 2 == 0 else -1.0
    return W


# --------------------------------------------------------------------------- training


def _sweep(s: Settings, n: int, m: int, density: Any, seeds: int, steps: int, seed: int, device: str,
           progress: Callable[[int, int], None] | None = None, **sets: Any) -> Any:
    from course.engine import ToyConfig, train

    cfg = ToyConfig.sweep(n, m, importance=1.0, density=density, n_seeds=seeds, steps=steps,
                          batch_size=s.batch_size, lr=s.lr, lr_schedule=s.lr_schedule,
                          eval_batch=s.eval_batch, log_every=max(1, steps // 25), **sets)
    return train(cfg, seed=seed, device=device, progress=progress)


def _best_exact(tr: Any, loss: ExactLoss) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each level's best seed by the exact loss: (W, b, loss of the best, loss of every seed)."""
    levels, seeds, m, n = tr.W.shape
    every = loss.repeat(seeds).numpy(tr.W.reshape(-1, m, n), tr.b.reshape(-1, n)).reshape(levels, seeds)
    best = every.argmin(axis=1)
    idx = np.arange(levels)
    return tr.W[idx, best], tr.b[idx, best], every[idx, best], every


def _repeat(a: np.ndarray, k: int) -> np.ndarray:
    return np.repeat(np.asarray(a)[None], k, axis=0)


def run(s: Settings, seed: int = 0, device: str = "cpu",
        progress: Callable[[int, int], None] | None = None) -> Result:
    """Train the four experiments (in the order of the module docstring)."""
    timing: dict[str, float] = {}
    arrays: dict[str, np.ndarray] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timing[name] = round(now - clock, 2)
        clock = now

    # 1. density perturbation
    n, m = 5, 2
    ratios = np.asarray(s.ratios())
    L = len(ratios)
    dens = np.full((L, n), s.base_density)
    dens[:, 0] *= ratios
    exact = ExactLoss(dens)
    fit = ExactLoss(dens, points=FIT_POINTS)
    tr = _sweep(s, n, m, dens, s.perturb_seeds, s.perturb_steps, seed, device, progress)
    W, b, loss, every = _best_exact(tr, exact)
    arrays |= {"free_W": W, "free_b": b, "free_loss": loss, "free_loss_all": every}
    lap("free")
    base = np.full((1, n), s.base_density)
    P, bP, _ = optimise(regular_polygon(n, 1.1)[None], np.full((1, n), -0.2), ExactLoss(base, points=FIT_POINTS),
                        iterations=s.branch_iterations)
    lP = ExactLoss(base).numpy(P, bP)
    Wp, bp, _ = optimise(np.repeat(P, L, 0), np.repeat(bP, L, 0), fit, iterations=s.branch_iterations)
    mask = np.ones((L, m, n))
    mask[:, :, 0] = 0.0
    # the dropped feature's output is ReLU(b_0): started at 0 its gradient is 0 and it would stay
    # there, so it starts at its mean (its best constant output) instead
    b0 = np.zeros((L, n))
    b0[:, 0] = dens[:, 0] / 2
    Wd, bd, _ = optimise(_repeat(two_digons(n), L), b0, fit, mask=mask, iterations=s.branch_iterations)
    lp, ld = exact.numpy(Wp, bp), exact.numpy(Wd, bd)
    arrays |= {"pentagon_W": Wp, "pentagon_b": bp, "pentagon_loss": lp,
               "digon_W": Wd, "digon_b": bd, "digon_loss": ld,
               "baseline_W": P[0], "baseline_b": bP[0], "baseline_loss": lP}
    lap("branches")

    # 2. two correlated and two anticorrelated pairs
    for name, key, dens1 in (("correlated", "correlated_sets", s.correlated_densities),
                             ("anticorrelated", "anticorrelated_sets", s.anticorrelated_densities)):
        sets = {key: (2, 2)}
        d = np.repeat(np.asarray(dens1, dtype=float)[:, None], 4, axis=1)
        tr = _sweep(s, 4, 2, list(dens1), s.pair_seeds, s.pair_steps, seed + 1, device, **sets)
        W, b, loss, _ = _best_exact(tr, ExactLoss(d, **{key.removesuffix("_sets"): (2, 2)}))
        arrays |= {f"{name}_W": W, f"{name}_b": b, f"{name}_loss": loss}
        lap(name)

    # 3. three correlated pairs across densities
    d = np.repeat(np.asarray(s.pca_densities, dtype=float)[:, None], 6, axis=1)
    tr = _sweep(s, 6, 2, list(s.pca_densities), s.pca_seeds, s.pca_steps, seed + 2, device,
                correlated_sets=(2, 2, 2))
    W, b, loss, every = _best_exact(tr, ExactLoss(d, correlated=(2, 2, 2)))
    arrays |= {"pca_W": W, "pca_b": b, "pca_loss": loss, "pca_W_all": tr.W, "pca_loss_all": every}
    lap("pca")

    # 4. local orthogonal bases (too many features for the exact loss: the engine's best seed)
    tr = _sweep(s, 20, 10, list(s.local_densities), s.local_seeds, s.local_steps, seed + 3, device,
                correlated_sets=(10, 10))
    arrays |= {"local_W": tr.best_W, "local_b": tr.best_b, "local_loss": tr.best_loss}
    lap("local")

    return Result("non-uniform-superposition", asdict(s), seed,
                  arrays={k: np.asarray(v) for k, v in arrays.items()},
                  info={"ratios": [float(r) for r in ratios], "base_density": s.base_density,
                        "correlated_densities": list(s.correlated_densities),
                        "anticorrelated_densities": list(s.anticorrelated_densities),
                        "pca_densities": list(s.pca_densities), "local_densities": list(s.local_densities),
                        "seconds": timing})
