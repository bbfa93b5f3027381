"""The contributor's path: `course new`, `course check`, `course plugins`.

Broken plugins are written here as small plugin classes and registered in
process with ``course.plugins.load(extra=[...])`` (``COURSE_PLUGINS`` empty, so
only they load). The slow test installs a scaffolded plugin into a throwaway
virtual environment and drives the real `course` command end to end.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from course import Animation, Claim, Concept, Figure, Result, check, hookimpl, plugins
from course.cli import cli
from course.concept import LAYOUT
from course.scaffold import Names, ScaffoldError, render_files, scaffold
from course.words import WORDS_FILE, Words

COURSE = Path(sys.executable).with_name("course")


def run_course(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The installed `course` script, as a user runs it."""
    return subprocess.run([str(COURSE), *args], capture_output=True, text=True, env=env, cwd=cwd)


# --------------------------------------------------------------------------- course new


def test_names_from_a_slug() -> None:
    n = Names.from_name("feature-splitting")
    assert (n.slug, n.module, n.dist, n.title, n.class_name) == (
        "feature-splitting", "course_feature_splitting", "course-feature-splitting",
        "Feature splitting", "FeatureSplitting",
    )


@pytest.mark.parametrize("name", ["Feature", "feature_splitting", "2d", "-x", "x-", "a--b", "", "a b", "ü"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(ScaffoldError, match="invalid name"):
        Names.from_name(name)


def _functions(path: Path) -> dict[str, ast.FunctionDef]:
    """The top-level functions of a Python file, by name."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _classes(path: Path) -> dict[str, ast.ClassDef]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def test_new_writes_an_installable_plugin(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["new", "coat-check", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    root = tmp_path / "course-coat-check"
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "course_coat_check/__init__.py",
        "course_coat_check/analysis.py",
        "course_coat_check/chapter.md",
        "course_coat_check/experiment.py",
        "course_coat_check/figures.py",
        "course_coat_check/notebook.py",
        "course_coat_check/practice.md.j2",
        "course_coat_check/scene.py",
        "course_coat_check/words.md.j2",
        "pyproject.toml",
        "tests/test_course_coat_check.py",
    ]
    assert "pip install -e" in result.output
    # every file of the plugin layout, as course.Concept's defaults read them
    pkg = root / "course_coat_check"
    assert {filename for filename, _ in LAYOUT.values()} | {WORDS_FILE, "chapter.md"} <= {
        p.name for p in pkg.iterdir()}

    meta = tomllib.loads((root / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "course-coat-check"
    assert meta["project"]["entry-points"]["course"] == {"coat-check": "course_coat_check"}
    assert any(d.startswith("superposition-course") for d in meta["project"]["dependencies"])
    assert meta["tool"]["setuptools"]["packages"] == ["course_coat_check"]
    data = meta["tool"]["setuptools"]["package-data"]["course_coat_check"]
    assert "*.md" in data and "*.j2" in data  # chapter.md and words.md.j2 ship in the wheel

    for f in files:  # every template variable was filled in
        text = (root / f).read_text()
        assert "{=" not in text and "=}" not in text, f
        assert "__module__" not in text, f
    for f in files:
        if f.endswith(".py"):
            ast.parse((root / f).read_text(), filename=f)

    # __init__.py is short: the concept (run() hands over to experiment.run), CONCEPT, the hook
    init = pkg / "__init__.py"
    tree = ast.parse(init.read_text())
    marked = {
        node.name for node in tree.body
        if isinstance(node, ast.FunctionDef) and any(ast.unparse(d) == "hookimpl" for d in node.decorator_list)
    }
    assert marked == {"register_concepts"}
    (cls,) = _classes(init).values()
    assert cls.name == "CoatCheck" and [ast.unparse(b) for b in cls.bases] == ["Concept"]
    methods = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}
    assert list(methods) == ["run"]
    assert "experiment.run(experiment.Settings(**settings)" in ast.unparse(methods["run"])
    assert any(isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "CONCEPT" for n in tree.body)
    assert 'slug="coat-check"' in init.read_text()
    assert len(init.read_text().splitlines()) < 60

    # each layout file holds its stage
    settings = _classes(pkg / "experiment.py")["Settings"]
    assert any(ast.unparse(d).startswith("dataclass(frozen=True") for d in settings.decorator_list)
    assert "quick" in {n.name for n in settings.body if isinstance(n, ast.FunctionDef)}
    assert "run" in _functions(pkg / "experiment.py")
    assert "from course.engine import ToyConfig, train" in (pkg / "experiment.py").read_text()
    assert {"metrics", "claims"} <= set(_functions(pkg / "analysis.py"))
    assert "Judgement(" in (pkg / "analysis.py").read_text()
    assert "draw" in _functions(pkg / "figures.py")
    assert "animation" in _functions(pkg / "scene.py")
    scene = (pkg / "scene.py").read_text()
    assert "Animation(scene=partial(" in scene and "self.add_subcaption(step(" in scene

    # the words: every caption, alt text, video title and description, narration, claim, glossary
    words = Words.load(pkg / WORDS_FILE)
    assert {"figure_norms_caption", "figure_norms_alt", "video_title", "video_description",
            "claim_sparse_superposition", "measured_sparse_superposition",
            "tolerance_sparse_superposition", "source_sparse_superposition", "glossary"} <= set(words.names())
    steps = set(re.findall(r'step\("([a-z_]\w*)"', scene))
    assert steps and {f"narration_{s}" for s in steps} <= set(words.names())
    assert [term for term, _, _ in words.glossary()] == ["Represented feature"]

    # the chapter template is a template (numbers come from the metrics), titled by NAME
    chapter = (pkg / "chapter.md").read_text()
    assert chapter.startswith("# Coat check\n")
    assert "**{{ concept.question }}**" in chapter
    assert "{{ video }}" in chapter and "{{ figures.norms }}" in chapter


def test_new_renders_the_same_files_it_writes(tmp_path: Path) -> None:
    target = scaffold("two-words", tmp_path)
    for rel, text in render_files(Names.from_name("two-words")).items():
        assert (target / rel).read_text() == text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["new", "Coat"], "Error: invalid name 'Coat'"),
        (["new", "coat_check"], "Error: invalid name 'coat_check'"),
        (["new", "superposition"], "Error: a concept named 'superposition' is already installed"),
    ],
)
def test_new_refuses_bad_input_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    proc = run_course(*args, "--dir", str(tmp_path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), proc.stderr
    assert not any(tmp_path.iterdir())


def test_new_refuses_an_existing_folder(tmp_path: Path) -> None:
    (tmp_path / "course-coat-check").mkdir()
    (tmp_path / "course-coat-check" / "mine.txt").write_text("keep me")
    proc = run_course("new", "coat-check", "--dir", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"Error: folder {tmp_path / 'course-coat-check'} already exists; choose another name or --dir "
        "(see 'course new --help')"
    ]
    assert (tmp_path / "course-coat-check" / "mine.txt").read_text() == "keep me"


# --------------------------------------------------------------------------- broken plugins


class Fine(Concept):
    """A tiny concept that passes every check (no torch, no scene)."""

    def settings(self, quick: bool = False) -> dict[str, Any]:
        return {"n": 2}

    def run(self, settings, seed=0, device="cpu", progress=None) -> Result:
        return Result(self.slug, settings, seed, arrays={"W": np.eye(settings["n"])})

    def metrics(self, result: Result) -> dict[str, Any]:
        return {"runs": [{"norm": float(np.linalg.norm(result["W"]))}]}

    def claims(self, metrics: dict[str, Any]) -> list[Claim]:
        return [Claim("norm", "W has norm sqrt(2).", f"{metrics['runs'][0]['norm']:.3f}", True)]

    def chapter(self) -> str:
        return "# Fine\n\n**{{ concept.question }}** Yes: the norm is {{ runs[0].norm | num }}.\n"


class RaisesInRun(Fine):
    def run(self, settings, seed=0, device="cpu", progress=None) -> Result:
        raise ValueError("the data loader is empty")


class WrongType(Fine):
    def run(self, settings, seed=0, device="cpu", progress=None) -> Result:
        return {"W": [[1.0, 0.0], [0.0, 1.0]]}  # a dict, not a course.Result


class NonFinite(Fine):
    def metrics(self, result: Result) -> dict[str, Any]:
        return {"runs": [{"norm": float("nan")}]}


class BadTemplate(Fine):
    def chapter(self) -> str:
        return "# Bad\n\n**{{ concept.question }}** {{ runs[0].nrom | num }}\n"


def _png(outdir: Path, name: str) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n")  # the check looks at the file's existence, not its pixels
    return path


class FigureWithoutAlt(Fine):
    def figures(self, result, metrics, outdir) -> list[Figure]:
        return [Figure("eye", _png(outdir, "eye.png"), caption="The identity matrix.", alt="")]


class FigureNeverPlaced(Fine):
    def figures(self, result, metrics, outdir) -> list[Figure]:
        return [Figure("eye", _png(outdir, "eye.png"), caption="The identity.", alt="A diagonal of ones.")]


class SilentScene(Fine):
    def animation(self, result, metrics) -> Animation:
        from manim import Scene, Square

        class Silent(Scene):
            def construct(self) -> None:
                self.add(Square())
                self.wait(0.2)

        return Animation(scene=Silent, description="A square that says nothing.")

    def chapter(self) -> str:
        return super().chapter() + "\n{{ video }}\n"


def concept(cls: type[Concept], slug: str) -> Concept:
    return cls(slug=slug, title=slug.replace("-", " ").capitalize(), order=900,
               summary="A concept for the tests.", question="Does it work?")


def concept_plugin(name: str, obj: Concept) -> type:
    """A plugin object (a class with a marked hook) registering ``obj``."""

    def register_concepts(register):
        register(obj)

    return type(name, (), {"register_concepts": staticmethod(hookimpl(register_concepts))})


class misspelled_hook:  # noqa: N801 - plugin objects are named like modules
    @hookimpl
    def register_concept(register):  # the hook is register_concepts
        register(concept(Fine, "misspelled"))


class registers_a_string:  # noqa: N801
    @hookimpl
    def register_concepts(register):
        register("superposition-but-a-string")


@pytest.fixture
def no_installed_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_PLUGINS", "")


def check_lines(*extra: object, slugs: list[str] | None = None) -> tuple[int, list[str]]:
    """Run `course check` on a course made of ``extra`` plugins; (exit code, output lines)."""
    course = plugins.load(extra=list(extra))
    result = CliRunner().invoke(cli, ["check", *(slugs or [])], obj={"course": course})
    return result.exit_code, result.output.strip().splitlines()


def test_check_passes_a_good_plugin(no_installed_plugins: None) -> None:
    code, lines = check_lines(concept_plugin("good", concept(Fine, "fine")))
    assert code == 0, lines
    assert lines[0].startswith("ok   fine (plugin 'good'): experiment runs, metrics (1 run), 0 figures, no animation")
    assert "1 claim" in lines[0] and "chapter renders" in lines[0]
    assert lines[-1] == "1 concept passed, 0 problems."


@pytest.mark.parametrize(
    ("plugin", "expected"),
    [
        (concept_plugin("raises", concept(RaisesInRun, "raises-in-run")),
         "FAIL plugin 'raises', concept 'raises-in-run', run(): ValueError: the data loader is empty. "
         "Fix: make run() succeed on settings(quick=True)"),
        (concept_plugin("wrong_type", concept(WrongType, "wrong-type")),
         "FAIL plugin 'wrong_type', concept 'wrong-type', run(): returned dict, expected a course.Result. "
         "Fix: return course.Result(name, settings, seed, arrays={...}, info={...}) from run()"),
        (concept_plugin("non_finite", concept(NonFinite, "non-finite")),
         "FAIL plugin 'non_finite', concept 'non-finite', metrics(): non-finite value at runs[0].norm. "
         "Fix: keep every number in metrics finite"),
        (concept_plugin("bad_template", concept(BadTemplate, "bad-template")),
         "FAIL plugin 'bad_template', concept 'bad-template', chapter template: bad-template/chapter.md, "
         "line 3: UndefinedError: 'dict object' has no attribute 'nrom'. The template can use: claims; concept; "
         "figures (empty); metrics (runs); runs; video. Fix: use only the names concept, metrics, runs, figures, "
         "video, claims"),
        (misspelled_hook,
         "FAIL plugin 'misspelled_hook', register_concept: there is no hook named 'register_concept'; "
         "the hooks are: register_commands, register_concepts, register_glossary, register_roadmap. "
         "Fix: rename register_concept to register_concepts"),
        (registers_a_string,
         "FAIL plugin 'registers_a_string', register_concepts: registered a str, expected a course.Concept. "
         "Fix: call register() with course.Concept instances only"),
        (concept_plugin("no_alt", concept(FigureWithoutAlt, "no-alt")),
         "FAIL plugin 'no_alt', concept 'no-alt', figures(): figure 'eye' has no alt text. "
         "Fix: describe the picture for a reader who cannot see it in the words block figure_eye_alt "
         "(or Figure(alt=...))"),
        (concept_plugin("unplaced", concept(FigureNeverPlaced, "unplaced")),
         "FAIL plugin 'unplaced', concept 'unplaced', chapter template: figure 'eye' never appears in the "
         "page. Fix: place {{ figures.eye }} where the reader should see it"),
        (concept_plugin("silent", concept(SilentScene, "silent")),
         "FAIL plugin 'silent', concept 'silent', scene: the scene adds no subcaptions, so its video would "
         "ship without captions. Fix: narrate each step with self.add_subcaption(step('NAME'), duration=...)"),
    ],
    ids=["raises-in-run", "wrong-type", "non-finite", "bad-template", "misspelled-hook", "non-concept",
         "figure-without-alt", "figure-never-placed", "scene-without-captions"],
)
def test_check_names_the_plugin_and_the_fix_in_one_line(no_installed_plugins: None, plugin: object, expected: str) -> None:
    code, lines = check_lines(plugin)
    assert code == 1
    fails = [ln for ln in lines if ln.startswith("FAIL")]
    assert len(fails) == 1, lines
    assert fails[0].startswith(expected), fails[0]
    assert lines[-1].endswith("1 problem.")


def test_check_keeps_checking_the_others(no_installed_plugins: None) -> None:
    code, lines = check_lines(concept_plugin("good", concept(Fine, "fine")),
                              concept_plugin("raises", concept(RaisesInRun, "raises-in-run")), misspelled_hook)
    assert code == 1
    assert [ln.split()[0] for ln in lines[:-1]].count("FAIL") == 2
    assert any(ln.startswith("ok   fine") for ln in lines)
    assert lines[-1] == "1 concept passed, 2 problems."


def test_check_only_named_concepts(no_installed_plugins: None) -> None:
    code, lines = check_lines(concept_plugin("good", concept(Fine, "fine")),
                              concept_plugin("raises", concept(RaisesInRun, "raises-in-run")), slugs=["fine"])
    assert code == 0, lines
    assert len(lines) == 2 and lines[0].startswith("ok   fine")


def test_check_traceback_option(no_installed_plugins: None) -> None:
    course = plugins.load(extra=[concept_plugin("raises", concept(RaisesInRun, "raises-in-run"))])
    result = CliRunner().invoke(cli, ["check", "--traceback"], obj={"course": course})
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.output
    assert 'raise ValueError("the data loader is empty")' in result.output


def test_check_finds_an_unmarked_hook_in_a_module(no_installed_plugins: None, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "unmarked_plugin.py").write_text(
        "from course import hookimpl\n\n"
        "def register_glossary(register):  # forgot @hookimpl\n    pass\n\n"
        "@hookimpl\ndef register_roadmap(register):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("unmarked_plugin")
    report = check.check(plugins.load(extra=[module]))
    assert [p.line() for p in report.problems] == [
        "plugin 'unmarked_plugin', register_glossary: the function is not marked as a hook, so the "
        "course never calls it. Fix: decorate it with @course.hookimpl"
    ]


def test_check_unknown_concept_is_a_one_line_usage_error() -> None:
    proc = run_course("check", "no-such-concept")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: Invalid value for 'CONCEPT': unknown concept 'no-such-concept'; choose one of:")


@pytest.mark.slow
def test_check_passes_the_builtins_on_quick_settings() -> None:
    report = check.check(plugins.load())
    assert report.ok, "\n".join(report.lines())
    assert sorted(c.slug for c in report.concepts) == sorted(plugins.load().slugs())
    for c in report.concepts:
        assert "chapter renders" in c.notes


@pytest.mark.slow
def test_scaffolded_plugin_passes_check_in_process(no_installed_plugins: None, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    root = scaffold("inproc-demo", tmp_path)
    monkeypatch.syspath_prepend(str(root))
    module = importlib.import_module("course_inproc_demo")
    course = plugins.load(extra=[module])
    assert course.slugs() == ["inproc-demo"] and not course.errors
    report = check.check(course, workdir=tmp_path / "work")
    assert report.ok, "\n".join(report.lines())
    notes = report.concepts[0].notes
    assert notes[:2] == ["experiment runs", "metrics (2 runs)"]
    assert any(n.startswith("scene constructs") for n in notes)
    assert (tmp_path / "work" / "inproc-demo" / "figures" / "inproc-demo-norms.png").stat().st_size > 1000


# --------------------------------------------------------------------------- course plugins


def test_plugins_json_lists_distribution_version_hooks_and_errors(no_installed_plugins: None) -> None:
    course = plugins.load(extra=[concept_plugin("good", concept(Fine, "fine")), misspelled_hook])
    result = CliRunner().invoke(cli, ["plugins", "--json"], obj={"course": course})
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["plugins"] == [{
        "name": "good", "distribution": "(registered in-process)", "version": "", "module": "",
        "hooks": ["register_concepts"], "concepts": ["fine"],
    }]
    assert doc["errors"][0]["plugin"] == "misspelled_hook"
    assert "register_concept" in doc["errors"][0]["message"]


def test_plugins_shows_the_installed_builtins() -> None:
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0
    course = plugins.load()
    for info in course.plugins:
        assert f"{info.name}  (superposition-course {info.version})  module {info.module.__name__}" in result.output
        assert f"  hooks: {', '.join(info.hooks)}" in result.output
    text = run_course("plugins", "--json")
    assert text.returncode == 0
    names = [p["name"] for p in json.loads(text.stdout)["plugins"]]
    assert names == sorted(p.name for p in course.plugins)


# --------------------------------------------------------------------------- end to end


def _throwaway_venv(path: Path) -> Path:
    """A venv whose python also sees this project's environment (torch, manim, course).

    ``--system-site-packages`` only reaches the base interpreter's packages, so a
    .pth file adds the current environment's site-packages (processing its own
    .pth files, which include the editable install of this repository).
    """
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(path)], check=True)
    python = path / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    parents = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in sorted(parents))
    Path(site, "course-parent-env.pth").write_text(lines)
    return python


@pytest.mark.slow
def test_scaffolded_plugin_end_to_end_in_a_throwaway_venv(tmp_path: Path) -> None:
    import os

    root = scaffold("e2e-demo", tmp_path)
    python = _throwaway_venv(tmp_path / "venv")
    pip = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                          "-e", str(root)], capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr

    env = {k: v for k, v in os.environ.items() if k != "COURSE_PLUGINS"}
    env["OMP_NUM_THREADS"] = "1"

    def course(*args: str, plugins_env: str | None = "e2e-demo") -> subprocess.CompletedProcess:
        e = dict(env)
        if plugins_env is not None:
            e["COURSE_PLUGINS"] = plugins_env
        return subprocess.run([str(python), "-c", "from course.cli import main; main()", *args],
                              capture_output=True, text=True, env=e, cwd=tmp_path)

    # found through its entry point alone, next to the built-ins
    listing = course("list", plugins_env=None)
    assert listing.returncode == 0, listing.stderr
    assert any(ln.split()[0] == "e2e-demo" and ln.split()[-1] == "course-e2e-demo"
               for ln in listing.stdout.splitlines()), listing.stdout

    plugins_doc = json.loads(course("plugins", "--json").stdout)
    assert plugins_doc["plugins"][0]["distribution"] == "course-e2e-demo"
    assert plugins_doc["plugins"][0]["hooks"] == ["register_concepts"]

    ran = course("run", "e2e-demo", "--json")
    assert ran.returncode == 0, ran.stderr
    metrics = json.loads(ran.stdout)
    dense, sparse = metrics["runs"]
    assert dense["features_represented"] <= metrics["n_hidden"] < sparse["features_represented"]

    checked = course("check", "e2e-demo")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("ok   e2e-demo (plugin 'e2e-demo')")

    built = course("build", "--out", str(tmp_path / "book"))
    assert built.returncode == 0, built.stderr
    site = tmp_path / "book" / "_build" / "html"
    html = " ".join((site / "concepts" / "e2e-demo.html").read_text().split())
    assert "E2e demo" in html and "How many features fit in two neurons?" in html
    assert f"the same model gives {sparse['features_represented']} of them a direction" in html
    assert "e2e-demo.mp4" in html
    # the words file gave the figure, the video, the claim and the glossary their words
    assert f"{sparse['features_represented']} of 4 features above 0.5 at S = 0.9" in html
    assert "4 features, 2 neurons" in html
    assert "With sparse features, a ReLU model represents more features" in html
    captions = (site / "_static" / "media" / "e2e-demo.vtt").read_text()
    assert "4 features must share 2 hidden neurons." in captions
    assert "@" not in captions  # every narration step became its words
    assert "Represented feature" in (site / "glossary.html").read_text()

    # the scaffold's own tests pass in that environment too
    own = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
                         capture_output=True, text=True, env=env, cwd=root)
    assert own.returncode == 0, own.stdout + own.stderr


@pytest.mark.parametrize(
    ("practice", "expected"),
    [
        (":::{exercise} Norms\n:label: fine-norm\n\nHow long is {{ runs[0].nrom }}?\n:::\n",
         "practice template: fine/practice.md.j2, line 4: UndefinedError"),
        (":::{exercise} Norms\n:label: fine-norm\n\nHow long?\n:::\n\n:::{solution} fine-norm\n\n{{ runs[0].norm }}\n:::\n",
         "practice template: the solution of 'fine-norm' is not folded. Fix: add ':class: dropdown' under it"),
    ],
    ids=["undefined-name", "unfolded-solution"],
)
def test_check_renders_the_exercises_too(no_installed_plugins: None, monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path, practice: str, expected: str) -> None:
    """A mistake in practice.md.j2 shows in `course check`, not first in a build."""
    good = concept(Fine, "fine")
    (tmp_path / "practice.md.j2").write_text(practice, encoding="utf-8")
    monkeypatch.setattr(type(good), "source_dir", lambda self: tmp_path)
    code, lines = check_lines(concept_plugin("good", good))
    assert code == 1, lines
    assert any(expected in line for line in lines), lines


def test_check_notes_exercises_that_render(no_installed_plugins: None, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    good = concept(Fine, "fine")
    (tmp_path / "practice.md.j2").write_text(
        ":::{exercise} Norms\n:label: fine-norm\n\nHow long?\n:::\n\n"
        ":::{solution} fine-norm\n:class: dropdown\n\n{{ runs[0].norm | num }}\n:::\n", encoding="utf-8")
    monkeypatch.setattr(type(good), "source_dir", lambda self: tmp_path)
    code, lines = check_lines(concept_plugin("good", good))
    assert code == 0, lines
    assert "chapter renders" in lines[0] and "exercises render" in lines[0]
