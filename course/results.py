"""An experiment's result: named arrays plus JSON metadata, saved atomically."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ARRAYS = "arrays.npz"
META = "result.json"


class CorruptResult(Exception):
    """A saved result that is incomplete, does not match its checksums or has the wrong shape."""


def meta_digest(meta: dict[str, Any]) -> str:
    """The checksum of ``result.json``: SHA-256 of everything in it but the checksum."""
    body = {k: v for k, v in meta.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _shape_problem(meta: Any) -> str:
    """What is wrong with the shape of a loaded ``result.json`` ("" if nothing)."""
    if not isinstance(meta, dict):
        return f"result.json holds {type(meta).__name__}, not an object"
    expected = {"concept": str, "settings": dict, "seed": int, "info": dict, "arrays_sha256": str, "sha256": str}
    for key, kind in expected.items():
        if key not in meta:
            return f"result.json has no {key!r}"
        if not isinstance(meta[key], kind) or (kind is int and isinstance(meta[key], bool)):
            return f"result.json's {key!r} is {type(meta[key]).__name__}, not {kind.__name__}"
    return ""


@dataclass
class Result:
    """What an experiment produced.

    ``arrays`` holds the trained weights and loss curves as numpy arrays;
    ``info`` holds JSON-serialisable facts (the sparsities trained, the
    model kind, ...). ``settings`` and ``seed`` are what produced it.
    """

    concept: str
    settings: dict[str, Any]
    seed: int
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def save(self, directory: Path) -> Path:
        """Write the result to ``directory`` atomically (all or nothing)."""
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez_compressed(buf, **self.arrays)  # type: ignore[arg-type]  # numpy's stub reads ** as allow_pickle
        data = buf.getvalue()
        meta = {
            "concept": self.concept,
            "settings": self.settings,
            "seed": self.seed,
            "info": self.info,
            "arrays_sha256": hashlib.sha256(data).hexdigest(),
        }
        meta["sha256"] = meta_digest(meta)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory.parent))
        try:
            (tmp / ARRAYS).write_bytes(data)
            (tmp / META).write_text(json.dumps(meta, indent=1, sort_keys=True))
            for f in (tmp / ARRAYS, tmp / META):
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
            if directory.exists():
                shutil.rmtree(directory)
            os.replace(tmp, directory)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return directory

    @classmethod
    def load(cls, directory: Path) -> Result:
        """Read a saved result; raise :class:`CorruptResult` (saying what is
        wrong) if it is incomplete, if ``result.json`` or the arrays do not
        match their checksums, or if ``result.json`` has the wrong shape."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / META).read_text(encoding="utf-8"))
            data = (directory / ARRAYS).read_bytes()
        except (OSError, ValueError) as exc:
            raise CorruptResult(f"{directory}: {type(exc).__name__}: {exc}") from exc
        problem = _shape_problem(meta)
        if problem:
            raise CorruptResult(f"{directory}: {problem}")
        if meta["sha256"] != meta_digest(meta):
            raise CorruptResult(f"{directory}: result.json does not match its checksum")
        if hashlib.sha256(data).hexdigest() != meta["arrays_sha256"]:
            raise CorruptResult(f"{directory}: arrays do not match their checksum")
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:  # what numpy raises for bad data
            raise CorruptResult(f"{directory}: arrays cannot be read ({exc})") from exc
        return cls(
            concept=meta["concept"],
            settings=meta["settings"],
            seed=meta["seed"],
            arrays=arrays,
            info=meta["info"],
        )


def jsonable(x: Any, digits: int = 6) -> Any:
    """Numpy/torch values as plain JSON values, floats rounded to ``digits``."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist(), digits)
    if isinstance(x, list | tuple):
        return [jsonable(v, digits) for v in x]
    if isinstance(x, dict):
        return {str(k): jsonable(v, digits) for k, v in x.items()}
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return round(float(x), digits)
    return x
