"""The stages of one concept, cached, in parallel, with errors attributed to the plugin.

``settings → experiment → metrics → figures → animation → render``.

:func:`produce` runs the heavy stages of one concept and returns its
:class:`Artifacts` (metrics, and figures and video inside the cache); each
stage's output is cached by the hash of what it depends on (see
:mod:`course.cache`), so a second run with nothing changed loads everything.
:func:`produce_all` does it for many concepts: those entirely cached in the
calling process, the others in worker processes (``jobs`` at a time). The
pages (claims, chapter template) are the book's business
(:mod:`course.book`): chapter text keys no cache.

Any exception a plugin raises becomes a :class:`course.plugins.PluginError`
naming the plugin, the concept and the stage (``superposition.run()``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import multiprocessing as mp
import os
import queue as queue_mod
import shutil
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from course import cache
from course.concept import Figure
from course.plugins import Course, PluginError, Registered
from course.progress import Emit, Event, Record, Tracker
from course.render import Rendered
from course.results import CorruptResult, Result

T = TypeVar("T")


def stage(reg: Registered, name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call one stage of a concept; any exception becomes a :class:`PluginError`
    naming the plugin, the concept and the stage -- except a full or
    read-only disk, or a cache folder that cannot be written, which is the
    machine's problem (:class:`course.cache.CacheError`), not the plugin's."""
    try:
        return fn(*args, **kwargs)
    except (PluginError, cache.CacheError):
        raise
    except KeyboardInterrupt:
        raise
    except OSError as exc:
        if cache.is_disk_error(exc) or cache.in_cache(exc):
            raise cache.cache_error(exc) from None
        raise _plugin_error(reg, name, exc) from exc
    except Exception as exc:  # noqa: BLE001 - the plugin's own failure
        raise _plugin_error(reg, name, exc) from exc


def _plugin_error(reg: Registered, name: str, exc: BaseException) -> PluginError:
    return PluginError(
        reg.plugin.name,
        f"{reg.concept.slug}.{name}()",
        f"{type(exc).__name__}: {exc}",
        traceback.format_exc(),
    )


@contextlib.contextmanager
def _timed(tracker: Tracker, name: str) -> Iterator[Any]:
    """``tracker.stage(name)``, except that Ctrl-C ends the stage as
    "interrupted" instead of "failed" (and is raised again once it is recorded)."""
    interrupted = False
    with tracker.stage(name) as h:
        try:
            yield h
        except KeyboardInterrupt:
            h.none("interrupted")
            interrupted = True
    if interrupted:
        raise KeyboardInterrupt


# --------------------------------------------------------------------------- experiment


ENV_PROFILE = "COURSE_PROFILE"


def current_profile() -> str:
    """The build profile of this process: ``$COURSE_PROFILE`` (``course build
    --profile`` sets it, so worker processes inherit it), else ``"default"``."""
    from course import profiles

    return profiles.check(os.environ.get(ENV_PROFILE) or profiles.NAMES[0])


def profile_settings(reg: Registered, profile: str) -> dict[str, Any]:
    """The concept's settings under ``profile`` (see :mod:`course.profiles`):
    ``Settings.for_profile(profile)`` of its experiment module where it has
    one, else the concept's own settings (it trains the same under every
    profile)."""
    import dataclasses

    from course import profiles

    name = profiles.check(profile)
    module = reg.concept.experiment_module()
    cls = getattr(module, "Settings", None) if module is not None else None
    if name == profiles.NAMES[0] or cls is None or not callable(getattr(cls, "for_profile", None)):
        return reg.concept.settings(False)
    return dataclasses.asdict(profiles.settings(cls, name))


def settings_of(reg: Registered, quick: bool = False, profile: str | None = None) -> dict[str, Any]:
    """The concept's settings, checked against the contract: the quick ones,
    or those of ``profile`` (default: :func:`current_profile`)."""
    from course import contract

    if quick:
        settings = stage(reg, "settings", reg.concept.settings, True)
    else:
        settings = stage(reg, "settings", profile_settings, reg, profile or current_profile())
    problems = contract.settings(settings)
    if problems:
        raise contract.error(reg, "settings", problems[0])
    return settings


