"""How long the videos take to render: each scene at each quality, and
`course render --all --jobs N` in parallel.

Part 1 (per scene): for each concept with an animation, train its experiment
once (quick settings with --quick), then render its scene at each quality of
--qualities into a temporary folder, timing the render alone (not the
training). With --sample K a quality renders only the scene's first K
animations (Manim's ``upto_animation_number``), drawing its frames without
encoding them (a lower bound): enough to measure seconds of render per second
of video at 4k on a small machine; the row then shows the estimate for the
whole video beside the sample.

Part 2 (--parallel N): `course render --all --jobs N` in a subprocess, with a
cache folder of its own in which every experiment has already been trained
(a first, untimed `course render --all` at --parallel-quality fills it, on
the full settings: this takes the better part of a cold build), then with
the renders removed before each timed run, so it renders every video and
trains nothing; the same with --jobs 1 for comparison.

With --profile (part 3) each scene renders once more at the lowest quality
of --qualities under cProfile, and a row says where the render's time went:
drawing frames with cairo (``Camera.capture_mobjects``), copying mobjects
(``Mobject.copy``: Transform, FadeIn and Create copy what they animate),
typesetting TeX (``tex_to_svg_file``: latex and dvisvgm), waiting for the
threads that encode the partial movies (they run beside the drawing), and
the rest (the scene's own code, updaters, interpolation). cProfile slows
Python code more than C, so the shares are a guide, not a measurement of
the unprofiled render.

Prints one row per (scene, quality) and, last, one line per part::

    render slug=... quality=... video_s=... render_s=... per_video_s=...
    parallel jobs=N quality=... serial_s=... parallel_s=... speedup=...
    profile slug=... quality=... total_s=... drawing=..% copying=..% tex=..% encoding=..% rest=..%

Run: python benchmarks/bench_render.py [--slug superposition ...] [--qualities low,high,4k]
     [--sample K] [--quick] [--parallel N] [--parallel-quality low] [--profile]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _render_once(anim: Any, out: Path, slug: str, quality: str, sample: int | None) -> tuple[float, float]:
    """(wall seconds, seconds of video) of one render of ``anim``."""
    from course import render

    t0 = time.perf_counter()
    if sample is None:
        done = render.render(anim, out, slug, quality=quality)
        wall = time.perf_counter() - t0
        import av

        with av.open(str(done.video)) as c:
            seconds = float(c.duration or 0) / 1_000_000
        return wall, seconds
    from manim import tempconfig

    render._silence_manim()
    with tempconfig(render._config(out, slug, quality, "mp4", upto_animation_number=sample, write_to_movie=False)):
        scene = anim.scene()
        scene.render()
        seconds = float(scene.renderer.time)
    return time.perf_counter() - t0, seconds


#: the parts of a render --profile reports: (name, file suffix, function), each
#: timed by its cumulative time (they do not call one another)
PARTS = (
    ("drawing", "manim/camera/camera.py", "capture_mobjects"),
    ("copying", "manim/mobject/mobject.py", "copy"),
    ("tex", "manim/utils/tex_file_writing.py", "tex_to_svg_file"),
    ("encoding", "threading.py", "_wait_for_tstate_lock"),  # joining the partial movies' encoder threads
)


def _profile_once(anim: Any, out: Path, slug: str, quality: str) -> dict[str, Any]:
    """One render of ``anim`` under cProfile: its total seconds and each part's share."""
    import cProfile
    import pstats

    from course import render

    prof = cProfile.Profile()
    prof.enable()
    render.render(anim, out, slug, quality=quality)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = max((cum for (_, _, name), (_, _, _, cum, _) in stats.items() if name == "render"), default=0.0)
    row: dict[str, Any] = {"slug": slug, "quality": quality, "total_s": round(total, 2)}
    used = 0.0
    for part, suffix, func in PARTS:
        cum = sum(v[3] for (file, _, name), v in stats.items() if name == func and file.endswith(suffix))
        used += cum
        row[part] = f"{100 * cum / total:.0f}%" if total else "?"
    row["rest"] = f"{100 * max(0.0, total - used) / total:.0f}%" if total else "?"
    return row


