"""How long `course build` takes: cold, warm, and after editing one chapter.

Runs the installed `course build` command four times into one build folder,
with a cache folder of its own (fresh unless --cache names one):

1. cold        an empty cache: every experiment trains, every figure is
               drawn and every video rendered, then Sphinx builds every page;
2. warm        nothing changed: everything comes from the cache and Sphinx
               has nothing to rebuild;
3. edit        one chapter's text changed (a sentence is appended to the
               chapter template of --slug in the command's own process; the
               repository is not touched): only that page is rewritten;
4. warm-fresh  nothing changed, but Sphinx rebuilds every page (--fresh), to
               show what Sphinx's incremental build saves.

Targets (issue 8, on the 2-core machine): cold <= 10 min at the default
quality, warm <= 15 s, edit <= 30 s. Prints a table and, last, one line::

    cold_s=... warm_s=... edit_s=... warm_fresh_s=...

Run: python benchmarks/bench_build.py [--jobs N] [--quality low] [--slug superposition]
     [--cache DIR] [--out DIR] [--skip-cold] [--keep-going]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"cold": 600.0, "warm": 15.0, "edit": 30.0}


def _edit_and_build(slug: str, args: list[str]) -> None:
    """The `course` command, with one sentence appended to ``slug``'s chapter text."""
    import course.plugins as plugins
    from course import cli

    real_load = plugins.load
    stamp = time.strftime("%H:%M:%S")

    def load(*a, **k):
        course = real_load(*a, **k)
        concept = course.get(slug).concept
        original = concept.chapter
        concept.chapter = lambda: original() + f"\n\nThis sentence was added by the build benchmark at {stamp}.\n"
        return course

    plugins.load = load
    sys.argv = ["course", *args]
    cli.main()


def run(label: str, args: list[str], env: dict[str, str], edit: str | None = None) -> tuple[float, str]:
    exe = Path(sys.executable).with_name("course")
    if edit:
        cmd = [sys.executable, __file__, "--child-edit", edit, "--", *args]
    else:
        cmd = [str(exe), *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{label} build failed:\n{proc.stderr[-3000:]}")
    summary = next((line for line in proc.stderr.splitlines() if line.startswith("Summary:")), "")
    pages = next((line.strip() for line in proc.stderr.splitlines() if "book sources:" in line), "")
    print(f"{label:<11} {seconds:8.1f} s   {summary}; {pages}", flush=True)
    return seconds, proc.stderr


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child-edit":
        _edit_and_build(sys.argv[2], sys.argv[4:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=None, help="passed to course build (default: its own default)")
    ap.add_argument("--quality", default="low")
    ap.add_argument("--slug", default="superposition", help="the concept whose chapter text is edited")
    ap.add_argument("--cache", type=Path, default=None, help="cache folder (default: a fresh temporary one)")
    ap.add_argument("--out", type=Path, default=None, help="build folder (default: a temporary one)")
    ap.add_argument("--skip-cold", action="store_true", help="start from the cache and build folder as they are")
    ap.add_argument("--keep-going", action="store_true", help="passed to course build: time the book even if a plugin fails")
    opts = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-build-"))
    cache = opts.cache or tmp / "cache"
    out = opts.out or tmp / "book"
    env = {**os.environ, "COURSE_CACHE_DIR": str(cache)}
    args = ["build", "--out", str(out), "-q", opts.quality]
    if opts.jobs:
        args += ["--jobs", str(opts.jobs)]
    if opts.keep_going:
        args.append("--keep-going")
    print(f"cores: {os.cpu_count()}, cache: {cache}, out: {out}", flush=True)

    times: dict[str, float] = {}
    if not opts.skip_cold:
        times["cold"], _ = run("cold", args, env)
    times["warm"], _ = run("warm", args, env)
    times["edit"], _ = run("edit", args, env, edit=opts.slug)
    times["warm_fresh"], _ = run("warm-fresh", [*args, "--fresh"], env)
    for k, limit in TARGETS.items():
        if k in times:
            verdict = "ok" if times[k] <= limit else "OVER"
            print(f"target {k}: {times[k]:.1f} s <= {limit:.0f} s  {verdict}")
    print(" ".join(f"{k}_s={v:.1f}" for k, v in times.items()))


if __name__ == "__main__":
    main()
