"""``course check``: validate plugins against the contract without building the book.

For every plugin: it loaded, its hooks are real hooks and are marked with
``@course.hookimpl``, and what it registered has the right type. For every
concept: its metadata, and each stage on the smallest settings
(``settings(quick=True)``) — the experiment runs, the metrics are JSON with
finite numbers and a ``"runs"`` list, the figures exist and are described, the
scene constructs (a dry run with no video), the claims are ``Claim`` objects
and the chapter template (and its exercises, ``practice.md.j2``) renders with the
context ``course build`` gives it.

Each problem is a :class:`Problem`: one line that names the plugin and says
how to fix it.
"""

from __future__ import annotations

import difflib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from course import chapters, contract, pipeline
from course.concept import Animation, Claim, Figure, block_name
from course.plugins import Course, PluginError, PluginInfo, Registered

RERUN = "rerun with --traceback to see where"


@dataclass
class Problem:
    """One thing wrong with a plugin, and how to fix it."""

    plugin: str
    where: str
    message: str
    fix: str = ""
    concept: str = ""
    traceback: str = ""

    def line(self) -> str:
        """The problem as one line of text."""
        subject = f"plugin {self.plugin!r}"
        if self.concept:
            subject += f", concept {self.concept!r}"
        text = f"{subject}, {self.where}: {_one_line(self.message)}"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


@dataclass
class ConceptReport:
    """The checks of one concept: what passed (``notes``) and what did not."""

    slug: str
    plugin: str
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        """The success line (meaningful when :attr:`ok`)."""
        return f"{self.slug} (plugin {self.plugin!r}): {', '.join(self.notes)}; {self.seconds:.1f} s"


@dataclass
class Report:
    """Everything ``course check`` found."""

    plugin_problems: list[Problem] = field(default_factory=list)
    concepts: list[ConceptReport] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return self.plugin_problems + [p for c in self.concepts for p in c.problems]

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """One line per problem, then one per concept that passed."""
        return [f"FAIL {p.line()}" for p in self.problems] + [
            f"ok   {c.line()}" for c in self.concepts if c.ok
        ]


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split()).rstrip(".")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- plugins


def _hook_names(course: Course) -> list[str]:
    """The hooks with a spec (an unknown hook a plugin tried to implement has none)."""
    return sorted(
        name for name in dir(course.pm.hook)
        if not name.startswith("_") and getattr(course.pm.hook, name).spec is not None
    )


def _load_error_fix(err: PluginError, hooks: Sequence[str]) -> str:
    msg = err.message
    if err.where == "import":
        return f"make the plugin's module importable ({RERUN})"
    if err.where == "registration":
        return "give each hook function exactly the arguments of its hook (see the plugin author's guide)"
    if err.where not in hooks and err.where.startswith("register"):
        close = difflib.get_close_matches(err.where, hooks, n=1)
        return f"rename {err.where} to {close[0]}" if close else "use one of the hooks listed"
    if "registered a " in msg and "expected a course." in msg:
        kind = msg.rsplit("expected a ", 1)[1]
        return f"call register() with {kind} instances only"
    if err.tb:  # the hook itself raised
        return f"make the {err.where} hook run without raising ({RERUN})"
    return ""  # load()'s own validation messages already say what to change


def check_plugins(course: Course, only: Sequence[str] | None = None) -> list[Problem]:
    """Problems of the plugins themselves: load errors, unmarked or misspelled hooks.

    ``only`` limits the check to plugins of those names.
    """
    hooks = _hook_names(course)
    problems = [
        Problem(e.plugin, e.where, e.message, _load_error_fix(e, hooks), traceback=e.tb)
        for e in course.errors
        if only is None or e.plugin in only
    ]
    for info in course.plugins:
        if only is not None and info.name not in only:
            continue
        problems += _plugin_shape(info, hooks)
    return problems


