"""The `course` command as a user types it (a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

COURSE = str(Path(sys.executable).with_name("course"))


def course(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([COURSE, *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=900)


def test_help_explains_every_command():
    out = course("--help")
    assert out.returncode == 0
    for cmd in ("list", "run", "render", "build"):
        assert cmd in out.stdout
        sub = course(cmd, "--help")
        assert sub.returncode == 0 and len(sub.stdout.splitlines()) > 4


def test_list_shows_concepts_in_book_order_with_distribution():
    out = course("list")
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()]
    slugs = [r[0] for r in rows]
    assert "superposition" in slugs
    assert all(r[-1] == "superposition-course" for r in rows)
    from course import plugins

    assert slugs == plugins.load().slugs()


@pytest.mark.parametrize(
    "args, expected",
    [
        (("run", "no-such-concept"), "unknown concept 'no-such-concept'; choose one of:"),
        (("render", "superposition", "-q", "ultra"), "'ultra' is not one of 'low', 'medium', 'high', 'production', '4k'"),
        (("run", "superposition", "--seed", "x"), "'x' is not a valid integer"),
    ],
)
def test_bad_input_is_one_line_exit_2_no_traceback(args, expected):
    out = course(*args)
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert expected in lines[0]
    assert "Traceback" not in out.stderr
    if "unknown concept" in expected:
        assert "superposition" in lines[0]  # lists the valid choices


def test_run_quick_prints_a_table():
    out = course("run", "superposition", "--quick")
    assert out.returncode == 0, out.stderr
    header = out.stdout.splitlines()[0].split()
    assert header[:2] == ["sparsity", "feature_norms"]
    assert len(out.stdout.splitlines()) >= 5


@pytest.mark.slow
def test_run_json_reproduces_the_intro_figure():
    """`course run superposition --json`: 2 features dense, 4 antipodal at S=0.8, a pentagon at S=0.9."""
    out = course("run", "superposition", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["concept"] == "superposition"
    keys = {"sparsity", "feature_norms", "interference", "feature_dimensionality", "frobenius_sq", "features_represented"}
    by_s = {}
    for run in doc["runs"]:
        assert keys <= set(run)
        by_s[run["sparsity"]] = run
    assert by_s[0.0]["features_represented"] == 2
    assert by_s[0.8]["features_represented"] == 4
    d = [x for x in by_s[0.8]["feature_dimensionality"] if x > 0.05]
    assert len(d) == 4 and all(abs(x - 0.5) < 0.06 for x in d)
    assert by_s[0.9]["features_represented"] == 5
    assert all(abs(x - 0.4) < 0.05 for x in by_s[0.9]["feature_dimensionality"])
    assert by_s[0.9]["frobenius_sq"] > by_s[0.8]["frobenius_sq"] > by_s[0.0]["frobenius_sq"]


@pytest.mark.slow
def test_render_writes_video_poster_and_captions(tmp_path):
    out = course("render", "superposition", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    video = Path(out.stdout.strip().splitlines()[-1])
    assert video.exists() and video.suffix == ".mp4" and video.stat().st_size > 10_000
    assert video.with_suffix(".png").exists()
    vtt = video.with_suffix(".vtt").read_text()
    assert vtt.startswith("WEBVTT") and "-->" in vtt


def test_claims_prints_the_report_and_matches_the_builds_reproduction_json(fake) -> None:
    from click.testing import CliRunner

    from course import book
    from course.cli import cli

    course = fake.load("alpha", "beta")
    res = CliRunner().invoke(cli, ["claims", "--json"], obj={"course": course})
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert (doc["held"], doc["total"]) == (2, 2)
    assert [c["chapter"] + "/" + c["id"] for c in doc["claims"]] == ["alpha/alpha-mean", "beta/beta-mean"]
    text = CliRunner().invoke(cli, ["claims", "alpha"], obj={"course": course}).output
    assert "holds   alpha/alpha-mean" in text and text.strip().endswith("1 of 1 claims hold.")
    book.build(course, fake.out, jobs=1)
    assert json.loads((fake.out / "reproduction.json").read_text(encoding="utf-8")) == doc
