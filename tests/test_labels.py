"""No raw TeX in the figures' words: axis labels, titles, legends and captions
are plain Unicode or matplotlib mathtext between $…$, never typed-out markup
such as "Σ_{i≠j}", "b_i" or "\\hat W" that a reader would see as typed.

A static pass reads every plugin's figures.py for the label strings it
passes to matplotlib (fast, no training); a slow pass draws every concept's
figures on quick settings and inspects every text artist as it is saved,
after matplotlib has parsed its mathtext. Captions and alt texts are checked
in the words files' figure blocks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PLUGINS = sorted(p.parent.name for p in (REPO / "plugins").glob("*/figures.py"))

#: markup a reader would see as typed: a TeX command, a braced sub- or
#: superscript, or an underscore subscript glued to a symbol (b_i, ‖W‖_F)
RAW_TEX = re.compile(r"\\[A-Za-z]+|[_^]\{|(?<=[^\s_/.-])_[A-Za-z0-9]")
#: a mathtext span (matplotlib renders it; an escaped \$ is a dollar sign)
MATH = re.compile(r"(?<!\\)\$(?:[^$\\]|\\.)+?(?<!\\)\$")

#: figure blocks of words files owned by other work, still typed in raw TeX:
#: each must be fixed there and removed from here (the tests are strict)
CAPTIONS_TO_FIX: set[str] = set()
#: figures.py with raw TeX owned by other work (see the report of issue 17)
FIGURES_TO_FIX: set[str] = set()


def raw_tex(text: str) -> list[str]:
    """The pieces of ``text`` outside $…$ that look like raw TeX."""
    outside = MATH.sub(" ", text)
    return [outside[max(0, m.start() - 6) : m.end() + 6] for m in RAW_TEX.finditer(outside)]


def test_the_raw_tex_check_catches_what_it_should() -> None:
    assert raw_tex("Σ_{i≠j} I_j (W_j · W_i)²")
    assert raw_tex("bias b_i")
    assert raw_tex("m / ‖W‖_F²")
    assert raw_tex(r"\hat W")
    assert raw_tex(r"$b_i$ and W_i")  # outside the math span
    assert not raw_tex(r"bias $b_i$")
    assert not raw_tex(r"$\sum_{j \neq i} (\hat{W}_i \cdot W_j)^2$")
    assert not raw_tex("WᵀW: entry (i, j) = Wᵢ · Wⱼ; feature 1's density ÷ the others'")
    assert not raw_tex("sparsity-basic-relu.png: 1 − S = 0.1")


# --------------------------------------------------------------------------- static: the strings in figures.py

#: matplotlib calls whose (first) argument is text a reader sees
TEXT_CALLS = {"set_xlabel", "set_ylabel", "set_title", "suptitle", "text", "annotate", "set_label",
              "figtext", "set_text"}
TEXT_KEYWORDS = {"label", "title", "xlabel", "ylabel"}


def _strings(node: ast.AST) -> list[str]:
    """The literal text of a string or f-string expression (f-string holes dropped)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))]
    if isinstance(node, ast.BinOp):
        return _strings(node.left) + _strings(node.right)
    if isinstance(node, (ast.Tuple, ast.List)):
        return [s for e in node.elts for s in _strings(e)]
    return []


def label_strings(source: str) -> list[tuple[int, str]]:
    """(line, text) of every literal a figures module passes to matplotlib as text."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        args = list(node.args[:1]) if name in TEXT_CALLS else []
        if name == "text" and len(node.args) >= 3:  # ax.text(x, y, s)
            args = [node.args[2]]
        args += [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS]
        out += [(node.lineno, s) for a in args for s in _strings(a)]
    return out


@pytest.mark.parametrize(
    "plugin",
    [pytest.param(p, marks=pytest.mark.xfail(strict=True, reason="raw TeX still in labels; owned elsewhere"))
     if p in FIGURES_TO_FIX else p for p in PLUGINS],
)
def test_figure_labels_in_the_source_have_no_raw_tex(plugin: str) -> None:
    path = REPO / "plugins" / plugin / "figures.py"
    bad = [f"line {line}: {text!r} ({raw_tex(text)})" for line, text in label_strings(path.read_text()) if raw_tex(text)]
    assert not bad, f"{path.relative_to(REPO)} has raw TeX in labels:\n" + "\n".join(bad)


def test_the_static_pass_reads_labels_and_titles() -> None:
    found = label_strings(
        'ax.set_xlabel("Σ_{j≠i} x")\nax.text(0, 1, f"b_i = {v}")\nax.plot(x, label="W_i")\nfig.suptitle("ok")\n'
    )
    assert [t for _, t in found] == ["Σ_{j≠i} x", "b_i = ", "W_i", "ok"]


# --------------------------------------------------------------------------- captions and alt texts


def figure_blocks(words: str) -> dict[str, str]:
    """The figure blocks of a words file, with Jinja expressions and tags dropped."""
    blocks = {}
    for m in re.finditer(r"{%-?\s*block\s+(figure_\w+)\s*-?%}(.*?){%-?\s*endblock", words, re.S):
        blocks[m.group(1)] = re.sub(r"{{.*?}}|{%.*?%}|{#.*?#}", " ", m.group(2), flags=re.S)
    return blocks


@pytest.mark.parametrize(
    "plugin",
    [pytest.param(p, marks=pytest.mark.xfail(strict=True, reason="raw TeX still in captions; owned elsewhere"))
     if p in CAPTIONS_TO_FIX else p for p in PLUGINS],
)
def test_figure_captions_and_alt_texts_have_no_raw_tex(plugin: str) -> None:
    words = (REPO / "plugins" / plugin / "words.md.j2").read_text(encoding="utf-8")
    bad = {name: raw_tex(text) for name, text in figure_blocks(words).items() if raw_tex(text)}
    assert not bad, f"plugins/{plugin}/words.md.j2: raw TeX in {bad}"


# --------------------------------------------------------------------------- drawn: every text artist


@pytest.mark.slow
def test_every_drawn_figure_has_no_raw_tex_in_its_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Draw every concept's figures (quick settings) and read every text artist
    of each figure as it is saved: matplotlib has parsed the mathtext by then
    (a malformed $…$ fails the save)."""
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    from course.plugins import load

    seen: dict[str, list[str]] = {}
    current = [""]
    savefig = Figure.savefig

    def inspecting(self: Figure, *args, **kwargs):
        texts = [t.get_text() for t in self.findobj(Text) if t.get_text().strip()]
        seen.setdefault(current[0], []).extend(texts)
        return savefig(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", inspecting)
    course = load()
    bad = []
    for reg in course.concepts:
        c = reg.concept
        plugin = c.source_dir().name
        if not (c.source_dir() / "figures.py").is_file():
            continue
        current[0] = plugin
        result = c.run(c.settings(quick=True), seed=0)
        metrics = c.metrics(result)
        (tmp_path / c.slug).mkdir()
        c.figures(result, metrics, tmp_path / c.slug)
        if plugin in FIGURES_TO_FIX:
            continue
        bad += [f"{plugin}: {t!r}" for t in seen.get(plugin, []) if raw_tex(t)]
    assert seen, "no figure was drawn"
    assert not bad, "raw TeX in drawn figures:\n" + "\n".join(bad)
