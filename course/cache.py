"""Content-addressed cache for experiment results, figures and videos.

Layout of ``cache_dir()``::

    experiments/GROUP/KEY/  a saved course.Result (checksummed by Result.save);
                            GROUP is the slug, or the shared experiment module
                            of the chapters that report one setting
    analysis/SLUG/KEY/      the concept's metrics (manifest.json)
    figures/SLUG/KEY/       its figures (manifest.json)
    renders/SLUG/KEY/       its video, poster and narration timeline (manifest.json)
    locks/                  one lock file per kind and concept

A key is the SHA-256 of everything an output depends on and nothing else.
Each stage depends on the files it declares (:meth:`course.Concept.stage_files`:
its file of the plugin layout plus the helpers ``Concept.depends`` names):

- experiment: the settings, seed and device, ``experiment.py``, the engine
  and the versions of torch and numpy;
- analysis (metrics): the experiment key, ``analysis.py`` and the metrics module;
- figures: the experiment key, the metrics' digest, ``figures.py``, the
  figure helpers and matplotlib's version;
- render: the experiment key, the metrics' digest, ``scene.py``, the
  animation helpers, the render adapter, manim's version, quality and format.

The words (``words.md.j2``) and the chapter template key nothing: editing them
rewrites pages and captions files, and trains or renders nothing. Editing
``scene.py`` renders the video again without retraining or redrawing; editing
``figures.py`` redraws without rendering.

Every entry is written into a private temporary folder and moved into place
in one rename, with a manifest of SHA-256 checksums written last; a folder
without a valid manifest, or whose files do not match it, is not an entry
and is recomputed. Temporary folders of a killed build are swept later
(:func:`sweep`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ENV_CACHE = "COURSE_CACHE_DIR"
KINDS = ("experiments", "analysis", "figures", "renders")
MANIFEST = "manifest.json"
#: course modules each kind of output depends on (relative to the course package)
_CORE_FILES = ("engine.py", "results.py")
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
    """Digest of the engine and results modules (what every experiment runs on)."""
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


def stage_digest(concept: Any, stage: str) -> str:
    """Digest of the files that key ``stage`` of ``concept`` (see
    :meth:`course.Concept.stage_files`): its layout file and declared helpers."""
    return file_digest(concept.stage_files(stage))


def key(*parts: Any) -> str:
    """A stable hash of JSON-serialisable ``parts``."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def experiment_key(concept: Any, settings: dict[str, Any], seed: int, device: str) -> str:
    """The key of an experiment: settings, seed, device, the experiment's own
    files, the engine and the library versions -- not the slug, the chapter,
    the words or any other file of the plugin."""
    return key("experiment", settings, seed, device, stage_digest(concept, "experiment"),
               core_digest(), library_versions())


def experiment_path(concept: Any, settings: dict[str, Any], seed: int, device: str) -> Path:
    """Where the experiment's result is cached (shared by the concepts of one
    :meth:`course.Concept.experiment_group` and configuration)."""
    return cache_dir() / "experiments" / concept.experiment_group() / experiment_key(concept, settings, seed, device)


def analysis_key(concept: Any, experiment: str) -> str:
    """The key of a concept's metrics, given its experiment's key: the
    analysis files and the metrics module."""
    return key("analysis", concept.slug, experiment, stage_digest(concept, "analysis"),
               file_digest(_course_files(("metrics.py",))), library_versions(("numpy",)))


def metrics_digest(metrics: dict[str, Any]) -> str:
    """Digest of a metrics document: figures and videos depend on the numbers,
    not on the code that computed them."""
    return key("metrics", metrics)


def figures_key(concept: Any, experiment: str, metrics: str) -> str:
    """The key of a concept's figures, given its experiment's key and its
    metrics' digest: the figures files, the figure helpers, matplotlib."""
    return key("figures", concept.slug, experiment, metrics, stage_digest(concept, "figures"),
               figure_digest(), library_versions(("matplotlib",)))


def render_key(concept: Any, experiment: str, metrics: str, quality: str, fmt: str) -> str:
    """The key of a concept's video at ``quality`` in ``fmt``: the scene files,
    the animation helpers and the render adapter, manim's version. Not the
    words: the narration's text goes into the captions file at page time."""
    libs = library_versions(("manim", "manimpango", "pycairo", "av"))
    return key("render", concept.slug, experiment, metrics, stage_digest(concept, "scene"),
               animation_digest(), libs, quality, fmt)


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
