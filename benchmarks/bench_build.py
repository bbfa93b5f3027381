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
4. words       one caption of --slug's words file changed (in the command's
               own process, as above): no training, no figure, no video;
5. scene       --slug's scene.py changed (its digest, in the command's own
               process): one video rendered, nothing trained or drawn;
6. warm-fresh  nothing changed, but Sphinx rebuilds every page (--fresh), to
               show what Sphinx's incremental build saves.

Budgets (issue 18, on an idle 2-core machine): cold <= 3 min at the
default quality, warm < 2 s, edit and words < 10 s, and the cold build's
peak memory < 4 GB (the resident memory of the whole process tree, sampled
every 0.2 s); the words build must train and render nothing, the scene build
render exactly one video and train nothing (read from the build's summary).
The first lines say on which machine, when, and under what load it ran.
Prints a table and, last, one line::

    cold_s=... warm_s=... edit_s=... words_s=... scene_s=... warm_fresh_s=... cold_peak_gb=...

Run: python benchmarks/bench_build.py [--jobs N] [--quality low] [--slug superposition]
     [--profile default|paper] [--device cpu|cuda] [--cache DIR] [--out DIR] [--skip-cold] [--keep-going]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

#: seconds (and, for the cold build, GB of peak memory) each build may take
TARGETS = {"cold": 180.0, "warm": 2.0, "edit": 10.0, "words": 10.0}
PEAK_GB = 4.0


def machine() -> str:
    """CPU model, cores, load and date: where the figures were measured."""
    try:
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = found.group(1).strip() if found else platform.processor()
        load = Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        cpu, load = platform.processor() or platform.machine(), "?"
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; CPU: {cpu}; {os.cpu_count()} logical CPUs; "
            f"load average {load} at the start")


def _tree_rss(root: int) -> int:
    """Bytes resident in process ``root`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            pages = int((d / "statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        pid = int(d.name)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = pages * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


class PeakMemory:
    """The largest resident memory of a process tree, sampled on a thread."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.pid, self.every, self.peak = pid, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss(self.pid))
            self._stop.wait(self.every)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def _edit_and_build(kind: str, slug: str, args: list[str]) -> None:
    """The `course` command, with ``slug``'s chapter text, words or scene edited
    in this process only (``kind``: chapter, words or scene)."""
    import course.plugins as plugins
    from course import cache, cli
    from course.words import Words

    real_load = plugins.load
    real_digest = cache.stage_digest
    stamp = time.strftime("%H:%M:%S")

    def load(*a, **k):
        course = real_load(*a, **k)
        concept = course.get(slug).concept
        if kind == "chapter":
            original = concept.chapter
            concept.chapter = lambda: original() + f"\n\nThis sentence was added by the build benchmark at {stamp}.\n"
        elif kind == "words":
            text = (concept.source_dir() / "words.md.j2").read_text(encoding="utf-8")
            edited = text.replace("{% endblock %}", f" (edited at {stamp}){{% endblock %}}", 1)
            concept.words = lambda: Words(edited, "words.md.j2")
        return course

    def digest(concept, stage):  # as if scene.py had been edited
        value = real_digest(concept, stage)
        return value + stamp if kind == "scene" and stage == "scene" and concept.slug == slug else value

    plugins.load = load
    cache.stage_digest = digest
    sys.argv = ["course", *args]
    cli.main()


PEAKS: dict[str, int] = {}


def run(label: str, args: list[str], env: dict[str, str], edit: tuple[str, str] | None = None) -> tuple[float, str]:
    exe = Path(sys.executable).with_name("course")
    if edit:
        cmd = [sys.executable, __file__, "--child-edit", *edit, "--", *args]
    else:
        cmd = [str(exe), *args]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = PeakMemory(proc.pid)
    _, stderr = proc.communicate()
    seconds = time.perf_counter() - t0
    PEAKS[label] = memory.stop()
    if proc.returncode != 0:
        sys.exit(f"{label} build failed:\n{stderr[-3000:]}")
    summary = next((line for line in stderr.splitlines() if line.startswith("Summary:")), "")
    pages = next((line.strip() for line in stderr.splitlines() if "book sources:" in line), "")
    print(f"{label:<11} {seconds:8.1f} s  peak {PEAKS[label] / 1e9:5.2f} GB   {summary}; {pages}", flush=True)
    return seconds, stderr


