"""Progress a person can follow, on stderr.

The pipeline reports :class:`Event` objects (plain data, so worker processes
can send them through a queue) and keeps a :class:`Record` of every stage it
ran or found cached. A :class:`Reporter` shows the events:

- ``live`` (stderr is a terminal, drawn with ``rich``): finished stages
  scroll by, one line each, under a status line per concept at work with a
  bar for training steps or seconds of video rendered;
- ``lines`` (stderr is a file or pipe): one line per finished stage only;
- ``quiet``: nothing (errors are still printed by the command).

:func:`summary` turns the records into the table printed at the end: what was
cached and what was rebuilt, with times.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

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
#: how a finished stage's line looks on a terminal
STYLES = {"failed": "bold red", "cached": "dim", "none": "dim"}


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


def count(done: float, total: float | None, unit: str) -> str:
    """``4000/10000 steps``, ``3.5/~12 s of video``, ``3.5 s of video``."""
    if unit == "s":
        return f"{done:.1f}/~{total:.0f} s of video" if total else f"{done:.1f} s of video"
    return (f"{done:.0f}/{total:.0f} {unit}" if total else f"{done:.0f} {unit}") if unit else ""


class Reporter:
    """Shows events on ``stream`` (stderr by default) in one of :data:`MODES`.

    ``live`` is a :class:`rich.progress.Progress` (one task per concept at
    work, redrawn every ``refresh`` seconds, or on every event if 0) with the
    finished stages printed above it. Thread-safe: the build calls it from the
    thread that reads the workers' queue as well as from the main thread.
    """

    def __init__(self, stream: TextIO | None = None, mode: str | None = None, refresh: float = 0.1) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if mode is None:
            mode = "live" if getattr(self.stream, "isatty", lambda: False)() else "lines"
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode, self.refresh = mode, refresh
        self._lock = threading.RLock()
        self._tasks: dict[str, tuple[str, TaskID]] = {}  # slug -> (stage, its status line)
        self._progress = Progress(
            TextColumn(" {task.fields[slug]}", markup=False), TextColumn("{task.description}", markup=False),
            BarColumn(bar_width=20), TaskProgressColumn(), TextColumn("{task.fields[count]}", markup=False),
            TimeElapsedColumn(),
            console=Console(file=self.stream, force_terminal=True, highlight=False),
            transient=True, auto_refresh=refresh > 0, refresh_per_second=1 / refresh if refresh > 0 else 10,
            redirect_stdout=False,  # stdout is the command's output (the paths it wrote)
        )

    def __call__(self, event: Event) -> None:
        if self.mode == "quiet":
            return
        with self._lock:
            if event.kind == "end":
                self._drop(event.slug)
                how = f"skipped ({describe(event)})" if event.status == "none" else describe(event)
                self._print(f"{event.slug}: {event.stage} {how}", event.status)
            elif event.kind == "note":
                self._print(f"{event.slug}: {event.stage}: {event.detail}")
            elif self.mode == "live":
                stage, task = self._tasks.get(event.slug, ("", None))
                if task is None or event.kind == "start" or stage != event.stage:  # a new status line
                    self._drop(event.slug)
                    self._progress.start()
                    task = self._progress.add_task(event.stage, total=None, slug=event.slug, count="")
                    self._tasks[event.slug] = (event.stage, task)
                if event.kind == "step":
                    self._progress.update(task, completed=event.done, total=event.total, refresh=not self.refresh,
                                          count=count(event.done, event.total, event.unit))

    def info(self, text: str) -> None:
        """A line worth showing unless quiet (like "building the HTML")."""
        if self.mode != "quiet":
            with self._lock:
                self._print(text)

    def close(self) -> None:
        """Remove the status lines (live mode); a later event shows them again."""
        with self._lock:
            for slug in list(self._tasks):
                self._drop(slug)
            self._progress.stop()

    def _drop(self, slug: str) -> None:
        if (old := self._tasks.pop(slug, None)) is not None:
            self._progress.remove_task(old[1])
            self._progress.refresh()  # now, not at the next tick: a line printed next redraws the old lines

    def _print(self, line: str, status: str = "") -> None:
        if self.mode == "live":
            self._progress.console.print(Text(line, style=STYLES.get(status, "")))
        else:
            self.stream.write(line + "\n")
            self.stream.flush()


# --------------------------------------------------------------------------- summary


def summary(records: list[Record], seconds: float, failures: Sequence[str] = (), extra: Sequence[str] = ()) -> str:
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
