"""Pages generated from what plugins register and what the build measured.

- :func:`roadmap`: the "future sections" page, from ``register_roadmap``;
- :func:`glossary`: the glossary, from ``register_glossary``;
- :func:`reproduction`: the paper's claims next to this build's measurements;
- :func:`models_table`: every chapter's toy model at a glance, from its settings;
- :func:`page_context`: what hand-written ``*.md.j2`` pages may quote.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from course.concept import PAPER_URL, PARTS, RoadmapEntry
from course.plugins import concept_order
from course.words import compile_template, environment, plain, safe_url

if TYPE_CHECKING:
    from course.chapters import ChapterOutput
    from course.concept import Claim, GlossaryEntry
    from course.plugins import Course, PluginError, PluginInfo, Registered

PAPER = PAPER_URL
#: the roadmap group for the paper's own later sections (RoadmapEntry's default)
SECTIONS_GROUP: str = RoadmapEntry("", "").group
#: the roadmap group for sequel papers
SEQUELS_GROUP = "Sequel papers"

_SECTION_NUMBER = re.compile(r"^§\s*(\d+)")


def _link(text: str, url: str) -> str:
    url = safe_url(url)
    return f"[{text}]({url})" if url else text


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _and(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def section_span(titles: Sequence[str]) -> str:
    """'sections 5–11' for §-numbered titles in a run, else the numbers or titles listed."""
    numbers = [int(m.group(1)) for t in titles if (m := _SECTION_NUMBER.match(t))]
    if not numbers or len(numbers) != len(titles):
        return "the sections " + _and([f"“{t}”" for t in titles])
    numbers = sorted(set(numbers))
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"sections {numbers[0]}–{numbers[-1]}"
    return ("section " if len(numbers) == 1 else "sections ") + _and([str(n) for n in numbers])


def _attribution(plugin: PluginInfo) -> str:
    """The plugin's name when it comes from another distribution than the
    course's own (whose entries are the book's, not an addition), else ""."""
    if plugin.distribution and plugin.distribution != own_distribution():
        return plugin.name
    return ""


@functools.cache
def own_distribution() -> str:
    """The name of the distribution that provides the ``course`` package
    (looked up once). The distributions that list their packages in
    ``top_level.txt`` are read first, which takes a hundredth of a second;
    only if none lists ``course`` is every distribution's file list read
    (``packages_distributions``, a third of a warm build's second)."""
    import importlib.metadata as md

    for dist in md.distributions():
        top = dist.read_text("top_level.txt")
        if top and "course" in top.split():
            return str(dist.metadata["Name"])
    names = md.packages_distributions().get("course", [])
    return names[0] if names else ""


# --------------------------------------------------------------------------- roadmap


def page_template(name: str, **context: Any) -> str:
    """Render the book's page template ``templates/NAME.md.j2`` (from
    ``course_book``): the words of a generated page live there, not here."""
    from importlib import resources

    text = resources.files("course_book").joinpath("templates", f"{name}.md.j2").read_text(encoding="utf-8")
    env = environment()
    env.filters.update(plain=plain, one_line=_one_line, and_list=_and, cell=_cell,
                       link=lambda text, url: _link(text, url))
    # compiled once and kept in the cache's templates/ folder, as the words are
    template = compile_template(env, text, f"course_book/templates/{name}.md.j2")
    return template.render(paper=PAPER, **context).rstrip("\n") + "\n"


def roadmap(course: Course) -> str:
    """The "future sections" page, grouped as the plugins registered it
    (words: ``book/templates/roadmap.md.j2``).

    The paper's later sections (group :data:`SECTIONS_GROUP`) come first, then
    :data:`SEQUELS_GROUP`, then any other group alphabetically; inside a group
    entries follow their ``order``.
    """
    groups: dict[str, list[tuple[RoadmapEntry, PluginInfo]]] = {}
    for entry, plugin in course.roadmap:
        groups.setdefault(entry.group, []).append((entry, plugin))
    for items in groups.values():
        items.sort(key=lambda e: (e[0].order, e[0].title))
    order = [g for g in (SECTIONS_GROUP, SEQUELS_GROUP) if g in groups]
    order += sorted(g for g in groups if g not in (SECTIONS_GROUP, SEQUELS_GROUP))
    sections = [plain(_one_line(e.title)) for e, _ in groups.get(SECTIONS_GROUP, [])]
    return page_template(
        "roadmap",
        groups=[(g, [{"title": e.title, "link": safe_url(e.link), "description": _one_line(e.description),
                      "attribution": _attribution(p)} for e, p in groups[g]]) for g in order],
        sections=section_span(sections) if sections else "",
        sequels=[_link(plain(e.title), e.link) for e, _ in groups.get(SEQUELS_GROUP, [])],
    )


# --------------------------------------------------------------------------- glossary


def glossary_entries(course: Course) -> tuple[list[tuple[GlossaryEntry, PluginInfo]], list[str]]:
    """The glossary's entries, one per term, and a message per dropped duplicate.

    When two plugins define the same term (case-insensitive), the definition
    of the plugin whose first concept comes earliest in the book wins; plugins
    without concepts (such as the built-in ``paper`` plugin) come last: their
    terms are fallbacks that a concept chapter's own definition replaces
    silently. Only a clash between two concept plugins is reported.
    """
    first_order: dict[str, tuple[int, str, int, str]] = {}
    for r in course.concepts:
        rank = concept_order(r.concept)
        name = r.plugin.name
        first_order[name] = min(first_order.get(name, rank), rank)
    none = (len(PARTS) + 1, "", 0, "")
    ranked = sorted(enumerate(course.glossary), key=lambda ie: (first_order.get(ie[1][1].name, none), ie[0]))
    kept: dict[str, tuple[GlossaryEntry, PluginInfo]] = {}
    dropped: list[str] = []
    for _, (entry, plugin) in ranked:
        key = entry.term.strip().lower()
        if key in kept:
            if plugin.name not in first_order:
                continue  # a fallback definition, replaced by a chapter's own
            dropped.append(f"glossary term {entry.term!r} from plugin {plugin.name!r} is also defined "
                           f"by plugin {kept[key][1].name!r}, whose definition the book keeps")
            continue
        kept[key] = (entry, plugin)
    return sorted(kept.values(), key=lambda e: e[0].term.strip().lower()), dropped


def glossary(course: Course, built: Sequence[str] | None = None) -> str:
    """Every registered glossary term, alphabetically, as a Sphinx glossary.

    Terms get anchors (``term-<Term>``), so pages can link them with
    ``{term}`Superposition```. ``built`` lists the slugs of the chapters in
    this build: a term registered by a concept plugin links to its chapter
    when that chapter was built. Duplicate terms are dropped with a warning
    (see :func:`glossary_entries`).
    """
    entries, dropped = glossary_entries(course)
    for message in dropped:
        warnings.warn(message, stacklevel=2)
    built_set = set(built or [])
    chapters: dict[str, dict[str, str]] = {}
    for r in course.concepts:
        if r.concept.slug in built_set and r.plugin.name not in chapters:
            chapters[r.plugin.name] = {"title": r.concept.title, "slug": r.concept.slug}
    return page_template(
        "glossary",
        entries=[{"term": e.term, "definition": e.definition, "link": safe_url(e.link), "chapter": chapters.get(p.name)}
                 for e, p in entries],
        concepts=sorted(built_set),
    )


# --------------------------------------------------------------------------- reproduction


def _book_order(chapters: Sequence[ChapterOutput]) -> list[ChapterOutput]:
    return sorted(chapters, key=lambda ch: concept_order(ch.reg.concept))


def _cell(text: str) -> str:
    return plain(_one_line(text)).replace("|", "\\|")


def claim_rows(chapters: Sequence[ChapterOutput]) -> list[dict[str, Any]]:
    """Every claim of ``chapters`` in book order, as plain data: the report's
    rows and ``reproduction.json`` (id, chapter, statement, measured,
    tolerance, holds, identity, source)."""
    return [
        {"id": cl.id, "chapter": ch.reg.concept.slug, "chapter_title": ch.reg.concept.title,
         "statement": _one_line(cl.statement), "measured": _one_line(cl.measured),
         "tolerance": _one_line(cl.tolerance), "holds": bool(cl.holds), "identity": bool(cl.identity),
         "source": cl.source}
        for ch in _book_order(chapters) for cl in ch.claims
    ]


def reproduction_document(chapters: Sequence[ChapterOutput]) -> dict[str, Any]:
    """``reproduction.json``: the count the report states, and every claim."""
    rows = claim_rows(chapters)
    findings = [r for r in rows if not r["identity"]]
    return {"held": sum(r["holds"] for r in findings), "total": len(findings),
            "identities": sum(r["identity"] for r in rows), "claims": rows}


def reproduction(chapters: Sequence[ChapterOutput], errors: Sequence[PluginError]) -> str:
    """The paper's checkable claims next to what this build measured (words:
    ``book/templates/reproduction.md.j2``): findings counted, checks of the
    mathematics listed apart."""
    ordered = _book_order(chapters)
    rows = [(ch, cl) for ch in ordered for cl in ch.claims]

    def row(ch: ChapterOutput, cl: Claim) -> dict[str, Any]:
        return {"chapter": {"title": ch.reg.concept.title, "slug": ch.reg.concept.slug}, "claim": cl}

    findings = [(ch, cl) for ch, cl in rows if not cl.identity]
    per_chapter = []
    for ch in ordered:
        mine = [cl for cl in ch.claims if not cl.identity]
        if mine:
            per_chapter.append({"title": ch.reg.concept.title, "slug": ch.reg.concept.slug,
                                "total": len(mine), "held": sum(bool(cl.holds) for cl in mine)})
    return page_template(
        "reproduction",
        findings=[row(ch, cl) for ch, cl in findings],
        identities=[row(ch, cl) for ch, cl in rows if cl.identity],
        per_chapter=per_chapter,
        held=sum(bool(cl.holds) for _, cl in findings),
        total=len(findings),
        errors=[{"plugin": e.plugin, "where": e.where, "message": e.message} for e in errors],
    )


# --------------------------------------------------------------------------- the models at a glance


def _find_all(settings: dict[str, Any], *suffixes: str) -> list[Any]:
    """Every value, at any depth, whose key ends with one of ``suffixes``
    (lists flattened): a chapter with several models shows them all."""
    out: list[Any] = []
    for key, value in settings.items():
        if isinstance(value, dict):
            out += _find_all(value, *suffixes)
        elif key.endswith(suffixes):
            out += list(value) if isinstance(value, list | tuple) else [value]
    return out


def _g(x: Any) -> str:
    return f"{float(x):g}"


def _span(values: Sequence[Any], what: str = "", descending: bool = False) -> str:
    """``a`` or ``a to b``, smallest first unless ``descending``, with the
    number of distinct values when ``what`` names them."""
    nums = sorted({float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)},
                  reverse=descending)
    if not nums:
        return ""
    if len(nums) == 1:
        return _g(nums[0])
    return f"{_g(nums[0])} to {_g(nums[-1])}" + (f" ({len(nums)} {what})" if what else "")


