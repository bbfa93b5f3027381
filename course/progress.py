"""Progress a person can follow, on stderr.

The pipeline reports :class:`Event` objects (plain data, so worker processes
can send them through a queue) and keeps a :class:`Record` of every stage it
ran or found cached. A :class:`Reporter` shows the events:

- ``live`` (stderr is a terminal): finished stages scroll by, one line each,
  under a status line per concept at work with a bar for training steps or
  seconds of video rendered;
- ``lines`` (stderr is a file or pipe): one line per finished stage only;
- ``quiet``: nothing (errors are still printed by the command).

:func:`summary` turns the records into the table printed at the end: what was
cached and what was rebuilt, with times.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

#: what a built stage did, in the summary and the progress lines
VERBS = {
    "experiment": "trained",
    "figures": "drawn",
    "video": "rendered",
    "page": "written",
    "sphinx": "built",
}
STAGES = ("experiment", "figures", "video")
MODES = ("live", "lines", "quiet")


@dataclass(frozen=True)
class Event:
    """Something happened in one stage of one concept.

    ``kind`` is ``start``, ``step`` (``done`` of ``total`` ``unit``; total may
    be unknown), ``end`` (``status`` is one of :class:`Record`'s) or ``note``
    (``detail`` is a sentence worth showing, like waiting for a lock).
    """

    slug: str
    stage: str
    kind: str
    done: float = 0.0
    total: float | None = None
    unit: str = ""
    status: str = ""
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Record:
    """How one stage of one concept went: ``status`` is ``cached``, ``built``,
    ``none`` (the concept has nothing for this stage) or ``failed``."""

    slug: str
    stage: str
    status: str
    seconds: float = 0.0
    detail: str = ""


Emit = Callable[[Event], None]


def _ignore(event: Event) -> None:
    pass


@dataclass
class Tracker:
    """Times the stages of one concept, emitting events and keeping records."""

    slug: str
    emit: Emit = _ignore
    records: list[Record] = field(default_factory=list)
    min_interval: float = 0.1

    @contextlib.contextmanager
    def stage(self, stage: str) -> Iterator[StageHandle]:
        handle = StageHandle(self, stage)
        self.emit(Event(self.slug, stage, "start"))
        t0 = time.perf_counter()
        try:
            yield handle
        except BaseException:
            seconds = time.perf_counter() - t0
            self.records.append(Record(self.slug, stage, "failed", seconds))
            self.emit(Event(self.slug, stage, "end", status="failed", seconds=seconds))
            raise
        seconds = time.perf_counter() - t0
        self.records.append(Record(self.slug, stage, handle.status, seconds, handle.detail))
        self.emit(Event(self.slug, stage, "end", status=handle.status, seconds=seconds, detail=handle.detail))


class StageHandle:
    """What a running stage tells its :class:`Tracker`."""

    def __init__(self, tracker: Tracker, stage: str) -> None:
        self.tracker, self.stage = tracker, stage
        self.status = "built"
        self.detail = ""
        self._last = 0.0

    def cached(self) -> None:
        self.status = "cached"

    def none(self, detail: str = "") -> None:
        self.status, self.detail = "none", detail

    def step(self, done: float, total: float | None, unit: str) -> None:
        """Report progress; calls closer together than the tracker's interval are dropped."""
        now = time.perf_counter()
        if total is not None and done < total and now - self._last < self.tracker.min_interval:
            return
        self._last = now
        self.tracker.emit(Event(self.tracker.slug, self.stage, "step", done, total, unit))

    def note(self, detail: str) -> None:
        self.tracker.emit(Event(self.tracker.slug, self.stage, "note", detail=detail))


# --------------------------------------------------------------------------- display


def fmt_seconds(s: float) -> str:
    """``0.4 s``, ``12.3 s``, ``2 min 05 s``."""
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(int(round(s)), 60)
    return f"{m} min {sec:02d} s"


def describe(record: Record | Event) -> str:
    """``trained in 12.3 s``, ``cached``, ``no video``, ``failed after 1.0 s``."""
    status = record.status
    if status == "cached":
        return "cached"
    if status == "none":
        return record.detail or f"no {record.stage}"
    if status == "failed":
        return f"failed after {fmt_seconds(record.seconds)}"
    verb = VERBS.get(record.stage.split()[0], "done")  # "video high" is a video too
    return f"{verb} in {fmt_seconds(record.seconds)}" + (f" ({record.detail})" if record.detail else "")


def bar(fraction: float, width: int = 20) -> str:
    """A text progress bar: ``█████░░░░░``."""
    fraction = min(1.0, max(0.0, fraction))
    full = int(round(fraction * width))
    return "█" * full + "░" * (width - full)


@dataclass
class _Active:
    stage: str
    started: float
    done: float = 0.0
    total: float | None = None
    unit: str = ""


class Reporter:
    """Shows events on ``stream`` (stderr by default) in one of :data:`MODES`.

    Thread-safe: the build calls it from the thread that reads the workers'
    queue as well as from the main thread.
    """

    def __init__(self, stream: TextIO | None = None, mode: str | None = None, refresh: float = 0.1) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if mode is None:
            isatty = getattr(self.stream, "isatty", lambda: False)
            mode = "live" if isatty() else "lines"
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode
        self.refresh = refresh
        self._lock = threading.RLock()
        self._active: dict[str, _Active] = {}
        self._drawn = 0
        self._last_draw = 0.0
        self._width = max(40, shutil.get_terminal_size((100, 20)).columns - 1)

    # -- events ---------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        if self.mode == "quiet":
            return
        with self._lock:
            if event.kind == "end":
                self._active.pop(event.slug, None)
                if event.status == "none":
                    self._print(f"{event.slug}: {event.stage} skipped ({describe(event)})")
                else:
                    self._print(f"{event.slug}: {event.stage} {describe(event)}")
            elif event.kind == "note":
                self._print(f"{event.slug}: {event.stage}: {event.detail}")
            elif event.kind == "start":
                self._active[event.slug] = _Active(event.stage, time.perf_counter())
                self._draw(force=True)
            elif event.kind == "step":
                a = self._active.get(event.slug)
                if a is None or a.stage != event.stage:
                    a = self._active[event.slug] = _Active(event.stage, time.perf_counter())
                a.done, a.total, a.unit = event.done, event.total, event.unit
                self._draw()

    def info(self, text: str) -> None:
        """A line worth showing unless quiet (like "building the HTML")."""
        if self.mode != "quiet":
            with self._lock:
                self._print(text)

    def close(self) -> None:
        """Remove the status lines (live mode)."""
        with self._lock:
            self._active.clear()
            self._clear()

    # -- drawing --------------------------------------------------------------
    def _print(self, line: str) -> None:
        self._clear()
        self.stream.write(line + "\n")
        self._draw(force=True)

    def _clear(self) -> None:
        if self.mode == "live" and self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0
            self.stream.flush()

    def _draw(self, force: bool = False) -> None:
        if self.mode != "live":
            self.stream.flush()
            return
        now = time.perf_counter()
        if not force and now - self._last_draw < self.refresh:
            return
        self._last_draw = now
        if self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
        width = max(len(slug) for slug in self._active) if self._active else 0
        lines = [self.status_line(slug.ljust(width), a, now) for slug, a in self._active.items()]
        for line in lines:
            self.stream.write(line[: self._width] + "\n")
        self._drawn = len(lines)
        self.stream.flush()

    @staticmethod
    def status_line(slug: str, a: _Active, now: float | None = None) -> str:
        """``  superposition  experiment  [████░░░░]  40%  4000/10000 steps  3.2 s``."""
        now = time.perf_counter() if now is None else now
        elapsed = fmt_seconds(now - a.started)
        head = f"  {slug}  {a.stage}"
        if a.total:
            frac = a.done / a.total
            count = f"{a.done:.0f}/{a.total:.0f} {a.unit}" if a.unit != "s" else f"{a.done:.1f}/~{a.total:.0f} s of video"
            return f"{head}  [{bar(frac)}] {100 * min(frac, 1):3.0f}%  {count}  {elapsed}"
        if a.unit:
            count = f"{a.done:.1f} s of video" if a.unit == "s" else f"{a.done:.0f} {a.unit}"
            return f"{head}  {count}  {elapsed}"
        return f"{head}  …  {elapsed}"


# --------------------------------------------------------------------------- summary


def summary(records: list[Record], seconds: float, failures: list[str] = (), extra: list[str] = ()) -> str:
    """The table printed at the end of a build or render.

    One row per concept with its experiment, figures and video (cached, or
    rebuilt with the time it took), then ``extra`` lines (the book pages,
    Sphinx) and the failures.
    """
    by_slug: dict[str, dict[str, Record]] = {}
    for r in records:
        by_slug.setdefault(r.slug, {})[r.stage] = r
    others = list(dict.fromkeys(r.stage for r in records if r.stage not in STAGES))  # like "video high"
    stages = [s for s in (*STAGES, *others) if any(s in row for row in by_slug.values())]
    built = sum(1 for row in by_slug.values() for r in row.values() if r.status == "built")
    cached = sum(1 for row in by_slug.values() for r in row.values() if r.status == "cached")
    lines = [f"Summary: {built} rebuilt, {cached} cached, in {fmt_seconds(seconds)}"]
    if by_slug:
        w = max(len("concept"), *(len(s) for s in by_slug))
        cells = {slug: [describe(row[s]) if s in row else "-" for s in stages] for slug, row in by_slug.items()}
        widths = [max(len(s), *(len(c[i]) for c in cells.values())) for i, s in enumerate(stages)]
        lines.append("  " + "concept".ljust(w) + "".join(f"  {s.ljust(wd)}" for s, wd in zip(stages, widths, strict=True)))
        for slug, row in cells.items():
            lines.append("  " + slug.ljust(w) + "".join(f"  {c.ljust(wd)}" for c, wd in zip(row, widths, strict=True)))
    lines += [f"  {x}" for x in extra]
    for f in failures:
        lines.append(f"  FAILED {f}")
    return "\n".join(line.rstrip() for line in lines)