def _load_result(path: Path, on_damage: Callable[[str], None] | None = None) -> Result | None:
    if not path.exists():
        return None
    try:
        return Result.load(path)
    except CorruptResult as exc:  # recomputed; the save replaces the damaged entry
        if on_damage is not None:
            on_damage(str(exc).removeprefix(f"{path}: "))
        return None


def _save_result(result: Result, path: Path) -> None:
    tmp = path.parent / cache.tmp_name()
    try:
        result.save(tmp / "entry")
        cache.replace_dir(tmp / "entry", path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def experiment(
    reg: Registered,
    seed: int = 0,
    device: str = "cpu",
    quick: bool = False,
    use_cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
    settings: dict[str, Any] | None = None,
    on_wait: Callable[[], None] | None = None,
    profile: str | None = None,
) -> tuple[Result, bool]:
    """The concept's result, from the cache when possible. Returns (result, cached).

    A damaged cache entry is not loaded: the experiment runs again and its
    result replaces the entry. While it trains, the concept's experiment lock
    is held, so a concurrent build sharing the cache waits and then loads it
    (``on_wait`` is called when that happens). With ``use_cache=False`` the
    experiment runs and its result is not saved. ``profile``: the build
    profile whose settings train (default :func:`current_profile`).
    """
    if settings is None:
        settings = settings_of(reg, quick, profile)
    result, cached, _ = _experiment(reg, settings, seed, device, use_cache, use_cache, progress, on_wait)
    return result, cached


def _experiment(
    reg: Registered,
    settings: dict[str, Any],
    seed: int,
    device: str,
    lookup: bool,
    save: bool,
    progress: Callable[[int, int], None] | None,
    on_wait: Callable[[], None] | None,
    on_damage: Callable[[str], None] | None = None,
) -> tuple[Result, bool, Path | None]:
    """(result, cached, the path of its cache entry or None if not saved).

    Before anything trains, the experiment's cache folder is checked: a
    result that could not be saved is not worth the training."""
    c = reg.concept

    def train() -> Result:
        from course import contract

        result = stage(reg, "run", c.run, settings, seed=seed, device=device, progress=progress)
        problems = contract.result(result)
        if problems:
            raise contract.error(reg, "run", problems[0])
        return result

    path = cache.experiment_path(c, settings, seed, device)
    hit = _load_result(path, on_damage) if lookup else None
    if hit is not None:
        return hit, True, path
    if not save:
        return train(), False, None
    cache.check_writable(f"experiments/{c.experiment_group()}")
    with cache.lock("experiments", c.experiment_group(), on_wait):
        hit = _load_result(path) if lookup else None  # another build may have made it while we waited
        if hit is not None:
            return hit, True, path
        result = train()
        try:
            _save_result(result, path)
        except OSError as exc:
            raise cache.cache_error(exc) from None
    return result, False, path


def metrics(reg: Registered, result: Result) -> dict[str, Any]:
    """The concept's metrics, checked against the contract (a dict of JSON with a ``runs`` list)."""
    from course import contract

    out = stage(reg, "metrics", reg.concept.metrics, result)
    problems = contract.metrics(out)
    if problems:
        raise contract.error(reg, "metrics", problems[0])
    return out


def write_json(path: Path, value: Any) -> None:
    """Write JSON atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=1), encoding="utf-8")
    tmp.replace(path)


# --------------------------------------------------------------------------- one concept


@dataclass(frozen=True)
class Options:
    """What every concept of a build or render shares."""

    seed: int = 0
    device: str = "cpu"
    quick: bool = False
    quality: str = "low"
    #: the build profile (:mod:`course.profiles`); by default $COURSE_PROFILE or "default"
    profile: str = field(default_factory=lambda: current_profile())
    fmt: str = "mp4"
    #: the videos' theme (:data:`course.render.THEMES`): light, like the book's figures
    theme: str = "light"
    video: bool = True
    use_cache: bool = True


@dataclass
class Artifacts:
    """What the heavy stages of one concept produced.

    ``figures`` and ``video`` point into the cache (copy them, never move or
    edit them); the figures' captions and alt texts, and the video's title,
    description and captions, are words the book adds (:mod:`course.chapters`).
    ``animation`` is the title and description the plugin's ``Animation``
    carried (empty strings on the plugin layout), or None when the concept
    has no animation (or ``video`` was off); ``timeline`` is the narration:
    ``[start, end, text]`` per subcaption, in seconds. ``experiment`` is the
    cache entry of the experiment's result (the pages' interactive figures
    read their weights from it: :mod:`course.interactive`).
    """

    slug: str
    metrics: dict[str, Any]
    figures: list[Figure]
    video: Rendered | None
    animation: dict[str, str] | None
    records: list[Record] = field(default_factory=list)
    timeline: list[list[Any]] = field(default_factory=list)
    #: the build profile whose settings trained the experiment ("quick" for
    #: the quick settings), and those settings
    profile: str = "default"
    settings: dict[str, Any] = field(default_factory=dict)
    experiment: Path | None = None


def _check_figures(reg: Registered, figures: Any, outdir: Path) -> list[dict[str, str]]:
    from course import contract

    problems = contract.figures(figures, outdir)
    if problems:
        raise contract.error(reg, "figures", problems[0])
    root = outdir.resolve()
    return [{"name": f.name, "file": str(Path(f.path).resolve().relative_to(root)), "caption": f.caption, "alt": f.alt}
            for f in figures or []]


def _last_duration(slug: str) -> float | None:
    """Seconds of video of this concept's most recent render (an estimate for the bar)."""
    best = None
    for m in (cache.cache_dir() / "renders" / slug).glob("*/" + cache.MANIFEST):
        try:
            doc = json.loads(m.read_text(encoding="utf-8"))
            dur, created = float(doc["meta"].get("duration") or 0), float(doc.get("created", 0))
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            continue
        if dur > 0 and (best is None or created > best[0]):
            best = (created, dur)
    return best[1] if best else None


