"""Speed of the toy-model engine against a plain reference implementation.

Trains the same sweep (n = 200 features, m = 20 hidden, 20 density levels,
batch 1024, Adam) with course.engine.train and with a straightforward
reference loop, on one device, alternating the two ``--rounds`` times (the
median of each side is reported, so that a passing load slows both alike),
measures that device's large float32 matmul throughput in the same run, and
prints steps per second for each. Then:

- on CPU, the step's gradient alone, from the compiled kernel the CPU path
  uses (course.kernels.grad, or grad_by_row for few features) and from
  torch's batched products (the path of other devices), on the benchmark's
  batch and on the neuron sweep's; then the two compiled kernels side by
  side from n = 5 to n = 200 (their crossover sets
  ``course.engine.BY_ROW_BELOW``);
- the data sampler at the paper's densities (1 down to 0.001): on CPU the
  compiled SplitMix64 sampler drawing one uniform per entry against drawing
  only the active entries (the crossover sets ``course.engine.SPARSE_BELOW``),
  and the torch generator the GPU path uses;
- a few hundred instances of the paper's neuron model (n = 10, m = 5,
  8 densities x ``--neuron-seeds`` models, batch 128) against its reference;
- on CUDA, the engine with its step captured in a CUDA graph.

The first lines say on which machine it ran (CPU model, threads, BLAS, GPU).
The last line is::

    speedup_vs_reference=X.XX matmul_fraction=Y.YY

where matmul_fraction is the rate at which the engine's training does the
step's matrix-multiply work (5 products of 2·I·B·n·m FLOP per step, whether
BLAS or the compiled kernel computes them) over the measured large-matmul
FLOP/s (the best of three timed blocks). Beside it, the same five products
alone through torch's BLAS at the benchmark's shapes, with nothing else of
the step: how near that device's BLAS comes to its large-matmul rate at an
inner dimension of m = 20. Timings only: nothing here asserts a
speed.

Run: python benchmarks/bench_engine.py [--device cpu|cuda] [--steps N] [--rounds R] [--threads T] [--quick]
"""

from __future__ import annotations

import argparse
import math
import platform
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from course import engine
from course.engine import ToyConfig, check_device, train

N_FEATURES, N_HIDDEN, N_LEVELS, BATCH = 200, 20, 20, 1024
#: the densities 1 − S the paper's figures sweep (the neuron computation list, 1 to 0.001)
PAPER_DENSITIES = (1.0, 0.3, 0.2, 0.15, 0.1, 0.05, 0.03, 0.01, 0.003, 0.001)
#: the neuron model (ARENA's NeuronModel setting of the paper's privileged-basis section)
NEURON_N, NEURON_M, NEURON_BATCH = 10, 5, 128
NEURON_DENSITIES = (0.75, 0.35, 0.15, 0.12, 0.1, 0.06, 0.02, 0.01)


def densities() -> np.ndarray:
    return 20.0 ** -np.linspace(0, 1, N_LEVELS)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


# ------------------------------------------------------------------ the machine


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        if found:
            return found.group(1).strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info() -> str:
    """The BLAS torch was built with, and the thread pools threadpoolctl sees (if installed)."""
    found = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    text = f"torch BLAS {found.group(1) if found else '?'}"
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return text + " (threadpoolctl not installed)"
    pools = [f"{p.get('internal_api')} {p.get('version')} x{p.get('num_threads')}" for p in threadpool_info()]
    return text + "; thread pools: " + (", ".join(pools) or "none")


def load() -> str:
    try:
        one, five, _ = (float(v) for v in Path("/proc/loadavg").read_text().split()[:3])
        return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"
    except (OSError, ValueError):
        return "load average unknown"


def describe(device: str) -> str:
    import os

    lines = [
        f"torch {torch.__version__}, numpy {np.__version__}, device {device}",
        f"CPU: {cpu_model()}; {os.cpu_count()} logical CPUs; torch threads {torch.get_num_threads()}; {blas_info()}",
        load(),
    ]
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(device)
        lines.append(f"GPU: {props.name}, {props.total_memory / 2**30:.0f} GiB, CUDA {torch.version.cuda}")
    return "\n".join(lines)


# ------------------------------------------------------------------ reference


