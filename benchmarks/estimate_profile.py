"""How long a profile's experiments would train, from a short measured run.

For a profile too big to build on the machine at hand (``paper`` on 2 CPU
cores), runs every concept's experiment with that profile's settings, but
with each sweep that goes through ``course.engine.train`` cut to ``--steps``
steps, timed. A sweep's full time is projected as its measured time per step
times the steps it would train; what runs outside the engine (closed-form
optimisations, rotations, analysis) is timed as it is and added unscaled.
An experiment that several concepts share (as the build's cache does) is
counted once. Then the concepts are laid out on the build's workers
(costliest first, as ``course build`` does) to project the training part of
a cold build. Nothing
is cached or written; the results of the cut sweeps are thrown away.

Like the build's workers, each experiment trains on ``--threads`` torch
threads (default 1). Prints a table (one row a concept: sweeps, steps, ms
per step (the mean over its sweeps), projected seconds) and, last, one line::

    profile=paper device=cpu training_min=... makespan_min=...

Run: python benchmarks/estimate_profile.py [--profile paper] [--device cpu|cuda] [--steps 40]
     [--jobs 2] [--threads 1] [--only SLUG ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import cpu_model  # noqa: E402

from course import engine, pipeline, plugins, profiles  # noqa: E402


@dataclasses.dataclass
class Sweep:
    instances: int
    steps: int
    measured_steps: int
    seconds: float  # the whole cut sweep
    evaluation: float  # of which the final evaluation (not scaled with the steps)

    @property
    def per_step(self) -> float:
        return max(0.0, self.seconds - self.evaluation) / self.measured_steps

    @property
    def projected(self) -> float:
        return self.per_step * self.steps + self.evaluation


def measure(reg: Any, settings: dict[str, Any], device: str, cut: int) -> tuple[list[Sweep], float]:
    """The concept's sweeps, each trained for ``cut`` steps and timed, and the
    seconds its experiment spent outside them."""
    sweeps: list[Sweep] = []
    real_train, real_evaluate = engine.train, engine.evaluate
    evaluating = [0.0]

    def timed_evaluate(*args: Any, **kwargs: Any) -> torch.Tensor:
        start = time.perf_counter()
        out = real_evaluate(*args, **kwargs)
        evaluating[0] += time.perf_counter() - start
        return out

    def cut_train(cfg: engine.ToyConfig, *args: Any, **kwargs: Any) -> engine.TrainResult:
        short = dataclasses.replace(cfg, steps=min(cfg.steps, cut), log_every=max(1, min(cfg.steps, cut)))
        evaluating[0] = 0.0
        start = time.perf_counter()
        result = real_train(short, *args, **kwargs)
        sweeps.append(
            Sweep(cfg.n_levels * cfg.n_seeds, cfg.steps, short.steps, time.perf_counter() - start, evaluating[0])
        )
        return result

    # the plugins import train from course.engine when they run; train calls evaluate by name
    engine.train, engine.evaluate = cut_train, timed_evaluate
    try:
        start = time.perf_counter()
        reg.concept.run(settings, seed=0, device=device, progress=None)
        total = time.perf_counter() - start
    finally:
        engine.train, engine.evaluate = real_train, real_evaluate
    return sweeps, max(0.0, total - sum(s.seconds for s in sweeps))


def makespan(durations: list[float], workers: int) -> float:
    """The finishing time of ``durations`` laid out costliest first on ``workers``."""
    loads = [0.0] * max(1, workers)
    for d in sorted(durations, reverse=True):
        heapq.heapreplace(loads, loads[0] + d)
    return max(loads)


def hours(seconds: float) -> str:
    """``1 h 05 min``, ``12.5 min`` or ``40 s``."""
    if seconds >= 3600:
        return f"{int(seconds // 3600)} h {round(seconds % 3600 / 60):02d} min"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="paper", help="a build profile (default paper)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--steps", type=int, default=40, help="steps each sweep is cut to (default 40)")
    parser.add_argument("--jobs", type=int, default=2, help="the build's workers (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per experiment (default 1)")
    parser.add_argument("--only", nargs="*", default=None, help="only these concepts (slugs)")
    args = parser.parse_args()
    try:
        profile = profiles.check(args.profile)
        device = engine.check_device(args.device)
    except ValueError as exc:
        parser.error(str(exc))
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    torch.set_num_threads(max(1, args.threads))
    # compile (or load) the engine's kernels before anything is timed
    tiny = engine.ToyConfig.sweep(8, 2, density=[1.0, 0.01], steps=2, batch_size=16, eval_batch=16)
    engine.train(tiny, device=device)
    course = plugins.load()
    found = [r for r in course.concepts if r.concept.experiment_module() is not None]
    if args.only:
        found = [r for r in found if r.concept.slug in args.only]
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; CPU: {cpu_model()}; torch threads "
        f"{torch.get_num_threads()}; device {device}; profile {profile}; each sweep cut to {args.steps} steps"
    )
    print(
        f"{'concept':<28} {'sweeps':>6} {'instances':>9} {'steps':>7} {'ms/step':>9} {'other s':>8} {'projected':>14}"
    )
    totals: list[float] = []
    trained: dict[tuple[str, str], str] = {}  # an experiment shared by concepts trains once in a build
    for reg in found:
        settings = pipeline.settings_of(reg, profile=profile)
        key = (reg.concept.experiment_group(), json.dumps(settings, sort_keys=True))
        if key in trained:
            print(f"{reg.concept.slug:<28} shares the experiment of {trained[key]}: trained once", flush=True)
            continue
        trained[key] = reg.concept.slug
        sweeps, other = measure(reg, settings, device, args.steps)
        projected = sum(s.projected for s in sweeps) + other
        totals.append(projected)
        steps = sum(s.steps for s in sweeps)
        per_step = 1e3 * sum(s.per_step for s in sweeps) / max(1, len(sweeps))
        print(
            f"{reg.concept.slug:<28} {len(sweeps):6d} {sum(s.instances for s in sweeps):9d} {steps:7d} "
            f"{per_step:9.1f} {other:8.1f} {projected:12.0f} s",
            flush=True,
        )
    span = makespan(totals, args.jobs)
    print(
        f"training: {hours(sum(totals))} of work; on {args.jobs} workers, costliest first: {hours(span)} "
        "(rendering the videos and building the pages come on top, as in a default build)"
    )
    print(f"profile={profile} device={device} training_min={sum(totals) / 60:.1f} makespan_min={span / 60:.1f}")


if __name__ == "__main__":
    main()