def _plugin_shape(info: PluginInfo, hooks: Sequence[str]) -> list[Problem]:
    out: list[Problem] = []
    module = info.module
    if isinstance(module, ModuleType):
        for name, fn in sorted(vars(module).items()):
            if not callable(fn) or getattr(fn, "__module__", None) != module.__name__:
                continue
            if hasattr(fn, "course_impl"):
                continue
            if name in hooks:
                out.append(Problem(info.name, name, "the function is not marked as a hook, so the course never calls it",
                                   "decorate it with @course.hookimpl"))
            elif name.startswith("register"):
                close = difflib.get_close_matches(name, hooks, n=1, cutoff=0.8)
                if close:
                    out.append(Problem(info.name, name, f"there is no hook named {name!r}",
                                       f"rename it to {close[0]} and decorate it with @course.hookimpl"))
    if not info.hooks and not out:
        out.append(Problem(info.name, "hooks", "the plugin implements no hooks",
                           "decorate its register_* functions with @course.hookimpl"))
    return out


# --------------------------------------------------------------------------- concepts


class _Failed(Exception):
    """Stops checking the later stages of a concept."""


def _plugin_error(report: ConceptReport, exc: PluginError, fix: str) -> Problem:
    stage = exc.where.split(".", 1)[1] if "." in exc.where else exc.where
    message, sep, own_fix = exc.message.partition(". Fix: ")
    if sep:  # the contract's own words: the same message and fix as `course build`
        return Problem(report.plugin, stage, message, own_fix, concept=report.slug, traceback=exc.tb)
    return Problem(report.plugin, stage, exc.message, fix, concept=report.slug, traceback=exc.tb)


def check_concept(
    reg: Registered,
    workdir: Path | None = None,
    seed: int = 0,
    device: str = "cpu",
    scene: bool = True,
) -> ConceptReport:
    """Run every stage of one concept on its quick settings and report what is wrong.

    Figures go to ``workdir/SLUG`` (a temporary folder by default); nothing is
    cached and no video is written.
    """
    c = reg.concept
    report = ConceptReport(c.slug, reg.plugin.name)
    start = time.perf_counter()
    tmp = None
    if workdir is None:
        tmp = Path(tempfile.mkdtemp(prefix=f"course-check-{c.slug}-"))
        outdir = tmp
    else:
        outdir = Path(workdir) / c.slug
    try:
        _stages(reg, report, outdir, seed, device, scene)
    except _Failed:
        pass
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        report.seconds = time.perf_counter() - start
    return report


def _stages(reg: Registered, report: ConceptReport, outdir: Path, seed: int, device: str, scene: bool) -> None:
    c = reg.concept

    def problem(where: str, message: str, fix: str, tb: str = "") -> Problem:
        p = Problem(report.plugin, where, message, fix, concept=c.slug, traceback=tb)
        report.problems.append(p)
        return p

    # metadata (slug, title and order were validated when the plugin loaded)
    if not isinstance(c.summary, str) or not c.summary.strip():
        problem("metadata", "the summary is empty", "set summary= to one sentence saying what the chapter shows")
    if not isinstance(c.question, str) or not c.question.strip():
        problem("metadata", "the motivating question is empty",
                "set question= to the question the chapter opens with and answers")

    # experiment and metrics: everything after them needs both
    loaded = _plugin_modules(c)
    try:
        result, _ = pipeline.experiment(reg, seed=seed, device=device, quick=True, use_cache=False)
    except PluginError as exc:
        if exc.where.endswith("settings()"):
            fix = "make settings(quick=True) return a dict of JSON values (numbers, strings, lists, dicts)"
        elif "expected a course.Result" in exc.message:
            fix = "return course.Result(self.slug, settings, seed, arrays={...}, info={...}) from run()"
        else:
            fix = f"make run() succeed on settings(quick=True) ({RERUN})"
        report.problems.append(_plugin_error(report, exc, fix))
        raise _Failed from exc
    except Exception as exc:  # noqa: BLE001 - e.g. source_files() of an odd plugin, while keying
        import traceback

        problem("experiment", f"{type(exc).__name__}: {exc}",
                f"make the concept's files readable and its settings hashable ({RERUN})", traceback.format_exc())
        raise _Failed from exc
    report.notes.append("experiment runs")
    loaded = _undeclared(reg, problem, "experiment", loaded)
    try:
        metrics = pipeline.metrics(reg, result)
    except PluginError as exc:
        if "non-finite" in exc.message:
            fix = "keep every metric finite on the quick settings (guard divisions by zero)"
        elif exc.tb:
            fix = f"make metrics() run on the quick result ({RERUN})"
        else:
            fix = 'return {"runs": [...], ...} holding plain JSON numbers (course.jsonable converts numpy values)'
        report.problems.append(_plugin_error(report, exc, fix))
        raise _Failed from exc
    n = len(metrics["runs"])
    report.notes.append(f"metrics ({n} run{'s' if n != 1 else ''})")

    loaded = _undeclared(reg, problem, "analysis", loaded)
    figures = _check_figures(reg, report, problem, result, metrics, outdir)
    loaded = _undeclared(reg, problem, "figures", loaded)
    anim = _check_animation(reg, report, problem, result, metrics, scene)
    _undeclared(reg, problem, "scene", loaded)
    claims = _check_claims(reg, report, problem, metrics)
    if figures is not None and claims is not None and anim is not False:
        _check_chapter(reg, report, problem, metrics, figures, anim, claims)


