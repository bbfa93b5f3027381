"""Helpers shared by the concept tests."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

# the course's one static server (course build --pdf prints the book through it)
from course.pdf import QuietHandler, serve  # noqa: F401 - for the browser tests

#: the `course` script of the environment running the tests
COURSE = str(Path(sys.executable).with_name("course"))


def course_json(slug: str, *args: str) -> dict:
    """`course run SLUG --json ARGS...` as a user types it, parsed."""
    out = subprocess.run([COURSE, "run", slug, "--json", *args], capture_output=True, text=True,
                         env=os.environ.copy(), timeout=900)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def random_rotation(d: int, seed: int = 0) -> np.ndarray:
    """A random d × d rotation (orthogonal, Haar-distributed)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q * np.sign(np.diag(r))


# --------------------------------------------------------------------------- browser tests

#: the Chromium the browser tests drive, and how (no network of its own, videos may autoplay)
CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """Headless Chromium through Playwright; skipped without it (a failure on CI)."""
    import pytest

    sync_api = pytest.importorskip("playwright.sync_api")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"chromium not found at {CHROMIUM} (apt-get install chromium, or set COURSE_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
