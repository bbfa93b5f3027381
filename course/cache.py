"""Content-addressed cache for experiment results, figures and videos.

Layout of ``cache_dir()``::

    experiments/SLUG/KEY/   a saved course.Result (checksummed by Result.save)
    experiments/SLUG/BASE.deps.json   the plugin files the experiment imported
    figures/SLUG/KEY/       the concept's metrics and figures (manifest.json)
    renders/SLUG/KEY/       its video, poster and captions (manifest.json)
    locks/                  one lock file per kind and concept

A key is the SHA-256 of everything an output depends on and nothing else:

- experiment: the settings, seed and device, the engine's source, the
  versions of torch and numpy, and the plugin's code that the experiment
  imports (see :func:`experiment_path`) -- not its chapter text;
- figures (and metrics): the experiment key, all of the plugin's code (its
  ``.py`` files), the figure helpers' source and matplotlib's version;
- render: the figures key, the animation helpers' and render adapter's source,
  manim's version, the quality and the format.

Editing a chapter's text therefore changes no key: the page is rewritten and
nothing is retrained or re-rendered.

Every entry is written into a private temporary folder and moved into place
in one rename, with a manifest of SHA-256 checksums written last; a folder
without a valid manifest, or whose files do not match it, is not an entry
and is recomputed. Temporary folders of a killed build are swept later
(:func:`sweep`).
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ENV_CACHE = "COURSE_CACHE_DIR"
KINDS = ("experiments", "figures", "renders")
MANIFEST = "manifest.json"
#: suffixes of a plugin's files that are page text, not code: they key no cache
PAGE_SUFFIXES = frozenset({".md", ".j2", ".txt", ".rst"})
#: course modules each kind of output depends on (relative to the course package)
_CORE_FILES = ("engine.py", "metrics.py", "results.py")
_FIGURE_FILES = ("figures.py",)
_RENDER_FILES = ("render.py",)
_STALE_SECONDS = 3600.0


def cache_dir() -> Path:
    """``$COURSE_CACHE_DIR``, else ``$XDG_CACHE_HOME/superposition-course``."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "superposition-course"


# --------------------------------------------------------------------------- keys


def file_digest(paths: list[Path]) -> str:
    """SHA-256 over the names and contents of ``paths``, in the order given."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).name.encode())
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def library_versions(names: tuple[str, ...] = ("torch", "numpy", "superposition-course")) -> dict[str, str]:
    """Installed versions of the distributions ``names`` (``"?"`` if absent)."""
    import importlib.metadata as md

    out = {}
    for dist in names:
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = "?"
    return out


def _course_files(names: tuple[str, ...]) -> list[Path]:
    here = Path(__file__).resolve().parent
    return [here / f for f in names]


def core_digest() -> str:
    """Digest of the engine, metrics and results modules."""
    return file_digest(_course_files(_CORE_FILES))


def animation_digest() -> str:
    """Digest of the render adapter and the shared Manim vocabulary (``course_animations``)."""
    import course_animations

    root = Path(course_animations.__file__).resolve().parent
    return file_digest(_course_files(_RENDER_FILES) + sorted(root.rglob("*.py")))


def figure_digest() -> str:
    """Digest of the matplotlib helpers and the palette they share with the animations."""
    import course_animations

    root = Path(course_animations.__file__).resolve().parent
    return file_digest(_course_files(_FIGURE_FILES) + [root / "palette.py"])


def code_files(concept: Any) -> list[Path]:
    """The files of ``concept.source_files()`` that are code (not chapter text)."""
    return [p for p in concept.source_files() if Path(p).suffix not in PAGE_SUFFIXES]


def key(*parts: Any) -> str:
    """A stable hash of JSON-serialisable ``parts``."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def experiment_base_key(concept: Any, settings: dict[str, Any], seed: int, device: str) -> str:
    """The part of an experiment's key that does not depend on the plugin's code."""
    return key("experiment", concept.slug, settings, seed, device, core_digest(), library_versions())


def _deps_file(concept: Any, base: str) -> Path:
    return cache_dir() / "experiments" / concept.slug / f"{base}.deps.json"


