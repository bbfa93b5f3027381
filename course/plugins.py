"""Loading plugins and collecting what they register.

Built-in concepts are ordinary entry points in the ``course`` group of this
distribution (see ``pyproject.toml``), so they load exactly the way a
third-party plugin does. ``COURSE_PLUGINS`` limits what loads: a
comma-separated list of entry-point names (empty: none). ``COURSE_TRACE=1``
prints every hook call to stderr.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from course import hookspecs
from course.concept import PARTS, SLUG_RE, Concept, GlossaryEntry, RoadmapEntry

GROUP = "course"
ENV_PLUGINS = "COURSE_PLUGINS"
ENV_TRACE = "COURSE_TRACE"
#: the hooks every register_* call goes through, with the type each registers
REGISTER_HOOKS: dict[str, type] = {
    "register_concepts": Concept,
    "register_roadmap": RoadmapEntry,
    "register_glossary": GlossaryEntry,
}


class PluginError(Exception):
    """A plugin that could not be loaded or misbehaved in a hook or stage."""

    def __init__(self, plugin: str, where: str, message: str, tb: str = "") -> None:
        self.plugin, self.where, self.message, self.tb = plugin, where, message, tb
        super().__init__(f"plugin {plugin!r} failed in {where}: {message}")


@dataclass
class PluginInfo:
    """One loaded (or failed) plugin."""

    name: str
    distribution: str = ""
    version: str = ""
    module: ModuleType | None = None
    hooks: list[str] = field(default_factory=list)


@dataclass
class Registered:
    """A concept together with the plugin and distribution that provide it."""

    concept: Concept
    plugin: PluginInfo


@dataclass
class Course:
    """Everything the installed plugins contribute, plus what went wrong."""

    plugins: list[PluginInfo]
    concepts: list[Registered]
    roadmap: list[tuple[RoadmapEntry, PluginInfo]]
    glossary: list[tuple[GlossaryEntry, PluginInfo]]
    errors: list[PluginError]
    pm: pluggy.PluginManager

    def slugs(self) -> list[str]:
        return [r.concept.slug for r in self.concepts]

    def get(self, slug: str) -> Registered:
        for r in self.concepts:
            if r.concept.slug == slug:
                return r
        raise KeyError(slug)


def _entry_points() -> list[md.EntryPoint]:
    eps = list(md.entry_points(group=GROUP))
    allowed = os.environ.get(ENV_PLUGINS)
    if allowed is not None:
        names = {n.strip() for n in allowed.split(",") if n.strip()}
        eps = [ep for ep in eps if ep.name in names]
    seen: set[str] = set()
    unique = []
    for ep in sorted(eps, key=lambda e: e.name):
        if ep.name not in seen:  # the same distribution found twice on sys.path
            seen.add(ep.name)
            unique.append(ep)
    return unique


def _trace(pm: pluggy.PluginManager) -> None:
    def before(hook_name: str, impls: Any, kwargs: Any) -> None:
        print(f"[course] hook {hook_name} -> {[i.plugin_name for i in impls]}", file=sys.stderr)

    def after(outcome: Any, hook_name: str, impls: Any, kwargs: Any) -> None:
        pass

    pm.add_hookcall_monitoring(before, after)


def plugin_manager() -> pluggy.PluginManager:
    """A fresh plugin manager with the course's hook specs."""
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    if os.environ.get(ENV_TRACE):
        _trace(pm)
    return pm


