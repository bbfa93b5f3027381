"""The book's interactive figures: the density explorer and the in-page trainer.

- the data script the build writes from the cached result (course.interactive);
- parity: the page's training code (book/_static/toy-model.js, in headless
  Chromium) and the engine's training loop, given the same initial weights and
  the same batches, end with the same weights;
- the built Superposition chapter in Chromium with every non-local request
  blocked: the slider redraws, the trainer learns five features at density 0.1
  (and two on dense data), every control is labelled, axe finds nothing, and
  with scripts off the static fallback and the text stand alone.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from helpers import QuietHandler, chromium, serve

from course import interactive
from course.plugins import PluginError
from course.results import Result

STATIC = Path(__file__).resolve().parent.parent / "book" / "_static"
#: the page's weights must match the engine's to this (float64 in the page, float32 in the engine)
PARITY_TOL = 1e-4


# --------------------------------------------------------------------------- the data the build writes


def _result(levels: int = 3, n: int = 5) -> tuple[Result, dict[str, Any]]:
    rng = np.random.default_rng(0)
    W = rng.normal(size=(levels, 2, n)).astype(np.float32)
    b = rng.normal(size=(levels, n)).astype(np.float32)
    runs = [{"sparsity": s, "feature_dimensionality": [0.4] * n, "feature_norms": [1.0] * n,
             "features_represented": n, "bias": [0.0] * n} for s in (0.0, 0.8, 0.9)[:levels]]
    return (Result("toy", {}, 0, arrays={"W": W, "b": b}),
            {"runs": runs, "n_features": n, "n_hidden": 2, "represented_threshold": 0.5})


def test_sweep_data_carries_each_runs_weights_and_measurements() -> None:
    result, metrics = _result()
    data = interactive.sweep_data("toy", result, metrics)
    assert data["n_features"] == 5 and data["n_hidden"] == 2 and len(data["runs"]) == 3
    for k, run in enumerate(data["runs"]):
        np.testing.assert_allclose(run["W"], result["W"][k], atol=1e-5)
        np.testing.assert_allclose(run["b"], result["b"][k], atol=1e-5)
        assert run["sparsity"] == metrics["runs"][k]["sparsity"]
        assert run["feature_dimensionality"] == metrics["runs"][k]["feature_dimensionality"]


def test_sweep_data_refuses_weights_that_do_not_match_the_runs() -> None:
    result, metrics = _result()
    metrics["runs"] = metrics["runs"][:2]
    with pytest.raises(ValueError, match="one \\(m, n\\) matrix per run"):
        interactive.sweep_data("toy", result, metrics)


def test_the_script_sets_course_data_and_cannot_close_its_tag() -> None:
    result, metrics = _result()
    metrics["runs"][0]["sparsity"] = 0.0
    data = interactive.sweep_data("toy", result, metrics)
    data["note"] = "</script><b>"
    text = interactive.script(data)
    assert "</script" not in text
    body = text.split("] = ", 1)[1].rstrip().rstrip(";")
    assert json.loads(body)["note"] == "</script><b>"
    assert '(window.CourseData = window.CourseData || {})["toy"]' in text


def _reg(name: str = "toyplug", slug: str = "toy") -> Any:
    return SimpleNamespace(plugin=SimpleNamespace(name=name), concept=SimpleNamespace(slug=slug))


def test_write_data_only_for_a_page_that_loads_it(tmp_path: Path) -> None:
    result, metrics = _result()
    result.save(tmp_path / "entry")
    fig = tmp_path / "toy-arrows.png"
    fig.write_bytes(b"png")
    art = SimpleNamespace(experiment=tmp_path / "entry", metrics=metrics,
                          figures=[SimpleNamespace(name="arrows", path=fig)])
    src = tmp_path / "src"
    assert interactive.write_data(_reg(), art, "# Toy\n\nno figure here\n", src) == []
    assert not (src / "_static").exists()
    page = '<script src="../_static/interactive/toy.js"></script>\n<img src="../_static/interactive/toy-arrows.png">'
    written = interactive.write_data(_reg(), art, page, src)
    assert sorted(p.name for p in written) == ["toy-arrows.png", "toy.js"]
    text = (src / interactive.data_script("toy")).read_text(encoding="utf-8")
    assert json.loads(text.split("] = ", 1)[1].rstrip().rstrip(";"))["runs"][2]["sparsity"] == 0.9


def test_write_data_without_the_cached_result_says_what_to_do(tmp_path: Path) -> None:
    _, metrics = _result()
    art = SimpleNamespace(experiment=tmp_path / "gone", metrics=metrics, figures=[])
    with pytest.raises(PluginError) as info:
        interactive.write_data(_reg(), art, "_static/interactive/toy.js", tmp_path / "src")
    assert info.value.where == "toy.interactive"
    assert "course clean" in info.value.message and "Traceback" not in info.value.message


def test_the_script_hands_the_page_the_figures_colours() -> None:
    from course_animations import palette

    result, metrics = _result()
    text = interactive.script(interactive.sweep_data("toy", result, metrics))
    line = next(ln for ln in text.splitlines() if ln.startswith("window.CoursePalette = "))
    colours = json.loads(line.removeprefix("window.CoursePalette = ").rstrip(";"))
    assert colours["features"][:3] == [palette.feature_color(i) for i in range(3)]
    assert len(colours["features"]) >= 8  # the trainer draws up to eight features
    assert (colours["negative"], colours["zero"], colours["positive"]) == (palette.NEGATIVE, palette.ZERO_LIGHT,
                                                                         palette.POSITIVE)


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class _Guard:
    """A page whose non-local requests are blocked and recorded, and whose script errors and
    failed local requests are kept."""

    def __init__(self, browser: Any, base: str, **context: Any) -> None:
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(**context)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response", lambda r: self.errors.append(f"HTTP {r.status} for {r.url}") if r.status >= 400 else None)
        self.base = base

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(self.base) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def close(self) -> None:
        self.context.close()
        assert not self.blocked, f"non-local requests: {self.blocked}"


@pytest.fixture(scope="module")
def toy_page(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A bare page that loads the book's toy-model.js and nothing else."""
    root = tmp_path_factory.mktemp("toy")
    shutil.copy(STATIC / "toy-model.js", root / "toy-model.js")
    (root / "index.html").write_text('<!doctype html><title>toy</title><script src="toy-model.js"></script>',
                                     encoding="utf-8")
    with serve(root, QuietHandler) as url:
        guard = _Guard(browser, url)
        guard.page.goto(url + "/index.html")
        yield guard.page
        guard.close()
        assert not guard.errors, guard.errors


