"""Rotations of a code's hidden basis: the experiment searches one that spreads
(or lines up) a trained code; the analysis and the scene turn the plane model."""

from __future__ import annotations

import numpy as np


def rotation_matrix(theta: float) -> np.ndarray:
    """The 2 × 2 rotation by ``theta`` radians."""
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


def best_rotation(W: np.ndarray, goal: str, steps: int = 400, starts: int = 4, seed: int = 0) -> np.ndarray:
    """An m × m rotation R (det 1) that makes the code R·W as spread out
    (``goal="spread"``) or as lined up with the units (``goal="align"``) as
    it can.

    Spreading minimises Σ_ki (RW)_ki⁴ and aligning maximises it (the
    varimax criterion of factor analysis): for a fixed ‖W_i‖ a column's
    fourth powers are smallest when it is spread evenly, which is when its
    participation ratio is largest. R = exp(A − Aᵀ) is searched from the
    identity and ``starts − 1`` random starts with Adam; the best is kept.
    """
    import torch

    if goal not in ("spread", "align"):
        raise ValueError(f"goal must be 'spread' or 'align', not {goal!r}")
    Wt = torch.as_tensor(np.asarray(W, dtype=np.float64))
    m = Wt.shape[0]
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn(starts, m, m, generator=gen, dtype=torch.float64)
    A[0] = 0.0
    A.requires_grad_(True)
    sign = 1.0 if goal == "spread" else -1.0
    opt = torch.optim.Adam([A], lr=0.05)

    def objective() -> torch.Tensor:
        R = torch.linalg.matrix_exp(A - A.transpose(1, 2))
        return sign * (R @ Wt).pow(4).sum(dim=(1, 2))

    for _ in range(steps):
        opt.zero_grad()
        objective().sum().backward()
        opt.step()
    with torch.no_grad():
        best = int(objective().argmin())
        R = torch.linalg.matrix_exp(A[best] - A[best].T)
    return R.numpy()
