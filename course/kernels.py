"""Compiled CPU kernels of the engine (numba): the data sampler and the
loss gradient.

The gradient (:func:`grad`, and :func:`grad_by_row` for models with few
features) takes a few rows of the batch at a time through all five products
of a step while they sit in the cache: the step reads the batch once and
writes nothing else of its size.

The CPU sampler draws its random bits from SplitMix64 read at a counter:
the 64 bits at counter c under key k are ``mix(k + c · γ)``, with
γ = 0x9E3779B97F4A7C15 and ``mix`` SplitMix64's finaliser (Steele, Lea and
Flood, "Fast splittable pseudorandom number generators", 2014; Java's
SplittableRandom). A value depends only on its key and counter, so a batch is
the same whichever thread draws which part of it, and each part is drawn
without drawing what comes before it. One 64-bit value gives two entries of
a dense row (24 bits each), in a loop the compiler vectorises. The gradient
draws the dense instances' rows itself, with the same values (:func:`draw_block`
for :func:`grad_by_row`, :func:`draw_rows` for :func:`grad`), so their batch
is never stored.

Counters (each used once per key; γ is odd, so distinct counters give
distinct SplitMix64 states):

- dense entries: ``((step · I + i) · B + r) · P + j + 1`` for the pair j of
  row r of instance i (I instances, B rows, P = ⌈n / 2⌉ pairs a row); the top
  24 bits give entry 2j, bits 8 to 31 entry 2j + 1;
- the sparse walks: ``2⁶³ + (s << 32) + t`` for the t-th draw of walk
  s = (step · I + i) · lanes + lane, above every dense counter a build uses
  (below 2⁶³ while steps · I · B · P is).

The module imports numba, so the engine imports it only when a CPU sampler
or gradient is made; with ``cache=True`` the compiled code is kept beside this file (or in
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
#: rows :func:`grad_by_row` takes at a time (its four blocks stay in the L1 cache)
ROWS = 128


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


@njit(inline="always")
def _dense_row(row: np.ndarray, key: np.uint64, c0: np.uint64, row_neg: np.ndarray) -> None:  # pragma: no cover - compiled
    """One dense row, its pairs at counters c0, c0 + 1, ...: x = max(0, 1 + u · neg)
    per entry. Inlined, so it takes its caller's fast-math: only callers
    without it (:func:`fill`, :func:`draw_rows`) may use it."""
    n = row.shape[0]
    one, zero = np.float32(1.0), np.float32(0.0)
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
    dense: bool,
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

    With ``dense`` false the dense instances are skipped (their rows stay
    as they were): the gradient (:func:`grad`, :func:`grad_by_row`) draws them itself.
    """
    inst = neg_inv.shape[0]
    pairs = (n + 1) // 2
    one, zero = np.float32(1.0), np.float32(0.0)
    cap = last.shape[1]
    for i in range(inst):
        if inv_rate[i] < 0:
            if not dense:
                continue
            row_neg = neg_inv[i]
            for r in range(lo, hi):
                off = (i * batch + r) * n
                # a view: indices from 0 keep the loop vectorised
                _dense_row(flat[off : off + n], key, np.uint64(((step * inst + i) * batch + r) * pairs + 1), row_neg)
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