def per_scene(slugs: list[str], qualities: list[str], sample: int | None, quick: bool,
              profile: bool = False) -> list[dict[str, Any]]:
    """Render every scene of ``slugs`` at every quality; one row per render."""
    from course.plugins import load

    course = load()
    regs = [course.get(s) for s in slugs] if slugs else course.concepts
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        for reg in regs:
            c = reg.concept
            result = c.run(c.settings(quick=quick), seed=0)
            metrics = c.metrics(result)
            anim = c.animation(result, metrics)
            if anim is None:
                continue
            full_seconds = None
            for q in qualities:
                wall, seconds = _render_once(anim, Path(tmp) / f"{c.slug}-{q}", c.slug, q, sample if q == "4k" else None)
                if full_seconds is None and not (sample and q == "4k"):
                    full_seconds = seconds
                row = {"slug": c.slug, "quality": q, "video_s": round(seconds, 2), "render_s": round(wall, 2),
                       "per_video_s": round(wall / seconds, 2) if seconds else None,
                       "sampled": bool(sample and q == "4k")}
                if row["sampled"] and full_seconds and seconds:
                    row["estimate_s"] = round(wall / seconds * full_seconds, 1)
                rows.append(row)
                print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
            if profile:
                prow = _profile_once(anim, Path(tmp) / f"{c.slug}-profile", c.slug, qualities[0])
                print("profile " + " ".join(f"{k}={v}" for k, v in prow.items()), flush=True)
    return rows


def _course(args: list[str], env: dict[str, str]) -> float:
    exe = str(Path(sys.executable).with_name("course"))
    t0 = time.perf_counter()
    proc = subprocess.run([exe, *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"course {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


def parallel(jobs: int, quality: str) -> dict[str, Any]:
    """`course render --all` at ``quality`` with --jobs 1 and --jobs ``jobs``, experiments already trained."""
    with tempfile.TemporaryDirectory(prefix="bench-render-all-") as tmp:
        env = dict(os.environ, COURSE_CACHE_DIR=str(Path(tmp) / "cache"))
        base = ["render", "--all", "-q", quality, "--quiet", "--out", str(Path(tmp) / "media")]
        _course([*base, "--jobs", str(jobs)], env)  # trains every experiment (untimed)
        times = {}
        for n in (1, jobs):
            shutil.rmtree(Path(tmp) / "cache" / "renders", ignore_errors=True)
            times[n] = _course([*base, "--jobs", str(n)], env)
    row = {"jobs": jobs, "quality": quality, "serial_s": round(times[1], 1), "parallel_s": round(times[jobs], 1),
           "speedup": round(times[1] / times[jobs], 2)}
    print("parallel " + " ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slug", action="append", default=[], help="a concept to render (default: every one)")
    ap.add_argument("--qualities", default="low,high,4k", help="comma-separated qualities")
    ap.add_argument("--sample", type=int, default=None,
                    help="render only the first K animations of each scene at 4k (an estimate for the rest)")
    ap.add_argument("--quick", action="store_true", help="train on quick settings (shorter videos for some scenes)")
    ap.add_argument("--parallel", type=int, default=0, help="also time course render --all --jobs N against --jobs 1")
    ap.add_argument("--parallel-quality", default="low")
    ap.add_argument("--skip-scenes", action="store_true", help="only the parallel part")
    ap.add_argument("--profile", action="store_true",
                    help="also render each scene under cProfile and say where its time went")
    args = ap.parse_args()
    if not args.skip_scenes:
        per_scene(args.slug, [q.strip() for q in args.qualities.split(",") if q.strip()], args.sample, args.quick,
                  args.profile)
    if args.parallel:
        parallel(args.parallel, args.parallel_quality)


if __name__ == "__main__":
    main()