def _plugin_modules(concept: Any) -> set[Path]:
    """The files of the concept's plugin folder whose modules are imported now."""
    root = concept.source_dir()
    out = set()
    for module in list(sys.modules.values()):
        f = getattr(module, "__file__", None)
        if f and Path(f).resolve().parent == root:
            out.add(Path(f).resolve())
    return out


def _undeclared(reg: Registered, problem: Callable[..., Problem], stage: str, before: set[Path]) -> set[Path]:
    """Report the plugin's helper modules that ``stage`` imported without
    declaring them (editing one would not refresh the stage's cache)."""
    now = _plugin_modules(reg.concept)
    known = {(reg.concept.source_dir() / "__init__.py").resolve()} | {p.resolve() for p in reg.concept.stage_files(stage)}
    for path in sorted(now - before - known):
        problem(stage, f"imports the plugin's module {path.name}, which does not key its cache",
                f"declare it: depends={{{stage!r}: ({path.name!r},)}} in the concept")
    return now


def _violations(problem: Callable[..., Problem], where: str, found: Sequence[contract.Violation]) -> bool:
    """Report every violation; True if there was none."""
    for v in found:
        problem(where, v.message, v.fix)
    return not found


def _words_problem(reg: Registered, report: ConceptReport, exc: PluginError, fix: str) -> None:
    report.problems.append(_plugin_error(report, exc, fix))


def _check_figures(reg, report, problem, result, metrics, outdir) -> list[Figure] | None:
    c = reg.concept
    fig_dir = outdir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    try:
        figures = pipeline.stage(reg, "figures", c.figures, result, metrics, fig_dir)
    except PluginError as exc:
        report.problems.append(_plugin_error(report, exc, f"make figures() run on the quick result ({RERUN})"))
        return None
    if not _violations(problem, "figures()", contract.figures(figures, fig_dir)):
        return None
    figures = list(figures or [])
    try:
        described = chapters.describe(reg, metrics, figures, None, [], False).figures
    except PluginError as exc:
        if exc.where.endswith("figures()"):  # a caption or alt text is missing: list them all
            filled = [replace(f, caption=f.caption or _block(reg, metrics, f, "caption"),
                              alt=f.alt or _block(reg, metrics, f, "alt")) for f in figures]
            _violations(problem, "figures()", contract.described_figures(filled))
        else:
            _words_problem(reg, report, exc, "fix the words file at the line named")
        return None
    report.notes.append(f"{len(described)} figure{'s' if len(described) != 1 else ''}")
    return described


def _block(reg: Registered, metrics: dict[str, Any], f: Figure, kind: str) -> str:
    try:
        return reg.concept.words().get(f"figure_{block_name(f.name)}_{kind}", **reg.concept.words_context(metrics))
    except Exception:  # noqa: BLE001 - reported by describe() already
        return ""


