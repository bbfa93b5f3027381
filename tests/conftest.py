"""Test isolation: only this distribution's plugins load, caches go to a temp folder."""

from __future__ import annotations

import importlib.metadata as md
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def builtin_plugin_names() -> list[str]:
    dist = md.distribution("superposition-course")
    return sorted(ep.name for ep in dist.entry_points if ep.group == "course")


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory):
    """Keep ambient installed plugins out, and never touch the user's cache."""
    saved = {k: os.environ.get(k) for k in ("COURSE_PLUGINS", "COURSE_CACHE_DIR", "COURSE_TRACE")}
    os.environ["COURSE_PLUGINS"] = ",".join(builtin_plugin_names())
    os.environ["COURSE_CACHE_DIR"] = str(tmp_path_factory.mktemp("course-cache"))
    os.environ.pop("COURSE_TRACE", None)
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
