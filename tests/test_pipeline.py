"""The build pipeline: cache keys and entries, incremental rebuilds, parallel workers,
progress, and the `build` / `render` / `clean` commands.

The concepts are the small test plugins of ``fakeplugins`` (no torch), loaded
in-process or, for the subprocess tests, through an entry point that
``fakeplugins.install`` writes. Failure handling (plugins that raise, killed
and concurrent builds, damaged caches) is in ``test_failures.py``.
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import fakeplugins
import pytest
from click.testing import CliRunner

from course import book, cache, pipeline, plugins
from course.cli import cli
from course.progress import Event, Record, Reporter, Tracker, summary

# --------------------------------------------------------------------------- keys


_PLUGIN = {
    "__init__.py": '''
from course import Concept, Figure, Result, hookimpl


class Keyed(Concept):
    def settings(self, quick=False):
        return {"n": 3}

    def run(self, settings, seed=0, device="cpu", progress=None):
        from keyedplugin.train import weights  # the experiment imports this module

        return Result(self.slug, settings, seed, arrays={"W": weights(settings["n"])})

    def metrics(self, result):
        return {"runs": [{"total": float(result["W"].sum())}]}

    def figures(self, result, metrics, outdir):
        from keyedplugin.draw import draw  # only the figures import this one

        return [Figure("w", draw(result["W"], outdir / "w.png"), "W.", "A picture of W.")]


@hookimpl
def register_concepts(register):
    register(Keyed(slug="keyed", title="Keyed", order=1, summary="Cache keys."))
''',
    "train.py": "import numpy as np\n\n\ndef weights(n):\n    return np.ones((n, n))\n",
    "draw.py": "def draw(W, path):\n    path.write_bytes(bytes(W.astype('uint8').ravel()))\n    return path\n",
    "chapter.md": "# Keyed\n\nThe chapter text.\n",
}


def test_what_keys_each_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chapter text keys nothing; a module only the figures import keys the
    figures and video, not the experiment; a module the experiment imports keys it."""
    pkg = tmp_path / "keyedplugin"
    pkg.mkdir()
    for name, text in _PLUGIN.items():
        (pkg / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("COURSE_PLUGINS", "")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    import keyedplugin

    reg = plugins.load(extra=[keyedplugin]).get("keyed")
    opts = pipeline.Options(video=False)

    def statuses() -> tuple[str, str]:
        art = pipeline.produce(reg, opts)
        by_stage = {r.stage: r.status for r in art.records}
        return by_stage["experiment"], by_stage["figures"]

    assert statuses() == ("built", "built")
    assert statuses() == ("cached", "cached")
    deps = json.loads(next((tmp_path / "cache" / "experiments" / "keyed").glob("*.deps.json")).read_text())
    assert deps["files"] == ["__init__.py", "train.py"]

    (pkg / "chapter.md").write_text("# Keyed\n\nNew text with {{ runs[0].total }}.\n")
    assert pipeline.produce(reg, opts, only_cached=True) is not None  # nothing to recompute
    (pkg / "draw.py").write_text(_PLUGIN["draw.py"] + "# a better picture\n")
    assert statuses() == ("cached", "built")
    (pkg / "train.py").write_text(_PLUGIN["train.py"] + "# a better experiment\n")
    assert statuses() == ("built", "built")
    (pkg / "__init__.py").write_text(_PLUGIN["__init__.py"] + "# an edit\n")
    assert statuses() == ("built", "built")
    assert statuses() == ("cached", "cached")
    base = cache.experiment_base_key(reg.concept, {"n": 3}, 0, "cpu")
    assert cache.experiment_base_key(reg.concept, {"n": 4}, 0, "cpu") != base
    assert cache.experiment_base_key(reg.concept, {"n": 3}, 1, "cpu") != base
    fkey = cache.figures_key(reg.concept, "e")
    assert cache.render_key(reg.concept, fkey, "high", "mp4") != cache.render_key(reg.concept, fkey, "low", "mp4")
    assert cache.render_key(reg.concept, fkey, "low", "webm") != cache.render_key(reg.concept, fkey, "low", "mp4")


# --------------------------------------------------------------------------- entries


def test_entry_is_written_whole_and_checked_on_load(tmp_path: Path) -> None:
    entry = cache.Entry("figures", "x", "k1", root=tmp_path)
    assert entry.load() is None
    with entry.writing() as (folder, meta):
        (folder / "a.png").write_bytes(b"picture")
        meta["answer"] = 42
    assert entry.load() == {"answer": 42}
    (entry.path / "a.png").write_bytes(b"pict")  # truncated
    assert entry.load() is None
    (entry.path / cache.MANIFEST).write_text('{"meta": {"answer"')  # torn manifest
    assert entry.load() is None


def test_an_entry_whose_writer_fails_leaves_nothing(tmp_path: Path) -> None:
    entry = cache.Entry("figures", "x", "k1", root=tmp_path)
    with entry.writing() as (folder, meta):
        meta["v"] = 1
    with pytest.raises(RuntimeError), entry.writing() as (folder, meta):
        (folder / "half.png").write_bytes(b"half")
        raise RuntimeError("killed halfway")
    assert entry.load() == {"v": 1}  # the old entry is intact
    assert [p.name for p in entry.path.parent.iterdir()] == ["k1"]


def test_sweep_removes_temporary_folders_of_dead_processes_only(tmp_path: Path) -> None:
    parent = tmp_path / "figures" / "x"
    parent.mkdir(parents=True)
    dead = parent / ".tmp-999999999-abcd"
    alive = parent / cache.tmp_name()
    old_anonymous = parent / ".tmp-q9w8e7"
    for p in (dead, alive, old_anonymous):
        p.mkdir()
    os.utime(old_anonymous, (time.time() - 7200, time.time() - 7200))
    removed = cache.sweep(tmp_path)
    assert sorted(removed) == sorted([dead, old_anonymous])
    assert alive.exists()


def test_sync_tree_touches_only_what_changed(tmp_path: Path) -> None:
    dest = tmp_path / "src"
    first = tmp_path / "a"
    for name, text in {"same.md": "same", "edit.md": "old", "gone.md": "bye", "sub/x.md": "x"}.items():
        (first / name).parent.mkdir(parents=True, exist_ok=True)
        (first / name).write_text(text)
    assert book.sync_tree(first, dest) == (4, 0)
    old = time.time() - 100
    for p in dest.rglob("*.md"):
        os.utime(p, (old, old))
    second = tmp_path / "b"
    (second / "sub").mkdir(parents=True)
    (second / "same.md").write_text("same")
    (second / "edit.md").write_text("new")
    (second / "new.md").write_text("hello")
    assert book.sync_tree(second, dest) == (2, 2)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == ["edit.md", "new.md", "same.md"]
    assert (dest / "same.md").stat().st_mtime == pytest.approx(old)
    assert (dest / "edit.md").read_text() == "new" and (dest / "edit.md").stat().st_mtime > old + 50


# --------------------------------------------------------------------------- produce


def test_second_run_loads_everything_from_the_cache(fake) -> None:
    course = fake.load("alpha", "beta")
    opts = pipeline.Options()
    first = pipeline.produce_all(course, course.concepts, opts, jobs=1)
    assert [c.split()[:2] for c in fake.calls("run")] == [["run", "alpha"], ["run", "beta"]]
    assert {(r.slug, r.stage, r.status) for r in first.records} >= {("alpha", "experiment", "built"), ("alpha", "figures", "built")}
    assert first.artifacts["alpha"].figures[0].path.is_file()

    calls = fakeplugins.logged(fake.log)
    second = pipeline.produce_all(course, course.concepts, opts, jobs=1)
    assert fakeplugins.logged(fake.log) == calls  # no training, no drawing, no animation
    assert {r.status for r in second.records} == {"cached", "none"}
    assert second.artifacts["alpha"].metrics == first.artifacts["alpha"].metrics
    assert list(second.artifacts) == ["alpha", "beta"]

    os.environ["FAKE_VERSION"] = "2"  # new settings: a new key (monkeypatch restores FAKE_* vars)
    pipeline.produce_all(course, course.concepts, opts, jobs=1)
    assert len(fake.calls("run")) == 4


def test_parallel_workers_return_the_same_artifacts(fake) -> None:
    course = fake.load("alpha", "beta")
    events: list[Event] = []
    par = pipeline.produce_all(course, course.concepts, pipeline.Options(), jobs=2, emit=events.append)
    pids = {int(line.split()[2]) for line in fake.calls("run")}
    assert len(pids) == 2 and os.getpid() not in pids  # each concept in its own worker process
    assert {(e.slug, e.stage, e.kind) for e in events} >= {("alpha", "experiment", "end"), ("beta", "figures", "end")}
    serial = pipeline.produce_all(course, course.concepts, pipeline.Options(), jobs=1)
    assert {s: a.metrics for s, a in par.artifacts.items()} == {s: a.metrics for s, a in serial.artifacts.items()}


def test_training_progress_reaches_the_reporter(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_SLOW", "0.5")
    course = fake.load("slow")
    events: list[Event] = []
    pipeline.produce_all(course, course.concepts, pipeline.Options(), jobs=1, emit=events.append)
    steps = [e for e in events if e.kind == "step"]
    assert steps and steps[-1].done == steps[-1].total == 50 and steps[-1].unit == "steps"
    assert all(e.stage == "experiment" for e in steps)


# --------------------------------------------------------------------------- progress


def _events() -> list[Event]:
    return [
        Event("alpha", "experiment", "start"),
        Event("alpha", "experiment", "step", 40, 100, "steps"),
        Event("alpha", "experiment", "end", status="built", seconds=3.25),
        Event("alpha", "video", "end", status="cached"),
        Event("beta", "video", "end", status="none", detail="no animation"),
    ]


def test_reporter_prints_one_line_per_stage_when_not_a_terminal() -> None:
    stream = io.StringIO()
    rep = Reporter(stream)
    assert rep.mode == "lines"
    for e in _events():
        rep(e)
    rep.close()
    assert stream.getvalue().splitlines() == [
        "alpha: experiment trained in 3.2 s",
        "alpha: video cached",
        "beta: video skipped (no animation)",
    ]


def test_reporter_draws_a_bar_on_a_terminal_and_nothing_when_quiet() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    rep = Reporter(stream, refresh=0)
    assert rep.mode == "live"
    for e in _events():
        rep(e)
    rep.close()
    text = stream.getvalue()
    assert "alpha  experiment  [████████░░░░░░░░░░░░]  40%  40/100 steps" in text
    assert "\x1b[1F\x1b[J" in text  # the status line is redrawn in place
    assert "alpha: experiment trained in 3.2 s" in text

    quiet = io.StringIO()
    rep = Reporter(quiet, mode="quiet")
    for e in _events():
        rep(e)
    assert quiet.getvalue() == ""


def test_summary_says_what_was_cached_and_rebuilt() -> None:
    records = [
        Record("alpha", "experiment", "built", 12.0), Record("alpha", "figures", "built", 1.5),
        Record("alpha", "video", "built", 75.0), Record("beta", "experiment", "cached"),
        Record("beta", "figures", "cached"), Record("beta", "video", "none", detail="no animation"),
    ]
    text = summary(records, 90.0, ["plugin 'x' failed in x.run(): boom"], ["book sources: 3 files"])
    lines = text.splitlines()
    assert lines[0] == "Summary: 3 rebuilt, 2 cached, in 1 min 30 s"
    assert lines[1].split() == ["concept", "experiment", "figures", "video"]
    assert "trained in 12.0 s" in lines[2] and "rendered in 1 min 15 s" in lines[2]
    assert lines[3].split() == ["beta", "cached", "cached", "no", "animation"]
    assert lines[-1] == "  FAILED plugin 'x' failed in x.run(): boom"


def test_tracker_records_a_failed_stage() -> None:
    t = Tracker("alpha")
    with pytest.raises(KeyError), t.stage("figures"):
        raise KeyError("x")
    assert [(r.stage, r.status) for r in t.records] == [("figures", "failed")]


# --------------------------------------------------------------------------- the book


@pytest.mark.slow
def test_warm_build_does_no_work_and_a_chapter_edit_rewrites_one_page(fake, monkeypatch, tmp_path) -> None:
    chapter = tmp_path / "chapter.md"
    chapter.write_text(fakeplugins.DEFAULT_CHAPTER)
    monkeypatch.setenv("FAKE_CHAPTER", str(chapter))
    course = fake.load("alpha", "beta")
    cold = book.build(course, fake.out, jobs=1)
    assert cold.index.is_file() and len(fake.calls("run")) == 2
    page = fake.out / "src" / "concepts" / "alpha.md"
    html = fake.out / "_build" / "html" / "concepts" / "alpha.html"
    assert "This test chapter measured a mean of" in html.read_text()

    calls = fakeplugins.logged(fake.log)
    warm = book.build(course, fake.out, jobs=1)
    assert fakeplugins.logged(fake.log) == calls
    assert {r.status for r in warm.records} <= {"cached", "none"}
    assert warm.files_written == 0 and warm.files == cold.files
    assert warm.sphinx_skipped and not cold.sphinx_skipped  # no page changed: Sphinx did not even start

    chapter.write_text(fakeplugins.DEFAULT_CHAPTER.replace("This test chapter", "This edited chapter"))
    edited = book.build(course, fake.out, jobs=1)
    assert fakeplugins.logged(fake.log) == calls  # still no training, drawing or rendering
    assert edited.files_written == 2  # the two chapters' pages, nothing else
    assert not edited.sphinx_skipped
    assert "This edited chapter" in page.read_text() and "This edited chapter" in html.read_text()
    assert not (fake.out / "build.log").exists()
    assert not [p for p in fake.out.iterdir() if p.name.startswith((".tmp", ".staging", ".old"))]


@pytest.mark.slow
def test_build_command_prints_progress_summary_and_index(fake) -> None:
    course = fake.load("alpha")
    runner = CliRunner()
    res = runner.invoke(cli, ["build", "--out", str(fake.out), "-j", "1"], obj={"course": course})
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(fake.out / "_build" / "html" / "index.html")
    assert "alpha: experiment trained in" in res.stderr
    assert "Summary: 2 rebuilt, 0 cached" in res.stderr
    res = runner.invoke(cli, ["build", "--out", str(fake.out), "--quiet"], obj={"course": course})
    assert res.exit_code == 0 and res.stderr == ""
    res = runner.invoke(cli, ["build", "--out", str(fake.out)], obj={"course": course})
    assert "Summary: 0 rebuilt, 2 cached" in res.stderr and "HTML unchanged" in res.stderr
    res = runner.invoke(cli, ["build", "--out", str(fake.out), "--fresh"], obj={"course": course})
    assert "book: sphinx built in" in res.stderr
    assert "book sources: " in res.stderr and "written, 0 removed; HTML in" in res.stderr


# --------------------------------------------------------------------------- render and clean


@pytest.mark.slow
def test_render_writes_stable_names_and_is_cached(fake, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("FAKE_VIDEO", "1")
    course = fake.load("alpha", "beta")
    media = tmp_path / "media"
    runner = CliRunner()
    res = runner.invoke(cli, ["render", "--all", "--out", str(media), "-j", "1"], obj={"course": course})
    assert res.exit_code == 0, res.output
    assert res.stdout.split() == [str(media / "alpha-low.mp4"), str(media / "beta-low.mp4")]
    names = sorted(p.name for p in media.iterdir() if not p.name.startswith("."))
    assert names == ["alpha-low.mp4", "alpha-low.png", "alpha-low.vtt", "beta-low.mp4", "beta-low.png", "beta-low.vtt"]
    assert "A square whose side is" in (media / "alpha-low.vtt").read_text()
    assert len(fake.calls("animation")) == 2

    res = runner.invoke(cli, ["render", "alpha", "--out", str(media)], obj={"course": course})
    assert res.exit_code == 0 and len(fake.calls("animation")) == 2  # from the cache
    assert "video" in res.stderr and "cached" in res.stderr

    res = runner.invoke(cli, ["render", "alpha", "--out", str(media), "-f", "gif", "-q", "medium"], obj={"course": course})
    assert res.exit_code == 0, res.output
    assert (media / "alpha-medium.gif").stat().st_size > 1000 and (media / "alpha-medium.png").exists()


def test_render_needs_a_concept_or_all(fake) -> None:
    course = fake.load("alpha")
    res = CliRunner().invoke(cli, ["render"], obj={"course": course})
    assert res.exit_code == 2 and "name a concept to render, or use --all" in res.output


def test_clean_keeps_experiments_unless_all(fake) -> None:
    course = fake.load("alpha")
    pipeline.produce_all(course, course.concepts, pipeline.Options(), jobs=1)
    (fake.out / "src").mkdir(parents=True)
    (fake.out / "src" / "page.md").write_text("x")
    runner = CliRunner()
    res = runner.invoke(cli, ["clean", "--out", str(fake.out)], obj={"course": course})
    assert res.exit_code == 0, res.output
    assert not fake.out.exists()
    assert sorted(p.name for p in fake.cache.iterdir() if p.name != "locks") == ["experiments"]
    assert "kept the trained experiments" in res.output
    pipeline.produce_all(course, course.concepts, pipeline.Options(), jobs=1)
    assert len(fake.calls("run")) == 1  # the experiment was kept; figures were redrawn
    assert len(fake.calls("figures")) == 2
    res = runner.invoke(cli, ["clean", "--out", str(fake.out), "--all"], obj={"course": course})
    assert res.exit_code == 0 and not (fake.cache / "experiments").exists()


def test_results_are_json_with_the_concepts_metrics(fake) -> None:
    course = fake.load("alpha")
    art = pipeline.produce(course.get("alpha"), pipeline.Options())
    entry = next((fake.cache / "figures" / "alpha").iterdir())
    manifest = json.loads((entry / cache.MANIFEST).read_text())
    assert manifest["meta"]["metrics"] == art.metrics
    assert set(manifest["files"]) == {"files/alpha-square.png"}