# --------------------------------------------------------------------------- what a cache entry must hold


def _str(value: Any) -> bool:
    return isinstance(value, str)


def _analysis_shape(meta: dict[str, Any], entry: cache.Entry) -> str:
    from course import contract

    if contract.metrics(meta.get("metrics")):
        return "its metrics are not a dict of JSON values with a runs list"
    return ""


def _figures_shape(meta: dict[str, Any], entry: cache.Entry) -> str:
    figures = meta.get("figures")
    if not isinstance(figures, list):
        return "it has no list of figures"
    for f in figures:
        if not isinstance(f, dict) or not all(_str(f.get(k)) for k in ("name", "file", "caption", "alt")):
            return "a figure is not a name, file, caption and alt text"
        if not entry.has(f"files/{f['file']}"):
            return f"figure {f['name']!r} names {f['file']!r}, which is not a checksummed file of the entry"
    return ""


def _render_shape(meta: dict[str, Any], entry: cache.Entry) -> str:
    anim = meta.get("animation", "missing")
    if anim is None:
        return ""
    if not isinstance(anim, dict) or not all(_str(anim.get(k)) for k in ("title", "description")):
        return "it has no animation title and description"
    for key in ("video", "poster"):
        if not entry.has(meta.get(key)):
            return f"its {key} {meta.get(key)!r} is not a checksummed file of the entry"
    timeline = meta.get("timeline", [])
    ok = isinstance(timeline, list) and all(
        isinstance(c, list) and len(c) == 3 and all(isinstance(t, int | float) for t in c[:2]) and _str(c[2])
        for c in timeline)
    return "" if ok else "its narration timeline is not a list of [start, end, text]"


def _load(entry: cache.Entry, check: cache.MetaCheck, use_cache: bool, damaged: list[str]) -> dict[str, Any] | None:
    """The entry's metadata, or None; a damaged entry adds a line to ``damaged``."""
    if not use_cache:
        return None
    meta = entry.load(check)
    if entry.damage:
        damaged.append(f"the cached {entry.kind} entry {entry.key} is damaged ({entry.damage}); recomputing it")
    return meta


