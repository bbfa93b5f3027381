"""A plugin's words: every caption, alt text, narration line, claim statement and
glossary entry of a chapter, in one Jinja2 file (``words.md.j2``).

The file is a list of named blocks::

    {% block figure_arrows_caption %}Each panel is one trained model ...{% endblock %}
    {% block figure_arrows_alt %}A row of arrow diagrams ... {{ runs | length }} ...{% endblock %}
    {% block video_title %}Five features, two dimensions{% endblock %}
    {% block video_description %}The video draws ...{% endblock %}
    {% block narration_level %}At sparsity {{ runs[index].sparsity }} ...{% endblock %}
    {% block claim_intro_dense %}At sparsity 0, the two most important ...{% endblock %}
    {% block measured_intro_dense %}{{ values.represented }} features represented{% endblock %}
    {% block tolerance_intro_dense %}exactly 2 represented, D > 0.9{% endblock %}
    {% block glossary %}
    Superposition <https://transformer-circuits.pub/2022/toy_model/index.html>
    : A model represents more features than it has dimensions.
    {% endblock %}

Each block is rendered on its own with the chapter's context (``metrics``,
``runs``, ``concept``, plus what the caller adds, such as ``index`` for a
narration step or ``values`` for a claim), in Jinja2's sandbox with undefined
names as errors. Macros and ``{% set %}`` written outside the blocks are
shared by every block (they run before each one, with the same context);
other text outside blocks is ignored, so the file can carry comments for the
writer. Nothing here keys a cache: editing the words
rewrites pages and captions files only.
"""

from __future__ import annotations

import hashlib
import html
import json
import marshal
import re
import sys
import types
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from course.paper import PAPER_URL

#: the file name of a plugin's words, beside its ``__init__.py``
WORDS_FILE = "words.md.j2"
#: what a scene passes to ``add_subcaption`` to say "narration step NAME (INDEX)"
STEP_PREFIX = "@"
_STEP = re.compile(r"^@([A-Za-z_][A-Za-z0-9_]*)(?::(\d+))?$")
_BLOCK = re.compile(r"{%-?\s*block\s+\w+\s*-?%}.*?{%-?\s*endblock(?:\s+\w+)?\s*-?%}", re.S)
_GLOSSARY_TERM = re.compile(r"^(?P<term>[^:\s][^<]*?)\s*(?:<(?P<link>[^>\s]+)>)?\s*$")


class WordsError(Exception):
    """A words or chapter template that does not render; the message names
    the file, the line and what exists instead."""


def num(x: float, digits: int = 2) -> str:
    """A number for prose: fixed ``digits`` decimals."""
    return f"{float(x):.{digits}f}"


def g(x: float) -> str:
    """A number in its shortest form (``0.0`` -> ``0``, ``0.95`` -> ``0.95``)."""
    return f"{float(x):g}"


def plain(text: Any) -> Markup:
    """Plugin text for a page: MyST markup may stay, raw HTML may not (``<``,
    ``>`` and ``&`` are escaped, so a ``<script>`` shows as text). The result
    is :class:`markupsafe.Markup`: a page template writes it as it is."""
    if hasattr(text, "__html__"):
        return Markup(text)
    return Markup(html.escape(str(text), quote=False))


def safe_url(url: Any) -> str:
    """A plugin's link for a page: an http(s) or mailto address, or a relative
    one, with the characters that could end the link or start markup
    percent-encoded; any other scheme (``javascript:``) gives ""."""
    from urllib.parse import quote, urlsplit

    text = str(url or "").strip()
    if not text or any(ord(c) < 32 or ord(c) == 127 for c in text):
        return ""
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        return ""
    if scheme and scheme not in ("http", "https", "mailto"):
        return ""
    return quote(text, safe=":/?#[]@!$&'*+,;=%~-._")


def environment(escape: bool = False) -> SandboxedEnvironment:
    """The sandboxed Jinja2 environment every plugin template renders in.

    With ``escape`` (pages: chapter templates and hand-written pages), every
    ``{{ value }}`` is written as :func:`plain` text unless it is markup the
    course made (:class:`markupsafe.Markup`: figure directives, the video,
    chapter links, a macro's output) or the template marks it ``|safe``;
    the template's own text is left as it is.
    """
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                               autoescape=escape, finalize=plain if escape else None)
    env.filters["num"] = num
    env.filters["g"] = g
    env.globals["num"] = num
    env.globals["paper"] = PAPER_URL
    return env


