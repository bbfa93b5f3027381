"""Static files the book serves itself, so it works with no network.

Sphinx loads MathJax from a CDN by default. The book instead ships MathJax 3
from the ``django-static-mathjax`` distribution (plain files, no Django needed
to read them) inside its own ``_static`` folder; ``book/_config.yml`` points
``mathjax_path`` at it.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

#: where the book's pages expect MathJax, relative to ``_static``
MATHJAX_DIR = "mathjax"
MATHJAX_ENTRY = f"{MATHJAX_DIR}/tex-mml-chtml.js"
#: the parts of MathJax's ``es5`` build the TeX-to-HTML component loads: the
#: component itself, its fonts, the TeX extensions it autoloads, and what the
#: right-click menu loads on demand (accessibility, speech)
MATHJAX_PARTS = ("tex-mml-chtml.js", "input", "output/chtml", "ui", "a11y", "sre", "adaptors")


def mathjax_source() -> Path:
    """The ``es5`` folder of the installed MathJax distribution."""
    try:
        root = resources.files("mathjax") / "static" / "mathjax" / "es5"
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            "MathJax is missing: install the 'django-static-mathjax' package "
            "(a dependency of superposition-course)"
        ) from exc
    path = Path(str(root))
    if not (path / "tex-mml-chtml.js").is_file():
        raise RuntimeError(f"MathJax at {path} has no tex-mml-chtml.js; reinstall django-static-mathjax")
    return path


def install_mathjax(static_dir: Path) -> Path:
    """Copy MathJax into ``static_dir/mathjax``; return the entry script's path."""
    src = mathjax_source()
    dest = Path(static_dir) / MATHJAX_DIR
    for part in MATHJAX_PARTS:
        s, d = src / part, dest / part
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True)
        elif s.is_file():
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s, d)
    return dest / "tex-mml-chtml.js"
