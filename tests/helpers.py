"""Helpers shared by the concept tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

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