@njit(nogil=True, fastmath=False, cache=True)  # said, or numba gives it its caller's fast-math
def draw_rows(
    xd: np.ndarray, key: np.uint64, step: int, inst: int, i: int, batch: int, r0: int, rows: int,
    row_neg: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Draw rows ``r0:r0 + rows`` of dense instance ``i`` of step ``step``
    into ``xd[:rows]``, as :func:`fill` draws them (the same helper, so the
    same values): :func:`grad`'s own draw. Like :func:`draw_block` it says
    ``fastmath=False`` outright."""
    pairs = (row_neg.shape[0] + 1) // 2
    for rr in range(rows):
        _dense_row(xd[rr], key, np.uint64(((step * inst + i) * batch + r0 + rr) * pairs + 1), row_neg)


@njit(inline="always")
def _four_rows_times(
    W: np.ndarray, r0: np.ndarray, r1: np.ndarray, r2: np.ndarray, r3: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """out[:, j] = W[j] · r for four rows r, two rows of W a pass (each load of
    a row's entry serves eight products)."""
    zero = np.float32(0.0)
    m = W.shape[0]
    j = 0
    while j + 2 <= m:
        w, v = W[j], W[j + 1]
        a0 = a1 = a2 = a3 = zero
        c0 = c1 = c2 = c3 = zero
        for k in range(W.shape[1]):
            wk, vk = w[k], v[k]
            x0, x1, x2, x3 = r0[k], r1[k], r2[k], r3[k]
            a0 += x0 * wk
            a1 += x1 * wk
            a2 += x2 * wk
            a3 += x3 * wk
            c0 += x0 * vk
            c1 += x1 * vk
            c2 += x2 * vk
            c3 += x3 * vk
        out[0, j], out[1, j], out[2, j], out[3, j] = a0, a1, a2, a3
        out[0, j + 1], out[1, j + 1], out[2, j + 1], out[3, j + 1] = c0, c1, c2, c3
        j += 2
    while j < m:
        w = W[j]
        a0 = a1 = a2 = a3 = zero
        for k in range(W.shape[1]):
            a0 += r0[k] * w[k]
            a1 += r1[k] * w[k]
            a2 += r2[k] * w[k]
            a3 += r3[k] * w[k]
        out[0, j], out[1, j], out[2, j], out[3, j] = a0, a1, a2, a3
        j += 1


@njit(nogil=True, fastmath={"reassoc", "contract", "nsz"}, cache=True)
def grad(
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    lo: int,
    hi: int,
    relu: bool,
    hidden_relu: bool,
    dW: np.ndarray,
    db: np.ndarray,
    loss: np.ndarray,
    drawn: np.ndarray,
    key: np.uint64,
    step: int,
    neg_inv: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Add rows ``lo:hi`` of every instance's loss gradient to ``dW``, ``db``
    and ``loss`` (twice the loss), float32 throughout.

    Shapes: x (I, B, n), W (I, m, n), b and c (I, n), dW (I, m, n), db (I, n),
    loss (I,). With h = W x (ReLU'd for the neuron model), z = Wᵀ h + b,
    x' = ReLU(z) (z for the linear model) and g = c ⊙ (x' − x) ⊙ 1[z > 0]:
    db += Σ g, dW += h gᵀ + (W g) xᵀ (W g masked where h = 0 for the neuron
    model), loss += Σ c ⊙ (x' − x)². c = 2 I / (B n) makes loss / 2 the
    mean importance-weighted error.

    The rows go four at a time through all five products while they sit in
    the L1 cache, so the (I, B, n) tensors are read once and nothing of their
    size is written; each inner loop runs over the features and vectorises.
    A load serves several products: W x and W g take two rows of W a pass
    against the four rows, z = Wᵀ h + b four hidden units against the four
    rows, and dW += h gᵀ + (W g) xᵀ two rows of dW against the four rows,
    eight products per load and store of a row of dW. The last rows of a
    range are padded with zero rows whose gradient is zeroed.

    An instance with ``drawn[i]`` true is not read from ``x``: its four rows
    are drawn in place (:func:`draw_rows`) with the dense sampler's key, step
    and ``neg_inv``, the values :func:`fill` would have written, so its batch
    is neither written nor read.
    """
    inst, _, n = x.shape
    m = W.shape[1]
    zero = np.float32(0.0)
    h = np.zeros((4, m), dtype=np.float32)
    dh = np.zeros((4, m), dtype=np.float32)
    g = np.zeros((4, n), dtype=np.float32)
    pad = np.zeros(n, dtype=np.float32)
    xd = np.zeros((4, n), dtype=np.float32)
    batch = x.shape[1]
    for i in range(inst):
        Wi, bi, ci, dWi, dbi = W[i], b[i], c[i], dW[i], db[i]
        total = zero
        for r0 in range(lo, hi, 4):
            rows = min(4, hi - r0)
            if drawn[i]:
                draw_rows(xd, key, step, inst, i, batch, r0, rows, neg_inv[i])
                src, at = xd, 0
            else:
                src, at = x[i], r0
            x0 = src[at]
            x1 = src[at + 1] if rows > 1 else pad
            x2 = src[at + 2] if rows > 2 else pad
            x3 = src[at + 3] if rows > 3 else pad
            xs = (x0, x1, x2, x3)
            _four_rows_times(Wi, x0, x1, x2, x3, h)  # h = W x
            if hidden_relu:
                for rr in range(4):
                    for j in range(m):
                        if h[rr, j] < zero:
                            h[rr, j] = zero
            # z = Wᵀ h + b: four rows and four hidden units a pass
            g0, g1, g2, g3 = g[0], g[1], g[2], g[3]
            g0[:] = bi
            g1[:] = bi
            g2[:] = bi
            g3[:] = bi
            j = 0
            while j + 4 <= m:
                w0, w1, w2, w3 = Wi[j], Wi[j + 1], Wi[j + 2], Wi[j + 3]
                p0, p1, p2, p3 = h[0, j], h[0, j + 1], h[0, j + 2], h[0, j + 3]
                q0, q1, q2, q3 = h[1, j], h[1, j + 1], h[1, j + 2], h[1, j + 3]
                s0, s1, s2, s3 = h[2, j], h[2, j + 1], h[2, j + 2], h[2, j + 3]
                t0, t1, t2, t3 = h[3, j], h[3, j + 1], h[3, j + 2], h[3, j + 3]
                for k in range(n):
                    a0, a1, a2, a3 = w0[k], w1[k], w2[k], w3[k]
                    g0[k] += p0 * a0 + p1 * a1 + p2 * a2 + p3 * a3
                    g1[k] += q0 * a0 + q1 * a1 + q2 * a2 + q3 * a3
                    g2[k] += s0 * a0 + s1 * a1 + s2 * a2 + s3 * a3
                    g3[k] += t0 * a0 + t1 * a1 + t2 * a2 + t3 * a3
                j += 4
            while j < m:
                w0 = Wi[j]
                p0, q0, s0, t0 = h[0, j], h[1, j], h[2, j], h[3, j]
                for k in range(n):
                    g0[k] += p0 * w0[k]
                    g1[k] += q0 * w0[k]
                    g2[k] += s0 * w0[k]
                    g3[k] += t0 * w0[k]
                j += 1
            for rr in range(4):
                gr = g[rr]
                if rr >= rows:
                    gr[:] = zero
                    continue
                # the error, the loss and g
                xr = xs[rr]
                s = zero
                for k in range(n):
                    zk = gr[k]
                    on = zk > zero or not relu
                    e = zk - xr[k] if on else -xr[k]
                    s += ci[k] * e * e
                    gk = ci[k] * e if on else zero
                    gr[k] = gk
                    dbi[k] += gk
                total += s
            g0, g1, g2, g3 = g[0], g[1], g[2], g[3]
            _four_rows_times(Wi, g0, g1, g2, g3, dh)  # W g
            if hidden_relu:
                for rr in range(4):
                    for j in range(m):
                        if h[rr, j] <= zero:
                            dh[rr, j] = zero
            # dW += h gᵀ + (W g) xᵀ: two rows of dW a pass, each load of g and x
            # serving both, eight products per load and store of a row of dW
            j = 0
            while j + 2 <= m:
                d, e = dWi[j], dWi[j + 1]
                p0, p1, p2, p3 = h[0, j], h[1, j], h[2, j], h[3, j]
                q0, q1, q2, q3 = dh[0, j], dh[1, j], dh[2, j], dh[3, j]
                u0, u1, u2, u3 = h[0, j + 1], h[1, j + 1], h[2, j + 1], h[3, j + 1]
                v0, v1, v2, v3 = dh[0, j + 1], dh[1, j + 1], dh[2, j + 1], dh[3, j + 1]
                for k in range(n):
                    a0, a1, a2, a3 = g0[k], g1[k], g2[k], g3[k]
                    y0, y1, y2, y3 = x0[k], x1[k], x2[k], x3[k]
                    d[k] += p0 * a0 + p1 * a1 + p2 * a2 + p3 * a3 + q0 * y0 + q1 * y1 + q2 * y2 + q3 * y3
                    e[k] += u0 * a0 + u1 * a1 + u2 * a2 + u3 * a3 + v0 * y0 + v1 * y1 + v2 * y2 + v3 * y3
                j += 2
            while j < m:
                d = dWi[j]
                p0, p1, p2, p3 = h[0, j], h[1, j], h[2, j], h[3, j]
                q0, q1, q2, q3 = dh[0, j], dh[1, j], dh[2, j], dh[3, j]
                for k in range(n):
                    d[k] += (
                        p0 * g0[k]
                        + p1 * g1[k]
                        + p2 * g2[k]
                        + p3 * g3[k]
                        + q0 * x0[k]
                        + q1 * x1[k]
                        + q2 * x2[k]
                        + q3 * x3[k]
                    )
                j += 1
        loss[i] += total


@njit(inline="always")
def _combine(a: np.ndarray, src: np.ndarray, out: np.ndarray, rows: int, init: np.float32) -> None:  # pragma: no cover - compiled
    """out[r] = init + Σₖ a[k] · src[k, r] for r < rows, four k a pass over out."""
    for r in range(rows):
        out[r] = init
    k = 0
    while k + 4 <= a.shape[0]:
        a0, a1, a2, a3 = a[k], a[k + 1], a[k + 2], a[k + 3]
        s0, s1, s2, s3 = src[k], src[k + 1], src[k + 2], src[k + 3]
        for r in range(rows):
            out[r] += a0 * s0[r] + a1 * s1[r] + a2 * s2[r] + a3 * s3[r]
        k += 4
    while k < a.shape[0]:
        a0, s0 = a[k], src[k]
        for r in range(rows):
            out[r] += a0 * s0[r]
        k += 1


@njit(nogil=True, fastmath=False, cache=True)  # said, or numba gives it its caller's fast-math
def draw_block(
    xt: np.ndarray, key: np.uint64, step: int, inst: int, i: int, batch: int, r0: int, rows: int,
    row_neg: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Draw rows ``r0:r0 + rows`` of dense instance ``i`` of step ``step``
    straight into the (feature, row) block ``xt``: the same counters and the
    same float32 arithmetic as :func:`fill`, so the same values, the rows now
    the vector axis. (Its ``fastmath=False`` is said outright: numba would
    otherwise compile it with :func:`grad_by_row`'s fast-math, and contracting
    1 + u · neg into one fused multiply-add changes the last bit.)"""
    n = row_neg.shape[0]
    pairs = (n + 1) // 2
    one, zero = np.float32(1.0), np.float32(0.0)
    stride = np.uint64(pairs)
    for j in range((n + 1) // 2):
        c0 = np.uint64(((step * inst + i) * batch + r0) * pairs + 1 + j)
        xa = xt[2 * j]
        na = row_neg[2 * j]
        if 2 * j + 1 < n:
            xb = xt[2 * j + 1]
            nb = row_neg[2 * j + 1]
            for r in range(rows):
                z = _mix(key + (c0 + np.uint64(r) * stride) * GAMMA)
                u0 = np.float32(z >> np.uint64(40)) * _U24
                u1 = np.float32((z >> np.uint64(8)) & np.uint64(0xFFFFFF)) * _U24
                a = one + u0 * na
                bb = one + u1 * nb
                xa[r] = a if a > zero else zero
                xb[r] = bb if bb > zero else zero
        else:
            for r in range(rows):
                z = _mix(key + (c0 + np.uint64(r) * stride) * GAMMA)
                a = one + np.float32(z >> np.uint64(40)) * _U24 * na
                xa[r] = a if a > zero else zero


@njit(nogil=True, fastmath={"reassoc", "contract", "nsz"}, cache=True)
def grad_by_row(
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    lo: int,
    hi: int,
    relu: bool,
    hidden_relu: bool,
    dW: np.ndarray,
    db: np.ndarray,
    loss: np.ndarray,
    drawn: np.ndarray,
    key: np.uint64,
    step: int,
    neg_inv: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """:func:`grad` for models with few features, the rows the vector axis.

    The same arguments, shapes and sums as :func:`grad`. Each instance's
    rows go up to :data:`ROWS` at a time, first copied into a (feature, row)
    block; every product is then a loop over the block's rows with the
    weights as scalars: h = W x and W g four features a pass, z = Wᵀ h + b
    four hidden units a pass, and each entry of dW a sum over the rows. A
    feature count too small to fill a vector (the neuron model's n = 10)
    leaves no lanes idle, whatever the number of instances.

    An instance with ``drawn[i]`` true is not read from ``x``: its block is
    drawn in place (:func:`draw_block`) with the dense sampler's key, step
    and ``neg_inv``, the values :func:`fill` would have written. The batch
    of a dense instance is then neither written nor read.
    """
    inst, batch, n = x.shape
    m = W.shape[1]
    zero = np.float32(0.0)
    xt = np.zeros((n, ROWS), dtype=np.float32)
    h = np.zeros((m, ROWS), dtype=np.float32)
    dh = np.zeros((m, ROWS), dtype=np.float32)
    g = np.zeros((n, ROWS), dtype=np.float32)
    for i in range(inst):
        Wi, bi, ci, dWi, dbi = W[i], b[i], c[i], dW[i], db[i]
        total = zero
        for r0 in range(lo, hi, ROWS):
            rows = min(ROWS, hi - r0)
            if drawn[i]:
                draw_block(xt, key, step, inst, i, batch, r0, rows, neg_inv[i])
            else:
                for r in range(rows):
                    xr = x[i, r0 + r]
                    for k in range(n):
                        xt[k, r] = xr[k]
            for j in range(m):  # h = W x
                hj = h[j]
                _combine(Wi[j], xt, hj, rows, zero)
                if hidden_relu:
                    for r in range(rows):
                        if hj[r] < zero:
                            hj[r] = zero
            for k in range(n):  # z = Wᵀ h + b, then the error, the loss and g
                gk, xk, ck = g[k], xt[k], ci[k]
                _combine(Wi[:, k], h, gk, rows, bi[k])
                s = sg = zero
                for r in range(rows):
                    zk = gk[r]
                    on = zk > zero or not relu
                    e = zk - xk[r] if on else -xk[r]
                    s += e * e
                    v = ck * e if on else zero
                    gk[r] = v
                    sg += v
                total += ck * s
                dbi[k] += sg
            for j in range(m):  # W g, masked where h = 0 for the neuron model
                dj = dh[j]
                _combine(Wi[j], g, dj, rows, zero)
                if hidden_relu:
                    hj = h[j]
                    for r in range(rows):
                        if hj[r] <= zero:
                            dj[r] = zero
            for j in range(m):  # dW += h gᵀ + (W g) xᵀ
                hj, dj, dWj = h[j], dh[j], dWi[j]
                for k in range(n):
                    gk, xk = g[k], xt[k]
                    acc = zero
                    for r in range(rows):
                        acc += hj[r] * gk[r] + dj[r] * xk[r]
                    dWj[k] += acc
        loss[i] += total
