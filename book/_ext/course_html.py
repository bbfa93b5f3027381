"""Fixes to the HTML Jupyter Book 1 writes, so that pages load without script errors.

- Jupyter Book adds every ``.js`` file under ``_static`` to every page. The
  book ships MathJax under ``_static/mathjax`` (hundreds of files that MathJax
  loads itself, on demand), so those entries are dropped again; Sphinx's
  math extension adds the one entry script through ``mathjax_path``. The
  data scripts of the interactive figures (``_static/interactive``) are
  dropped too: the one page that shows a figure loads its data itself.
- sphinx-thebe and sphinx-togglebutton end up adding their inline
  configuration scripts twice, and the second ``const THEBE_JS_URL`` is a
  script error; identical scripts are kept once per page.
- The theme's primary sidebar shows the book's title outside any landmark,
  which axe-core reports on every page (rule "region"); the sidebar is made
  a complementary landmark once the pages are written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: folders under ``_static`` whose scripts load themselves
SELF_LOADING = ("mathjax/", "interactive/")
#: files under ``_static`` no page links: the print stylesheet is added by ``course build --pdf``
#: while printing (Jupyter Book links every stylesheet in ``_static`` on every page otherwise,
#: and this one hides the navigation and the interactive figures)
UNLINKED = SELF_LOADING + ("print.css",)


def _drop_self_loading(app: Any, config: Any) -> None:
    for name in ("html_js_files", "html_css_files"):
        files = getattr(config, name, None) or []
        kept = [f for f in files if not str(f[0] if isinstance(f, tuple) else f).startswith(UNLINKED)]
        setattr(config, name, kept)


def _dedupe_scripts(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    kept = []
    for js in scripts:
        attrs = getattr(js, "attributes", {}) or {}
        key = (str(getattr(js, "filename", js) or ""), str(attrs.get("body", "")))
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    context["script_files"] = kept


#: the theme's primary sidebar, and the same element as a landmark
SIDEBAR = '<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar">'
SIDEBAR_LANDMARK = SIDEBAR[:-1] + ' role="complementary" aria-label="Book contents">'


def _sidebar_landmark(app: Any, exc: Exception | None) -> None:
    if exc is not None or getattr(app.builder, "format", "") != "html":
        return
    for path in Path(app.outdir).rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if SIDEBAR in text:
            path.write_text(text.replace(SIDEBAR, SIDEBAR_LANDMARK, 1), encoding="utf-8")


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", _drop_self_loading, priority=900)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("build-finished", _sidebar_landmark)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
