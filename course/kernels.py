"""Compiled CPU kernels of the engine's data sampler (numba).

The CPU sampler draws its random bits from SplitMix64 read at a counter:
the 64 bits at counter c under key k are ``mix(k + c · γ)``, with
γ = 0x9E3779B97F4A7C15 and ``mix`` SplitMix64's finaliser (Steele, Lea and
Flood, "Fast splittable pseudorandom number generators", 2014; Java's
SplittableRandom). A value depends only on its key and counter, so a batch is
the same whichever thread draws which part of it, and each part is drawn
without drawing what comes before it. One 64-bit value gives two entries of
a dense row (24 bits each), in a loop the compiler vectorises.

Counters (each used once per key; γ is odd, so distinct counters give
distinct SplitMix64 states):

- dense entries: ``((step · I + i) · B + r) · P + j + 1`` for the pair j of
  row r of instance i (I instances, B rows, P = ⌈n / 2⌉ pairs a row); the top
  24 bits give entry 2j, bits 8 to 31 entry 2j + 1;
- the sparse walks: ``2⁶³ + (s << 32) + t`` for the t-th draw of walk
  s = (step · I + i) · lanes + lane, above every dense counter a build uses
  (below 2⁶³ while steps · I · B · P is).

The module imports numba, so the engine imports it only when a CPU sampler
is made; with ``cache=True`` the compiled code is kept beside this file (or in
numba's user cache) and loaded by later processes.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
SPARSE_BASE = np.uint64(1 << 63)
_U24 = np.float32(1.0 / (1 << 24))
_U32 = 1.0 / (1 << 32)


@njit(inline="always")
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(nogil=True, cache=True)
def bits(key: np.uint64, counters: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """The 64 random bits at each counter (uint64): for tests and the docs."""
    out = np.empty(counters.size, dtype=np.uint64)
    for t in range(counters.size):
        out[t] = _mix(key + counters[t] * GAMMA)
    return out


@njit(nogil=True, cache=True)
def fill(
    flat: np.ndarray,
    batch: int,
    n: int,
    neg_inv: np.ndarray,
    inv_rate: np.ndarray,
    scale: np.ndarray,
    key: np.uint64,
    step: int,
    lane: int,
    lanes: int,
    lo: int,
    hi: int,
    last: np.ndarray,
    nlast: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Draw rows ``lo:hi`` of every instance of step ``step`` into ``flat``,
    the (I, B, n) float32 batch flattened. x = 0 with probability 1 − p,
    else uniform on (0, 1].

    Dense instances (``inv_rate[i] < 0``): a uniform u per entry and
    x = max(0, 1 + u · neg_inv) with neg_inv = −1 / p per feature.

    Sparse instances: a walk over the block's entries with geometric gaps at
    rate q = maxᵢ pᵢ (⌊−log(u) · inv_rate⌋ + 1, inv_rate = −1 / log(1 − q));
    each candidate gets x = max(0, 1 − v · scale) with scale = q / p per
    feature (kept with probability p / q, then uniform on (0, 1]). The entries
    written last time (``last[k, :nlast[k]]`` for k = i · lanes + lane) are
    zeroed first; a walk longer than ``last`` holds sets ``nlast[k] = −1``,
    and the next draw zeroes its whole block instead.
    """
    inst = neg_inv.shape[0]
    pairs = (n + 1) // 2
    one, zero = np.float32(1.0), np.float32(0.0)
    cap = last.shape[1]
    for i in range(inst):
        if inv_rate[i] < 0:
            row_neg = neg_inv[i]
            for r in range(lo, hi):
                c0 = np.uint64(((step * inst + i) * batch + r) * pairs + 1)
                off = (i * batch + r) * n
                row = flat[off : off + n]  # a view: indices from 0 keep the loop vectorised
                for j in range(n // 2):
                    z = _mix(key + (c0 + np.uint64(j)) * GAMMA)
                    u0 = np.float32(z >> np.uint64(40)) * _U24
                    u1 = np.float32((z >> np.uint64(8)) & np.uint64(0xFFFFFF)) * _U24
                    a = one + u0 * row_neg[2 * j]
                    b = one + u1 * row_neg[2 * j + 1]
                    row[2 * j] = a if a > zero else zero
                    row[2 * j + 1] = b if b > zero else zero
                if n % 2:
                    z = _mix(key + (c0 + np.uint64(n // 2)) * GAMMA)
                    a = one + np.float32(z >> np.uint64(40)) * _U24 * row_neg[n - 1]
                    row[n - 1] = a if a > zero else zero
            continue
        base = (i * batch + lo) * n
        size = (hi - lo) * n
        k = i * lanes + lane
        if nlast[k] < 0:
            flat[base : base + size] = zero
        else:
            for t in range(nlast[k]):
                flat[base + last[k, t]] = zero
        ctr = SPARSE_BASE + (np.uint64((step * inst + i) * lanes + lane) << np.uint64(32))
        inv = inv_rate[i]
        row_scale = scale[i]
        pos = -1
        feature = -1  # pos % n, kept without a division where the gap allows
        count = 0
        while True:
            ctr += np.uint64(1)
            z = _mix(key + ctr * GAMMA)
            u = (np.float64(z >> np.uint64(32)) + 1.0) * _U32  # (0, 1]
            gap = int(-math.log(u) * inv) + 1  # truncation is the floor: the logarithm is ≤ 0
            pos += gap
            if pos >= size:
                break
            feature += gap
            if feature >= n:
                feature -= n
                if feature >= n:
                    feature = pos % n
            v = np.float32((z >> np.uint64(8)) & np.uint64(0xFFFFFF)) * _U24
            val = one - v * row_scale[feature]
            flat[base + pos] = val if val > zero else zero
            if count < cap:
                last[k, count] = pos
            count += 1
        nlast[k] = count if count <= cap else -1