def _rebuilt(log: str) -> list[tuple[str, str]]:
    """(concept, stage) of every stage the build computed, from its progress lines
    (``SLUG: experiment trained in ...``, ``SLUG: video rendered in ...``)."""
    done = []
    for line in log.splitlines():
        head, sep, rest = line.partition(": ")
        word = rest.split(" ", 2)
        if sep and head != "book" and len(word) > 1 and word[0] in ("experiment", "figures", "video") \
                and word[1] in ("trained", "drawn", "rendered", "built"):
            done.append((head.strip(), word[0]))
    return done


def main() -> None:
    if len(sys.argv) > 3 and sys.argv[1] == "--child-edit":
        _edit_and_build(sys.argv[2], sys.argv[3], sys.argv[5:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=None, help="passed to course build (default: its own default)")
    ap.add_argument("--quality", default="low")
    ap.add_argument("--slug", default="superposition", help="the concept whose chapter text is edited")
    ap.add_argument("--cache", type=Path, default=None, help="cache folder (default: a fresh temporary one)")
    ap.add_argument("--out", type=Path, default=None, help="build folder (default: a temporary one)")
    ap.add_argument("--skip-cold", action="store_true", help="start from the cache and build folder as they are")
    ap.add_argument("--keep-going", action="store_true", help="passed to course build: time the book even if a plugin fails")
    ap.add_argument("--profile", default="default", help="passed to course build (default or paper)")
    ap.add_argument("--device", default="cpu", help="passed to course build (cpu, cuda or cuda:N)")
    opts = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-build-"))
    cache = opts.cache or tmp / "cache"
    out = opts.out or tmp / "book"
    env = {**os.environ, "COURSE_CACHE_DIR": str(cache)}
    args = ["build", "--out", str(out), "-q", opts.quality, "--profile", opts.profile, "--device", opts.device]
    if opts.jobs:
        args += ["--jobs", str(opts.jobs)]
    if opts.keep_going:
        args.append("--keep-going")
    print(machine(), flush=True)
    print(f"profile {opts.profile}, device {opts.device}, cache: {cache}, out: {out}", flush=True)

    times: dict[str, float] = {}
    if not opts.skip_cold:
        times["cold"], _ = run("cold", args, env)
    times["warm"], _ = run("warm", args, env)
    times["edit"], _ = run("edit", args, env, edit=("chapter", opts.slug))
    times["words"], words_log = run("words", args, env, edit=("words", opts.slug))
    times["scene"], scene_log = run("scene", args, env, edit=("scene", opts.slug))
    times["warm_fresh"], _ = run("warm-fresh", [*args, "--fresh"], env)
    for k, limit in TARGETS.items():
        if k in times:
            verdict = "ok" if times[k] <= limit else "OVER"
            print(f"budget {k}: {times[k]:.1f} s <= {limit:.0f} s  {verdict}")
    if "cold" in PEAKS:
        gb = PEAKS["cold"] / 1e9
        print(f"budget cold peak memory: {gb:.2f} GB < {PEAK_GB:.0f} GB  {'ok' if gb < PEAK_GB else 'OVER'}")
    print(f"words edit: {_rebuilt(words_log)} (want: nothing trained, drawn or rendered)  "
          f"{'ok' if _rebuilt(words_log) == [] else 'WRONG'}")
    print(f"scene edit: {_rebuilt(scene_log)} (want: one video rendered, nothing else)  "
          f"{'ok' if _rebuilt(scene_log) == [(opts.slug, 'video')] else 'WRONG'}")
    line = " ".join(f"{k}_s={v:.1f}" for k, v in times.items())
    if "cold" in PEAKS:
        line += f" cold_peak_gb={PEAKS['cold'] / 1e9:.2f}"
    print(line)


if __name__ == "__main__":
    main()