def _check_animation(reg, report, problem, result, metrics, scene: bool) -> tuple[Animation, str, str] | None | bool:
    """(Animation, title, description); None when the concept has none; False when it is broken."""
    from course import render

    c = reg.concept
    try:
        anim = pipeline.stage(reg, "animation", c.animation, result, metrics)
    except PluginError as exc:
        report.problems.append(_plugin_error(report, exc, f"make animation() run on the quick result ({RERUN})"))
        return False
    if not _violations(problem, "animation()", contract.animation(anim)):
        return False
    if anim is None:
        report.notes.append("no animation")
        return None
    words_of = {"title": anim.title, "description": anim.description}
    timeline: list[list[Any]] = []
    if scene:
        try:
            built = pipeline.stage(reg, "scene", render.construct, anim)
        except PluginError as exc:
            report.problems.append(_plugin_error(report, exc, f"make the scene construct on the quick result ({RERUN})"))
            return False
        subs = getattr(built.renderer.file_writer, "subcaptions", []) or []
        timeline = [[0.0, 1.0, str(getattr(sub, "content", ""))] for sub in subs]
        if not _violations(problem, "scene", contract.captions(len(timeline))):
            return False
    try:
        described = chapters.describe(reg, metrics, [], words_of, timeline or [[0.0, 1.0, ""]], True)
    except PluginError as exc:
        if exc.where.endswith("animation()"):
            problem("animation()", exc.message.split(". Fix: ")[0], exc.message.partition(". Fix: ")[2])
        else:
            _words_problem(reg, report, exc, "write the narration, title and description in the words file")
        return False
    if scene:
        report.notes.append(f"scene constructs ({float(built.time):.0f} s, {len(timeline)} captions)")
    else:
        report.notes.append("scene not constructed")
    return anim, described.title, described.description


def _check_claims(reg, report, problem, metrics) -> list[Claim] | None:
    try:
        claims = chapters.claims_of(reg, metrics)
    except PluginError as exc:
        fix = "state each claim in the words blocks claim_ID and measured_ID" if "words" in exc.message else \
            f"make claims() run on the quick metrics ({RERUN})"
        report.problems.append(_plugin_error(report, exc, fix))
        return None
    report.notes.append(f"{len(claims)} claim{'s' if len(claims) != 1 else ''}")
    return claims


def _check_chapter(reg, report, problem, metrics, figures, anim, claims) -> None:
    from course.markup import chapter_linker, figure_markdown, video_markdown
    from course.render import Rendered

    c = reg.concept
    figs = {f.name: figure_markdown(f, f"figures/{c.slug}/{Path(f.path).name}") for f in figures}
    video = ""
    if anim:
        _, title, description = anim
        media = Path("media")
        fake = Rendered(media / f"{c.slug}.mp4", media / f"{c.slug}.png", media / f"{c.slug}.vtt")
        video = video_markdown(fake, description, title, "../_static/media")
    ctx = {"concept": c, "metrics": metrics, "runs": metrics["runs"], "figures": figs, "video": video,
           "claims": claims, "chapter_link": chapter_linker(None)}
    try:
        chapters.render_chapter(reg, ctx)
        practice = chapters.render_practice(reg, ctx)  # the exercises get the chapter's context
    except PluginError as exc:
        if "line" in exc.message or "Error" in exc.message:
            fix = f"use only the names {', '.join(chapters.CONTEXT_NAMES)} and keys the metrics really have"
        else:
            fix = ""
        report.problems.append(_plugin_error(report, exc, fix))
        return
    report.notes.append("chapter renders")
    if practice:
        report.notes.append("exercises render")


# --------------------------------------------------------------------------- everything


def iter_check(
    course: Course,
    slugs: Sequence[str] | None = None,
    workdir: Path | None = None,
    seed: int = 0,
    device: str = "cpu",
    scene: bool = True,
) -> Iterator[Problem | ConceptReport]:
    """Yield plugin problems first, then one :class:`ConceptReport` per concept as it finishes.

    With ``slugs``, only those concepts (and the plugins providing them) are checked.
    """
    regs = course.concepts if not slugs else [course.get(s) for s in slugs]
    only = None if not slugs else sorted({r.plugin.name for r in regs})
    yield from check_plugins(course, only)
    for reg in regs:
        yield check_concept(reg, workdir=workdir, seed=seed, device=device, scene=scene)


def check(
    course: Course,
    slugs: Sequence[str] | None = None,
    workdir: Path | None = None,
    seed: int = 0,
    device: str = "cpu",
    scene: bool = True,
    on_item: Callable[[Problem | ConceptReport], None] | None = None,
) -> Report:
    """Check ``course``'s plugins and concepts (all, or ``slugs``); see :func:`iter_check`."""
    report = Report()
    for item in iter_check(course, slugs, workdir, seed, device, scene):
        if isinstance(item, Problem):
            report.plugin_problems.append(item)
        else:
            report.concepts.append(item)
        if on_item is not None:
            on_item(item)
    return report