def _keys(context: dict[str, Any]) -> str:
    names = []
    for k, v in sorted(context.items()):
        if isinstance(v, dict) and k in ("metrics", "figures", "values"):
            names.append(f"{k} ({', '.join(sorted(map(str, v))) or 'empty'})")
        elif not callable(v):
            names.append(k)
    return "; ".join(names)


def describe_error(exc: Exception, source: str, context: dict[str, Any], block: str = "") -> str:
    """One message for a template failure: file, line, and what the context holds."""
    where = source
    line = getattr(exc, "lineno", None)
    if line is None:
        tb = exc.__traceback__
        while tb is not None:  # the template frame carries its own line number
            if tb.tb_frame.f_code.co_filename == source:
                line = tb.tb_lineno
            tb = tb.tb_next
    if line is not None:
        where += f", line {line}"
    if block:
        where += f", block {block!r}"
    message = getattr(exc, "message", None) or str(exc)
    text = f"{where}: {type(exc).__name__}: {message}"
    if isinstance(exc, jinja2.UndefinedError):
        text += f". The template can use: {_keys(context)}"
    return text


def render_string(text: str, source: str = "<template>", **context: Any) -> str:
    """Render a template string in the sandbox, values written as they are."""
    return _render(environment(), text, source, context)


def render_page(text: str, source: str = "<template>", **context: Any) -> str:
    """Render a page template (a chapter or a hand-written page) in the
    sandbox, plugin text escaped (see :func:`environment`)."""
    return _render(environment(escape=True), text, source, context)


def _render(env: SandboxedEnvironment, text: str, source: str, context: dict[str, Any]) -> str:
    try:
        return str(compile_template(env, text, source).render(**context))
    except jinja2.TemplateError as exc:
        raise WordsError(describe_error(exc, source, context)) from exc
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError) as exc:
        raise WordsError(describe_error(exc, source, context)) from exc


#: compiled template code, by (text, file name, escaping): a build renders each
#: plugin's words several times, and compiling is the slow part
_CODE: dict[tuple[str, str, bool], Any] = {}
#: the folder of the cache (:func:`course.cache.cache_dir`) that keeps compiled template code
CODE_DIR = "templates"


def compile_template(env: SandboxedEnvironment, text: str, source: str) -> jinja2.Template:
    """``text`` compiled under the file name ``source`` (errors then name its
    lines), its code kept in memory and in the cache's ``templates/`` folder."""
    key = (text, source, bool(env.autoescape))
    code = _CODE.get(key)
    if code is None:
        code = _CODE[key] = _stored_code(env, text, source)
    return env.template_class.from_code(env, code, env.make_globals(None), None)


def _stored_code(env: SandboxedEnvironment, text: str, source: str) -> Any:
    """The code of ``text`` from the cache's ``templates/`` folder, compiled
    and stored there if it is not (a warm build then compiles nothing).

    The file is named by the SHA-256 of the text, the file name, the
    environment's settings and the Jinja and Python versions, and written
    whole or not at all; one that cannot be read back is compiled again, and
    a cache that cannot be written only costs the time."""
    from course.cache import cache_dir, keep

    settings = [text, source, type(env).__name__, bool(env.autoescape), env.finalize is not None,
                sorted(env.filters), sorted(env.tests), jinja2.__version__, sys.version]
    path = cache_dir() / CODE_DIR / (hashlib.sha256(json.dumps(settings).encode()).hexdigest() + ".code")
    try:
        stored = marshal.loads(path.read_bytes())
        if isinstance(stored, types.CodeType):
            return stored
    except (OSError, ValueError, EOFError, TypeError):
        pass
    code = env.compile(text, filename=source)
    keep(path, marshal.dumps(code))
    return code


def step(name: str, index: int | None = None) -> str:
    """The subcaption a scene adds for narration step ``name`` (``index``: which
    repetition, for a step narrated once per level of a sweep). Its text is the
    words block ``narration_NAME``, rendered with ``index``."""
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise ValueError(f"narration step names are identifiers, got {name!r}")
    return f"{STEP_PREFIX}{name}" if index is None else f"{STEP_PREFIX}{name}:{int(index)}"


def parse_step(text: str) -> tuple[str, int | None] | None:
    """(name, index) of a subcaption made by :func:`step`, else None (plain text)."""
    m = _STEP.match(text.strip())
    if not m:
        return None
    return m.group(1), (int(m.group(2)) if m.group(2) is not None else None)