def _densities(runs: Sequence[dict[str, Any]], settings: dict[str, Any]) -> str:
    """The densities 1 − S the chapter trains at: from its settings (keys
    ending in ``density``, ``densities`` or ``sparsities``), else from its
    runs' ``density`` or ``inverse_density``."""
    values = [float(v) for v in _find_all(settings, "density", "densities")]
    values += [1.0 - float(v) for v in _find_all(settings, "sparsities")]
    sweeps = len([k for k in _keys(settings) if k.endswith(("density", "densities", "sparsities"))])
    if not values:
        sweeps = 1
        values = [float(r["density"]) if "density" in r else 1.0 / float(r["inverse_density"])
                  for r in runs if "density" in r or r.get("inverse_density")]
    # the number of levels only where they are one sweep's
    return _span([round(v, 6) for v in values], "levels" if sweeps == 1 else "", descending=True)


def _keys(settings: dict[str, Any]) -> list[str]:
    """Every key of ``settings`` at any depth, nested dicts' own keys excluded."""
    return [k for k, v in settings.items() if not isinstance(v, dict)] + [
        k for v in settings.values() if isinstance(v, dict) for k in _keys(v)]


def _importance(settings: dict[str, Any]) -> str:
    decays = sorted({float(v) for v in _find_all(settings, "importance_decay")}, reverse=True)
    if decays:
        return " or ".join(f"{_g(d)}^(i−1)" for d in decays)
    imp = [v for v in _find_all(settings, "importance") if not isinstance(v, bool)]
    if imp and all(float(v) == 1.0 for v in imp) or not imp:
        return "equal"
    return ", ".join(_g(v) for v in imp)


