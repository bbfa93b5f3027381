"""Test isolation: only this distribution's plugins load, caches go to a temp folder."""

from __future__ import annotations

import importlib.metadata as md
import os
from pathlib import Path

import fakeplugins
import pytest

from course import plugins

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


@pytest.fixture(scope="session")
def built_book(_isolated_environment, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML folder of a whole book built once per session by the real CLI
    (``course build --out <tmp>`` in a subprocess, with this session's isolated
    plugins and cache). Tests that use it are slow: mark them so.

    Set ``COURSE_TEST_BOOK`` to an existing build folder (the ``--out`` of an
    earlier ``course build``) to test that book instead of building one.
    """
    import subprocess
    import sys

    existing = os.environ.get("COURSE_TEST_BOOK")
    if existing:
        html = Path(existing) / "_build" / "html"
        assert (html / "index.html").is_file(), f"COURSE_TEST_BOOK={existing} holds no built book"
        return html
    out = tmp_path_factory.mktemp("book")
    course = Path(sys.executable).with_name("course")
    proc = subprocess.run([str(course), "build", "--out", str(out)], capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, f"course build failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    html = out / "_build" / "html"
    assert Path(proc.stdout.strip().splitlines()[-1]) == html / "index.html"
    return html


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """In-process: only the test plugin tests/fakeplugins.py, a private cache and a log of
    what the plugin did (for the pipeline and failure tests)."""

    class Fake:
        log = tmp_path / "fake.log"
        cache = tmp_path / "cache"
        out = tmp_path / "book"

        @staticmethod
        def load(*slugs: str) -> plugins.Course:
            monkeypatch.setenv("FAKE_CONCEPTS", ",".join(slugs))
            course = plugins.load(extra=[fakeplugins])
            assert not course.errors, course.errors
            return course

        @classmethod
        def calls(cls, kind: str = "") -> list[str]:
            return [line for line in fakeplugins.logged(cls.log) if line.startswith(kind)]

    monkeypatch.setenv("COURSE_PLUGINS", "")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(Fake.cache))
    monkeypatch.setenv("FAKE_LOG", str(Fake.log))
    for var in ("FAKE_VIDEO", "FAKE_CHAPTER", "FAKE_VERSION", "FAKE_SLOW", "FAKE_DELAY"):
        monkeypatch.delenv(var, raising=False)
    return Fake
