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
import sys
import time
from pathlib import Path
from typing import Any

import fakeplugins
import pytest
from click.testing import CliRunner

from course import book, cache, outdir, pipeline, plugins
from course.cli import cli
from course.progress import Event, Record, Reporter, Tracker, summary

# --------------------------------------------------------------------------- keys


_PLUGIN = {
    "__init__.py": '''
from course import Concept, hookimpl


class Keyed(Concept):
    def run(self, settings, seed=0, device="cpu", progress=None):
        from keyedplugin import experiment

        return experiment.run(experiment.Settings(**settings), seed)


@hookimpl
def register_concepts(register):
    register(Keyed(slug="keyed", title="Keyed", order=1, summary="Cache keys.",
                   depends={"experiment": ("train.py",)}))
''',
    "experiment.py": '''
from dataclasses import asdict, dataclass

from course import Result


@dataclass(frozen=True)
class Settings:
    n: int = 3

    @classmethod
    def quick(cls):
        return cls(n=2)


def run(s, seed=0):
    from keyedplugin.train import weights  # a helper the concept declares in depends

    return Result("keyed", asdict(s), seed, arrays={"W": weights(s.n)})
''',
    "analysis.py": '''
def metrics(result):
    return {"runs": [{"total": float(result["W"].sum())}]}
''',
    "figures.py": '''
def draw(result, metrics, outdir):
    path = outdir / "w.png"
    path.write_bytes(bytes(result["W"].astype("uint8").ravel()))
    return {"w": path}
''',
    "scene.py": '''
from functools import partial

from course import Animation, step


def animation(result, metrics):
    from manim import FadeIn, Scene, Square

    class Tiny(Scene):
        def construct(self):
            self.add_subcaption(step("square"), duration=0.3)
            self.play(FadeIn(Square()), run_time=0.3)

    return Animation(scene=partial(Tiny))
''',
    "words.md.j2": '''
{% block figure_w_caption %}W, {{ runs[0].total }} in all.{% endblock %}
{% block figure_w_alt %}A picture of W.{% endblock %}
{% block video_title %}A square{% endblock %}
{% block video_description %}A square fades in.{% endblock %}
{% block narration_square %}Here is a square.{% endblock %}
''',
    "train.py": "import numpy as np\n\n\ndef weights(n):\n    return np.ones((n, n))\n",
    "chapter.md": "# Keyed\n\nThe chapter text.\n\n{{ figures.w }}\n\n{{ video }}\n",
}


