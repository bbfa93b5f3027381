"""Failure that loses nothing: plugins that raise or return the wrong type, killed,
interrupted and concurrent builds, damaged cache entries, missing system tools.

The concepts are the test plugins of ``fakeplugins``; the subprocess tests
install them through an entry point (``fakeplugins.install``) and run the
real ``course`` script.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import fakeplugins
import pytest

from course import book, cache, outdir, pipeline
from course.plugins import PluginError
from course.render import missing_system_tools
from course.results import Result

COURSE = str(Path(sys.executable).with_name("course"))
#: killed, interrupted and concurrent builds are fault injection too (docs/faults.md)
pytestmark = pytest.mark.faults


@pytest.fixture
def sub(tmp_path: Path):
    """A `course` subprocess that sees only the fake plugin."""
    return make_sub(tmp_path)


def make_sub(tmp_path: Path):
    """What the ``sub`` fixture gives (test_faults uses it too)."""

    class Sub:
        log = tmp_path / "fake.log"
        cache = tmp_path / "cache"
        out = tmp_path / "book"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_")}
        env.update(fakeplugins.install(tmp_path / "site"))
        env.update(COURSE_CACHE_DIR=str(cache), FAKE_LOG=str(log), OMP_NUM_THREADS="1")

        @classmethod
        def start(cls, *args: str, **env: str) -> subprocess.Popen:
            return subprocess.Popen([COURSE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    env={**cls.env, **env})

        @classmethod
        def run(cls, *args: str, **env: str) -> subprocess.CompletedProcess:
            return subprocess.run([COURSE, *args], capture_output=True, text=True, env={**cls.env, **env}, timeout=600)

        @classmethod
        def calls(cls, kind: str = "") -> list[str]:
            return [line for line in fakeplugins.logged(cls.log) if line.startswith(kind)]

        @classmethod
        def wait_for(cls, line_start: str, proc: subprocess.Popen, timeout: float = 60) -> list[str]:
            t0 = time.time()
            while time.time() - t0 < timeout:
                found = cls.calls(line_start)
                if found:
                    return found
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.05)
            raise AssertionError(f"{line_start!r} never logged")

    return Sub


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (killed, not yet reaped by its parent) counts as dead
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _eventually_dead(pids: list[int], timeout: float = 10) -> bool:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.1)
    return False


def processes_using(cache_dir: Path) -> list[int]:
    """Live processes whose environment names ``cache_dir`` (a test's builds and their workers)."""
    needle = f"COURSE_CACHE_DIR={cache_dir}".encode()
    found = []
    for env in Path("/proc").glob("[0-9]*/environ"):
        try:
            if needle in env.read_bytes().split(b"\0") and _alive(int(env.parent.name)):
                found.append(int(env.parent.name))
        except OSError:
            continue
    return found


def no_process_left(cache_dir: Path, timeout: float = 10) -> bool:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if not processes_using(cache_dir):
            return True
        time.sleep(0.1)
    return False


def assert_cache_whole(root: Path) -> None:
    """Every entry in the cache is complete and matches its checksums."""
    for kind in cache.KINDS:
        for entry in sorted((root / kind).glob("*/*")):
            if entry.name.startswith(".") or entry.is_file():
                continue  # a temporary folder, never read as an entry; a list of dependencies
            if kind == "experiments":
                Result.load(entry)  # raises CorruptResult if damaged
            else:
                assert cache.Entry(kind, entry.parent.name, entry.name, root=root).load() is not None, entry


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- plugins that fail


def test_a_plugin_that_raises_stops_the_build_at_once(fake) -> None:
    course = fake.load("boom", "slow")
    with pytest.raises(PluginError) as info:
        book.build(course, fake.out, jobs=1)
    err = info.value
    assert (err.plugin, err.where) == ("fakeplugins", "boom.run()")
    assert err.message == "ValueError: boom: the experiment exploded"
    assert fake.calls("run") and not fake.calls("run slow")  # stopped before the next concept
    log = (fake.out / "build.log").read_text()
    assert "plugin 'fakeplugins' failed in boom.run()" in log
    assert 'Traceback' in log and 'raise ValueError("boom: the experiment exploded")' in log
    assert not (fake.out / "_build").exists()
    assert sorted(p.name for p in fake.out.iterdir()) == [".course-build", ".lock", "build.log"]


@pytest.mark.parametrize(
    ("slug", "where", "message"),
    [
        ("wrongtype", "wrongtype.run()", "returned dict, expected a course.Result"),
        ("badmetrics", "badmetrics.metrics()", 'must return a dict with a "runs" list'),
    ],
)
def test_a_plugin_that_returns_the_wrong_type_is_named(fake, slug: str, where: str, message: str) -> None:
    course = fake.load(slug)
    with pytest.raises(PluginError) as info:
        pipeline.produce(course.get(slug), pipeline.Options())
    assert (info.value.plugin, info.value.where) == ("fakeplugins", where)
    assert info.value.message.startswith(message + ". Fix: ")
    assert str(info.value).startswith(f"plugin 'fakeplugins' failed in {where}: {message}")
    assert not list((fake.cache / "figures").glob(f"{slug}/*"))


def test_keep_going_lists_every_failure_and_produces_the_rest(fake) -> None:
    course = fake.load("alpha", "boom", "wrongtype", "beta")
    out = pipeline.produce_all(course, course.concepts, pipeline.Options(), jobs=1, keep_going=True)
    assert list(out.artifacts) == ["alpha", "beta"]
    assert [(e.plugin, e.where) for e in out.errors] == [("fakeplugins", "boom.run()"), ("fakeplugins", "wrongtype.run()")]


def test_a_failing_worker_stops_the_others_at_once(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_SLOW", "120")
    course = fake.load("boom", "slow")
    t0 = time.time()
    with pytest.raises(PluginError, match=r"boom\.run\(\)"):
        pipeline.produce_all(course, course.concepts, pipeline.Options(), jobs=2)
    assert time.time() - t0 < 30  # did not wait for the slow concept
    pids = [int(line.split()[2]) for line in fake.calls("run")]
    assert _eventually_dead(pids)
    assert not multiprocessing.active_children()
    assert not list((fake.cache / "experiments").glob("slow/*"))


def test_keep_going_across_workers(fake) -> None:
    course = fake.load("alpha", "boom", "beta")
    out = pipeline.produce_all(course, course.concepts, pipeline.Options(), jobs=2, keep_going=True)
    assert list(out.artifacts) == ["alpha", "beta"]
    assert [e.where for e in out.errors] == ["boom.run()"]
    assert "ValueError" in out.errors[0].tb  # the traceback came back from the worker


def test_the_command_names_plugin_stage_and_log(sub) -> None:
    res = sub.run("build", "--out", str(sub.out), FAKE_CONCEPTS="alpha,boom")
    assert res.returncode == 1
    assert "Error: plugin 'fake' failed in boom.run(): ValueError: boom: the experiment exploded" in res.stderr
    assert f"(traceback in {sub.out / 'build.log'})" in res.stderr
    assert "use --keep-going" in res.stderr
    assert "Traceback (most recent call last)" in (sub.out / "build.log").read_text()
    assert "Traceback" not in res.stderr


@pytest.mark.slow
def test_keep_going_builds_the_book_and_lists_the_failure(sub, tmp_path: Path) -> None:
    chapter = tmp_path / "chapter.md"  # a chapter that links to one that fails
    chapter.write_text(fakeplugins.DEFAULT_CHAPTER + "\nCompare with [the boom chapter](boom.md).\n")
    res = sub.run("build", "--out", str(sub.out), "--keep-going", FAKE_CONCEPTS="alpha,boom,wrongtype",
                  FAKE_CHAPTER=str(chapter))
    assert res.returncode == 1, res.stderr  # the rest is built, and the status says the book is not whole
    index = Path(res.stdout.strip())
    assert index.is_file() and (index.parent / "concepts" / "alpha.html").is_file()
    stand_in = (index.parent / "concepts" / "boom.html").read_text()
    assert "This chapter did not build." in stand_in and "ValueError: boom" in stand_in
    assert "boom: build: plugin 'fake' failed in boom.run()" in res.stderr  # said when it happened
    assert "FAILED plugin 'fake' failed in boom.run(): ValueError: boom" in res.stderr
    assert "FAILED plugin 'fake' failed in wrongtype.run(): returned dict" in res.stderr
    assert f"tracebacks: {sub.out / 'build.log'}" in res.stderr
    report = (index.parent / "reproduction.html").read_text()
    assert "boom.run()" in report and "wrongtype.run()" in report


# --------------------------------------------------------------------------- damaged cache


def test_a_damaged_cache_entry_is_recomputed_not_loaded(fake) -> None:
    course = fake.load("alpha")
    reg = course.get("alpha")
    first = pipeline.produce(reg, pipeline.Options())
    png = first.figures[0].path
    png.write_bytes(png.read_bytes()[:10])  # a truncated figure
    second = pipeline.produce(reg, pipeline.Options())
    assert len(fake.calls("figures")) == 2 and len(fake.calls("run")) == 1  # redrawn from the cached result
    assert second.figures[0].path.read_bytes() != png.read_bytes()[:10] or second.figures[0].path.stat().st_size > 10

    arrays = next(p for p in (fake.cache / "experiments" / "alpha").iterdir() if p.is_dir()) / "arrays.npz"
    arrays.write_bytes(arrays.read_bytes()[:-7])  # a truncated experiment
    cache.clean(("figures", "renders"))
    third = pipeline.produce(reg, pipeline.Options())
    assert len(fake.calls("run")) == 2  # retrained, not loaded
    assert third.metrics == first.metrics
    assert_cache_whole(fake.cache)


@pytest.mark.slow
def test_a_truncated_video_is_rendered_again(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_VIDEO", "1")
    reg = fake.load("alpha").get("alpha")
    art = pipeline.produce(reg, pipeline.Options())
    size = art.video.video.stat().st_size
    art.video.video.write_bytes(art.video.video.read_bytes()[: size // 2])
    again = pipeline.produce(reg, pipeline.Options())
    assert len(fake.calls("animation")) == 2
    assert again.video.video.stat().st_size > size // 2  # a whole video again (encoders may differ by a few bytes)
    assert_cache_whole(fake.cache)


# --------------------------------------------------------------------------- killed, interrupted, concurrent


@pytest.mark.slow
def test_a_killed_build_leaves_nothing_half_written(sub) -> None:
    ok = sub.run("build", "--out", str(sub.out), "-j", "2", FAKE_CONCEPTS="alpha,beta")
    assert ok.returncode == 0, ok.stderr
    html = sub.out / "_build" / "html"
    before = tree(html)

    # new settings for every concept, two workers, killed while training
    proc = sub.start("build", "--out", str(sub.out), "-j", "2", FAKE_CONCEPTS="alpha,slow", FAKE_VERSION="2")
    sub.wait_for("run slow", proc)
    worker = int(sub.calls("run slow")[0].split()[2])
    proc.kill()
    proc.wait()
    assert _eventually_dead([worker])  # the worker noticed its parent died and stopped
    assert tree(html) == before  # the published book is the previous one, whole
    assert_cache_whole(sub.cache)
    assert not [p for p in (sub.cache / "experiments").glob("slow/*") if not p.name.startswith(".")]

    # the next build picks up cleanly and sweeps the killed build's leftovers
    again = sub.run("build", "--out", str(sub.out), FAKE_CONCEPTS="alpha,slow", FAKE_VERSION="2", FAKE_SLOW="0.5")
    assert again.returncode == 0, again.stderr
    assert (html / "concepts" / "slow.html").is_file()
    assert_cache_whole(sub.cache)
    leftovers = [p for p in sub.cache.rglob(".*") if p.is_dir()]
    leftovers += [p for d in (sub.out, html.parent) for p in d.iterdir() if p.name.startswith((".tmp", ".staging", ".old", ".html"))]
    assert leftovers == []


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.6, 1.5, 2.5, 3.5])
def test_a_build_killed_at_any_moment_can_be_resumed(sub, delay: float) -> None:
    """Kill -9 at several moments of a build (loading, training, pages, Sphinx)."""
    first = sub.run("build", "--out", str(sub.out), FAKE_CONCEPTS="alpha,beta")
    assert first.returncode == 0, first.stderr
    files = set(tree(sub.out / "_build" / "html"))
    proc = sub.start("build", "--out", str(sub.out), FAKE_CONCEPTS="alpha,beta,slow", FAKE_SLOW="1", FAKE_VERSION="3")
    time.sleep(delay)
    proc.kill()
    proc.wait()
    assert no_process_left(sub.cache)  # workers and Sphinx stop when their build dies
    assert_cache_whole(sub.cache)
    html = sub.out / "_build" / "html"
    got = set(tree(html))
    again = sub.run("build", "--out", str(sub.out), FAKE_CONCEPTS="alpha,beta,slow", FAKE_SLOW="1", FAKE_VERSION="3")
    assert again.returncode == 0, again.stderr
    assert (html / "concepts" / "slow.html").is_file()
    assert got in (files, set(tree(html)))  # the old book or the new one, never a mix or a part


@pytest.mark.slow
def test_ctrl_c_stops_cleanly(sub) -> None:
    proc = sub.start("build", "--out", str(sub.out), "-j", "2", FAKE_CONCEPTS="alpha,slow", FAKE_SLOW="60")
    sub.wait_for("run slow", proc)
    workers = [int(line.split()[2]) for line in sub.calls("run")]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Interrupted." in err
    assert _eventually_dead(workers)
    assert [p.name for p in sub.out.iterdir() if p.name.startswith(".") and p.name not in (".lock", outdir.MARKER)] == []
    with outdir.output_lock(sub.out):  # the lock was released
        pass


@pytest.mark.slow
def test_a_second_build_into_the_same_folder_is_refused_clearly(sub) -> None:
    first = sub.start("build", "--out", str(sub.out), FAKE_CONCEPTS="slow", FAKE_SLOW="6")
    sub.wait_for("run slow", first)
    second = sub.run("build", "--out", str(sub.out), FAKE_CONCEPTS="slow", FAKE_SLOW="6")
    assert second.returncode == 1
    assert f"Error: {sub.out} is in use by another course command (course build, pid {first.pid}" in second.stderr
    assert "--out" in second.stderr
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert Path(out.strip()).is_file()


@pytest.mark.slow
def test_builds_sharing_a_cache_train_once(sub, tmp_path: Path) -> None:
    a = sub.start("build", "--out", str(tmp_path / "a"), FAKE_CONCEPTS="slow", FAKE_SLOW="4")
    sub.wait_for("run slow", a)
    b = sub.start("build", "--out", str(tmp_path / "b"), FAKE_CONCEPTS="slow", FAKE_SLOW="4")
    (_, err_a), (_, err_b) = a.communicate(timeout=120), b.communicate(timeout=120)
    assert a.returncode == 0 and b.returncode == 0, err_a + err_b
    assert len(sub.calls("run slow")) == 1
    assert "waiting for another build" in err_b
    assert tree(tmp_path / "a" / "src") == tree(tmp_path / "b" / "src")


# --------------------------------------------------------------------------- system dependencies


def test_missing_programs_are_named_with_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert missing_system_tools() == []  # this machine has them all
    missing = dict(missing_system_tools(path=str(tmp_path)))
    assert set(missing) == {"latex", "dvisvgm"}
    assert missing["latex"].startswith("sudo apt-get install texlive-latex-base")
    monkeypatch.setitem(sys.modules, "manimpango", None)  # as if pango were not installed
    missing = dict(missing_system_tools())
    assert "libpango1.0-dev" in missing["cairo/pango"] and "libcairo2-dev" in missing["cairo/pango"]


def test_a_missing_program_stops_the_build_before_any_work(sub, tmp_path: Path) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    res = sub.run("build", "--out", str(sub.out), PATH=str(empty), FAKE_CONCEPTS="alpha")
    assert res.returncode == 1
    assert "Error: missing system dependencies:" in res.stderr
    assert "latex: sudo apt-get install texlive-latex-base" in res.stderr
    assert not sub.out.exists() and not sub.calls()