def _reference(steps: int, prob: torch.Tensor, importance: torch.Tensor, m: int, batch: int, lr: float,
               hidden_relu: bool, seed: int, device: str) -> float:
    """The straightforward implementation: einsum over (batch, instance,
    feature) tensors, two full-size random draws per step, autograd, Adam.
    ``prob`` is each instance's density (instances,), ``importance`` each
    feature's (n,). Returns the final mean loss (to keep the work honest)."""
    gen = torch.Generator(device).manual_seed(seed)
    inst, n = prob.numel(), importance.numel()
    p = prob.to(device, torch.float32)[None, :, None]  # (1, I, 1)
    imp = importance.to(device, torch.float32)[None, None, :]
    W = torch.nn.Parameter(torch.randn(inst, m, n, generator=gen, device=device) * math.sqrt(2 / (m + n)))
    b = torch.nn.Parameter(torch.zeros(inst, n, device=device))
    opt = torch.optim.Adam([W, b], lr=lr)
    loss = torch.tensor(0.0)
    zero = torch.zeros((), device=device)
    for _ in range(steps):
        feat = torch.rand(batch, inst, n, generator=gen, device=device)
        seeds = torch.rand(batch, inst, n, generator=gen, device=device)
        x = torch.where(seeds <= p, feat, zero)
        h = torch.einsum("bif,ihf->bih", x, W)
        if hidden_relu:
            h = torch.relu(h)
        out = torch.relu(torch.einsum("bih,ihf->bif", h, W) + b)
        loss = (imp * (x - out) ** 2).mean(dim=(0, 2)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss.detach()) / inst


def reference_train(steps: int, seed: int = 0, device: str = "cpu") -> float:
    """The reference on the benchmark's sweep (the ReLU-output model)."""
    return _reference(steps, torch.tensor(densities()), torch.ones(N_FEATURES), N_HIDDEN, BATCH, 1e-3,
                      hidden_relu=False, seed=seed, device=device)


def reference_neuron(steps: int, n_seeds: int, seed: int = 0, device: str = "cpu") -> float:
    """The reference on the neuron model h = ReLU(W x), x' = ReLU(Wᵀ h + b)
    (as ARENA's NeuronModel), ``n_seeds`` models per density."""
    prob = torch.tensor(NEURON_DENSITIES).repeat_interleave(n_seeds)
    importance = 0.75 ** torch.arange(NEURON_N, dtype=torch.float32)
    return _reference(steps, prob, importance, NEURON_M, NEURON_BATCH, 5e-3,
                      hidden_relu=True, seed=seed, device=device)


def engine_config(steps: int) -> ToyConfig:
    return ToyConfig.sweep(
        N_FEATURES, N_HIDDEN, importance=1.0, density=densities(),
        steps=steps, batch_size=BATCH, log_every=max(1, steps), eval_batch=BATCH,
    )


def neuron_config(steps: int, n_seeds: int) -> ToyConfig:
    return ToyConfig.sweep(
        NEURON_N, NEURON_M, importance=0.75 ** np.arange(NEURON_N), density=list(NEURON_DENSITIES),
        model="neuron", n_seeds=n_seeds, steps=steps, batch_size=NEURON_BATCH, lr=5e-3,
        log_every=max(1, steps), eval_batch=NEURON_BATCH,
    )


# ------------------------------------------------------------------ timing


def per_call(device: str, fn: Callable[[], Any], repeats: int, blocks: int) -> float:
    """Seconds one call of ``fn`` takes on ``device``: after one untimed call,
    the best of ``blocks`` timed blocks of ``repeats`` calls."""
    fn()
    best = math.inf
    for _ in range(blocks):
        sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        sync(device)
        best = min(best, time.perf_counter() - start)
    return best / repeats


def matmul_flops(device: str, size: int = 2048, repeats: int = 10, blocks: int = 3) -> float:
    """Achieved FLOP/s of a large square float32 matmul on ``device``: the
    best of ``blocks`` timed blocks of ``repeats`` products."""
    if device.startswith("cuda"):
        size, repeats = 8192, 20
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    return 2 * size**3 / per_call(device, lambda: a @ b, repeats, blocks)


