"""Fault injection: a careful user's mistakes and an attacker's edits, each with
what the course promises (docs/faults.md lists them all).

Every test is marked ``faults``; the numbers in the names are the items of
issue 12 (``d1`` ... ``d12``), ``held_`` marks a case that already held and
must keep holding. Permission cases run the ``course`` command without the
capabilities that let root ignore file permissions (:func:`unprivileged`),
or are skipped saying why; full disks are a small private tmpfs where the
machine allows one (``unshare -m``), else injected.

The concepts are the test plugins of ``fakeplugins`` (milliseconds each).
"""

from __future__ import annotations

import errno
import importlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import fakeplugins
import pytest
from test_failures import COURSE, assert_cache_whole, make_sub, tree

from course import book, cache, chapters, outdir, pipeline, plugins, sphinx
from course.cli.main import cli
from course.plugins import PluginError
from course.progress import Event
from course.results import Result

pytestmark = pytest.mark.faults

REPO = Path(__file__).resolve().parent.parent
#: the capabilities that let root read and write files whatever their permissions
BYPASS = ("dac_override", "dac_read_search", "fowner")


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def sub(tmp_path: Path):
    """A `course` subprocess that sees only the fake plugin (as in test_failures)."""
    return make_sub(tmp_path)


def _wrapper() -> list[str] | None:
    """A command prefix that runs a program without the :data:`BYPASS`
    capabilities ([] when this process has none to drop), or None."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv"):
        return ["setpriv", "--bounding-set=" + ",".join(f"-{c}" for c in BYPASS), "--"]
    if shutil.which("capsh"):
        return ["capsh", "--drop=" + ",".join(f"cap_{c}" for c in BYPASS), "--", "-c", 'exec "$0" "$@"']
    return None


@pytest.fixture(scope="session")
def unprivileged(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The prefix of :func:`_wrapper`, proven to work: under it, writing into a
    read-only folder fails. Skips (saying why) where permissions cannot be enforced."""
    prefix = _wrapper()
    if prefix is None:
        pytest.skip("running as root without setpriv or capsh: root would ignore the permissions under test")
    probe = tmp_path_factory.mktemp("probe")
    ro = probe / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        res = subprocess.run([*prefix, sys.executable, "-c", f"open({str(ro / 'f')!r}, 'w')"], capture_output=True)
    except OSError as exc:
        pytest.skip(f"cannot drop capabilities here ({exc}): root would ignore the permissions under test")
    finally:
        ro.chmod(0o755)
    if res.returncode == 0:
        pytest.skip("dropping capabilities did not make a read-only folder read-only (root ignores permissions here)")
    return prefix


def one_line_error(res: subprocess.CompletedProcess, code: int = 1) -> str:
    """The command failed with ``code`` and said so in one line, no traceback."""
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("Error: ")]
    assert len(lines) == 1, res.stderr
    assert len(lines[0]) < 400, lines[0]
    return lines[0]