def experiment_path(concept: Any, settings: dict[str, Any], seed: int, device: str) -> Path | None:
    """Where the experiment's result is cached, or None if no run of it was recorded.

    The key is the base key plus the digest of the plugin's code files that
    were imported when ``run()`` last finished (recorded beside the entries
    by :func:`record_experiment`): editing a module that the experiment
    does not import, like the scene or the figures, does not retrain it.
    Editing one it imports changes the key; and since a new import must be
    written into a module already imported, the recorded list stays
    complete.
    """
    base = experiment_base_key(concept, settings, seed, device)
    try:
        rels = json.loads(_deps_file(concept, base).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    root = concept.source_dir()
    files = [root / rel for rel in rels]
    if not all(f.is_file() for f in files):
        return None
    return _deps_file(concept, base).parent / f"{base}-{file_digest(files)[:16]}"


def loaded_code_files(concept: Any) -> list[Path]:
    """The concept's code files whose modules are imported in this process."""
    code = {Path(p).resolve() for p in code_files(concept)}
    loaded = {Path(inspect.getfile(type(concept))).resolve()}
    for module in list(sys.modules.values()):
        f = getattr(module, "__file__", None)
        if f and Path(f).resolve() in code:
            loaded.add(Path(f).resolve())
    return sorted(loaded)


def record_experiment(concept: Any, settings: dict[str, Any], seed: int, device: str) -> Path:
    """Call right after ``run()``: record the code it depended on; returns the
    path the result is to be saved at."""
    base = experiment_base_key(concept, settings, seed, device)
    root = concept.source_dir().resolve()
    rels = [str(p.relative_to(root)) for p in loaded_code_files(concept)]
    deps = _deps_file(concept, base)
    deps.parent.mkdir(parents=True, exist_ok=True)
    tmp = deps.with_name(tmp_name())
    tmp.write_text(json.dumps({"files": rels}, indent=1), encoding="utf-8")
    os.replace(tmp, deps)
    path = experiment_path(concept, settings, seed, device)
    assert path is not None
    return path


def figures_key(concept: Any, experiment: str) -> str:
    """The key of a concept's metrics and figures, given its experiment's key
    (its entry's name): all of the plugin's code, the figure helpers, matplotlib."""
    code = file_digest(code_files(concept))
    return key("figures", concept.slug, experiment, code, figure_digest(), library_versions(("matplotlib",)))


def render_key(concept: Any, figures: str, quality: str, fmt: str) -> str:
    """The key of a concept's video at ``quality`` in ``fmt``, given its figures key."""
    libs = library_versions(("manim", "manimpango", "pycairo", "av"))
    return key("render", concept.slug, figures, animation_digest(), libs, quality, fmt)


# --------------------------------------------------------------------------- entries


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def tmp_name(tag: str = "tmp") -> str:
    """A hidden name for a temporary sibling, carrying this process's id."""
    return f".{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def replace_dir(tmp: Path, dest: Path) -> None:
    """Move the folder ``tmp`` to ``dest`` in one rename, replacing what is there."""
    old = None
    if dest.exists():
        old = dest.with_name(tmp_name("old"))
        os.replace(dest, old)
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


class Entry:
    """One cache entry: a folder written whole or not at all.

    ``meta`` (JSON) and the checksum of every file are kept in the entry's
    ``manifest.json``, written last; :meth:`load` verifies them.
    """

    def __init__(self, kind: str, slug: str, key: str, root: Path | None = None) -> None:
        self.kind, self.slug, self.key = kind, slug, key
        self.path = (root or cache_dir()) / kind / slug / key

    def __repr__(self) -> str:
        return f"Entry({self.kind}/{self.slug}/{self.key})"

    def load(self) -> dict[str, Any] | None:
        """The entry's ``meta``, or None if it is absent, incomplete or damaged."""
        try:
            manifest = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
            files: dict[str, str] = manifest["files"]
            for rel, digest in files.items():
                if _sha256(self.path / rel) != digest:
                    return None
            return manifest["meta"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @contextlib.contextmanager
    def writing(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        """Yield ``(folder, meta)`` to fill in; on success the folder becomes the entry.

        If the block raises (or the process dies), nothing replaces the
        current entry and the temporary folder is removed (or swept later).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.parent / tmp_name()
        tmp.mkdir()
        meta: dict[str, Any] = {}
        try:
            yield tmp, meta
            files = {
                str(p.relative_to(tmp)): _sha256(p)
                for p in sorted(tmp.rglob("*"))
                if p.is_file() and p.name != MANIFEST
            }
            manifest = {"meta": meta, "files": files, "created": time.time()}
            with open(tmp / MANIFEST, "w", encoding="utf-8") as fh:
                json.dump(manifest, fh, indent=1)  # keep the order of the metrics
                fh.flush()
                os.fsync(fh.fileno())
            replace_dir(tmp, self.path)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def lock(kind: str, slug: str, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the lock of ``kind``/``slug`` so that concurrent builds sharing a
    cache compute each entry once; ``on_wait`` is called if another holds it."""
    from filelock import FileLock, Timeout

    folder = cache_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    fl = FileLock(str(folder / f"{kind}-{slug}.lock"))
    try:
        fl.acquire(timeout=0.2)
    except Timeout:
        if on_wait is not None:
            on_wait()
        fl.acquire()
    try:
        yield
    finally:
        fl.release()


def sweep(root: Path | None = None, older_than: float = _STALE_SECONDS) -> list[Path]:
    """Remove temporary folders that a killed build left in the cache.

    A temporary folder named by :func:`tmp_name` goes once its process has
    died; any other hidden temporary folder once it is ``older_than``
    seconds old. Returns what was removed.
    """
    root = root or cache_dir()
    removed = []
    now = time.time()
    for kind in KINDS:
        for parent in (root / kind).glob("*"):
            for p in parent.glob(".*"):
                parts = p.name.split("-")
                pid = int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else None
                try:
                    stale = (pid is not None and not _pid_alive(pid)) or (
                        pid is None and now - p.stat().st_mtime > older_than
                    )
                except OSError:
                    continue
                if stale:
                    shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
                    removed.append(p)
    return removed


def size(path: Path) -> int:
    """Bytes used by the files under ``path``."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def clean(kinds: tuple[str, ...], root: Path | None = None) -> list[tuple[Path, int]]:
    """Delete the cache folders of ``kinds``; returns (folder, bytes freed) for each."""
    root = root or cache_dir()
    out = []
    for kind in kinds:
        folder = root / kind
        if folder.exists():
            n = size(folder)
            shutil.rmtree(folder)
            out.append((folder, n))
    return out
