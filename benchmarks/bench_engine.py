"""Speed of the toy-model engine against a plain reference implementation.

Trains the same sweep (n = 200 features, m = 20 hidden, 20 density levels,
batch 1024, Adam) with course.engine.train and with a straightforward
reference loop, measures this machine's large float32 matmul throughput in
the same run, and prints steps per second for each. The last line is::

    speedup_vs_reference=X.XX matmul_fraction=Y.YY

where matmul_fraction is the engine's achieved matrix-multiply FLOP/s during
training (5 batched matmuls of 2·I·B·n·m FLOP per step) over the measured
large-matmul FLOP/s.

Run: python benchmarks/bench_engine.py [--steps N] [--threads T]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from course.engine import ToyConfig, train

N_FEATURES, N_HIDDEN, N_LEVELS, BATCH = 200, 20, 20, 1024


def densities() -> np.ndarray:
    return 20.0 ** -np.linspace(0, 1, N_LEVELS)


def reference_train(steps: int, seed: int = 0) -> float:
    """The straightforward implementation: einsum over (batch, instance,
    feature) tensors, two full-size random draws per step, autograd, Adam.
    Returns the final mean loss (to keep the work honest)."""
    gen = torch.Generator().manual_seed(seed)
    inst, n, m = N_LEVELS, N_FEATURES, N_HIDDEN
    prob = torch.tensor(densities(), dtype=torch.float32)[None, :, None]  # (1, I, 1)
    importance = torch.ones(1, 1, n)
    W = torch.nn.Parameter(torch.randn(inst, m, n, generator=gen) * math.sqrt(2 / (m + n)))
    b = torch.nn.Parameter(torch.zeros(inst, n))
    opt = torch.optim.Adam([W, b], lr=1e-3)
    loss = torch.tensor(0.0)
    for _ in range(steps):
        feat = torch.rand(BATCH, inst, n, generator=gen)
        seeds = torch.rand(BATCH, inst, n, generator=gen)
        x = torch.where(seeds <= prob, feat, torch.zeros(()))
        h = torch.einsum("bif,ihf->bih", x, W)
        out = torch.relu(torch.einsum("bih,ihf->bif", h, W) + b)
        loss = (importance * (x - out) ** 2).mean(dim=(0, 2)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss.detach()) / inst


def engine_config(steps: int) -> ToyConfig:
    return ToyConfig.sweep(
        N_FEATURES, N_HIDDEN, importance=1.0, density=densities(),
        steps=steps, batch_size=BATCH, log_every=max(1, steps), eval_batch=BATCH,
    )


def matmul_flops(size: int = 2048, repeats: int = 10) -> float:
    """Achieved FLOP/s of a large square float32 matmul on this machine."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    steps = args.steps
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"n={N_FEATURES} m={N_HIDDEN} instances={N_LEVELS} batch={BATCH} steps={steps}")

    # warm up both paths once, then time them back to back
    reference_train(5)
    train(engine_config(5))
    ref_s = timed(reference_train, steps)
    eng_s = timed(train, engine_config(steps))
    peak = matmul_flops()

    step_flops = 5 * 2 * N_LEVELS * BATCH * N_FEATURES * N_HIDDEN
    ref_sps, eng_sps = steps / ref_s, steps / eng_s
    print(f"reference: {ref_sps:8.2f} steps/s  ({1000 / ref_sps:7.2f} ms/step)")
    print(f"engine:    {eng_sps:8.2f} steps/s  ({1000 / eng_sps:7.2f} ms/step)")
    print(f"large matmul: {peak / 1e9:.1f} GFLOP/s; engine training matmuls: "
          f"{step_flops * eng_sps / 1e9:.1f} GFLOP/s")
    print(f"speedup_vs_reference={ref_s / eng_s:.2f} matmul_fraction={step_flops * eng_sps / peak:.2f}")


if __name__ == "__main__":
    main()