class Words:
    """The named blocks of one plugin's ``words.md.j2``."""

    def __init__(self, text: str, source: str = WORDS_FILE) -> None:
        self.source = source
        self._text = text
        self._env = environment()
        try:
            self._template = compile_template(self._env, text, source)
        except jinja2.TemplateSyntaxError as exc:
            raise WordsError(describe_error(exc, source, {})) from exc
        # what stands outside the blocks (macros, {% set %}), run before each
        # block so that blocks can share it; lines kept for error messages
        outside = _BLOCK.sub(lambda m: "\n" * m.group(0).count("\n"), text)
        self._prelude = compile_template(self._env, outside, source) if "{%" in outside else None

    @classmethod
    def load(cls, path: Path) -> Words:
        """Read a words file; a missing file is an empty set of words."""
        path = Path(path)
        if not path.is_file():
            return cls("", str(path.name))
        return cls(path.read_text(encoding="utf-8"), f"{path.parent.name}/{path.name}")

    def names(self) -> list[str]:
        """The block names, in the order the file defines them."""
        return list(self._template.blocks)

    def has(self, name: str) -> bool:
        return name in self._template.blocks

    def render(self, name: str, one_line: bool = True, **context: Any) -> str:
        """Block ``name`` rendered with ``context`` (whitespace collapsed to
        single spaces unless ``one_line`` is False)."""
        if name not in self._template.blocks:
            have = ", ".join(self.names()) or "none"
            raise WordsError(f"{self.source}: there is no block {name!r}; the blocks are: {have}")
        shared: dict[str, Any] = {}
        if self._prelude is not None:
            try:
                module = self._prelude.make_module(dict(context))
                shared = {k: v for k, v in vars(module).items() if not k.startswith("_")}
            except Exception:  # noqa: BLE001 - e.g. a set that needs metrics the caller has not got:
                shared = {}  # the block then fails on the name it lacks, with its own message
        try:
            try:
                ctx = self._template.new_context({**context, **shared})
                text = "".join(self._template.blocks[name](ctx))
            except Exception:  # noqa: BLE001 - Jinja rewrites the traceback to the template's lines
                self._env.handle_exception(self._text)
        except (jinja2.TemplateError, TypeError, ValueError, KeyError, IndexError, AttributeError,
                ZeroDivisionError) as exc:
            raise WordsError(describe_error(exc, self.source, context, name)) from exc
        return " ".join(text.split()) if one_line else text.strip()

    def get(self, name: str, default: str = "", **context: Any) -> str:
        """Block ``name`` rendered, or ``default`` when there is no such block."""
        return self.render(name, **context) if self.has(name) else default

    def narration(self, text: str, **context: Any) -> str:
        """A subcaption as the reader sees it: a :func:`step` is replaced by its
        ``narration_NAME`` block (rendered with ``index``); other text stays."""
        parsed = parse_step(text)
        if parsed is None:
            return text
        name, index = parsed
        return self.render(f"narration_{name}", index=index, **context)

    def glossary(self) -> list[tuple[str, str, str]]:
        """(term, definition, link) for each entry of the ``glossary`` block
        (see :meth:`entries`)."""
        return self.entries("glossary")

    def entries(self, name: str, **context: Any) -> list[tuple[str, str, str]]:
        """(term, definition, link) for each entry of block ``name``, in order.

        The block is a MyST definition list: a line with the term (and an
        optional ``<link>``), then the definition on a line starting with
        ``: ``, continued on indented lines. A missing block has no entries.
        """
        if not self.has(name):
            return []
        text = self.render(name, one_line=False, **context)
        entries: list[tuple[str, str, str]] = []
        term = link = ""
        parts: list[str] = []

        def flush() -> None:
            if term:
                if not parts:
                    raise WordsError(f"{self.source}, block {name!r}: term {term!r} has no definition "
                                     "(write it on the next line, starting with ': ')")
                entries.append((term, " ".join(" ".join(parts).split()), link))

        for raw in text.splitlines():
            line = raw.strip()
            if not line:
                continue
            if parts and raw[:1].isspace():  # an indented line continues the definition
                parts.append(line)
                continue
            if line.startswith(":"):
                if not term:
                    raise WordsError(f"{self.source}, block {name!r}: a definition comes before any term")
                parts.append(line[1:].strip())
                continue
            flush()
            m = _GLOSSARY_TERM.match(line)
            if not m:
                raise WordsError(f"{self.source}, block {name!r}: cannot read the term line {line!r}")
            term, link, parts = m.group("term").strip(), m.group("link") or "", []
        flush()
        return entries
