"""Content-addressed cache for experiment results, figures and videos.

Layout of ``cache_dir()``::

    experiments/GROUP/KEY/  a saved course.Result (checksummed by Result.save);
                            GROUP is the slug, or the shared experiment module
                            of the chapters that report one setting
    analysis/SLUG/KEY/      the concept's metrics (manifest.json)
    figures/SLUG/KEY/       its figures (manifest.json)
    renders/SLUG/KEY/       its video, poster and narration timeline (manifest.json)
    locks/                  one lock file per kind and concept
    templates/              compiled Jinja code of the words and pages
                            (course.words; named by the SHA-256 of the text,
                            its file name and the Jinja and Python versions)
    notebooks/              the learner notebooks the build made (course.lab;
                            named by the SHA-256 of notebook.py, the slug,
                            course.lab's code and jupytext's and nbformat's versions)

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
in one rename, with a manifest of SHA-256 checksums written last: one per
file, and one of the manifest itself (its metadata included). A folder
without a valid manifest, whose manifest or files do not match their
checksums, whose manifest names a file outside the entry, or whose metadata
has the wrong shape, is not an entry: it is recomputed (:attr:`Entry.damage`
says why). Temporary folders of a killed build are swept later
(:func:`sweep`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
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
_CORE_FILES = ("engine.py", "kernels.py", "results.py")
_FIGURE_FILES = ("figures.py", "palette.py")
_RENDER_FILES = ("render.py", "palette.py", "align.py")
_STALE_SECONDS = 3600.0


class CacheError(RuntimeError):
    """The cache folder cannot be written (full, read-only, no permission): the
    machine's problem, not a plugin's; the message says what to do."""


def cache_dir() -> Path:
    """``$COURSE_CACHE_DIR``, else ``$XDG_CACHE_HOME/superposition-course``."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "superposition-course"


def describe_os_error(exc: OSError) -> str:
    """One line for a failed file operation: why, where, and a hint for a full disk."""
    if isinstance(exc, shutil.Error):  # copytree's list of every file that failed: say the first
        failures = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
        if failures and isinstance(failures[0], tuple) and len(failures[0]) == 3:
            n = len(failures)
            more = f" (and {n - 1} more file{'s' if n > 2 else ''})" if n > 1 else ""
            return f"{str(failures[0][2]).strip()}{more}"
        return (str(exc).splitlines() or ["copy failed"])[0][:300]
    reason = exc.strerror or str(exc) or type(exc).__name__
    text = f"{reason}: {exc.filename}" if exc.filename else reason
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        text += " (the disk is full: free some space)"
    elif exc.errno == errno.EROFS:
        text += " (a read-only file system)"
    return text


def is_disk_error(exc: BaseException) -> bool:
    """A full or read-only disk: the machine's problem wherever it happens."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def in_cache(exc: BaseException) -> bool:
    """An error writing or reading a file inside the cache folder."""
    name = getattr(exc, "filename", None)
    if not isinstance(exc, OSError) or not isinstance(name, str | bytes | os.PathLike):
        return False
    try:
        return Path(os.fsdecode(name)).resolve().is_relative_to(cache_dir().resolve())
    except (OSError, ValueError, RuntimeError):
        return False


def cache_error(exc: OSError) -> CacheError:
    """The :class:`CacheError` for ``exc``: one line, with what to do."""
    return CacheError(f"cannot write the cache {cache_dir()}: {describe_os_error(exc)}; free space or fix its "
                      f"permissions, or set {ENV_CACHE} to a folder you can write")


def check_writable(*kinds: str) -> None:
    """Raise :class:`CacheError` unless the cache folder, its ``locks`` and
    each folder of ``kinds`` can be written (before any plugin runs)."""
    import tempfile

    for folder in (cache_dir(), cache_dir() / "locks", *(cache_dir() / k for k in kinds)):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".tmp-probe-", dir=folder)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise cache_error(exc) from None


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


def keep(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all, for a cache that only
    saves time (compiled templates, learner notebooks): if it cannot be
    written, nothing is left behind and the build goes on."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


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
               file_digest(_course_files(("metrics.py", "align.py"))), library_versions(("numpy",)))


def metrics_digest(metrics: dict[str, Any]) -> str:
    """Digest of a metrics document: figures and videos depend on the numbers,
    not on the code that computed them."""
    return key("metrics", metrics)


def figures_key(concept: Any, experiment: str, metrics: str) -> str:
    """The key of a concept's figures, given its experiment's key and its
    metrics' digest: the figures files, the figure helpers, matplotlib."""
    return key("figures", concept.slug, experiment, metrics, stage_digest(concept, "figures"),
               figure_digest(), library_versions(("matplotlib",)))


