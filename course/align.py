"""Separately trained models in one frame, and motion between them that is not training.

Two models trained on the same data with different seeds (or at different
sparsities) are equally good up to an orthogonal change of hidden basis, and,
where features are interchangeable (same importance and density), up to a
relabelling of those features. A video that moves from one model to the next
should show only how the models differ, not their arbitrary bases, so:

* :func:`procrustes` finds the orthogonal R (rotation or reflection) with
  R A closest to B (orthogonal Procrustes);
* :func:`match` fits a model to a target after the best relabelling of the
  interchangeable features;
* :func:`align_chain` fits every model of a sequence to its neighbour;
* :func:`interpolate` moves between two aligned models arrow by arrow: the
  direction turns along the shorter arc and the length changes linearly
  (so an arrow present at both ends never shrinks through the origin), and a
  feature represented at one end only fades in or out at its represented
  length (a cross-fade, not a growth).

Weights are ``(m, n)``: column ``W[:, i]`` is feature ``i``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

#: an arrow shorter than this is not drawn (``min_norm`` of the course's feature
#: arrows): a feature this short at one end fades in or out instead of turning
VISIBLE = 0.05
#: the most interchangeable features relabelled by trying every order
MAX_GROUP = 8


def procrustes(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The orthogonal matrix R (rotation or reflection) that minimises ‖R A − B‖_F."""
    U, _, Vt = np.linalg.svd(np.asarray(B, dtype=float) @ np.asarray(A, dtype=float).T)
    return U @ Vt


def _groups(interchangeable: Sequence[int] | Sequence[Sequence[int]]) -> list[list[int]]:
    items: list[Any] = list(interchangeable)
    if not items:
        return []
    if all(isinstance(x, (int, np.integer)) for x in items):
        return [[int(x) for x in items]]
    return [[int(x) for x in g] for g in items]


def match(
    W: np.ndarray, target: np.ndarray, interchangeable: Sequence[int] | Sequence[Sequence[int]] = ()
) -> tuple[np.ndarray, list[int]]:
    """``W`` turned (orthogonal Procrustes) onto ``target``, after relabelling the
    ``interchangeable`` features (one group of feature indices, or several
    groups: features whose swap is a symmetry of the problem) in the order
    that fits best.

    Returns the fitted weights and ``cols``: fitted column ``j`` is the turned
    column ``cols[j]`` of ``W``.
    """
    W, target = np.asarray(W, dtype=float), np.asarray(target, dtype=float)
    if W.shape != target.shape or W.ndim != 2:
        raise ValueError(f"match needs two (m, n) matrices of one shape, got {W.shape} and {target.shape}")
    groups = _groups(interchangeable)
    for g in groups:
        if len(g) > MAX_GROUP:
            raise ValueError(f"at most {MAX_GROUP} interchangeable features in a group, got {len(g)}")
        if any(not 0 <= i < W.shape[1] for i in g):
            raise ValueError(f"interchangeable features {g} are not all among the {W.shape[1]} features")
    n = W.shape[1]
    best, best_cols, best_err = W, list(range(n)), math.inf
    for perms in itertools.product(*(itertools.permutations(g) for g in groups)):
        cols = list(range(n))
        for g, perm in zip(groups, perms, strict=True):
            for src, dst in zip(g, perm, strict=True):
                cols[dst] = src
        P = W[:, cols]
        fitted = procrustes(P, target) @ P
        err = float(np.square(fitted - target).sum())
        if err < best_err - 1e-12:
            best, best_cols, best_err = fitted, cols, err
    return best, best_cols


def turn_up(W: np.ndarray, feature: int = 0) -> np.ndarray:
    """A 2-D ``W`` rotated so that ``feature`` points straight up (unchanged if it has no length)."""
    W = np.asarray(W, dtype=float)
    if W.shape[0] != 2 or np.linalg.norm(W[:, feature]) == 0:
        return W.copy()
    turn = math.pi / 2 - math.atan2(W[1, feature], W[0, feature])
    R = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    return R @ W