def small_disk(folder: Path, size: str, cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``cmd`` with a private tmpfs of ``size`` mounted on ``folder`` (a
    full disk made real); skips where mount namespaces are not allowed."""
    if not shutil.which("unshare"):
        pytest.skip("no unshare: cannot mount a small private disk")
    folder.mkdir(parents=True, exist_ok=True)
    script = 'mount -t tmpfs -o size="$1" tmpfs "$2" || exit 97; shift 2; exec "$@"'
    res = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", size, str(folder), *cmd],
                         capture_output=True, text=True, env=env, timeout=300)
    if res.returncode == 97 or "unshare failed" in res.stderr or "Operation not permitted" in res.stderr[:300]:
        pytest.skip(f"cannot mount a private tmpfs here: {res.stderr.strip()[:200]}")
    return res


def marked(folder: Path, files: tuple[str, ...] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    outdir.record(folder, files)
    return folder


def events_of(fn, *args, **kwargs) -> tuple[object, list[Event]]:
    events: list[Event] = []
    return fn(*args, emit=events.append, **kwargs), events


def notes(events: list[Event]) -> list[str]:
    return [e.detail for e in events if e.kind == "note"]


@pytest.fixture
def no_removal(monkeypatch: pytest.MonkeyPatch):
    """Fail the test, instead of deleting anything, if a guard under test gives way."""

    def refuse(path: Path) -> None:
        raise AssertionError(f"tried to remove {path}")

    monkeypatch.setattr(cache, "remove_path", refuse)
    monkeypatch.setattr(outdir, "remove_path", refuse)
    monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: refuse(a[0]))


# --------------------------------------------------------------------------- 1, 2: never lose a user's files


def test_d1_clean_refuses_a_repository_it_is_pointed_at(sub, tmp_path: Path) -> None:
    x = tmp_path / "x"
    (x / ".git").mkdir(parents=True)
    (x / "src").mkdir()
    (x / "src" / "main.py").write_text("keep me")
    res = subprocess.run([COURSE, "clean", "--out", "."], capture_output=True, text=True, env=sub.env, cwd=x)
    assert "root of a repository" in one_line_error(res)
    assert (x / ".git").is_dir() and (x / "src" / "main.py").read_text() == "keep me"


def test_d1_clean_refuses_a_folder_the_build_did_not_mark(sub, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")
    line = one_line_error(sub.run("clean", "--out", str(folder)))
    assert "not a course build folder" in line and outdir.MARKER in line
    assert (folder / "thesis.tex").read_text() == "years of work"


def test_d1_the_root_home_and_repository_are_refused_outright(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              no_removal) -> None:
    home = marked(tmp_path / "home")  # even carrying the marker
    monkeypatch.setenv("HOME", str(home))
    assert outdir.refused(Path("/")) == "the root of the file system"
    assert outdir.refused(home) == "your home folder"
    assert outdir.refused(REPO) == "the root of a repository"
    assert outdir.refused(tmp_path / "book") == ""
    for folder in (Path("/"), home, REPO):
        with pytest.raises(outdir.OutputError, match="refusing to clean"):
            outdir.clean(folder)
        with pytest.raises(outdir.OutputError, match="refusing to build"):
            outdir.prepare(folder)


def test_d1_clean_of_a_marked_home_folder_is_refused_by_the_command(sub, tmp_path: Path) -> None:
    home = marked(tmp_path / "home")
    (home / "letters.txt").write_text("mine")
    res = sub.run("clean", "--out", str(home), HOME=str(home))
    assert "your home folder" in one_line_error(res)
    assert (home / "letters.txt").exists()


def test_d1_clean_removes_only_what_the_build_recorded(fake) -> None:
    course = fake.load("alpha")
    book.build(course, fake.out, jobs=1)
    (fake.out / "src" / "my-notes.txt").write_text("mine")
    (fake.out / "todo.txt").write_text("mine too")
    res = __import__("click.testing").testing.CliRunner().invoke(cli, ["clean", "--out", str(fake.out)],
                                                                 obj={"course": course})
    assert res.exit_code == 0, res.output
    assert "kept 2 file(s) it did not write" in res.output
    left = sorted(p.relative_to(fake.out).as_posix() for p in fake.out.rglob("*") if p.is_file())
    assert left == [outdir.MARKER, "src/my-notes.txt", "todo.txt"]
    assert outdir.recorded(fake.out) == set()  # still a build folder, owning nothing
    book.build(course, fake.out, jobs=1)  # and a build may use it again, keeping the notes
    assert (fake.out / "src" / "my-notes.txt").read_text() == "mine"


def test_d2_build_refuses_a_folder_holding_someone_elses_files(sub, tmp_path: Path) -> None:
    p = tmp_path / "p"
    (p / "src" / "pkg").mkdir(parents=True)
    (p / "src" / "pkg" / "main.py").write_text("x\n")
    res = sub.run("build", "--out", str(p), COURSE_PLUGINS="paper")
    line = one_line_error(res)
    assert "is not empty and is not a course build folder" in line and "--out" in line
    assert (p / "src" / "pkg" / "main.py").read_text() == "x\n"
    assert sorted(q.name for q in p.iterdir()) == ["src"]


@pytest.mark.parametrize("where", ["/", "REPO", "HOME"])
def test_d2_build_refuses_root_home_and_repository(sub, tmp_path: Path, where: str) -> None:
    home = marked(tmp_path / "home")
    folder = {"/": "/", "REPO": str(REPO), "HOME": str(home)}[where]
    before = sorted(os.listdir(folder))
    res = sub.run("build", "--out", folder, HOME=str(home))
    line = one_line_error(res)
    assert "refusing to build into" in line
    assert sorted(os.listdir(folder)) == before and not sub.calls()


def test_d2_a_build_removes_only_files_it_recorded(fake) -> None:
    course = fake.load("alpha", "beta")
    book.build(course, fake.out, jobs=1)
    src = fake.out / "src"
    assert "concepts/beta.md" in outdir.recorded(fake.out)
    (src / "concepts" / "notes.txt").write_text("mine")
    (src / "extra").mkdir()
    (src / "extra" / "data.csv").write_text("1,2\n")
    report = book.build(fake.load("alpha"), fake.out, jobs=1)
    assert not (src / "concepts" / "beta.md").exists()  # the build's own stale page went
    assert (src / "concepts" / "notes.txt").read_text() == "mine"
    assert (src / "extra" / "data.csv").read_text() == "1,2\n"
    assert report.files_removed >= 1 and "concepts/notes.txt" not in outdir.recorded(fake.out)


def test_d2_an_empty_or_new_folder_is_marked_and_an_old_build_folder_adopted(fake, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    outdir.prepare(empty)
    assert outdir.is_marked(empty)
    old = tmp_path / "old"  # a build folder of a version before the marker
    (old / "src").mkdir(parents=True)
    (old / "src" / "_toc.yml").write_text("format: jb-book\n")
    (old / "src" / "page.md").write_text("# Old\n")
    (old / ".sphinx").mkdir()
    outdir.prepare(old)
    assert outdir.recorded(old) == {"_toc.yml", "page.md"}


# --------------------------------------------------------------------------- 3: publishing is one step


def _published(out: Path, text: str) -> Path:
    html = out / "_build" / "html"
    html.mkdir(parents=True, exist_ok=True)
    (html / "index.html").write_text(text)
    return html


_KILL_AFTER_REPLACE = """
import os, signal, sys
from pathlib import Path
from course import cache, sphinx
if sys.argv[3] == "fallback":
    cache._exchange = lambda a, b: False  # a file system without RENAME_EXCHANGE
    real, hook = os.replace, "replace"
else:
    real, hook = cache._exchange, "_exchange"
def killed(a, b):
    out = real(a, b)
    if hook == "_exchange" or Path(b).name.endswith(".previous"):
        os.kill(os.getpid(), signal.SIGKILL)  # between the steps
    return out
if hook == "replace":
    os.replace = killed
else:
    cache._exchange = killed
sphinx.publish(Path(sys.argv[1]), Path(sys.argv[2]))
"""


@pytest.mark.parametrize("how", ["fallback", "exchange"])
def test_d3_a_publish_killed_between_its_steps_loses_no_book(tmp_path: Path, how: str) -> None:
    out = tmp_path / "book"
    html = _published(out, "old book")
    built = tmp_path / "built"
    built.mkdir()
    (built / "index.html").write_text("new book")
    res = subprocess.run([sys.executable, "-c", _KILL_AFTER_REPLACE, str(built), str(out), how], capture_output=True,
                         text=True)
    assert res.returncode == -signal.SIGKILL, res.stderr
    if how == "fallback":  # killed between "old aside" and "new in": the old book waits aside
        assert not html.exists() and (cache.aside_of(html) / "index.html").read_text() == "old book"
    else:  # one exchange: the new book is in place, the old one in a leftover
        assert (html / "index.html").read_text() == "new book"
    # the next build sweeps first: it puts the old book back, never deletes the last one
    with outdir.output_lock(out):
        outdir.sweep(out)
    assert (html / "index.html").read_text() == ("old book" if how == "fallback" else "new book")
    assert [p.name for p in html.parent.iterdir()] == ["html"]


def test_d3_a_second_interrupted_build_still_leaves_the_book(tmp_path: Path) -> None:
    out = tmp_path / "book"
    html = _published(out, "old book")
    os.replace(html, cache.aside_of(html))  # as a publish killed halfway left it
    for _ in range(2):  # two more builds, each killed right after its sweep
        with outdir.output_lock(out):
            outdir.sweep(out)
        assert (html / "index.html").read_text() == "old book"


def test_d3_a_publish_that_cannot_copy_leaves_the_previous_book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "book"
    _published(out, "old book")
    built = tmp_path / "built"
    (built / "a").mkdir(parents=True)
    errors = [(f"{built}/a/{i}.html", f"{out}/_build/.html-x/a/{i}.html",
               f"[Errno 28] No space left on device: '{out}/_build/.html-x/a/{i}.html'") for i in range(300)]

    def full(src, dst, **kwargs):
        Path(dst).mkdir(parents=True)
        raise shutil.Error(errors)

    monkeypatch.setattr(shutil, "copytree", full)
    with pytest.raises(RuntimeError) as info:
        sphinx.publish(built, out)
    message = str(info.value)
    assert "\n" not in message and len(message) < 400, message  # not a list of 300 failures
    assert "No space left on device" in message and "and 299 more files" in message and "previous book is unchanged" in message
    assert (out / "_build" / "html" / "index.html").read_text() == "old book"
    assert [p.name for p in (out / "_build").iterdir()] == ["html"]


def test_d3_a_build_publishes_by_exchange_where_the_file_system_can(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    if not cache._exchange(a, b):
        pytest.skip("this file system has no RENAME_EXCHANGE (the two-rename fallback is tested above)")
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


# --------------------------------------------------------------------------- 4, 5, 6: the cache publishes only what it made


def _entry(kind: str, root: Path, slug: str = "alpha") -> Path:
    [path] = [p for p in (root / kind / slug).iterdir() if p.is_dir() and not p.name.startswith(".")]
    return path


def _rewrite_manifest(entry: Path, edit, checksum: bool = True) -> None:
    doc = json.loads((entry / cache.MANIFEST).read_text())
    edit(doc)
    if checksum:  # as an attacker would: recompute the checksums too
        doc["sha256"] = cache.manifest_digest(doc)
    (entry / cache.MANIFEST).write_text(json.dumps(doc))


def test_d4_a_manifest_cannot_make_the_build_publish_a_file_outside_its_entry(fake) -> None:
    course = fake.load("alpha")
    book.build(course, fake.out, jobs=1)
    secret = Path("/etc/passwd").read_bytes()
    entry = _entry("figures", fake.cache)
    name = "../../../../../../../../etc/passwd"

    def point_outside(doc: dict) -> None:
        doc["meta"]["figures"][0]["file"] = name
        doc["files"][f"files/{name}"] = cache._sha256(Path("/etc/passwd"))

    _rewrite_manifest(entry, point_outside)
    (entry / "files" / "link.png").symlink_to("/etc/passwd")  # and a link out, listed with the right checksum
    _rewrite_manifest(entry, lambda doc: doc["files"].update({"files/link.png": cache._sha256(Path("/etc/passwd"))}))
    report, events = events_of(book.build, course, fake.out, jobs=1)
    assert any("damaged" in n and "not a file inside the entry" in n for n in notes(events)), notes(events)
    assert len(fake.calls("figures")) == 2  # redrawn, not published
    published = [p for p in (fake.out / "_build" / "html").rglob("*") if p.is_file()]
    assert all(p.read_bytes() != secret for p in published)
    assert_cache_whole(fake.cache)


def test_d4_a_render_manifest_naming_a_file_outside_is_rendered_again(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_VIDEO", "1")
    reg = fake.load("alpha").get("alpha")
    pipeline.produce(reg, pipeline.Options())
    entry = _entry("renders", fake.cache)

    def point_outside(doc: dict) -> None:
        doc["meta"]["video"] = "../../../../../../../../etc/passwd"
        doc["files"]["../../../../../../../../etc/passwd"] = cache._sha256(Path("/etc/passwd"))

    _rewrite_manifest(entry, point_outside)
    art, events = events_of(pipeline.produce, reg, pipeline.Options())
    assert len(fake.calls("animation")) == 2 and art.video.video.is_relative_to(fake.cache)
    assert any("renders entry" in n and "damaged" in n for n in notes(events))


def test_d4_d5_a_manifest_edited_without_its_checksum_is_recomputed(fake) -> None:
    reg = fake.load("alpha").get("alpha")
    first = pipeline.produce(reg, pipeline.Options())
    entry = _entry("analysis", fake.cache)
    _rewrite_manifest(entry, lambda doc: doc["meta"]["metrics"].update(mean=0.999), checksum=False)
    again, events = events_of(pipeline.produce, reg, pipeline.Options())
    assert again.metrics == first.metrics  # the edit was not loaded
    assert any("does not match its checksum" in n for n in notes(events))


def test_d5_an_edited_result_json_is_trained_again(fake) -> None:
    reg = fake.load("alpha").get("alpha")
    first = pipeline.produce(reg, pipeline.Options())
    meta = _entry("experiments", fake.cache) / "result.json"
    doc = json.loads(meta.read_text())
    doc["info"]["sparsity"] = 0.5  # a number changed by hand
    meta.write_text(json.dumps(doc))
    cache.clean(("analysis", "figures", "renders"))
    again, events = events_of(pipeline.produce, reg, pipeline.Options())
    assert len(fake.calls("run")) == 2 and again.metrics == first.metrics
    assert any("result.json does not match its checksum" in n and "training it again" in n for n in notes(events))
    assert_cache_whole(fake.cache)


@pytest.mark.parametrize("edit", ["null", "list", "renamed key", "seed is a string"])
def test_d6_a_result_json_of_the_wrong_shape_is_a_damaged_entry(fake, edit: str) -> None:
    reg = fake.load("alpha").get("alpha")
    pipeline.produce(reg, pipeline.Options())
    meta = _entry("experiments", fake.cache) / "result.json"
    doc = json.loads(meta.read_text())
    if edit == "null":
        doc = None
    elif edit == "list":
        doc = [doc]
    elif edit == "renamed key":
        doc["setings"] = doc.pop("settings")
    else:
        doc["seed"] = "0"
    meta.write_text(json.dumps(doc))
    cache.clean(("analysis", "figures", "renders"))
    for _ in range(2):  # once recomputed, the entry is whole again
        art, events = events_of(pipeline.produce, reg, pipeline.Options())
        assert art.metrics["runs"]
    assert len(fake.calls("run")) == 2
    assert sum("damaged" in n for n in notes(events)) == 0  # the second run found nothing wrong
    assert_cache_whole(fake.cache)


@pytest.mark.parametrize("kind", ["analysis", "figures"])
@pytest.mark.parametrize("edit", ["files is a list", "meta is empty", "meta is null", "manifest is a list"])
def test_d6_a_manifest_of_the_wrong_shape_is_recomputed_with_one_line(fake, kind: str, edit: str) -> None:
    reg = fake.load("alpha").get("alpha")
    pipeline.produce(reg, pipeline.Options())
    entry = _entry(kind, fake.cache)
    doc = json.loads((entry / cache.MANIFEST).read_text())
    if edit == "files is a list":
        doc["files"] = []
    elif edit == "meta is empty":
        doc["meta"] = {}
    elif edit == "meta is null":
        doc["meta"] = None
    else:
        doc = [doc]
    if isinstance(doc, dict):
        doc["sha256"] = cache.manifest_digest(doc)  # well-formed checksum: only the shape is wrong
    (entry / cache.MANIFEST).write_text(json.dumps(doc))
    art, events = events_of(pipeline.produce, reg, pipeline.Options())
    assert art.metrics["runs"] and art.figures[0].path.is_file()
    lines = [n for n in notes(events) if "damaged" in n]
    assert len(lines) == 1 and f"cached {kind} entry" in lines[0] and "recomputing" in lines[0]
    assert "\n" not in lines[0]
    assert_cache_whole(fake.cache)


def test_d6_damaged_entries_in_a_build_are_one_line_each_not_a_traceback(sub) -> None:
    ok = sub.run("run", "alpha")
    assert ok.returncode == 0, ok.stderr
    (_entry("experiments", sub.cache) / "result.json").write_text("null")
    res = sub.run("build", "--out", str(sub.out))
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert "alpha: experiment: the cached experiment is damaged (result.json holds NoneType, not an object)" in res.stderr


def test_held_truncated_arrays_and_figures_are_recomputed(fake) -> None:
    reg = fake.load("alpha").get("alpha")
    first = pipeline.produce(reg, pipeline.Options())
    first.figures[0].path.write_bytes(b"\x89PNG")
    arrays = _entry("experiments", fake.cache) / "arrays.npz"
    arrays.write_bytes(arrays.read_bytes()[:-7])
    cache.clean(("analysis",))
    again = pipeline.produce(reg, pipeline.Options())
    assert len(fake.calls("run")) == 2 and len(fake.calls("figures")) == 2
    assert again.metrics == first.metrics
    assert_cache_whole(fake.cache)


# --------------------------------------------------------------------------- 7, 8: plugin text in the HTML

XSS = '<script>alert("xss-7")</script>'

EVIL = '''
"""A plugin that puts raw HTML everywhere it can (test_faults)."""
from dataclasses import replace

import fakeplugins
from course import Claim, GlossaryEntry, RoadmapEntry, hookimpl

X = {xss!r}


class Evil(fakeplugins.Fake):
    def metrics(self, result):
        m = super().metrics(result)
        m["label"] = "label " + X
        m["runs"][0]["label"] = "run " + X
        return m

    def figures(self, result, metrics, outdir):
        return [replace(f, caption="caption " + X, alt="alt " + X) for f in super().figures(result, metrics, outdir)]

    def claims(self, metrics):
        return [Claim("evil", "statement " + X, "measured " + X, False, source="javascript:alert(1)",
                      tolerance="tolerance " + X)]

    def chapter(self):
        return ("# {{{{ concept.title }}}}\\n\\n**{{{{ concept.question }}}}** {{{{ metrics.label }}}}, "
                "{{{{ runs[0].label }}}}, {{{{ chapter_link('nowhere', 'link ' ~ metrics.label) }}}}.\\n\\n"
                "{{{{ figures.square }}}}\\n\\n{{% for c in claims %}}{{{{ c.statement }}}} {{{{ c.measured }}}}"
                "{{% endfor %}}\\n")


@hookimpl
def register_concepts(register):
    register(Evil(slug="evil", title="Evil " + X, order=1, summary="summary " + X, question="question " + X + "?"))


@hookimpl
def register_roadmap(register):
    register(RoadmapEntry("§9 title " + X, "description " + X, link="javascript:alert(2)"))
    register(RoadmapEntry("sequel " + X, "description " + X, link="javascript:alert(3)", group="Sequel papers"))
    register(RoadmapEntry("other " + X, "description " + X, group="group " + X))


@hookimpl
def register_glossary(register):
    register(GlossaryEntry("Term " + X, "definition " + X + " with *MyST* kept", link="javascript:alert(4)"))
'''


def test_d7_plugin_text_is_escaped_on_every_page(fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "evilplugin.py").write_text(EVIL.format(xss=XSS))
    monkeypatch.syspath_prepend(str(tmp_path))
    course = plugins.load(extra=[importlib.import_module("evilplugin")])
    assert not course.errors, course.errors
    report = book.build(course, fake.out, jobs=1)
    html = report.index.parent
    pages = {p.relative_to(html).as_posix(): p.read_text(encoding="utf-8") for p in html.rglob("*.html")}
    raw = [name for name, text in pages.items() if '<script>alert("xss-7")' in text or 'href="javascript:' in text]
    assert raw == []  # nowhere: not the chapter, glossary, roadmap, reproduction report, nor any sidebar
    for name in ("glossary.html", "roadmap.html", "reproduction.html", "concepts/evil.html", "intro.html"):
        assert "&lt;script&gt;alert(" in pages[name], name  # shown as text
    assert "<em>MyST</em>" in pages["glossary.html"]  # markup in a definition stays
    chapter = pages["concepts/evil.html"]
    for word in ("label", "run", "caption", "statement", "measured", "link label"):
        assert f"{word} &lt;script&gt;" in chapter, word


def test_d8_templates_render_in_the_sandbox(fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pwned = tmp_path / "PWNED"
    chapter = tmp_path / "chapter.md"
    chapter.write_text(fakeplugins.DEFAULT_CHAPTER + f"\n{{{{ num.__globals__.os.popen('touch {pwned}').read() }}}}\n")
    monkeypatch.setenv("FAKE_CHAPTER", str(chapter))
    course = fake.load("alpha")
    with pytest.raises(PluginError) as info:
        book.build(course, fake.out, jobs=1)
    assert info.value.where == "alpha.chapter template" and "SecurityError" in info.value.message
    assert not pwned.exists()
    from course.words import Words, WordsError

    words = Words("{% block x %}{{ ''.__class__.__mro__[1].__subclasses__() }}{% endblock %}")
    with pytest.raises(WordsError, match="SecurityError|unsafe"):
        words.render("x")


# --------------------------------------------------------------------------- 9: one line, not a traceback


@pytest.mark.parametrize("command", ["build", "render", "clean"])
def test_d9_a_read_only_out_is_one_line(sub, unprivileged, tmp_path: Path, command: str) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    out = ro / "out" if command != "clean" else ro
    if command == "clean":
        marked(ro, ())
        (ro / "_build").mkdir()
    args = {"build": ["build", "--out", str(out)], "render": ["render", "alpha", "--out", str(out)],
            "clean": ["clean", "--out", str(out)]}[command]
    ro.chmod(0o555)
    try:
        res = subprocess.run([*unprivileged, COURSE, *args], capture_output=True, text=True, env=sub.env, timeout=300)
    finally:
        ro.chmod(0o755)
    line = one_line_error(res)
    assert "Permission denied" in line and str(ro) in line
    assert not sub.calls()  # no plugin ran


@pytest.mark.parametrize("what", ["cache", "locks", "experiments"])
def test_d9_an_unwritable_cache_is_one_line_before_any_training(sub, unprivileged, what: str) -> None:
    sub.cache.mkdir()
    folder = {"cache": sub.cache, "locks": sub.cache / "locks", "experiments": sub.cache / "experiments" / "alpha"}[what]
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o555)
    try:
        res = subprocess.run([*unprivileged, COURSE, "build", "--out", str(sub.out)], capture_output=True, text=True,
                             env=sub.env, timeout=300)
        run = subprocess.run([*unprivileged, COURSE, "run", "alpha"], capture_output=True, text=True, env=sub.env,
                             timeout=300)
    finally:
        folder.chmod(0o755)
    for r in (res, run):
        line = one_line_error(r)
        assert "cannot write the cache" in line and "COURSE_CACHE_DIR" in line
    assert not sub.calls("run")  # checked before training: no result lost


def test_d9_clean_over_a_leftover_folder_with_mode_000(sub, unprivileged, tmp_path: Path) -> None:
    out = marked(tmp_path / "book")
    for stuck in (out / ".staging-1-dead", sub.cache / "figures" / "alpha" / ".tmp-1-dead"):
        (stuck / "deep").mkdir(parents=True)
        (stuck / "deep" / "page.md").write_text("x")
        (stuck / "deep").chmod(0)
        stuck.chmod(0)
    res = subprocess.run([*unprivileged, COURSE, "clean", "--out", str(out)], capture_output=True, text=True,
                         env=sub.env, timeout=300)
    assert res.returncode == 0, res.stderr
    assert not out.exists() and not (sub.cache / "figures").exists()


def test_d9_a_folder_that_cannot_be_removed_is_one_line(sub, unprivileged, tmp_path: Path) -> None:
    out = marked(tmp_path / "book")
    (out / ".sphinx").mkdir()
    (out / ".sphinx" / "x").write_text("x")
    out.chmod(0o555)  # the build folder itself is read-only: nothing in it can go
    try:
        res = subprocess.run([*unprivileged, COURSE, "clean", "--out", str(out)], capture_output=True, text=True,
                             env=sub.env, timeout=300)
    finally:
        out.chmod(0o755)
    line = one_line_error(res)
    assert "Permission denied" in line


def test_d9_a_full_output_disk_is_one_line(sub, tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    res = small_disk(disk, "200k", [COURSE, "build", "--out", str(disk / "book")], sub.env)
    line = one_line_error(res)
    assert "No space left on device" in line and "disk is full" in line


def test_d9_a_full_disk_at_publish_is_one_line_and_keeps_the_book(fake, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    course = fake.load("alpha")
    book.build(course, fake.out, jobs=1)
    before = tree(fake.out / "_build" / "html")
    chapter = tmp_path / "chapter.md"  # an edited chapter: something to publish
    chapter.write_text(fakeplugins.DEFAULT_CHAPTER + "\nA new paragraph.\n")
    monkeypatch.setenv("FAKE_CHAPTER", str(chapter))

    copytree = shutil.copytree

    def full(src, dst, *args, **kwargs):  # the disk fills up while the HTML is copied out
        if Path(dst).parent.name != "_build":
            return copytree(src, dst, *args, **kwargs)
        raise shutil.Error([(f"{src}/{i}", f"{dst}/{i}", "[Errno 28] No space left on device") for i in range(500)])

    monkeypatch.setattr(shutil, "copytree", full)
    with pytest.raises(book.SphinxFailed) as info:
        book.build(course, fake.out, jobs=1)
    assert "\n" not in str(info.value) and "No space left on device" in str(info.value)
    assert tree(fake.out / "_build" / "html") == before


# --------------------------------------------------------------------------- 10: blame where it belongs


@pytest.mark.parametrize("command", ["run", "build", "render", "check"])
@pytest.mark.parametrize("device", ["bogus", "cpu:99", "cuda:7"])
def test_d10_the_device_is_checked_before_any_plugin_runs(sub, command: str, device: str) -> None:
    args = {"run": ["run", "alpha"], "build": ["build", "--out", str(sub.out)], "render": ["render", "alpha"],
            "check": ["check", "alpha"]}[command]
    res = sub.run(*args, "--device", device)
    line = one_line_error(res, code=2)
    assert f"Invalid value for '--device': {device!r}" in line
    assert "choose" in line and "cpu" in line and "CUDA" in line
    assert f"course {command} --help" in line
    assert not sub.calls() and not sub.out.exists()


def test_d10_check_without_latex_blames_the_machine_not_the_scene(sub, tmp_path: Path) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    res = sub.run("check", "alpha", PATH=str(empty), FAKE_VIDEO="1")
    assert res.returncode == 1
    assert "Error: missing system dependencies:" in res.stderr and "latex: sudo apt-get install" in res.stderr
    assert "Fix:" not in res.stdout + res.stderr and not sub.calls()


def test_d10_a_full_cache_disk_is_not_the_plugins_failure(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    from course import render

    monkeypatch.setenv("FAKE_VIDEO", "1")
    reg = fake.load("alpha").get("alpha")

    def full(animation, out_dir, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(Path(out_dir) / "alpha.mp4"))

    monkeypatch.setattr(render, "render", full)
    with pytest.raises(cache.CacheError) as info:
        pipeline.produce(reg, pipeline.Options())
    assert not isinstance(info.value, PluginError)
    assert str(info.value).startswith(f"cannot write the cache {fake.cache}: No space left on device")
    assert "disk is full" in str(info.value)


def test_d10_a_worker_sends_a_cache_error_back_as_the_caches(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    course = fake.load("alpha")

    def full(*args, **kwargs):
        raise cache.CacheError("cannot write the cache X: No space left on device")

    monkeypatch.setattr(pipeline, "produce", full)
    monkeypatch.setitem(pipeline._WORKER, "course", course)
    monkeypatch.setitem(pipeline._WORKER, "events", type("Q", (), {"put": lambda self, e: None})())
    art, err = pipeline._work("alpha", pipeline.Options())
    assert art is None and err == (pipeline._CACHE_ERROR, "", "cannot write the cache X: No space left on device", "")


# --------------------------------------------------------------------------- 11: course check like the build


def test_d11_check_gives_figures_a_folder_that_exists(fake) -> None:
    from course.check import check_concept

    reg = fake.load("alpha").get("alpha")  # its figures() saves into the folder it is given
    report = check_concept(reg, scene=False)
    assert not [p for p in report.problems if "figures" in p.where], report.problems


# --------------------------------------------------------------------------- 12: the minor items


def test_d12_a_leftover_link_is_removed_once_and_its_target_kept(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "precious").write_text("keep")
    parent = tmp_path / "cache" / "figures" / "alpha"
    parent.mkdir(parents=True)
    link = parent / ".old-999999999-abcd1234"
    link.symlink_to(target)
    assert cache.sweep(tmp_path / "cache") == [link]
    assert cache.sweep(tmp_path / "cache") == []  # gone, so not reported again
    assert not os.path.lexists(link) and (target / "precious").read_text() == "keep"
    out = marked(tmp_path / "book")
    (out / "_build").mkdir()
    (out / "_build" / ".old-999999999-ef").symlink_to(target)
    assert outdir.sweep(out) == [out / "_build" / ".old-999999999-ef"] and outdir.sweep(out) == []
    assert (target / "precious").read_text() == "keep"


def test_d12_keep_going_exits_non_zero_after_building_the_rest(sub) -> None:
    res = sub.run("build", "--out", str(sub.out), "--keep-going", FAKE_CONCEPTS="alpha,boom")
    assert res.returncode == 1, res.stderr
    index = Path(res.stdout.strip())
    assert index.is_file() and (index.parent / "concepts" / "alpha.html").is_file()
    assert "FAILED plugin 'fake' failed in boom.run()" in res.stderr
    rendered = sub.run("render", "alpha", "boom", "--keep-going", "--out", str(sub.out.parent / "media"),
                       FAKE_CONCEPTS="alpha,boom")
    assert rendered.returncode == 1 and "boom.run()" in rendered.stderr


def test_d12_ctrl_c_is_reported_as_interrupted(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    reg = fake.load("alpha").get("alpha")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(reg.concept, "run", interrupted)
    events: list[Event] = []
    with pytest.raises(KeyboardInterrupt):
        pipeline.produce(reg, pipeline.Options(), events.append)
    [end] = [e for e in events if e.kind == "end"]
    assert end.status != "failed" and end.detail == "interrupted"


def test_d12_ctrl_c_in_the_command_says_interrupted(sub) -> None:
    proc = sub.start("build", "--out", str(sub.out), "-j", "1", FAKE_CONCEPTS="slow", FAKE_SLOW="60")
    sub.wait_for("run slow", proc)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Interrupted." in err
    assert "slow: experiment skipped (interrupted)" in err and "failed after" not in err


def test_d12_no_audioop_warning_on_a_render(sub) -> None:
    res = sub.run("build", "--out", str(sub.out), FAKE_VIDEO="1", PYTHONWARNINGS="default")
    assert res.returncode == 0, res.stderr
    assert "'audioop' is deprecated" not in res.stderr
    media = sub.out.parent / "media"
    rendered = sub.run("render", "alpha", "--out", str(media), FAKE_VIDEO="1", PYTHONWARNINGS="default")
    assert rendered.returncode == 0 and "'audioop' is deprecated" not in rendered.stderr
    # the lecturer's folder holds the videos and nothing else (no .lock)
    assert sorted(p.name for p in media.iterdir()) == ["alpha-low.mp4", "alpha-low.png", "alpha-low.vtt"]


def test_d12_a_missing_option_value_points_to_the_commands_help(sub) -> None:
    line = one_line_error(sub.run("build", "--out"), code=2)
    assert line == "Error: Option '--out' requires an argument. (see 'course build --help')"


def test_d12_a_linked_figure_outside_its_folder_names_the_target(fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"png")
    reg = fake.load("alpha").get("alpha")
    real = reg.concept.figures

    def linked(result, metrics, folder):
        figs = real(result, metrics, folder)
        link = Path(folder) / "link.png"
        link.symlink_to(outside)
        return [type(figs[0])(figs[0].name, link, figs[0].caption, figs[0].alt)]

    monkeypatch.setattr(reg.concept, "figures", linked)
    with pytest.raises(PluginError) as info:
        pipeline.produce(reg, pipeline.Options())
    assert f"{outside} is not inside the folder it was given" in info.value.message


# --------------------------------------------------------------------------- cases that already held


def test_held_a_plugin_that_raises_is_named_with_its_stage(sub) -> None:
    res = sub.run("build", "--out", str(sub.out), FAKE_CONCEPTS="alpha,boom")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "Error: plugin 'fake' failed in boom.run(): ValueError: boom: the experiment exploded" in res.stderr


def test_held_a_second_command_on_the_same_folder_is_refused(fake) -> None:
    course = fake.load("alpha")
    with outdir.output_lock(marked(fake.out), "build"), pytest.raises(outdir.BuildLocked, match="in use by another"):
        book.build(course, fake.out, jobs=1)


@pytest.mark.parametrize("args", [["run", "nope"], ["render", "nope"], ["build", "--quality", "huge"],
                                  ["render", "alpha", "--format", "avi"], ["build", "-j", "0"]])
def test_held_a_parse_error_is_one_line_with_exit_2(sub, args: list[str]) -> None:
    line = one_line_error(sub.run(*args), code=2)
    assert "see 'course" in line
    assert not sub.calls()


def test_held_an_interrupted_cache_write_leaves_the_old_entry(fake) -> None:
    entry = cache.Entry("figures", "x", "k1")
    with entry.writing() as (_folder, meta):
        meta["v"] = 1
    with pytest.raises(RuntimeError), entry.writing() as (folder, meta):
        (folder / "half.png").write_bytes(b"half")
        raise RuntimeError("killed halfway")
    assert entry.load() == {"v": 1} and entry.damage == ""


def test_held_results_saved_and_loaded_round_trip(tmp_path: Path) -> None:
    import numpy as np

    r = Result("x", {"n": 2}, 3, arrays={"W": np.eye(2)}, info={"kind": "relu"})
    loaded = Result.load(r.save(tmp_path / "r"))
    assert loaded.settings == {"n": 2} and loaded.seed == 3 and loaded.info == {"kind": "relu"}
    assert (loaded["W"] == np.eye(2)).all()


def test_held_chapters_read_no_file_outside_the_cache_entry(fake) -> None:
    art = pipeline.produce(fake.load("alpha").get("alpha"), pipeline.Options())
    assert all(f.path.resolve().is_relative_to(fake.cache.resolve()) for f in art.figures)


def test_held_describe_os_error_is_short_for_every_kind() -> None:
    assert cache.describe_os_error(OSError(errno.ENOSPC, "No space left on device", "/x")) == \
        "No space left on device: /x (the disk is full: free some space)"
    assert cache.describe_os_error(OSError(errno.EROFS, "Read-only file system", "/x")).endswith("(a read-only file system)")
    assert cache.describe_os_error(shutil.Error([("a", "b", "boom")])) == "boom"
    long = shutil.Error([("a", "b", "first")] * 1000)
    assert cache.describe_os_error(long) == "first (and 999 more files)"


def test_held_reading_the_words_of_a_failed_chapter_escapes_its_message(fake, tmp_path: Path) -> None:
    reg = fake.load("alpha").get("alpha")
    err = PluginError("fake`x", "alpha.run()", "ValueError: ```\n" + XSS)
    chapters.write_failed_chapter(reg, err, tmp_path)
    page = (tmp_path / "concepts" / "alpha.md").read_text()
    assert "````text\nValueError: ```\n" in page  # a fence longer than any run in the message
    assert "`fake'x`" in page


def test_held_the_marker_says_what_it_is(tmp_path: Path) -> None:
    out = marked(tmp_path / "book", ("a.md",))
    doc = json.loads((out / outdir.MARKER).read_text())
    assert doc["src"] == ["a.md"] and "course build folder" in doc["about"]
    (out / outdir.MARKER).write_text(textwrap.dedent("""{"src": ["../../etc/passwd", "/abs", "ok.md"]}"""))
    assert outdir.recorded(out) == {"ok.md"}  # a record cannot name a file outside src


def test_held_a_file_in_the_way_of_a_build_folder(sub, tmp_path: Path) -> None:
    f = tmp_path / "book"
    f.write_text("not a folder")
    line = one_line_error(sub.run("build", "--out", str(f)), code=2)  # click says so before the build
    assert "is a file" in line and f.read_text() == "not a folder"
    with pytest.raises(outdir.OutputError, match="is a file, not a folder"):
        outdir.prepare(f)


def test_held_the_permission_wrapper_really_drops_the_bypass(unprivileged, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        res = subprocess.run([*unprivileged, sys.executable, "-c", f"open({str(ro / 'f')!r}, 'w')"],
                             capture_output=True, text=True)
    finally:
        ro.chmod(0o755)
    assert res.returncode != 0 and "PermissionError" in res.stderr
