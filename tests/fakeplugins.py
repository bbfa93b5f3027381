"""Small concept plugins for the build-pipeline tests (no torch, milliseconds each).

Which concepts this plugin registers comes from ``FAKE_CONCEPTS`` (a
comma-separated list of the slugs below), so the same module serves tests
in-process (``course.plugins.load(extra=[fakeplugins])``), in worker
processes and in a ``course`` subprocess (through an entry point written by
:func:`install`). What they do is written, one line per call, to the file
``FAKE_LOG`` names: ``run SLUG PID``, ``figures SLUG``, ``animation SLUG``.

- ``alpha``, ``beta``: a working concept (``FAKE_VIDEO=1`` gives it a short
  Manim scene with a caption); ``FAKE_CHAPTER`` is a file holding the chapter
  template, ``FAKE_VERSION`` goes into the settings (a new version, a new key);
- ``boom``: ``run()`` raises ValueError;
- ``wrongtype``: ``run()`` returns a dict; ``badmetrics``: metrics() returns a list;
- ``slow``: ``run()`` takes ``FAKE_SLOW`` seconds (default 20), reporting progress;
- ``FAKE_DELAY``: every ``run()`` first sleeps that many seconds (a worker busy long
  enough for the next concept to go to another worker).
"""

from __future__ import annotations

import os
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from course import Animation, Claim, Concept, Figure, Result, hookimpl

DEFAULT_CHAPTER = """# {{ concept.title }}

**{{ concept.question }}** This test chapter measured a mean of {{ metrics.mean | num }}.

{{ video }}

{{ figures.square }}
"""


def log(*words: object) -> None:
    path = os.environ.get("FAKE_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(" ".join(str(w) for w in words) + "\n")


def logged(path: str | Path) -> list[str]:
    """The lines of a ``FAKE_LOG`` file (empty if it does not exist)."""
    p = Path(path)
    return p.read_text(encoding="utf-8").splitlines() if p.exists() else []


class FakeScene:
    """Built lazily so that importing this module does not import manim."""

    def __new__(cls, values: np.ndarray):
        from manim import BLUE, FadeIn, Scene, Square

        class _Scene(Scene):
            def construct(self) -> None:
                self.add_subcaption(f"A square whose side is {float(values.mean()):.2f}.", duration=0.5)
                self.play(FadeIn(Square(side_length=1 + float(values.mean()), color=BLUE)), run_time=0.5)
                self.wait(0.2)

        return _Scene()


class Fake(Concept):
    def settings(self, quick: bool = False) -> dict[str, Any]:
        return {"n": 4, "version": os.environ.get("FAKE_VERSION", "1")}

    def run(self, settings: dict[str, Any], seed: int = 0, device: str = "cpu", progress=None) -> Any:
        log("run", self.slug, os.getpid())
        time.sleep(float(os.environ.get("FAKE_DELAY", "0")))
        if self.slug == "boom":
            raise ValueError("boom: the experiment exploded")
        if self.slug == "wrongtype":
            return {"W": [1, 2, 3]}
        if self.slug == "slow":
            total = float(os.environ.get("FAKE_SLOW", "20"))
            steps = 50
            for i in range(steps):
                time.sleep(total / steps)
                if progress:
                    progress(i + 1, steps)
        rng = np.random.default_rng(seed)
        return Result(self.slug, settings, seed, arrays={"W": rng.random((settings["n"], 3))})

    def metrics(self, result: Result) -> Any:
        if self.slug == "badmetrics":
            return [1, 2, 3]
        return {"runs": [{"mean": float(result["W"].mean())}], "mean": float(result["W"].mean())}

    def figures(self, result: Result, metrics: dict[str, Any], outdir: Path) -> list[Figure]:
        from PIL import Image

        log("figures", self.slug)
        path = outdir / f"{self.slug}-square.png"
        shade = int(255 * metrics["mean"])
        Image.new("RGB", (8, 8), (shade, 80, 160)).save(path)
        return [Figure("square", path, "A square.", f"A small square of shade {shade}.")]

    def animation(self, result: Result, metrics: dict[str, Any]) -> Animation | None:
        log("animation", self.slug)
        if os.environ.get("FAKE_VIDEO") != "1":
            return None
        return Animation(partial(FakeScene, result["W"]), "A square grows to the mean weight.", "A square")

    def claims(self, metrics: dict[str, Any]) -> list[Claim]:
        return [Claim(f"{self.slug}-mean", "The mean lies in [0, 1].", f"{metrics['mean']:.2f}", 0 <= metrics["mean"] <= 1)]

    def chapter(self) -> str:
        path = os.environ.get("FAKE_CHAPTER")
        return Path(path).read_text(encoding="utf-8") if path else DEFAULT_CHAPTER


SLUGS = ("alpha", "beta", "boom", "wrongtype", "badmetrics", "slow")


@hookimpl
def register_concepts(register):
    wanted = [s.strip() for s in os.environ.get("FAKE_CONCEPTS", "alpha").split(",") if s.strip()]
    for order, slug in enumerate(SLUGS):
        if slug in wanted:
            register(Fake(slug=slug, title=f"Fake {slug}", order=order, summary=f"The {slug} test concept.",
                          question=f"What does {slug} do?"))


def install(folder: Path) -> dict[str, str]:
    """Make this module an installed plugin (entry point ``fake``) for a
    subprocess: returns the environment variables to add."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = folder / "course_fake-0.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: course-fake\nVersion: 0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[course]\nfake = fakeplugins\n", encoding="utf-8")
    here = str(Path(__file__).resolve().parent)
    return {"PYTHONPATH": os.pathsep.join([str(folder), here]), "COURSE_PLUGINS": "fake"}