def load(extra: Iterable[ModuleType | object] = ()) -> Course:
    """Load every allowed plugin, collect registrations, and keep going on errors.

    ``extra`` registers additional plugin objects (modules or classes with
    hookimpls) after the entry points: tests use it.
    """
    pm = plugin_manager()
    plugins: list[PluginInfo] = []
    errors: list[PluginError] = []

    def add(name: str, obj: object, info: PluginInfo) -> None:
        try:
            pm.register(obj, name=name)
        except pluggy.PluginValidationError as exc:
            errors.append(PluginError(name, "registration", f"{exc}. Check the hook's name and arguments against course.hookspecs."))
            return
        except ValueError as exc:  # duplicate name
            errors.append(PluginError(name, "registration", str(exc)))
            return
        callers = pm.get_hookcallers(obj) or []
        unknown = sorted(c.name for c in callers if c.spec is None)
        if unknown:
            pm.unregister(obj)
            known = ", ".join(sorted([*REGISTER_HOOKS, "register_commands"]))
            errors.append(PluginError(name, unknown[0], f"there is no hook named {unknown[0]!r}; the hooks are: {known}"))
            return
        info.module = obj if isinstance(obj, ModuleType) else None
        info.hooks = sorted(c.name for c in callers)
        plugins.append(info)

    for ep in _entry_points():
        dist = ep.dist.name if ep.dist else ""
        version = ep.dist.version if ep.dist else ""
        info = PluginInfo(ep.name, dist, version)
        try:
            obj = ep.load()
        except Exception as exc:  # noqa: BLE001 - any import failure is the plugin's
            errors.append(PluginError(ep.name, "import", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
            continue
        add(ep.name, obj, info)
    for obj in extra:
        name = getattr(obj, "__name__", type(obj).__name__)
        add(name, obj, PluginInfo(name, "(registered in-process)", ""))

    by_name = {p.name: p for p in plugins}
    concepts: list[Registered] = []
    roadmap: list[tuple[RoadmapEntry, PluginInfo]] = []
    glossary: list[tuple[GlossaryEntry, PluginInfo]] = []
    sinks: dict[str, Callable[[Any, PluginInfo], None]] = {
        "register_concepts": lambda obj, p: concepts.append(Registered(obj, p)),
        "register_roadmap": lambda obj, p: roadmap.append((obj, p)),
        "register_glossary": lambda obj, p: glossary.append((obj, p)),
    }
    for hook_name, expected in REGISTER_HOOKS.items():
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            info = by_name[impl.plugin_name]
            bad: list[str] = []

            def register(obj: Any, _info: PluginInfo = info, _expected: type = expected, _bad: list[str] = bad, _hook: str = hook_name) -> None:
                if not isinstance(obj, _expected):
                    _bad.append(f"registered a {type(obj).__name__}, expected a course.{_expected.__name__}")
                    return
                sinks[_hook](obj, _info)

            try:
                impl.function(**{arg: register for arg in impl.argnames})
            except Exception as exc:  # noqa: BLE001
                errors.append(PluginError(info.name, hook_name, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
                continue
            errors.extend(PluginError(info.name, hook_name, msg) for msg in bad)

    concepts = _validate_concepts(concepts, errors)
    concepts.sort(key=book_order)
    glossary += _words_glossary(concepts, errors)
    roadmap.sort(key=lambda e: (e[0].group, e[0].order, e[0].title))
    return Course(plugins, concepts, roadmap, glossary, errors, pm)


def book_order(r: Registered) -> tuple[int, str, int, str]:
    """Sort key of a concept in the book: its part (:data:`course.concept.PARTS`
    first, in their order, then other parts by name), then ``order``, then slug.
    The one definition of the book's order: ``Course.concepts`` is sorted by it."""
    return concept_order(r.concept)


def concept_order(c: Concept) -> tuple[int, str, int, str]:
    """:func:`book_order` of a bare concept."""
    part = c.part if isinstance(c.part, str) else ""
    rank = list(PARTS).index(part) if part in PARTS else len(PARTS)
    return (rank, part if rank == len(PARTS) else "", c.order, c.slug)


def _words_glossary(concepts: list[Registered], errors: list[PluginError]) -> list[tuple[GlossaryEntry, PluginInfo]]:
    """The glossary entries in each concept's words file (block ``glossary``)."""
    from course.words import WordsError

    out: list[tuple[GlossaryEntry, PluginInfo]] = []
    for r in concepts:
        try:
            entries = r.concept.words().glossary()
        except WordsError as exc:
            errors.append(PluginError(r.plugin.name, f"{r.concept.slug}.words (glossary)", str(exc)))
            continue
        out += [(GlossaryEntry(term, definition, link), r.plugin) for term, definition, link in entries]
    return out


def _validate_concepts(found: list[Registered], errors: list[PluginError]) -> list[Registered]:
    ok: list[Registered] = []
    seen: dict[str, str] = {}
    for r in found:
        c, p = r.concept, r.plugin
        problem = None
        if not isinstance(c.slug, str) or not SLUG_RE.match(c.slug):
            problem = f"slug {c.slug!r} is not valid: use lower-case words joined by hyphens, like 'feature-geometry'"
        elif c.slug in seen:
            problem = f"slug {c.slug!r} is already provided by plugin {seen[c.slug]!r}; choose another slug"
        elif not isinstance(c.title, str) or not c.title.strip():
            problem = f"concept {c.slug!r} has an empty title"
        elif not isinstance(c.part, str) or not SLUG_RE.match(c.part):
            problem = f"concept {c.slug!r}: part must be a lower-case name such as 'foundations' or 'concepts', got {c.part!r}"
        elif not isinstance(c.order, int):
            problem = f"concept {c.slug!r}: order must be an int, got {type(c.order).__name__}"
        elif isinstance(c.cost, bool) or not isinstance(c.cost, int | float) or not c.cost >= 0:
            problem = f"concept {c.slug!r}: cost must be a number of seconds, 0 or more, got {c.cost!r}"
        if problem:
            errors.append(PluginError(p.name, "register_concepts", problem))
            continue
        seen[c.slug] = p.name
        ok.append(r)
    return ok
