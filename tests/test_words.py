"""The words file: named blocks rendered alone, narration steps, definition lists, errors that point."""

from __future__ import annotations

import pytest

from course.words import Words, WordsError, parse_step, render_string, step

WORDS = """{#- a comment for the writer -#}
{% macro both(a, b) %}{{ a }} and {{ b }}{% endmacro %}
{% set n = metrics.n %}
Text outside blocks is ignored.
{% block figure_arrows_caption %}
Arrows of {{ both("W", "b") }},
  {{ n }} of them.
{% endblock %}
{% block narration_level %}At level {{ index }}, {{ runs[index].x | num }}.{% endblock %}
{% block measured_c %}{{ values.v | g }}{% endblock %}
{% block glossary %}
Antipodal pair <https://example.org/a>
: Two features on one line,
  in opposite directions.

Bias
: The offset b.
{% endblock %}
"""
CTX = {"metrics": {"n": 3}, "runs": [{"x": 0.123}, {"x": 1.0}]}


def test_each_block_renders_alone_with_the_shared_macros_and_sets() -> None:
    w = Words(WORDS, "p/words.md.j2")
    assert w.names() == ["figure_arrows_caption", "narration_level", "measured_c", "glossary"]
    assert w.render("figure_arrows_caption", **CTX) == "Arrows of W and b, 3 of them."
    assert w.render("measured_c", values={"v": 0.950}, **CTX) == "0.95"
    assert w.get("figure_missing_alt", "fallback", **CTX) == "fallback"


def test_a_narration_step_is_replaced_by_its_block_and_plain_text_stays() -> None:
    w = Words(WORDS)
    assert step("level", 1) == "@level:1" and parse_step("@level:1") == ("level", 1)
    assert parse_step("@intro") == ("intro", None) and parse_step("plain words") is None
    assert w.narration(step("level", 1), **CTX) == "At level 1, 1.00."
    assert w.narration("A literal caption.", **CTX) == "A literal caption."
    with pytest.raises(ValueError):
        step("not an identifier")


def test_the_glossary_block_is_a_definition_list() -> None:
    assert Words(WORDS).glossary() == [
        ("Antipodal pair", "Two features on one line, in opposite directions.", "https://example.org/a"),
        ("Bias", "The offset b.", ""),
    ]
    with pytest.raises(WordsError, match="term 'Lonely' has no definition"):
        Words("{% block glossary %}\nLonely\n{% endblock %}").glossary()
    with pytest.raises(WordsError, match="a definition comes before any term"):
        Words("{% block glossary %}\n: orphan\n{% endblock %}").glossary()


def test_errors_name_the_file_the_line_the_block_and_what_exists() -> None:
    w = Words(WORDS, "p/words.md.j2")
    with pytest.raises(WordsError) as info:
        w.render("narration_level", **CTX)  # no index given
    assert "p/words.md.j2, line 9, block 'narration_level'" in str(info.value)
    assert "The template can use: metrics (n); runs" in str(info.value)
    with pytest.raises(WordsError, match="there is no block 'claim_x'; the blocks are: figure_arrows_caption"):
        w.render("claim_x", **CTX)
    with pytest.raises(WordsError, match=r"p/words.md.j2, line 1: TemplateSyntaxError"):
        Words("{% block a %}unclosed", "p/words.md.j2")


def test_templates_render_in_the_sandbox() -> None:
    """A template cannot reach Python's internals (it ran a shell command before)."""
    with pytest.raises(WordsError, match="SecurityError|unsafe"):
        render_string("{{ num.__globals__.os.popen('id').read() }}", "chapter.md")
    with pytest.raises(WordsError):
        Words("{% block a %}{{ ''.__class__.__mro__[1].__subclasses__() }}{% endblock %}").render("a")


def test_compiled_template_code_is_kept_in_the_cache(tmp_path, monkeypatch) -> None:
    """A second process (here: the in-memory table cleared) loads the code the
    first compiled from the cache's templates/ folder instead of compiling; a
    damaged file is compiled again, and a cache that cannot be written only
    costs the time."""
    import jinja2

    from course import words

    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(words, "_CODE", {})
    text = "{% block greeting %}Hello {{ who }}.{% endblock %}"
    assert Words(text, "p/words.md.j2").render("greeting", who="you") == "Hello you."
    stored = sorted((tmp_path / "cache" / words.CODE_DIR).iterdir())
    assert len(stored) == 1 and stored[0].suffix == ".code"  # nothing left half-written beside it

    compiled: list[str] = []
    real = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, raw=False, defer_init=False):
        compiled.append(filename)
        return real(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    monkeypatch.setattr(words, "_CODE", {})
    assert Words(text, "p/words.md.j2").render("greeting", who="them") == "Hello them."
    assert compiled == []

    stored[0].write_bytes(b"not code")
    monkeypatch.setattr(words, "_CODE", {})
    assert Words(text, "p/words.md.j2").render("greeting", who="all") == "Hello all."
    assert compiled == ["p/words.md.j2"]
    assert stored[0].read_bytes() != b"not code"  # stored again
    import marshal

    stored[0].write_bytes(marshal.dumps("valid marshal, not code"))
    monkeypatch.setattr(words, "_CODE", {})
    assert Words(text, "p/words.md.j2").render("greeting", who="both") == "Hello both."
    assert compiled == ["p/words.md.j2", "p/words.md.j2"]

    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(blocked))
    monkeypatch.setattr(words, "_CODE", {})
    assert Words(text, "p/words.md.j2").render("greeting", who="anyone") == "Hello anyone."