def _engine_run(n: int, steps: int, batch: int, lr: float, density: float, decay: float,
                seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """The engine's own training loop (hand-written gradient, its Adam) on fixed
    batches: its sampler is replaced by one that hands out the given batches.
    Returns (W0, W, b, batches); W0 is drawn as the engine draws it."""
    from course import engine

    cfg = engine.ToyConfig.sweep(n, 2, importance=decay ** np.arange(n), density=[density], n_seeds=1,
                                 steps=steps, batch_size=batch, lr=lr, eval_batch=batch)
    batches = [engine.sample_batch(cfg, batch, seed=1000 + s)[0].numpy().copy() for s in range(steps)]
    gen = torch.Generator().manual_seed(seed)
    W0 = (torch.randn(1, 2, n, generator=gen) * math.sqrt(2.0 / (2 + n)))[0].numpy()
    made: list[int] = []

    class Fixed:
        def __init__(self, cfg: Any, prob: torch.Tensor, size: int, *args: Any, **kwargs: Any) -> None:
            self.simple = True
            self.first = not made
            made.append(1)
            self.i = 0
            self.shape = (prob.shape[0], size, n)
            # the CPU sampler's face, so that train() takes the CPU's compiled gradient
            self.kernel = self.__call__
            self.bounds = [(lane * size // engine.LANES, (lane + 1) * size // engine.LANES)
                           for lane in range(engine.LANES)]

        def __call__(self) -> torch.Tensor:
            if self.first and self.i < len(batches):
                self.i += 1
                return torch.from_numpy(batches[self.i - 1]).reshape(self.shape).clone()
            return torch.zeros(self.shape)  # the evaluation after training: not compared

        def fuse(self) -> None:
            """Given batches: the gradient reads them, it draws nothing itself."""
            return None

    saved = engine._Sampler
    engine._Sampler = Fixed  # type: ignore[misc, assignment]
    try:
        tr = engine.train(cfg, seed=seed)
    finally:
        engine._Sampler = saved  # type: ignore[misc]
    return W0, tr.W[0, 0], tr.b[0, 0], batches


_TRAIN_GIVEN = "d => { const r = CourseToy.trainGiven(d); return {W: r.W, b: r.b}; }"


@pytest.mark.browser
@pytest.mark.parametrize(("n", "steps", "batch", "lr", "density"), [
    (5, 300, 128, 0.01, 0.1),   # the page's own settings
    (8, 200, 64, 1e-3, 0.3),    # the engine's learning rate, more features
    (3, 150, 32, 0.01, 1.0),    # dense data
])
def test_the_pages_training_matches_the_engine(toy_page: Any, n: int, steps: int, batch: int, lr: float,
                                               density: float) -> None:
    decay = 0.9
    W0, W_engine, b_engine, batches = _engine_run(n, steps, batch, lr, density, decay, seed=7)
    given = {"n": n, "m": 2, "lr": lr, "importance": (decay ** np.arange(n)).tolist(), "W": W0.tolist(),
             "b": [0.0] * n, "batches": [x.reshape(-1).tolist() for x in batches]}
    out = toy_page.evaluate(_TRAIN_GIVEN, given)
    W_page, b_page = np.array(out["W"]), np.array(out["b"])
    assert np.abs(W_engine - W0).max() > 0.05, "training must move the weights for the comparison to mean anything"
    err = max(np.abs(W_page - W_engine).max(), np.abs(b_page - b_engine).max())
    print(f"parity n={n} steps={steps} lr={lr}: max |page - engine| = {err:.2e}")
    assert err < PARITY_TOL
    # negative control: the same batches at another learning rate end elsewhere
    other = toy_page.evaluate(_TRAIN_GIVEN, {**given, "lr": lr * 1.5})
    assert np.abs(np.array(other["W"]) - W_engine).max() > 100 * PARITY_TOL


@pytest.mark.browser
def test_the_pages_random_draws_follow_the_engines_distributions(toy_page: Any) -> None:
    stats = toy_page.evaluate("""() => {
      const u = CourseToy.rng(3), x = CourseToy.sample(4, 0.2, 20000, u);
      let zeros = 0, sum = 0, count = 0;
      for (const v of x) { if (v === 0) zeros++; else { sum += v; count++; } }
      const a = CourseToy.rng(11), b = CourseToy.rng(11), c = CourseToy.rng(12);
      const same = [a(), a(), a()].join() === [b(), b(), b()].join();
      const differs = CourseToy.rng(11)() !== c();
      const ws = []; for (let s = 0; s < 400; s++) ws.push(...new CourseToy.Model({n: 5, m: 2, seed: s}).W);
      const std = Math.sqrt(ws.reduce((t, w) => t + w * w, 0) / ws.length);
      return {zeros: zeros / x.length, mean: sum / count, max: Math.max(...x), same, differs, std};
    }""")
    assert stats["zeros"] == pytest.approx(0.8, abs=0.01)
    assert stats["mean"] == pytest.approx(0.5, abs=0.01) and stats["max"] <= 1.0
    assert stats["same"] and stats["differs"]
    assert stats["std"] == pytest.approx(math.sqrt(2 / 7), rel=0.05)  # Xavier normal, as the engine


@pytest.mark.browser
def test_bad_weights_are_refused_with_a_message(toy_page: Any) -> None:
    message = toy_page.evaluate("""() => {
      try { new CourseToy.Model({n: 3, m: 2, W: [[1, 2], [3, 4]]}); return ""; } catch (e) { return e.message; }
    }""")
    assert message == "W: expected 6 numbers, got 4"


# --------------------------------------------------------------------------- the built chapter

CHAPTER = "concepts/superposition.html"


@pytest.fixture(scope="module")
def book_url(built_book: Path) -> Iterator[str]:
    with serve(built_book, QuietHandler) as url:
        yield url


def _digest(page: Any, selector: str) -> str:
    return page.eval_on_selector(selector, "c => CourseDraw.digest(c)")


def _labels_missing(page: Any, root: str) -> list[str]:
    return page.evaluate("""root => {
      const missing = [];
      for (const el of document.querySelectorAll(root + ' input, ' + root + ' select, ' + root + ' button')) {
        const byFor = el.id && document.querySelector('label[for="' + el.id + '"]');
        const named = byFor || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
                      || (el.tagName === 'BUTTON' && el.textContent.trim());
        if (!named) missing.push(el.outerHTML.slice(0, 80));
      }
      for (const c of document.querySelectorAll(root + ' canvas')) {
        if (c.getAttribute('role') !== 'img' || !c.getAttribute('aria-label')) missing.push(c.outerHTML.slice(0, 80));
      }
      return missing;
    }""", root)


def _train(page: Any, n: int, density: float, decay: float) -> dict[str, Any]:
    page.select_option("#toy-trainer-n", str(n))
    for sel, value in (("#toy-trainer-density", density), ("#toy-trainer-decay", decay)):
        page.eval_on_selector(sel, "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input', {bubbles: true})); }",
                              value)
    page.focus("#toy-trainer button.course-train")
    page.keyboard.press("Enter")  # the keyboard is enough
    page.wait_for_function("document.querySelector('#toy-trainer').dataset.state === 'done'", timeout=180_000)
    return page.eval_on_selector("#toy-trainer", "el => el.courseTrainer.result()")


@pytest.mark.slow
@pytest.mark.browser
def test_the_chapters_figures_work_offline(browser: Any, book_url: str, built_book: Path) -> None:
    guard = _Guard(browser, book_url)
    page = guard.page
    page.goto(f"{book_url}/{CHAPTER}")
    page.wait_for_selector("#density-explorer.course-live-on", timeout=30_000)
    page.wait_for_selector("mjx-container", timeout=30_000)  # the figures' markup leaves the equations alone
    data = page.evaluate("window.CourseData.superposition")
    assert len(data["runs"]) >= 2 and data["n_hidden"] == 2
    from course_animations import palette

    assert page.evaluate("[0, 1, 7].map(CourseDraw.featureColor)") == [palette.feature_color(i) for i in (0, 1, 7)]

    # the explorer: the keyboard moves the slider, and the drawing and the numbers follow
    assert _labels_missing(page, "#density-explorer") == []
    before = (_digest(page, "#density-explorer canvas.course-arrows"), _digest(page, "#density-explorer canvas.course-gram"))
    text_before = page.inner_text("#density-explorer-readout")
    page.focus("#density-explorer-slider")
    page.keyboard.press("End")
    last = len(data["runs"]) - 1
    assert page.get_attribute("#density-explorer", "data-shown") == str(last)
    after = (_digest(page, "#density-explorer canvas.course-arrows"), _digest(page, "#density-explorer canvas.course-gram"))
    assert after[0] != before[0] and after[1] != before[1]
    assert page.inner_text("#density-explorer-readout") != text_before
    assert f"S = {data['runs'][last]['sparsity']}" in page.get_attribute("#density-explorer-slider", "aria-valuetext")
    rows = page.locator("#density-explorer-list li").all_inner_texts()
    assert len(rows) == data["n_features"]
    for i, row in enumerate(rows):  # the D_i the build measured, beside the arrows
        d = data["runs"][last]["feature_dimensionality"][i]
        assert f"D = {d:.2f}".replace("-", "\u2212") in row
    page.keyboard.press("Home")
    assert page.get_attribute("#density-explorer", "data-shown") == "0"
    assert _digest(page, "#density-explorer canvas.course-arrows") == before[0]

    # the trainer: five features in two dimensions at density 0.1; two on dense data
    assert _labels_missing(page, "#toy-trainer") == []
    threshold = float(page.get_attribute("#toy-trainer", "data-threshold"))
    from course import metrics as M

    assert threshold == M.REPRESENTED
    untrained = _digest(page, "#toy-trainer canvas.course-arrows")
    sparse = _train(page, 5, 0.1, 0.9)
    assert sparse["state"] == "done" and sparse["steps"] == int(page.get_attribute("#toy-trainer", "data-steps"))
    assert _digest(page, "#toy-trainer canvas.course-arrows") != untrained
    W = np.array(sparse["W"])
    assert W.shape == (2, 5)
    assert (np.linalg.norm(W, axis=0) > threshold).sum() == 5, sparse["norms"]
    assert "5 of 5 features represented" in page.inner_text("#toy-trainer .course-status")
    dense = _train(page, 5, 1.0, 0.9)
    assert (np.linalg.norm(np.array(dense["W"]), axis=0) > threshold).sum() == 2, dense["norms"]

    assert not guard.errors, guard.errors
    # axe-core, served from its package, finds nothing in the interactive figures (its own
    # re-reading of the theme's imported stylesheets may miss, so errors are checked before)
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    results = axe.Axe().run(page, context={"include": [["#density-explorer"], ["#toy-trainer"]]})
    assert results.violations_count == 0, results.generate_report()
    # negative control: both checks see a control that lost its label
    page.eval_on_selector("label[for=toy-trainer-seed]", "el => el.remove()")
    assert len(_labels_missing(page, "#toy-trainer")) == 1
    results = axe.Axe().run(page, context={"include": [["#toy-trainer"]]})
    assert results.violations_count >= 1
    guard.close()


@pytest.mark.slow
@pytest.mark.browser
def test_without_scripts_the_chapter_still_teaches(browser: Any, book_url: str) -> None:
    guard = _Guard(browser, book_url, java_script_enabled=False)
    page = guard.page
    loaded: dict[str, int] = {}
    page.on("response", lambda r: loaded.__setitem__(r.url.rsplit("/", 1)[-1], r.status))
    page.goto(f"{book_url}/{CHAPTER}")
    page.wait_for_load_state("load")
    for root in ("#density-explorer", "#toy-trainer"):
        assert page.locator(f"{root} .course-live").is_hidden()
        text = page.locator(f"{root} noscript").inner_text() if page.locator(f"{root} noscript p").count() == 0 \
            else page.locator(f"{root} noscript p").inner_text()
        assert "JavaScript" in text
    img = page.locator("#toy-trainer noscript img")
    assert img.count() == 1 and img.get_attribute("alt")
    assert loaded.get("superposition-arrows.png") == 200
    guard.close()
