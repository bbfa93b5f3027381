"""The build folder: one writer at a time, the sources synced file by file,
failures logged, and what a killed build left swept away."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from course.plugins import PluginError


def sync_tree(new: Path, dest: Path) -> tuple[int, int]:
    """Make ``dest`` hold exactly the files of ``new``, touching only what differs.

    Changed files are moved over in one rename each (``new`` must be on the
    same file system); files whose content is unchanged keep their time
    stamp, so Sphinx rebuilds only the pages that changed. Returns
    (files written, files removed).
    """
    import filecmp

    dest.mkdir(parents=True, exist_ok=True)
    seen: set[Path] = set()
    written = removed = 0
    for p in sorted(new.rglob("*")):
        if p.is_dir():
            continue
        rel = p.relative_to(new)
        seen.add(rel)
        d = dest / rel
        if d.is_file() and filecmp.cmp(p, d, shallow=False):
            continue
        if d.is_dir():
            shutil.rmtree(d)
        d.parent.mkdir(parents=True, exist_ok=True)
        os.replace(p, d)
        written += 1
    for d in sorted(dest.rglob("*"), reverse=True):
        if d.is_file() and d.relative_to(dest) not in seen:
            d.unlink()
            removed += 1
        elif d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    return written, removed


class BuildLocked(RuntimeError):
    """Another ``course`` command is writing the same build folder."""


@contextlib.contextmanager
def output_lock(out: Path, command: str = "build") -> Iterator[None]:
    """Hold ``OUT/.lock`` for the whole build; if another process holds it, fail at once."""
    from filelock import FileLock, Timeout

    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out / ".lock"))
    owner = out / ".lock-owner"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        who = owner.read_text(encoding="utf-8").strip() if owner.exists() else "another process"
        raise BuildLocked(
            f"{out} is in use by another course command ({who}); wait for it to finish, "
            "or build into another folder with --out"
        ) from None
    try:
        owner.write_text(f"course {command}, pid {os.getpid()}, started {time.strftime('%H:%M:%S')}", encoding="utf-8")
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


def write_log(path: Path, errors: list[PluginError]) -> Path:
    """Write each failure with its traceback to ``path`` (the build log)."""
    parts = []
    for e in errors:
        parts.append(f"== plugin {e.plugin!r} failed in {e.where}\n{e.message}\n\n{e.tb or '(no traceback)'}\n")
    text = "\n".join(parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def sweep(out: Path) -> None:
    """Remove what a killed build left in ``out`` (the caller holds its lock, so it is not in use)."""
    for folder in (out, out / "_build"):
        for p in folder.glob(".*-*-*"):
            if p.name.startswith((".staging-", ".tmp-", ".old-", ".html-")):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