def products_flops(device: str, repeats: int = 20, blocks: int = 5) -> float:
    """Achieved FLOP/s of the step's five batched products alone, at the
    benchmark's shapes (I = N_LEVELS, B = BATCH, n = N_FEATURES, m = N_HIDDEN),
    through torch's BLAS: h = x Wᵀ, z = h W, W g = g Wᵀ, hᵀ g and (W g)ᵀ x.
    Over the large-matmul rate, it says what fraction BLAS itself reaches
    on the step's shapes, with no draw, no elementwise pass and no Adam
    around the products. The best of ``blocks`` timed blocks of each."""
    i, b, n, m = N_LEVELS, BATCH, N_FEATURES, N_HIDDEN
    x, g = torch.rand(i, b, n, device=device), torch.rand(i, b, n, device=device)
    W, h = torch.rand(i, m, n, device=device), torch.rand(i, b, m, device=device)
    # h stands in for W g in the last product: the same shape, the same work
    products = [lambda: torch.bmm(x, W.transpose(1, 2)), lambda: torch.bmm(h, W),
                lambda: torch.bmm(g, W.transpose(1, 2)), lambda: torch.bmm(h.transpose(1, 2), g),
                lambda: torch.bmm(h.transpose(1, 2), x)]
    total = sum(per_call(device, product, repeats, blocks) for product in products)
    return 5 * 2 * i * b * n * m / total