def produce(reg: Registered, opts: Options, emit: Emit | None = None, only_cached: bool = False) -> Artifacts | None:
    """Run (or load from the cache) the experiment, metrics, figures and video of a concept.

    Each stage has its own cache entry, keyed by what it declares it depends
    on (see :mod:`course.cache`): the experiment runs only when its own files
    or settings changed; metrics, figures and the video are recomputed only
    when their files, or the numbers they draw, changed. A damaged entry
    (files or metadata that do not match their checksums, names outside the
    entry, metadata of the wrong shape) is recomputed, with a note saying
    so. With ``only_cached``, return None instead of computing anything
    that is not cached (the fast path of a build with nothing changed).
    """
    from course import render

    c = reg.concept
    tracker = Tracker(c.slug, emit or (lambda e: None))
    damaged: list[str] = []
    settings = settings_of(reg, opts.quick, opts.profile)
    ekey = stage(reg, "experiment files", cache.experiment_key, c, settings, opts.seed, opts.device)
    aentry = cache.Entry("analysis", c.slug, stage(reg, "analysis files", cache.analysis_key, c, ekey))
    ameta = _load(aentry, _analysis_shape, opts.use_cache, damaged)
    fentry: cache.Entry | None = None
    rentry: cache.Entry | None = None
    fmeta = rmeta = None

    def later(values: dict[str, Any]) -> None:
        nonlocal fentry, rentry, fmeta, rmeta
        mdig = cache.metrics_digest(values)
        fentry = cache.Entry("figures", c.slug, stage(reg, "figures files", cache.figures_key, c, ekey, mdig))
        fmeta = _load(fentry, _figures_shape, opts.use_cache, damaged)
        if opts.video:
            rkey = stage(reg, "scene files", cache.render_key, c, ekey, mdig, opts.quality, opts.fmt,
                         opts.theme)
            rentry = cache.Entry("renders", c.slug, rkey)
            rmeta = _load(rentry, _render_shape, opts.use_cache, damaged)

    if ameta is not None:
        later(ameta["metrics"])
    need_result = ameta is None or fmeta is None or (opts.video and rmeta is None)
    if need_result and only_cached:
        return None

    def tell(h: Any) -> None:
        while damaged:
            h.note(damaged.pop(0))

    result: Result | None = None
    with _timed(tracker, "experiment") as h:
        tell(h)
        if need_result:
            result, cached, _ = _experiment(
                reg, settings, opts.seed, opts.device, lookup=opts.use_cache, save=True,
                progress=lambda done, total: h.step(done, total, "steps"),
                on_wait=lambda: h.note("waiting for another build that is training it"),
                on_damage=lambda why: h.note(f"the cached experiment is damaged ({why}); training it again"),
            )
            if cached:
                h.cached()
        else:
            h.cached()

    with _timed(tracker, "figures") as h:
        if ameta is None:
            assert result is not None
            values = metrics(reg, result)
            with aentry.writing() as (_tmp, meta):
                meta["metrics"] = values
            ameta = meta
            later(values)
        tell(h)
        assert fentry is not None
        if fmeta is not None:
            h.cached()
        else:
            with cache.lock("figures", c.slug, lambda: h.note("waiting for another build")):
                fmeta = fentry.load(_figures_shape) if opts.use_cache else None
                if fmeta is not None:
                    h.cached()
                else:
                    assert result is not None
                    with fentry.writing() as (tmp, meta):
                        outdir = tmp / "files"
                        outdir.mkdir()
                        figs = stage(reg, "figures", c.figures, result, ameta["metrics"], outdir)
                        meta["figures"] = _check_figures(reg, figs, outdir)
                    fmeta = meta
    assert fentry is not None and fmeta is not None
    figures = [
        Figure(f["name"], fentry.file(f"files/{f['file']}"), f["caption"], f["alt"]) for f in fmeta["figures"]
    ]

    video = anim = None
    timeline: list[list[Any]] = []
    if opts.video and rentry is not None:
        with _timed(tracker, "video") as h:
            tell(h)
            if rmeta is None:
                with cache.lock("renders", c.slug, lambda: h.note("waiting for another build")):
                    rmeta = rentry.load(_render_shape) if opts.use_cache else None
                    if rmeta is None:
                        rmeta = _render(reg, result, ameta["metrics"], rentry, opts, h, render)
                    else:
                        h.cached()
            else:
                h.cached()
            if rmeta.get("animation") is None:
                h.none("no animation")
        if rmeta.get("animation") is not None:
            anim = rmeta["animation"]
            timeline = rmeta.get("timeline", [])
            video = Rendered(rentry.file(rmeta["video"]), rentry.file(rmeta["poster"]), None)
    return Artifacts(c.slug, ameta["metrics"], figures, video, anim, tracker.records, timeline,
                     profile="quick" if opts.quick else opts.profile, settings=settings,
                     experiment=cache.cache_dir() / "experiments" / c.experiment_group() / ekey)