def render_key(concept: Any, experiment: str, metrics: str, quality: str, fmt: str, theme: str = "light") -> str:
    """The key of a concept's video at ``quality`` in ``fmt`` and video ``theme``:
    the scene files, the animation helpers and the render adapter, manim's
    version. Not the words: the narration's text goes into the captions file at page time."""
    libs = library_versions(("manim", "manimpango", "pycairo", "av"))
    return key("render", concept.slug, experiment, metrics, stage_digest(concept, "scene"),
               animation_digest(), libs, quality, fmt, theme)


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


def _exchange(a: Path, b: Path) -> bool:
    """Swap the paths ``a`` and ``b`` in one step (Linux ``renameat2`` with
    ``RENAME_EXCHANGE``); False where the system or file system cannot."""
    fn = getattr(_LIBC, "renameat2", None) if _LIBC is not None else None
    if fn is None:
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True)
except OSError:  # no C library to ask: the two-rename fallback
    _LIBC = None


def aside_of(dest: Path) -> Path:
    """Where :func:`replace_dir` keeps the old ``dest`` while it puts the new one
    in place without an atomic exchange; :func:`recover_dir` puts it back."""
    return dest.with_name(f".{dest.name}.previous")


def recover_dir(dest: Path) -> bool:
    """After a killed :func:`replace_dir`: put the old folder back if ``dest`` is
    missing, else drop the leftover. True if something was put back."""
    aside = aside_of(dest)
    if not os.path.lexists(aside):
        return False
    if os.path.lexists(dest):
        discard(aside)
        return False
    os.replace(aside, dest)
    return True


def replace_dir(tmp: Path, dest: Path) -> None:
    """Put the folder ``tmp`` at ``dest``, replacing what is there, so that
    ``dest`` is at every moment the old folder or the new one, whole.

    Where the file system can, the two are exchanged in one step and the old
    one is then removed. Elsewhere the old folder is renamed aside
    (:func:`aside_of`) and the new one renamed in: a process killed between
    the two renames leaves ``dest`` missing and the old folder aside, and
    the next :func:`recover_dir` (every build's sweep) puts it back.
    """
    recover_dir(dest)
    if not os.path.lexists(dest):
        os.replace(tmp, dest)
        return
    if _exchange(tmp, dest):
        discard(tmp)  # what was at dest
        return
    aside = aside_of(dest)
    os.replace(dest, aside)
    os.replace(tmp, dest)
    discard(aside)


def remove_path(path: Path) -> None:
    """Remove a file, a link (never what it points to) or a folder tree; a
    tree a killed process left without permissions (mode 000) is given its
    owner's permissions back first. Raises OSError if something cannot go."""
    path = Path(path)
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
        return
    try:
        shutil.rmtree(path)
    except OSError:
        _unlock_tree(path)
        shutil.rmtree(path)


def _unlock_tree(top: Path) -> None:
    """Give every folder under ``top`` (links not followed) rwx for its owner."""
    import stat

    stack = [str(top)]
    while stack:
        folder = stack.pop()
        with contextlib.suppress(OSError):
            os.chmod(folder, stat.S_IRWXU)
        try:
            with os.scandir(folder) as entries:
                stack += [e.path for e in entries if e.is_dir(follow_symlinks=False)]
        except OSError:
            continue


def discard(path: Path) -> bool:
    """:func:`remove_path`, quietly (for leftovers); True if ``path`` is gone."""
    with contextlib.suppress(OSError):
        remove_path(path)
    return not os.path.lexists(path)


