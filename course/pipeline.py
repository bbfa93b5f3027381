"""The stages of one concept, each run with its errors attributed to the plugin.

``settings → experiment (cached) → metrics → figures / animation / chapter``.
"""

from __future__ import annotations

import json
import math
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from course import cache
from course.plugins import PluginError, Registered
from course.results import CorruptResult, Result

T = TypeVar("T")


def stage(reg: Registered, name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call one stage of a concept; any exception becomes a :class:`PluginError`
    naming the plugin, the concept and the stage."""
    try:
        return fn(*args, **kwargs)
    except PluginError:
        raise
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - the plugin's own failure
        raise PluginError(
            reg.plugin.name,
            f"{reg.concept.slug}.{name}()",
            f"{type(exc).__name__}: {exc}",
            traceback.format_exc(),
        ) from exc


def experiment(
    reg: Registered,
    seed: int = 0,
    device: str = "cpu",
    quick: bool = False,
    use_cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Result, bool]:
    """The concept's result, from the cache when possible. Returns (result, cached)."""
    c = reg.concept
    settings = stage(reg, "settings", c.settings, quick)
    _check_json(reg, "settings", settings)
    path = cache.cache_dir() / "experiments" / c.slug / cache.experiment_key(c, settings, seed, device)
    if use_cache and path.exists():
        try:
            return Result.load(path), True
        except CorruptResult:
            pass  # recompute below; save() replaces the damaged entry
    result = stage(reg, "run", c.run, settings, seed=seed, device=device, progress=progress)
    if not isinstance(result, Result):
        raise PluginError(reg.plugin.name, f"{c.slug}.run()", f"returned {type(result).__name__}, expected a course.Result")
    if use_cache:
        result.save(path)
    return result, False


def metrics(reg: Registered, result: Result) -> dict[str, Any]:
    """The concept's metrics, checked to be JSON with a ``runs`` list of finite numbers."""
    out = stage(reg, "metrics", reg.concept.metrics, result)
    if not isinstance(out, dict) or not isinstance(out.get("runs"), list):
        raise PluginError(reg.plugin.name, f"{reg.concept.slug}.metrics()", 'must return a dict with a "runs" list')
    _check_json(reg, "metrics", out)
    bad = _non_finite(out)
    if bad:
        raise PluginError(reg.plugin.name, f"{reg.concept.slug}.metrics()", f"non-finite value at {bad}")
    return out


def _check_json(reg: Registered, where: str, value: Any) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise PluginError(reg.plugin.name, f"{reg.concept.slug}.{where}()", f"is not JSON-serialisable: {exc}") from exc


def _non_finite(value: Any, path: str = "") -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return path or "(top)"
    if isinstance(value, dict):
        for k, v in value.items():
            found = _non_finite(v, f"{path}.{k}" if path else str(k))
            if found:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = _non_finite(v, f"{path}[{i}]")
            if found:
                return found
    return None


def write_json(path: Path, value: Any) -> None:
    """Write JSON atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=1), encoding="utf-8")
    tmp.replace(path)
