"""Content-addressed cache for experiment results and other heavy outputs.

A key is the SHA-256 of everything the output depends on: the concept's
settings and seed, the plugin's own source files, the engine's source and the
versions of the libraries that compute it. Entries are written atomically
(see :meth:`course.Result.save`); a damaged entry is detected by its checksum
and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

ENV_CACHE = "COURSE_CACHE_DIR"
_CORE_FILES = ("engine.py", "metrics.py", "results.py")


def cache_dir() -> Path:
    """``$COURSE_CACHE_DIR``, else ``$XDG_CACHE_HOME/superposition-course``."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "superposition-course"


def file_digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for dist in ("torch", "numpy", "superposition-course"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = "?"
    return out


def core_digest() -> str:
    here = Path(__file__).resolve().parent
    return file_digest([here / f for f in _CORE_FILES])


def key(*parts: Any) -> str:
    """A stable hash of JSON-serialisable ``parts``."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def experiment_key(concept: Any, settings: dict[str, Any], seed: int, device: str) -> str:
    """The cache key of one concept's experiment result."""
    return key(
        "experiment",
        concept.slug,
        settings,
        seed,
        device,
        file_digest(concept.source_files()),
        core_digest(),
        library_versions(),
    )
