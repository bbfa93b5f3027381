"""The "Try it" exercises and key takeaways of every concept chapter
(``practice.md.j2``), rendered on quick results: every decimal number a page
shows is recomputed here from the trained weights (or read from the settings),
and every answer computed here must appear on the page.

The recomputation is independent of the plugins' analysis where the number is
simple (lengths, D_i, ‖W‖_F², dot products, participation ratios, h = Wx);
where it is the result of a search or a fit (the collapse point, a dictionary's
cosines, a loss term), the number is taken from the concept's metrics by name,
which checks that the page quotes the right one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from course import chapters, pipeline, plugins
from course.markup import chapter_linker
from course.results import Result

REPO = Path(__file__).resolve().parent.parent

#: a decimal number in rendered text (integers are too common in prose to check)
DECIMAL = re.compile(r"(?<![\w.])-?\d+\.\d+(?!\w|\.\d)")


def num(x: float, digits: int = 2) -> str:
    return f"{float(x):.{digits}f}"


def n2(x: float) -> str:  # the sparsity chapter's n2 macro
    return num(round(float(x), 2) + 0.0, 2)


def dims(W: np.ndarray) -> np.ndarray:
    """D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)², written out afresh."""
    W = np.asarray(W, dtype=np.float64)
    norms = np.linalg.norm(W, axis=0)
    unit = W / np.maximum(norms, 1e-12)
    return norms**2 / np.maximum(((unit.T @ W) ** 2).sum(axis=1), 1e-12)


def interference(W: np.ndarray) -> np.ndarray:
    """Σ_{j≠i} (Ŵ_i · W_j)² for every feature i."""
    W = np.asarray(W, dtype=np.float64)
    unit = W / np.maximum(np.linalg.norm(W, axis=0), 1e-12)
    proj = (unit.T @ W) ** 2
    return proj.sum(axis=1) - np.diag(proj)


def participation(W: np.ndarray) -> np.ndarray:
    """(Σ_k W_ki²)² / Σ_k W_ki⁴ for every column."""
    W = np.asarray(W, dtype=np.float64)
    return (W**2).sum(axis=0) ** 2 / np.maximum((W**4).sum(axis=0), 1e-24)


def fro(W: np.ndarray) -> float:
    return float((np.asarray(W, dtype=np.float64) ** 2).sum())


def norms(W: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.asarray(W, dtype=np.float64), axis=0)


Expected = tuple[set[str], set[str]]  # (answers the page must show, settings it may show)


def _superposition(res: Result, m: dict[str, Any]) -> Expected:
    W = res["W"]
    sps = [float(s) for s in res.info["sparsities"]]
    angles = np.arange(6) * np.pi / 3
    hexagon = np.stack([np.cos(angles), np.sin(angles)])
    must = {num(dims(hexagon)[0]), num(fro(W[0])), num(fro(W[-1]))}
    if 0.9 in sps:
        d = dims(W[sps.index(0.9)])
        must |= {num(d.min()), num(d.max())}
    return must, {str(s) for s in sps} | {str(m["represented_threshold"])}


def _sparsity(res: Result, m: dict[str, Any]) -> Expected:
    lin, relu = res["linear_W"], res["relu_W"]
    dens = [float(d) for d in res.info["densities"]]
    n_hidden = lin.shape[1]
    rep = norms(lin[0]) > m["norm_threshold"]
    must = {num(fro(lin[-1])), num(fro(lin[0])), str(dens[0] / 2),
            num(res["linear_b"][0][~rep].mean() if (~rep).any() else 0.0, 3)}
    counts = [(norms(w) > m["norm_threshold"]).sum() for w in relu]
    shares = next((k for k, c in enumerate(counts) if c > n_hidden), None)
    if shares is not None:
        must.add(num(fro(relu[shares])))
    ex = m["phase_diagram"]["example"]
    imp, pd = res["phase_importance"], res["phase_density"]
    i = next(i for i in range(len(imp)) if imp[i][1] == ex["relative_importance"] and pd[i][0] == ex["density"])
    must |= {n2(res["phase_W"][i][0][0]), n2(res["phase_W"][i][0][1])}
    return must, {str(d) for d in dens} | {str(ex["density"])}


def _interference(res: Result, m: dict[str, Any]) -> Expected:
    W, b = res["arrows_W"][0].astype(np.float64), res["arrows_b"][0].astype(np.float64)
    c72, c144 = math.cos(math.radians(72)) ** 2, math.cos(math.radians(144)) ** 2
    inter = interference(W)
    must = {num(c72, 3), num(c144, 3), f"{2 * (c72 + c144):g}", num(norms(W).min()), num(norms(W).max()),
            num(inter.min()), num(inter.max())}
    value = m["arrows"]["strong"]["value"]
    read = (W.T @ W[:, 0]) * value
    up = [j for j in range(1, W.shape[1]) if read[j] > 1e-6]
    if up:
        j = up[0]
        must |= {num(read[j], 3), num(b[j], 3), num(read[j] + b[j], 3)}
        if read[j] + b[j] > 0:
            must.add(num(read[j] + b[j], 3))
    relu = [r for r in m["runs"] if r["model"] == "relu"]
    must |= {num(relu[0]["interference_loss"]), num(relu[-1]["interference_loss"])}
    return must, {str(value), str(relu[-1]["sparsity"])}


def _geometry(res: Result, m: dict[str, Any]) -> Expected:
    inv = [float(v) for v in res.info["inverse_density"]]
    first, last = int(np.argmin(inv)), int(np.argmax(inv))
    W = res["W"]
    n_hidden = W.shape[1]
    d0 = dims(W[first])
    must = {num(fro(W[last])), num(n_hidden / fro(W[last])), num(n_hidden / fro(W[first])),
            num(d0.sum()), num(d0.sum() / W.shape[2], 3)}
    return must, set()


def _polysemanticity(res: Result, m: dict[str, Any]) -> Expected:
    sc = m["showcase"]
    w = res["W"][sc["level"]][sc["neuron"]][sc["features"]].astype(np.float64)
    pr = (w[0] ** 2 + w[1] ** 2) ** 2 / (w[0] ** 4 + w[1] ** 4)
    dens = [r["density"] for r in m["runs"]]
    mid = dens[sc["level"]]
    must = {num(w[0], 3), num(w[1], 3), num(pr, 3), num(w[0] + w[1], 3), num(100 * mid * mid, 1),
            num(m["runs"][-1]["mean_features_per_neuron"], 1)}
    return must, {str(d) for d in dens}


def _distributed(res: Result, m: dict[str, Any]) -> Expected:
    d, ds = res["W_distributed"], res["W_distributed-spread"]
    sp, sa = res["W_superposition"], res["W_superposition-aligned"]
    pds = participation(ds)
    must = {num(pds.min()), num(pds.max()), num(participation(d).mean()), num(pds.mean()),
            num(participation(sa).mean()), num(interference(d).max()), num(interference(ds).max()),
            num(interference(sa).max()), num(interference(sp).max())}
    return must, set()


def _features_as_directions(res: Result, m: dict[str, Any]) -> Expected:
    # the chapter's metrics keep 4 decimals (2 for the angle): round alike before formatting
    s = m["shown"]
    W, b = res["W_all"][0][s].astype(np.float64), res["b_all"][0][s].astype(np.float64)
    x = np.asarray(res.info["example_input"], dtype=np.float64)
    h = W @ x
    readout = W.T @ h + b
    cos = W[:, 0] @ W[:, 1] / (np.linalg.norm(W[:, 0]) * np.linalg.norm(W[:, 1]))
    angle = math.degrees(math.acos(max(-1.0, min(1.0, cos))))
    must = {num(round(v, 4), 3) for v in (W[0][0], W[1][0], W[0][1], W[1][1], h[0], h[1], readout[0], b[2])}
    must |= {num(norms(W)[2], 3), num(round(angle, 2), 1)}
    return must, {str(v) for v in res.info["example_input"]}


def _terminology(res: Result, m: dict[str, Any]) -> Expected:
    dist, sl, sd = res["distributed"], res["superposed-local"], res["superposed-distributed"]
    g = dist.T @ dist
    must = {num(v, 3) for v in (dist[0][0], dist[1][0], dist[0][1], dist[1][1])}
    must |= {num(g[0][0]), num(g[1][1]), num(abs(g[0][1])), num(participation(dist).mean()),
             num(interference(dist).max()), num(fro(sl) / sl.shape[0]), num(fro(sd) / sd.shape[0]),
             num(interference(sl).max())}
    return must, set()


def _non_uniform(res: Result, m: dict[str, Any]) -> Expected:
    # the baseline pentagon is the free sweep's model at ratio 1; the chapter's
    # metrics keep 4 decimals of D_i, lengths, biases and cosines: round alike
    d = dims(res["free_W"][m["baseline_index"]])
    base, bias = res["baseline_W"].astype(np.float64), res["baseline_b"].astype(np.float64)
    must = {num(round(d.min(), 4), 3), num(round(d.max(), 4), 3), num(round(norms(base).mean(), 4), 3), num(round(bias.mean(), 4), 3)}
    if m["collapse"]["crossing"] is not None:
        must.add(num(m["collapse"]["factor"], 1))
    allowed = {"2.5"}  # the paper's collapse point, quoted
    for key, dens in (("anticorrelated", "anticorrelated_densities"), ("correlated", "correlated_densities")):
        if m[key]:
            W = res[f"{key}_W"][0].astype(np.float64)
            unit = W / norms(W)
            must |= {num(round(unit[:, a] @ unit[:, a + 1], 4), 3) for a in (0, 2)}
            allowed.add(f"{float(res.info[dens][0]):g}")
    return must, allowed


def _safety(res: Result, m: dict[str, Any]) -> Expected:
    dens = [f"{float(d):g}" for d in res.info["neuron_densities"]]
    return {num(min(m["dictionary"]["cosines"]), 3)}, set(dens)


EXPECTED: dict[str, Callable[[Result, dict[str, Any]], Expected]] = {
    "superposition": _superposition,
    "sparsity": _sparsity,
    "interference": _interference,
    "geometry": _geometry,
    "polysemanticity": _polysemanticity,
    "distributed-representations": _distributed,
    "features-as-directions": _features_as_directions,
    "terminology": _terminology,
    "non-uniform-superposition": _non_uniform,
    "why-it-matters": _safety,
}


@pytest.fixture(scope="module")
def course() -> plugins.Course:
    return plugins.load()


def _reg(course: plugins.Course, slug: str) -> plugins.Registered:
    return next(r for r in course.concepts if r.concept.slug == slug)


@pytest.fixture(scope="module")
def quick(course: plugins.Course) -> Callable[[str], tuple[Result, dict[str, Any]]]:
    """Each concept's quick result and its metrics, trained once per module."""
    done: dict[str, tuple[Result, dict[str, Any]]] = {}

    def get(slug: str) -> tuple[Result, dict[str, Any]]:
        if slug not in done:
            reg = _reg(course, slug)
            result, _ = pipeline.experiment(reg, quick=True)
            done[slug] = (result, pipeline.metrics(reg, result))
        return done[slug]

    return get