def manifest_digest(manifest: dict[str, Any]) -> str:
    """The checksum of a manifest: SHA-256 of everything in it but the checksum."""
    body = {k: v for k, v in manifest.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def confined(root: Path, rel: Any) -> Path | None:
    """``root/rel`` if ``rel`` is a relative name of a regular file that
    resolves inside ``root`` (no ``..``, no absolute path, no link out), else None."""
    if not isinstance(rel, str) or not rel or "\0" in rel:
        return None
    rp = Path(rel)
    if rp.is_absolute() or ".." in rp.parts:
        return None
    path = root / rp
    try:
        if not path.resolve(strict=True).is_relative_to(root.resolve(strict=True)):
            return None
        if not path.is_file() or path.is_symlink():
            return None
    except (OSError, RuntimeError):
        return None
    return path


#: checks a caller passes to :meth:`Entry.load`: the problem with ``meta`` ("" if none)
MetaCheck = Callable[[dict[str, Any], "Entry"], str]


class Entry:
    """One cache entry: a folder written whole or not at all.

    ``meta`` (JSON) and the checksum of every file are kept in the entry's
    ``manifest.json``, written last, with the checksum of the manifest
    itself; :meth:`load` verifies them all.
    """

    def __init__(self, kind: str, slug: str, key: str, root: Path | None = None) -> None:
        self.kind, self.slug, self.key = kind, slug, key
        self.path = (root or cache_dir()) / kind / slug / key
        #: why the last :meth:`load` found the entry damaged ("" if it was absent or whole)
        self.damage = ""
        self._files: set[str] = set()
        self._meta: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Entry({self.kind}/{self.slug}/{self.key})"

    def load(self, check: MetaCheck | None = None) -> dict[str, Any] | None:
        """The entry's ``meta``, or None if it is absent, incomplete or damaged
        (then :attr:`damage` says what is wrong). ``check`` judges the shape
        of ``meta``: a non-empty answer makes the entry damaged."""
        self.damage = ""
        self._files = set()
        if not (self.path / MANIFEST).exists():
            return None
        problem = self._verify(check)
        if problem:
            self.damage = problem
            return None
        return self._meta

    def _verify(self, check: MetaCheck | None) -> str:
        try:
            manifest = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return f"unreadable manifest ({type(exc).__name__})"
        if not isinstance(manifest, dict):
            return "the manifest is not a JSON object"
        files, meta = manifest.get("files"), manifest.get("meta")
        if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
            return "the manifest has no file list"
        if not isinstance(meta, dict):
            return "the manifest has no metadata"
        if manifest.get("sha256") != manifest_digest(manifest):
            return "the manifest does not match its checksum"
        for rel, digest in files.items():
            path = confined(self.path, rel)
            if path is None:
                return f"the manifest names {rel!r}, which is not a file inside the entry"
            try:
                if _sha256(path) != digest:
                    return f"{rel} does not match its checksum"
            except OSError as exc:
                return f"{rel} cannot be read ({exc.strerror})"
        self._files = set(files)
        self._meta = meta
        if check is not None:
            try:
                problem = check(meta, self)
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                problem = f"its metadata has the wrong shape ({type(exc).__name__}: {exc})"
            if problem:
                return problem
        return ""

    def file(self, rel: Any) -> Path:
        """The path of ``rel``, a file the loaded manifest lists and checksummed
        (raises ValueError for any other name)."""
        if not isinstance(rel, str) or rel not in self._files:
            raise ValueError(f"{rel!r} is not a file of the entry")
        path = confined(self.path, rel)
        if path is None:
            raise ValueError(f"{rel!r} is not a file inside the entry")
        return path

    def has(self, rel: Any) -> bool:
        """True if ``rel`` is a file the loaded manifest lists and checksummed."""
        return isinstance(rel, str) and rel in self._files

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
                p.relative_to(tmp).as_posix(): _sha256(p)
                for p in sorted(tmp.rglob("*"))
                if p.is_file() and not p.is_symlink() and p.name != MANIFEST
            }
            manifest: dict[str, Any] = {"meta": meta, "files": files, "created": time.time()}
            manifest["sha256"] = manifest_digest(manifest)
            with open(tmp / MANIFEST, "w", encoding="utf-8") as fh:
                json.dump(manifest, fh, indent=1)  # keep the order of the metrics
                fh.flush()
                os.fsync(fh.fileno())
            replace_dir(tmp, self.path)
            self._files, self._meta = set(files), meta
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
    seconds old; an entry left aside by a killed :func:`replace_dir` is put
    back (or dropped if a new entry took its place). A link is removed,
    never what it points to. Returns what was removed.
    """
    root = root or cache_dir()
    removed = []
    now = time.time()
    for kind in KINDS:
        for parent in (root / kind).glob("*"):
            if parent.is_symlink() or not parent.is_dir():
                continue
            for p in parent.glob(".*"):
                if p.name.endswith(".previous"):
                    recover_dir(parent / p.name[1:-len(".previous")])
                    continue
                parts = p.name.split("-")
                pid = int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else None
                try:
                    stale = (pid is not None and not _pid_alive(pid)) or (
                        pid is None and now - p.lstat().st_mtime > older_than
                    )
                except OSError:
                    continue
                if stale and discard(p):
                    removed.append(p)
    return removed


def size(path: Path) -> int:
    """Bytes used by the files under ``path`` (links count as themselves)."""
    path = Path(path)
    try:
        if path.is_symlink() or not path.is_dir():
            return path.lstat().st_size
        return sum(p.lstat().st_size for p in path.rglob("*") if p.is_symlink() or not p.is_dir())
    except OSError:
        return 0


def clean(kinds: tuple[str, ...], root: Path | None = None) -> list[tuple[Path, int]]:
    """Delete the cache folders of ``kinds``; returns (folder, bytes freed) for each.
    Raises :class:`CacheError` (one line) if one cannot be removed."""
    root = root or cache_dir()
    out = []
    for kind in kinds:
        folder = root / kind
        if os.path.lexists(folder):
            n = size(folder)
            try:
                remove_path(folder)
            except OSError as exc:
                raise CacheError(f"cannot remove {folder}: {describe_os_error(exc)}; fix its permissions "
                                 f"(chmod -R u+rwX {folder}) or remove it yourself") from None
            out.append((folder, n))
    return out