def timed(on: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    """Seconds ``fn(*args, **kwargs)`` takes on device ``on``."""
    sync(on)
    start = time.perf_counter()
    fn(*args, **kwargs)
    sync(on)
    return time.perf_counter() - start


def per_draw(draws: dict[str, Callable[[], torch.Tensor]], device: str, repeats: int, rounds: int = 3) -> dict[str, float]:
    """Seconds per call of each of ``draws``: the best of ``repeats`` calls,
    interleaved over ``rounds`` so that a loaded machine slows them alike."""
    for draw in draws.values():
        draw()
    best = dict.fromkeys(draws, math.inf)
    for _ in range(rounds):
        for name, draw in draws.items():
            for _ in range(repeats):
                sync(device)
                start = time.perf_counter()
                draw()
                sync(device)
                best[name] = min(best[name], time.perf_counter() - start)
    return best


def gradient_inputs(cfg: ToyConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                                             list[tuple[int, int]]]:
    """One of ``cfg``'s batches and what a gradient of it takes: (importance,
    x, W, b, the sampler's lanes of rows), W at its initial scale."""
    imp_np, prob_np = cfg.arrays()
    inst, n, m, batch = cfg.n_levels * cfg.n_seeds, cfg.n_features, cfg.n_hidden, cfg.batch_size
    imp = torch.tensor(imp_np, dtype=torch.float32).repeat_interleave(cfg.n_seeds, 0).unsqueeze(1)
    prob = torch.tensor(prob_np, dtype=torch.float32).repeat_interleave(cfg.n_seeds, 0).unsqueeze(1)
    sampler = engine._Sampler(cfg, prob, batch, torch.Generator().manual_seed(0), "splitmix")
    x = sampler().clone()
    W = torch.randn(inst, m, n, generator=torch.Generator().manual_seed(1)) * math.sqrt(2 / (m + n))
    return imp, x, W, torch.zeros(inst, n), sampler.bounds


def time_gradients(cfg: ToyConfig, repeats: int) -> tuple[dict[str, float], int]:
    """Seconds per gradient of one of ``cfg``'s batches from the compiled
    kernel and from torch's products, and the threads train() gives them."""
    inst, n, m, batch = cfg.n_levels * cfg.n_seeds, cfg.n_features, cfg.n_hidden, cfg.batch_size
    imp, x, W, b, bounds = gradient_inputs(cfg)
    hidden = cfg.model == "neuron"
    with engine._threads_for(inst * batch * n):
        compiled = engine._CompiledGrad(inst, batch, n, m, imp, True, hidden, bounds)
        products = engine._ManualGrad(inst, batch, n, m, imp, True, hidden)

        def run_compiled() -> torch.Tensor:
            with engine._torch_threads(1):  # as in train(): the lanes on threads, torch on one
                return compiled(W, b, x, False)[0]

        return (per_draw({"compiled": run_compiled, "products": lambda: products(W, b, x, False)[0]}, "cpu", repeats),
                torch.get_num_threads())


#: (features, hidden units) of the kernel crossover's cases, 12 instances x 1024 rows each
CROSSOVER_SHAPES = ((5, 2), (10, 5), (20, 5), (48, 12), (64, 16), (100, 10), (200, 20))


def kernel_crossover(repeats: int) -> None:
    """ms per gradient from each compiled kernel (by row, by feature) across
    feature counts: where one overtakes the other sets ``course.engine.BY_ROW_BELOW``."""
    from course import kernels

    print(f"\ncompiled kernels: ms per gradient of 12 x 1024 rows, best of {repeats} x 3 interleaved "
          f"(chosen: the one train() uses; BY_ROW_BELOW = {engine.BY_ROW_BELOW})")
    print(f"{'n':>5} {'m':>4} {'by row':>8} {'by feature':>11}  chosen")
    for n, m in CROSSOVER_SHAPES:
        cfg = ToyConfig.sweep(n, m, density=[1.0, 0.3, 0.1, 0.03] * 3, batch_size=BATCH)
        imp, x, W, b, bounds = gradient_inputs(cfg)
        draws: dict[str, Callable[[], torch.Tensor]] = {}
        for name, kernel in (("row", kernels.grad_by_row), ("feature", kernels.grad)):
            grad = engine._CompiledGrad(12, BATCH, n, m, imp, True, False, bounds)
            grad.kernel = kernel

            def run(grad: Any = grad, W: torch.Tensor = W, b: torch.Tensor = b, x: torch.Tensor = x) -> torch.Tensor:
                with engine._torch_threads(1):
                    return grad(W, b, x, False)[0]

            draws[name] = run
        times = per_draw(draws, "cpu", repeats)
        chosen = "by row" if n < engine.BY_ROW_BELOW else "by feature"
        print(f"{n:5d} {m:4d} {1e3 * times['row']:8.3f} {1e3 * times['feature']:11.3f}  {chosen}")


def gradient_table(repeats: int, neuron_seeds: int) -> None:
    """ms per gradient of one batch (no draw, no Adam), from the compiled
    kernel the CPU path uses and from torch's batched products."""
    print(f"\ngradient: ms per batch (no draw, no Adam), best of {repeats} x 3 interleaved")
    print(f"{'case':<34} {'compiled':>9} {'products':>9}")
    cases = (("sweep n=200 m=20, 20 x 1024", engine_config(1)),
             (f"neuron n=10 m=5, {len(NEURON_DENSITIES) * neuron_seeds} x {NEURON_BATCH}",
              neuron_config(1, neuron_seeds)))
    for label, cfg in cases:
        times, threads = time_gradients(cfg, repeats)
        print(f"{label:<34} {1e3 * times['compiled']:9.2f} {1e3 * times['products']:9.2f}"
              f"  ({threads} thread{'s' if threads > 1 else ''})")


def sampler_sweep(device: str, repeats: int) -> None:
    """ms per (20 instances x 1024 x 200) draw at each of the paper's densities."""
    print(f"\nsampler: ms per draw of {N_LEVELS} x {BATCH} x {N_FEATURES} entries at one density, best of "
          f"{repeats} x 3 interleaved (chosen: the path train() uses; SPARSE_BELOW = {engine.SPARSE_BELOW})")
    cpu = device == "cpu"
    head = f"{'density':>8} " + (f"{'dense':>8} {'sparse':>8} " if cpu else "") + f"{'torch':>8}"
    print(head + ("  chosen" if cpu else ""))
    saved = engine.SPARSE_BELOW
    crossover = None
    try:
        for p in PAPER_DENSITIES:
            cfg = ToyConfig.sweep(N_FEATURES, N_HIDDEN, density=[p] * N_LEVELS)
            prob = torch.full((N_LEVELS, 1, N_FEATURES), p, device=device)
            draws: dict[str, Callable[[], torch.Tensor]] = {}
            if cpu:
                for name, threshold in (("dense", 0.0), ("sparse", 2.0)):
                    engine.SPARSE_BELOW = threshold  # read when the sampler is made
                    draws[name] = engine._Sampler(cfg, prob, BATCH, torch.Generator().manual_seed(0), "splitmix")
                engine.SPARSE_BELOW = saved
            draws["torch"] = engine._Sampler(cfg, prob, BATCH, torch.Generator(device).manual_seed(0), "torch")
            times = per_draw(draws, device, repeats)
            row = f"{p:8.3f} "
            if cpu:
                row += f"{1e3 * times['dense']:8.2f} {1e3 * times['sparse']:8.2f} "
                if times["sparse"] < times["dense"] and (crossover is None or p > crossover):
                    crossover = p
            row += f"{1e3 * times['torch']:8.2f}"
            if cpu:
                row += "  " + ("sparse" if p < saved else "dense")
            print(row)
    finally:
        engine.SPARSE_BELOW = saved
    if cpu:
        print(f"sparse draws faster at densities <= {crossover} of those measured" if crossover
              else "sparse draws were not faster at any density measured")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--steps", type=int, default=200, help="training steps per timed run (default 200)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="timed runs of each side, alternating; the median is reported (default 3)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--neuron-seeds", type=int, default=40,
                        help=f"models per density of the neuron case ({len(NEURON_DENSITIES)} densities; default 40)")
    parser.add_argument("--quick", action="store_true", help="a short run (20 steps, fewer repeats) to check the script")
    args = parser.parse_args()
    try:
        device = check_device(args.device)
    except ValueError as exc:
        parser.error(str(exc))
    if args.threads:
        torch.set_num_threads(args.threads)
    steps = 20 if args.quick else args.steps
    repeats = 2 if args.quick else 5
    cuda = device.startswith("cuda")
    print(describe(device))
    print(f"sweep: n={N_FEATURES} m={N_HIDDEN} instances={N_LEVELS} batch={BATCH} steps={steps}")

    # warm up both paths once, then time them back to back
    reference_train(5, device=device)
    train(engine_config(5), device=device)
    rounds = 1 if args.quick else max(1, args.rounds)
    ref_runs, eng_runs = [], []
    for _ in range(rounds):
        ref_runs.append(timed(device, reference_train, steps, device=device))
        eng_runs.append(timed(device, train, engine_config(steps), device=device))
    ref_s, eng_s = statistics.median(ref_runs), statistics.median(eng_runs)
    graph_s = None
    if cuda:
        train(engine_config(5), device=device, cuda_graph=True)
        graph_s = timed(device, train, engine_config(steps), device=device, cuda_graph=True)
    peak = matmul_flops(device)
    ceiling = products_flops(device)

    step_flops = 5 * 2 * N_LEVELS * BATCH * N_FEATURES * N_HIDDEN
    ref_sps, eng_sps = steps / ref_s, steps / eng_s
    spread = (f"; {rounds} runs each, ms/step {' '.join(f'{1000 * t / steps:.1f}' for t in ref_runs)} "
              f"and {' '.join(f'{1000 * t / steps:.1f}' for t in eng_runs)}") if rounds > 1 else ""
    median = ", median" if rounds > 1 else ""
    print(f"reference: {ref_sps:8.2f} steps/s  ({1000 / ref_sps:7.2f} ms/step{median})")
    print(f"engine:    {eng_sps:8.2f} steps/s  ({1000 / eng_sps:7.2f} ms/step{median}){spread}")
    if graph_s is not None:
        print(f"engine, CUDA graph: {steps / graph_s:8.2f} steps/s  ({1000 * graph_s / steps:7.2f} ms/step)")
    print(f"large matmul: {peak / 1e9:.1f} GFLOP/s; engine training matmuls: "
          f"{step_flops * eng_sps / 1e9:.1f} GFLOP/s")
    print(f"the step's five products alone (torch's BLAS, the benchmark's shapes): {ceiling / 1e9:.1f} GFLOP/s, "
          f"a fraction of {ceiling / peak:.2f} with nothing else of the step")

    if not cuda:
        gradient_table(repeats, args.neuron_seeds)
        kernel_crossover(repeats)
    sampler_sweep(device, repeats)

    k = args.neuron_seeds
    inst = len(NEURON_DENSITIES) * k
    print(f"\nneuron model: n={NEURON_N} m={NEURON_M}, {len(NEURON_DENSITIES)} densities x {k} models "
          f"= {inst} instances, batch {NEURON_BATCH}, steps={steps}")
    reference_neuron(5, k, device=device)
    train(neuron_config(5, k), device=device)
    nref_s = timed(device, reference_neuron, steps, k, device=device)
    neng_s = timed(device, train, neuron_config(steps, k), device=device)
    print(f"reference: {steps / nref_s:8.2f} steps/s  ({1000 * nref_s / steps:7.2f} ms/step)")
    print(f"engine:    {steps / neng_s:8.2f} steps/s  ({1000 * neng_s / steps:7.2f} ms/step)  "
          f"speedup {nref_s / neng_s:.2f}; 3000 steps ≈ {3000 * neng_s / steps:.1f} s")
    if cuda:
        train(neuron_config(5, k), device=device, cuda_graph=True)
        ngraph_s = timed(device, train, neuron_config(steps, k), device=device, cuda_graph=True)
        print(f"engine, CUDA graph: {steps / ngraph_s:8.2f} steps/s  ({1000 * ngraph_s / steps:7.2f} ms/step)")

    print(f"\nspeedup_vs_reference={ref_s / eng_s:.2f} matmul_fraction={step_flops * eng_sps / peak:.2f}")


if __name__ == "__main__":
    main()