def render(reg: plugins.Registered, metrics: dict[str, Any]) -> str:
    """The practice section as ``course build`` appends it to the chapter."""
    ctx = {"concept": reg.concept, "metrics": metrics, "runs": metrics["runs"], "figures": {}, "video": "",
           "claims": [], "chapter_link": chapter_linker(None)}  # no practice template reads the claims
    return chapters.render_practice(reg, ctx)


def problems(page: str, expected: Expected) -> list[str]:
    """What the page shows that the weights do not say, and the answers it lacks."""
    must, allowed = expected
    shown = set(DECIMAL.findall(page))
    out = [f"the page shows {v}, which nothing recomputed gives" for v in sorted(shown - must - allowed)]
    return out + [f"the page lacks the answer {v}" for v in sorted(must - shown)]


def test_every_concept_chapter_has_exercises_and_takeaways(course: plugins.Course) -> None:
    concepts = {r.concept.slug for r in course.concepts if (r.concept.source_dir() / "chapter.md").is_file()}
    with_practice = {r.concept.slug for r in course.concepts
                     if (r.concept.source_dir() / chapters.PRACTICE_FILE).is_file()}
    assert concepts == with_practice == set(EXPECTED)


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_every_number_of_the_exercises_is_recomputed_from_the_weights(slug: str, course, quick) -> None:
    reg = _reg(course, slug)
    result, metrics = quick(slug)
    page = render(reg, metrics)
    assert page.count(":::{exercise}") >= 2 and page.count(":::{exercise}") <= 4
    assert page.count(":::{exercise}") == page.count(":::{solution}")
    assert page.count(":class: dropdown") == page.count(":::{solution}"), "every solution is folded"
    labels = re.findall(r":label: (\S+)", page)
    assert len(labels) == len(set(labels)) and all(lb.startswith(slug) for lb in labels)
    assert "Key takeaways" in page
    takeaways = page.split("Key takeaways", 1)[1]
    assert 3 <= takeaways.count("\n- ") <= 5, "three to five key takeaways"
    found = problems(page, EXPECTED[slug](result, metrics))
    assert not found, "\n".join(found)