def _keyed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Any]:
    pkg = tmp_path / "keyedplugin"
    pkg.mkdir()
    for name, text in _PLUGIN.items():
        (pkg / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("COURSE_PLUGINS", "")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    for name in [m for m in sys.modules if m.split(".")[0] == "keyedplugin"]:
        monkeypatch.delitem(sys.modules, name)  # another test's copy of the plugin
    import keyedplugin

    return pkg, plugins.load(extra=[keyedplugin]).get("keyed")


def test_what_keys_each_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each stage is keyed by the files it declares: words and chapter text key
    nothing, figures.py only the figures, analysis.py the metrics (and what
    draws them only if the numbers change), experiment.py and its declared
    helper the training; __init__.py keys no stage of a plugin on the layout."""
    pkg, reg = _keyed_plugin(tmp_path, monkeypatch)
    opts = pipeline.Options(video=False)

    def statuses() -> tuple[str, str]:
        art = pipeline.produce(reg, opts)
        by_stage = {r.stage: r.status for r in art.records}
        return by_stage["experiment"], by_stage["figures"]

    def edit(name: str, extra: str) -> None:
        (pkg / name).write_text(_PLUGIN[name] + extra)

    assert statuses() == ("built", "built")
    assert statuses() == ("cached", "cached")
    assert [p.name for p in reg.concept.stage_files("experiment")] == ["experiment.py", "train.py"]
    assert [p.name for p in reg.concept.stage_files("figures")] == ["figures.py"]

    edit("chapter.md", "More text with {{ runs[0].total }}.\n")
    edit("words.md.j2", "{% block extra %}A new line of words.{% endblock %}\n")
    edit("__init__.py", "# an edit of the metadata\n")
    assert pipeline.produce(reg, opts, only_cached=True) is not None  # nothing to recompute
    edit("figures.py", "# a better picture\n")
    assert statuses() == ("cached", "built")
    edit("analysis.py", "# the same numbers, computed by other code\n")
    assert statuses() == ("cached", "cached")  # metrics recomputed, figures of the same numbers kept
    edit("train.py", "# a better experiment\n")
    assert statuses() == ("built", "built")  # new weights: drawn again
    edit("experiment.py", "# an edit\n")
    assert statuses() == ("built", "built")
    assert statuses() == ("cached", "cached")
    base = cache.experiment_key(reg.concept, {"n": 3}, 0, "cpu")
    assert cache.experiment_key(reg.concept, {"n": 4}, 0, "cpu") != base
    assert cache.experiment_key(reg.concept, {"n": 3}, 1, "cpu") != base
    assert cache.render_key(reg.concept, "e", "m", "high", "mp4") != cache.render_key(reg.concept, "e", "m", "low", "mp4")
    assert cache.render_key(reg.concept, "e", "m", "low", "webm") != cache.render_key(reg.concept, "e", "m", "low", "mp4")
    assert cache.figures_key(reg.concept, "e", "m1") != cache.figures_key(reg.concept, "e", "m2")


def test_two_chapters_of_one_setting_share_one_trained_experiment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    pkg, reg = _keyed_plugin(tmp_path, monkeypatch)
    twin = plugins.Registered(replace(reg.concept, slug="twin", shared_experiment="keyedplugin.experiment"), reg.plugin)
    opts = pipeline.Options(video=False)
    assert twin.concept.stage_files("experiment")[0] == (pkg / "experiment.py").resolve()
    assert cache.experiment_path(twin.concept, {"n": 3}, 0, "cpu").parent.name == "keyedplugin.experiment"
    first = {r.stage: r.status for r in pipeline.produce(twin, opts).records}
    (pkg / "chapter.md").write_text("# Keyed\n")  # (no effect on the experiment)
    reg_shared = plugins.Registered(replace(reg.concept, shared_experiment="keyedplugin.experiment"), reg.plugin)
    second = {r.stage: r.status for r in pipeline.produce(reg_shared, opts).records}
    assert first["experiment"] == "built" and second["experiment"] == "cached"  # trained once, for both


def test_check_reports_a_helper_module_a_stage_imports_without_declaring_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from course.check import check_concept

    pkg, reg = _keyed_plugin(tmp_path, monkeypatch)
    assert [p for p in check_concept(reg, scene=False).problems if p.where != "metadata"] == []
    for name in [m for m in sys.modules if m == "keyedplugin.train"]:
        monkeypatch.delitem(sys.modules, name)
    reg.concept.depends = {}  # train.py, which experiment.py imports, no longer declared
    report = check_concept(reg, scene=False)
    assert [p.line() for p in report.problems if p.where != "metadata"] == [
        "plugin 'keyedplugin', concept 'keyed', experiment: imports the plugin's module train.py, which does "
        "not key its cache. Fix: declare it: depends={'experiment': ('train.py',)} in the concept"]


def test_the_scene_keys_the_video_and_the_words_key_its_captions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Editing scene.py renders the video again and nothing else; editing a
    narration line rewrites the captions and renders nothing."""
    from course.chapters import describe

    pkg, reg = _keyed_plugin(tmp_path, monkeypatch)
    opts = pipeline.Options()

    def statuses() -> dict[str, str]:
        return {r.stage: r.status for r in pipeline.produce(reg, opts).records}

    def captions() -> str:
        art = pipeline.produce(reg, opts)
        return describe(reg, art.metrics, art.figures, art.animation, art.timeline, True).captions or ""

    assert statuses() == {"experiment": "built", "figures": "built", "video": "built"}
    assert "Here is a square." in captions()
    (pkg / "words.md.j2").write_text(_PLUGIN["words.md.j2"].replace("Here is a square.", "A square, at last."))
    assert statuses() == {"experiment": "cached", "figures": "cached", "video": "cached"}
    assert "A square, at last." in captions() and "Here is" not in captions()
    (pkg / "scene.py").write_text(_PLUGIN["scene.py"].replace("run_time=0.3", "run_time=0.4"))
    assert statuses() == {"experiment": "cached", "figures": "cached", "video": "built"}


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
    assert outdir.sync_tree(first, dest) == (4, 0)
    old = time.time() - 100
    for p in dest.rglob("*.md"):
        os.utime(p, (old, old))
    second = tmp_path / "b"
    (second / "sub").mkdir(parents=True)
    (second / "same.md").write_text("same")
    (second / "edit.md").write_text("new")
    (second / "new.md").write_text("hello")
    assert outdir.sync_tree(second, dest) == (2, 2)
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


def test_parallel_workers_return_the_same_artifacts(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_DELAY", "3")  # the first worker is still busy when the second concept is handed out
    course = fake.load("alpha", "beta")
    events: list[Event] = []
    par = pipeline.produce_all(course, course.concepts, pipeline.Options(), jobs=2, emit=events.append)
    pids = {int(line.split()[2]) for line in fake.calls("run")}
    assert len(pids) == 2 and os.getpid() not in pids  # each concept in its own worker process
    assert {(e.slug, e.stage, e.kind) for e in events} >= {("alpha", "experiment", "end"), ("beta", "figures", "end")}
    monkeypatch.setenv("FAKE_DELAY", "0")
    serial = pipeline.produce_all(course, course.concepts, pipeline.Options(), jobs=1)
    assert {s: a.metrics for s, a in par.artifacts.items()} == {s: a.metrics for s, a in serial.artifacts.items()}


def test_parallel_workers_take_the_costliest_concepts_first(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    course = fake.load("alpha", "beta")
    costs = {"alpha": 5.0, "beta": 40.0}
    for reg in course.concepts:
        monkeypatch.setattr(reg.concept, "cost", costs[reg.concept.slug])
    handed: list[str] = []

    def parallel(course, todo, opts, workers, emit, fail, out) -> None:  # noqa: ANN001 - the real signature
        handed.extend(r.concept.slug for r in todo)
        for r in todo:
            out.artifacts[r.concept.slug] = pipeline.produce(r, opts, emit)

    monkeypatch.setattr(pipeline, "_produce_parallel", parallel)
    done = pipeline.produce_all(course, course.concepts, pipeline.Options(), jobs=2)
    assert handed == ["beta", "alpha"]  # costliest first
    assert list(done.artifacts) == ["alpha", "beta"]  # the outcome stays in book order
    monkeypatch.setattr(course.get("beta").concept, "cost", 0.0)
    handed.clear()
    pipeline.produce_all(course, course.concepts, pipeline.Options(use_cache=False), jobs=2)
    assert handed == ["alpha", "beta"]  # 0, unknown, goes last


def test_every_built_in_concept_says_what_it_costs() -> None:
    from course import plugins

    course = plugins.load()
    assert all(r.concept.cost > 0 for r in course.concepts if r.plugin.distribution != "(registered in-process)")


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
    rep = Reporter(stream, refresh=0)  # rich redraws on every event
    assert rep.mode == "live"
    for e in [*_events()[:2], Event("beta", "video", "step", 3.5, None, "s"), *_events()[2:]]:
        rep(e)
    rep.close()
    text = stream.getvalue()
    assert "alpha experiment" in text and " 40%" in text and "40/100 steps" in text and "━" in text
    assert "3.5 s of video" in text
    assert "\r\x1b[2K" in text  # the status lines are redrawn in place
    assert "alpha: experiment trained in 3.2 s" in text and "beta: video skipped (no animation)" in text
    assert text.rstrip("\r").endswith("\x1b[?25h")  # status lines gone, the cursor shown again

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
    outdir.record(fake.out, ["page.md"])  # a build folder, as a build leaves it
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
    entry = next((fake.cache / "analysis" / "alpha").iterdir())
    manifest = json.loads((entry / cache.MANIFEST).read_text())
    assert manifest["meta"]["metrics"] == art.metrics
    figures = next((fake.cache / "figures" / "alpha").iterdir())
    assert set(json.loads((figures / cache.MANIFEST).read_text())["files"]) == {"files/alpha-square.png"}