def _render(reg: Registered, result: Result | None, values: dict[str, Any], entry: cache.Entry,
            opts: Options, h: Any, render: Any) -> dict[str, Any]:
    from course import contract

    c = reg.concept
    anim = stage(reg, "animation", c.animation, result, values)
    problems = contract.animation(anim)
    if problems:
        raise contract.error(reg, "animation", problems[0])
    estimate = _last_duration(c.slug)
    seconds = [0.0]

    def progress(s: float) -> None:
        seconds[0] = s
        h.step(s, max(estimate, s) if estimate else None, "s")

    with entry.writing() as (tmp, meta):
        if anim is None:
            meta["animation"] = None
        else:
            done = stage(reg, "render", render.render, anim, tmp, c.slug, opts.quality, opts.fmt, progress=progress,
                         theme=opts.theme)
            timeline: list[list[Any]] = []
            if done.captions is not None:  # the narration's steps and times; its words are the book's
                timeline = render.timeline(done.captions.read_text(encoding="utf-8"))
                done.captions.unlink()
            meta.update(
                animation={"title": anim.title, "description": anim.description},
                video=done.video.name,
                poster=done.poster.name,
                timeline=timeline,
                duration=round(seconds[0], 3),
                quality=opts.quality,
                format=opts.fmt,
                theme=opts.theme,
            )
    return meta


# --------------------------------------------------------------------------- many concepts