def align_chain(
    Ws: Sequence[np.ndarray],
    start: int = 0,
    up: int | None = None,
    interchangeable: Sequence[int] | Sequence[Sequence[int]] = (),
) -> list[np.ndarray]:
    """Separately trained models in one frame: level ``start`` stays as it is
    (turned so that feature ``up`` points up, when given, in 2-D), then every
    other level is fitted (:func:`match`) to its neighbour on the way to
    ``start``, so the picture changes only where the models do."""
    Ws = [np.asarray(W, dtype=float) for W in Ws]
    if not Ws:
        return []
    if not 0 <= start < len(Ws):
        raise ValueError(f"start {start} is not one of the {len(Ws)} levels")
    out: list[np.ndarray | None] = [None] * len(Ws)
    out[start] = turn_up(Ws[start], up) if up is not None else Ws[start].copy()
    for order in (range(start + 1, len(Ws)), range(start - 1, -1, -1)):
        prev = start
        for k in order:
            target = out[prev]
            assert target is not None
            out[k] = match(Ws[k], target, interchangeable)[0]
            prev = k
    return [W for W in out if W is not None]


def _turn(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """The unit vector a fraction ``t`` of the way from unit ``a`` to unit ``b``
    along the shorter great circle (exactly opposite vectors turn through a
    fixed perpendicular)."""
    cos = float(np.clip(a @ b, -1.0, 1.0))
    if cos > 1 - 1e-12:
        return a.copy()
    perp = b - cos * a
    if np.linalg.norm(perp) < 1e-9:  # opposite: any perpendicular; the first basis vector not along a
        e = np.zeros_like(a)
        e[int(np.argmin(np.abs(a)))] = 1.0
        perp = e - (e @ a) * a
    perp = perp / np.linalg.norm(perp)
    angle = math.acos(cos) * t
    return math.cos(angle) * a + math.sin(angle) * perp


def interpolate(
    A: np.ndarray, B: np.ndarray, t: float, visible: float = VISIBLE
) -> tuple[np.ndarray, np.ndarray]:
    """The arrows a fraction ``t`` of the way from aligned model ``A`` to ``B``,
    and each arrow's opacity.

    A feature drawn at both ends (longer than ``visible``) turns along the
    shorter arc with its length changing linearly (never shorter than the
    shorter end); one drawn at one end only keeps that end's arrow and fades
    (opacity 1 - t out, t in); one drawn at neither stays at ``A``'s (tiny)
    arrow, invisible.
    """
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    if A.shape != B.shape or A.ndim != 2:
        raise ValueError(f"interpolate needs two (m, n) matrices of one shape, got {A.shape} and {B.shape}")
    t = min(1.0, max(0.0, float(t)))
    na, nb = np.linalg.norm(A, axis=0), np.linalg.norm(B, axis=0)
    out = np.empty_like(A)
    alpha = np.empty(A.shape[1])
    for i in range(A.shape[1]):
        ra, rb = na[i] > visible, nb[i] > visible
        if ra and rb:
            out[:, i] = ((1 - t) * na[i] + t * nb[i]) * _turn(A[:, i] / na[i], B[:, i] / nb[i], t)
            alpha[i] = 1.0
        elif ra:
            out[:, i], alpha[i] = A[:, i], 1.0 - t
        elif rb:
            out[:, i], alpha[i] = B[:, i], t
        else:
            out[:, i], alpha[i] = A[:, i], 0.0
    return out, alpha


def along(
    Ws: Sequence[np.ndarray], position: float, visible: float = VISIBLE
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`interpolate` at a fractional ``position`` along a sequence of
    aligned models (``1.5``: halfway from the second to the third)."""
    if not Ws:
        raise ValueError("no models to move along")
    if len(Ws) == 1:
        W = np.asarray(Ws[0], dtype=float)
        return W, (np.linalg.norm(W, axis=0) > visible).astype(float)
    k = min(max(int(math.floor(position)), 0), len(Ws) - 2)
    return interpolate(Ws[k], Ws[k + 1], position - k, visible)