def _size(metrics: dict[str, Any], runs: Sequence[dict[str, Any]], settings: dict[str, Any], name: str) -> str:
    """n (``name="features"``) or m (``"hidden"``): the metrics' own number, else the runs' or the settings'."""
    if isinstance(metrics.get(f"n_{name}"), int):
        return str(metrics[f"n_{name}"])
    values = [r[f"n_{name}"] for r in runs if isinstance(r, dict) and isinstance(r.get(f"n_{name}"), int)]
    return _span(values or [v for v in _find_all(settings, name) if isinstance(v, int)])


#: how the table names the engine's models
MODEL_NAMES = {"relu": "ReLU output", "linear": "linear", "neuron": "ReLU neurons"}


def model_rows(chapters: Sequence[ChapterOutput]) -> list[dict[str, Any]]:
    """One row per chapter, in book order: its toy models' sizes, importance,
    densities, seeds and steps, read from the settings the build trained
    (with ``--quick`` or ``--profile``; else :func:`course.pipeline.settings_of`)
    and its metrics, and its summary.
    Where a chapter trains several models each column gives the range."""
    from course import pipeline

    rows = []
    for ch in _book_order(chapters):
        c = ch.reg.concept
        settings = ch.settings  # what this build trained (--quick, --profile)
        if not settings:
            try:
                settings = pipeline.settings_of(ch.reg)
            except Exception:  # noqa: BLE001 - a plugin whose settings fail still gets its row
                settings = {}
        runs = [r for r in ch.metrics.get("runs", []) if isinstance(r, dict)]
        kinds = [str(k) for k in _find_all(settings, "model") + [r.get("model") for r in runs] if k]
        rows.append({
            "slug": c.slug, "title": c.title, "summary": c.summary,
            "model": ", ".join(dict.fromkeys(MODEL_NAMES.get(k, k) for k in kinds))
            or ("several, see the chapter" if _find_all(settings, "steps") else "built by hand"),
            "n": _size(ch.metrics, runs, settings, "features"), "m": _size(ch.metrics, runs, settings, "hidden"),
            "importance": _importance(settings), "densities": _densities(runs, settings),
            "seeds": _span(_find_all(settings, "seeds")), "steps": _span(_find_all(settings, "steps")),
        })
    return rows