def default_jobs() -> int:
    """The number of CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _set_threads(n: int) -> None:
    """Give torch ``n`` threads, unless the user chose with ``OMP_NUM_THREADS``."""
    if "OMP_NUM_THREADS" in os.environ:
        return
    os.environ["OMP_NUM_THREADS"] = str(n)
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


_WORKER: dict[str, Any] = {}


def _watch_parent(parent: int) -> None:
    if os.getppid() != parent:
        os._exit(1)
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:  # the build was killed: stop, leave only whole entries
            os._exit(1)


def _init_worker(events: Any, threads: int, extra: tuple[str, ...], parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    _set_threads(threads)
    _WORKER.update(events=events, extra=extra)
    # ``parent`` comes from the parent itself: had it died while this worker
    # started, os.getppid() here would already name the adopting process
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _worker_course() -> Course:
    if "course" not in _WORKER:
        import importlib

        from course import plugins

        _WORKER["course"] = plugins.load(extra=[importlib.import_module(m) for m in _WORKER["extra"]])
    return _WORKER["course"]


#: the "plugin" of an error a worker sends back that is the cache's, not a plugin's
_CACHE_ERROR = "(cache)"


def _error_data(exc: PluginError) -> tuple[str, str, str, str]:
    return (exc.plugin, exc.where, exc.message, exc.tb)


def _work(slug: str, opts: Options) -> tuple[Artifacts | None, tuple[str, str, str, str] | None]:
    """One concept in a worker process; errors come back as data (PluginError does not pickle)."""
    events = _WORKER["events"]
    course = _worker_course()
    try:
        reg = course.get(slug)
    except KeyError:
        return None, ("?", f"{slug} (worker)", f"concept {slug!r} did not load in the worker process", "")
    try:
        return produce(reg, opts, events.put), None
    except PluginError as exc:
        return None, _error_data(exc)
    except cache.CacheError as exc:  # the machine's problem: the parent raises it, blaming no plugin
        return None, (_CACHE_ERROR, "", str(exc), "")
    except Exception as exc:  # noqa: BLE001 - report, with the traceback, instead of a broken pool
        return None, (reg.plugin.name, f"{slug} (pipeline)", f"{type(exc).__name__}: {exc}", traceback.format_exc())


def _in_process_modules(course: Course) -> tuple[str, ...]:
    """Plugins registered in-process (tests): a worker imports them by name."""
    return tuple(
        p.module.__name__ for p in course.plugins if p.distribution == "(registered in-process)" and p.module is not None
    )


def _terminate(ex: cf.ProcessPoolExecutor) -> None:
    procs = list((getattr(ex, "_processes", None) or {}).values())
    ex.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)


@dataclass
class Outcome:
    """What :func:`produce_all` made and what failed, in book order."""

    artifacts: dict[str, Artifacts] = field(default_factory=dict)
    failed: dict[str, PluginError] = field(default_factory=dict)

    @property
    def errors(self) -> list[PluginError]:
        """The failures, in book order."""
        return list(self.failed.values())

    @property
    def records(self) -> list[Record]:
        return [r for a in self.artifacts.values() for r in a.records]


def produce_all(
    course: Course,
    regs: Iterable[Registered],
    opts: Options,
    jobs: int | None = None,
    emit: Emit | None = None,
    keep_going: bool = False,
) -> Outcome:
    """:func:`produce` for every concept of ``regs``.

    Concepts whose every stage is cached are loaded here; the others run in
    up to ``jobs`` worker processes (default: one per core; with one job or
    one concept to build, in this process). Each worker gives torch
    ``max(1, cores // workers)`` threads unless ``OMP_NUM_THREADS`` is set.
    Workers take the concepts costliest first (:attr:`Concept.cost`).
    A plugin's failure stops everything at once (the error is raised)
    unless ``keep_going``, in which case it is listed in the outcome.
    """
    emit = emit or (lambda e: None)
    jobs = jobs or default_jobs()
    regs = list(regs)
    out = Outcome()
    failed: dict[str, PluginError] = {}

    def fail(reg: Registered, exc: PluginError) -> None:
        failed[reg.concept.slug] = exc
        if not keep_going:
            raise exc
        emit(Event(reg.concept.slug, "build", "note", detail=f"{exc} (building the rest: --keep-going)"))

    todo: list[Registered] = []
    for reg in regs:
        try:
            art = produce(reg, opts, emit, only_cached=True)
        except PluginError as exc:
            fail(reg, exc)
            continue
        if art is None:
            todo.append(reg)
        else:
            out.artifacts[reg.concept.slug] = art

    workers = min(jobs, len(todo))
    if workers <= 1:
        _set_threads(default_jobs())
        for reg in todo:
            try:
                art = produce(reg, opts, emit)
                assert art is not None  # only_cached is off: produce() always makes it
                out.artifacts[reg.concept.slug] = art
            except PluginError as exc:
                fail(reg, exc)
    elif todo:
        # the costliest first (longest-processing-time order), book order among equals
        todo.sort(key=lambda r: -float(r.concept.cost))
        _produce_parallel(course, todo, opts, workers, emit, fail, out)

    out.artifacts = {r.concept.slug: out.artifacts[r.concept.slug] for r in regs if r.concept.slug in out.artifacts}
    out.failed = {r.concept.slug: failed[r.concept.slug] for r in regs if r.concept.slug in failed}
    return out


def _produce_parallel(course: Course, todo: list[Registered], opts: Options, workers: int,
                      emit: Emit, fail: Callable[[Registered, PluginError], None], out: Outcome) -> None:
    ctx = mp.get_context("spawn")
    events = ctx.Queue()
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            try:
                ev = events.get(timeout=0.1)
            except queue_mod.Empty:
                continue
            except (EOFError, OSError):
                return
            emit(ev)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    threads = max(1, default_jobs() // workers)
    ex = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                initargs=(events, threads, _in_process_modules(course), os.getpid()))
    try:
        futures = {ex.submit(_work, reg.concept.slug, opts): reg for reg in todo}
        for fut in cf.as_completed(futures):
            reg = futures[fut]
            try:
                art, err = fut.result()
            except cf.process.BrokenProcessPool:
                art, err = None, (reg.plugin.name, f"{reg.concept.slug} (worker)",
                                  "the worker process died (killed, out of memory, or crashed)", "")
            if err is not None and err[0] == _CACHE_ERROR:
                raise cache.CacheError(err[2])
            if err is not None:
                fail(reg, PluginError(*err))
            elif art is not None:
                out.artifacts[reg.concept.slug] = art
    except BaseException:
        _terminate(ex)
        raise
    else:
        ex.shutdown(wait=True)
    finally:
        stop.set()
        reader.join(timeout=1)
        while True:  # the events the workers sent last
            try:
                emit(events.get(timeout=0.05))
            except Exception:  # noqa: BLE001 - empty, or damaged by a terminated worker
                break
        events.close()