def _nudged(value: Any) -> Any:
    """Every float of ``value`` 7% larger (ints and flags stay)."""
    if isinstance(value, float):
        return value * 1.07 + 0.013
    if isinstance(value, list):
        return [_nudged(v) for v in value]
    if isinstance(value, dict):
        return {k: _nudged(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_the_check_fails_when_the_numbers_are_not_the_weights(slug: str, course, quick) -> None:
    # negative control: metrics that do not come from these weights (every
    # float nudged) render a page whose numbers the recomputation rejects
    reg = _reg(course, slug)
    result, metrics = quick(slug)
    wrong = {**_nudged(metrics), "runs": _nudged(metrics["runs"])}
    for key in ("shown", "baseline_index", "by_name"):  # indices, not measurements
        if key in metrics:
            wrong[key] = metrics[key]
    page = render(reg, wrong)
    assert problems(page, EXPECTED[slug](result, metrics))


def test_editing_practice_words_keys_no_stage(course: plugins.Course) -> None:
    # practice.md.j2 is words only: no experiment, analysis, figure or video cache reads it
    for reg in course.concepts:
        for stage in ("experiment", "analysis", "figures", "scene"):
            files = {p.name for p in reg.concept.stage_files(stage)}
            assert chapters.PRACTICE_FILE not in files, (reg.concept.slug, stage)


def test_a_practice_page_whose_solutions_do_not_match_its_exercises_is_refused() -> None:
    from course import contract

    good = ":::{exercise}\n:label: x-one\n\nQ\n:::\n\n:::{solution} x-one\n:class: dropdown\n\nA\n:::\n"
    assert contract.practice_page(good) == []
    messages = [v.message for v in contract.practice_page(
        ":::{exercise}\n\nQ\n:::\n\n:::{solution} x-two\n:class: dropdown\n\nA\n:::\n"
        ":::{exercise}\n:label: x-three\n:::\n\n:::{solution} x-three\n\nA\n:::\n")]
    assert messages == ["an exercise has no label", "a solution names 'x-two', which no exercise of the page has",
                        "the solution of 'x-three' is not folded"]


def test_a_practice_template_that_does_not_render_names_the_plugin(course, quick, tmp_path, monkeypatch) -> None:
    reg = _reg(course, "superposition")
    _, metrics = quick("superposition")
    broken = tmp_path / chapters.PRACTICE_FILE
    broken.write_text("{{ runs[0].no_such_metric | num }}\n", encoding="utf-8")
    monkeypatch.setattr(type(reg.concept), "source_dir", lambda self: tmp_path)
    with pytest.raises(plugins.PluginError, match="superposition.practice template"):
        render(reg, metrics)