def models_table(chapters: Sequence[ChapterOutput]) -> str:
    """"The models of this course at a glance": the table of every chapter's
    toy model (words: ``book/templates/models.md.j2``)."""
    return page_template("models", rows=model_rows(chapters))


def setting_value(value: Any) -> str:
    """A setting as a page shows it: 10,000 for 10000, 0.001, "1.5 to 1.68"
    for a pair, "13 values from 1 to 0.01" for a longer sequence."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,}" if value.is_integer() and abs(value) >= 1000 else f"{value:g}"
    if isinstance(value, list | tuple):
        items = [setting_value(v) for v in value]
        if len(items) == 2:
            return f"{items[0]} to {items[1]}"
        if len(items) > 2:
            return f"{len(items)} values from {items[0]} to {items[-1]}"
        return ", ".join(items)
    return str(value)


def _flat(settings: dict[str, Any], part: str = "") -> dict[tuple[str, str], Any]:
    """Settings as {(part, field): value}; a nested dict is a part (its key)."""
    out: dict[tuple[str, str], Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict) and not part:
            out.update(_flat(value, str(key)))
        else:
            out[(part, str(key))] = value
    return out


def training_note(reg: Registered, profile: str, settings: dict[str, Any]) -> str:
    """The box a chapter page ends with (before its exercises): which build
    profile trained it and what the other profile would change (words:
    ``book/templates/training.md.j2``)."""
    from course import pipeline, profiles

    changes: list[dict[str, Any]] = []
    other = ""
    if profile in profiles.NAMES:
        other = next(n for n in profiles.NAMES if n != profile)
        try:
            theirs = _flat(pipeline.profile_settings(reg, other))
        except Exception:  # noqa: BLE001 - the plugin's settings failed: say nothing about the other profile
            theirs = {}
            other = ""
        ours = _flat(settings)
        for key, value in ours.items():
            if key in theirs and theirs[key] != value and key[1] != "profile":
                changes.append({"part": key[0], "field": key[1], "this": setting_value(value),
                                "other": setting_value(theirs[key])})
    description = profiles.get(profile).description if profile in profiles.NAMES else ""
    return page_template("training", slug=reg.concept.slug, profile=profile, description=description,
                         other=other, changes=changes)


# --------------------------------------------------------------------------- hand-written pages


def page_context(chapters: Sequence[ChapterOutput]) -> dict[str, Any]:
    """The Jinja2 context of hand-written ``*.md.j2`` pages.

    ``concepts`` maps each chapter built in this run to a dict with its
    ``concept``, ``metrics``, ``runs`` and ``claims``; ``claims_held`` and
    ``claims_total`` count the reproduction report's claims; ``models_table``
    is the markdown table of every chapter's toy model. A page must not
    assume a concept is present (a user may install only some plugins)::

        {% if "superposition" in concepts %}
        ... {{ concepts.superposition.runs[-1].features_represented }} ...
        {% endif %}
    """
    concepts = {
        ch.reg.concept.slug: {
            "concept": ch.reg.concept,
            "metrics": ch.metrics,
            "runs": ch.metrics.get("runs", []),
            "claims": ch.claims,
        }
        for ch in _book_order(chapters)
    }
    claims = [cl for ch in chapters for cl in ch.claims if not cl.identity]
    return {
        "concepts": concepts,
        "models_table": Markup(models_table(chapters)),
        "claims_held": sum(bool(cl.holds) for cl in claims),
        "claims_total": len(claims),
    }
