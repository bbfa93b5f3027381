"""The geometry concept: registration, JSON, the reference shapes, the group search on
exactly constructed geometries, and (slow) the paper's claims on the full settings."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from helpers import course_json, random_rotation

from course import Result
from course_plugins.geometry import CONCEPT
from course_plugins.geometry import analysis as geo
from course_plugins.geometry.analysis import plateau, sticky_share, uniform_baseline
from course_plugins.geometry.experiment import Settings, sweep_plan
from course_plugins.geometry.shapes import (
    BY_NAME,
    SHAPES,
    edges,
    find_groups,
    ideal_vectors,
    project_group,
)

RUN_KEYS = {"sparsity", "inverse_density", "dimensions_per_feature", "feature_dimensionality",
            "frobenius_sq", "sum_dimensionality", "gram_rank", "groups"}


def tegum(names: list[str], m: int, extra_dedicated: int = 0, unused: int = 0,
          seed: int = 0) -> tuple[np.ndarray, dict[str, list[int]]]:
    """Shapes placed in orthogonal blocks of an m-dimensional space, then rotated
    and shuffled: returns W (m × n) and where each shape's features ended up."""
    blocks, owner = [], []
    row = 0
    for name in names:
        V = ideal_vectors(name)
        B = np.zeros((m, V.shape[1]))
        B[row : row + V.shape[0]] = V
        row += V.shape[0]
        blocks.append(B)
        owner += [name] * V.shape[1]
    for _ in range(extra_dedicated):
        B = np.zeros((m, 1))
        B[row, 0] = 1.0
        row += 1
        blocks.append(B)
        owner.append("dedicated")
    assert row <= m
    blocks.append(np.zeros((m, unused)))
    owner += ["unused"] * unused
    W = random_rotation(m, seed) @ np.concatenate(blocks, axis=1)
    perm = np.random.default_rng(seed + 1).permutation(W.shape[1])
    W = W[:, perm]
    where: dict[str, list[int]] = {}
    for new, old in enumerate(perm):
        where.setdefault(owner[old], []).append(new)
    return W, where


# --------------------------------------------------------------------------- fast



@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_ideal_shapes_are_unit_vectors_with_computed_dimensionality_d_over_k(shape):
    V = ideal_vectors(shape.name)
    assert V.shape == (shape.d, shape.k)
    assert np.allclose(np.linalg.norm(V, axis=0), 1.0)
    assert np.linalg.matrix_rank(V) == shape.d
    assert shape.dimensionality() == pytest.approx(shape.d / shape.k)
    assert shape.fraction() == Fraction(shape.d, shape.k)


def test_ideal_outlines_have_the_polytopes_edge_counts():
    counts = {s.name: len(edges(s.vectors())) for s in SHAPES}
    assert counts == {"digon": 1, "triangle": 3, "tetrahedron": 6, "pentagon": 5, "square antiprism": 16}


def test_unknown_shape_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown shape 'hexagon'"):
        ideal_vectors("hexagon")


def test_find_groups_recovers_every_shape_of_an_exact_tegum_product():
    names = ["digon", "triangle", "tetrahedron", "pentagon", "square antiprism", "digon"]
    W, where = tegum(names, m=16, extra_dedicated=2, unused=5)
    groups = find_groups(W)
    found = sorted((g.shape, tuple(sorted(g.features))) for g in groups)
    # the two digons are both found; every other shape once, with exactly its features
    assert [s for s, _ in found].count("digon") == 2
    for name in ("triangle", "tetrahedron", "pentagon", "square antiprism"):
        (feats,) = [f for s, f in found if s == name]
        assert feats == tuple(sorted(where[name]))
    digon_feats = sorted(i for s, f in found if s == "digon" for i in f)
    assert digon_feats == sorted(where["digon"])
    for g in groups:
        assert g.leak == pytest.approx(0.0, abs=1e-9)
        assert g.error(BY_NAME[g.shape].dimensionality()) == pytest.approx(0.0, abs=1e-9)
        assert len(g.features) == BY_NAME[g.shape].k
    # dedicated features and unused columns are never part of a group
    grouped = {i for g in groups for i in g.features}
    assert not grouped & set(where["dedicated"] + where["unused"])


def test_find_groups_tolerates_small_noise_but_not_a_broken_shape():
    W, where = tegum(["pentagon", "tetrahedron"], m=6, seed=3)
    noisy = W + np.random.default_rng(4).normal(scale=0.01, size=W.shape)
    assert sorted(g.shape for g in find_groups(noisy)) == ["pentagon", "tetrahedron"]
    # squash the pentagon onto a line: five features, but not spanning two dimensions evenly
    broken = W.copy()
    pent = where["pentagon"]
    U, _, _ = np.linalg.svd(W[:, pent], full_matrices=False)
    broken[:, pent] = np.outer(U[:, 0], U[:, 0]) @ W[:, pent]
    assert [g.shape for g in find_groups(broken)] == ["tetrahedron"]


def test_find_groups_rejects_a_group_that_leaks_into_a_neighbour():
    W, where = tegum(["triangle"], m=3, extra_dedicated=1)
    tri, ded = where["triangle"], where["dedicated"][0]
    assert [g.shape for g in find_groups(W)] == ["triangle"]
    W[:, ded] += 0.6 * W[:, tri[0]]  # the dedicated feature now overlaps a triangle member
    assert all(g.shape != "triangle" for g in find_groups(W))


def test_a_square_is_two_antipodal_pairs_not_a_tetrahedron():
    # four features at right angles in a plane: k = 4 like a tetrahedron, but D_i = 1/2
    square = np.array([[1.0, 0.0, -1.0, 0.0], [0.0, 1.0, 0.0, -1.0], [0.0, 0.0, 0.0, 0.0]])
    groups = find_groups(square)
    assert sorted((g.shape, sorted(g.features)) for g in groups) == [("digon", [0, 2]), ("digon", [1, 3])]
    # tilt the square so the pairs overlap: one connected set of four in two dimensions, no shape
    tilted = square.copy()
    tilted[:, 1] = [0.3, 0.95, 0.0]
    tilted[:, 3] = [-0.3, -0.95, 0.0]
    assert all(g.shape != "tetrahedron" for g in find_groups(tilted))


def test_project_group_keeps_lengths_and_angles():
    W, where = tegum(["square antiprism", "pentagon"], m=8, seed=5)
    W = W * np.random.default_rng(6).uniform(0.8, 1.2, size=W.shape[1])
    feats = where["square antiprism"]
    P = project_group(W, feats, 3)
    assert P.shape == (3, 8)
    assert np.allclose(P.T @ P, W[:, feats].T @ W[:, feats])


def test_plateau_finds_the_longest_run_within_tolerance():
    x = [1, 2, 3, 4, 5, 6, 7]
    y = [1.0, 0.8, 0.51, 0.49, 0.5, 0.42, 0.5]
    p = plateau(x, y, 0.5)
    assert (p["from"], p["to"], p["levels"]) == (3, 5, 3)
    assert p["mean"] == pytest.approx(0.5)
    assert plateau(x, y, 0.25) is None


def test_sticky_share_against_its_uniform_baseline():
    values = [0.5]
    assert sticky_share(np.array([0.5, 0.52, 0.6, 0.2]), values, tol=0.03) == 0.5
    assert uniform_baseline(values, 0.0, 1.0, tol=0.03) == pytest.approx(0.06, abs=1e-3)


def test_quick_run_json_has_the_issue_keys():
    doc = course_json("geometry", "--quick")
    assert doc["concept"] == "geometry"
    n, m = doc["n_features"], doc["n_hidden"]
    for r in doc["runs"]:
        assert RUN_KEYS <= set(r)
        assert len(r["feature_dimensionality"]) == n
        assert r["dimensions_per_feature"] == pytest.approx(m / r["frobenius_sq"], rel=1e-4)
        assert r["sparsity"] == pytest.approx(1 - 1 / r["inverse_density"], abs=1e-6)
        assert all(0 <= d <= 1 + 1e-6 for d in r["feature_dimensionality"])
    assert {v["fraction"] for v in doc["ideal"].values()} == {"1/2", "2/3", "3/4", "2/5", "3/8"}


def test_chapter_renders_from_quick_metrics():
    from course.markup import render_template

    result = CONCEPT.run(CONCEPT.settings(quick=True), seed=0)
    metrics = CONCEPT.metrics(result)
    claims = CONCEPT.claims(metrics)
    assert {c.id for c in claims} >= {"half-plateau", "one-plateau", "sticky-values", "sum-to-rank"}
    page = render_template(
        CONCEPT.chapter(), concept=CONCEPT, metrics=metrics, runs=metrics["runs"],
        figures={k: f"FIG-{k}" for k in ("dims", "scatter", "groups")}, video="VIDEO", claims=claims,
    )
    assert page.startswith("# The geometry of superposition")
    for k in ("dims", "scatter", "groups"):
        assert f"FIG-{k}" in page


# ----------------------------------------------------------- negative controls
#
# Each claim is judged on a whole sweep built exactly: the paper's picture (a dense
# projection, tetrahedra and triangles in the transition, antipodal pairs, pentagons,
# square antiprisms, a tight frame of everything when sparse), where every claim holds,
# and on sweeps that must fail each claim: an untrained model, the linear model, the
# levels in the wrong order, dedicated dimensions on dense data, evenly spread
# directions that are not pairs, a blurred solution. A rotated solution passes: the
# model has no privileged basis.

N, M_ = 200, 20


def _orthonormal_rows(m: int, n: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, m)))
    return q.T  # (m, n), orthonormal rows: WᵀW is a projection of rank m


def _tegum_level(names: list[str], dedicated: int = 0, seed: int = 0) -> np.ndarray:
    W, _ = tegum(names, m=M_, extra_dedicated=dedicated, seed=seed)
    return np.concatenate([W, np.zeros((M_, N - W.shape[1]))], axis=1)


def _dense(seed: int) -> np.ndarray:
    return _orthonormal_rows(M_, N, seed)  # the dense solution: every D_i ≈ m/n


def _sparse(seed: int) -> np.ndarray:
    return np.sqrt(N / M_) * _orthonormal_rows(M_, N, seed)  # all features, a tight frame


def _untrained(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=np.sqrt(2 / (M_ + N)), size=(M_, N))


#: 1/(1 − S) of each level and what the paper's picture puts there
PICTURE = [
    (1.0, lambda s: _dense(s)),
    (1.2, lambda s: _dense(s)),
    (1.5, lambda s: _tegum_level(["tetrahedron"] * 5 + ["triangle"] * 2, dedicated=1, seed=s)),
    (1.7, lambda s: _tegum_level(["tetrahedron"] * 2 + ["triangle"] * 7, seed=s)),
    (2.0, lambda s: _tegum_level(["digon"] * 20, seed=s)),
    (2.5, lambda s: _tegum_level(["digon"] * 20, seed=s)),
    (3.0, lambda s: _tegum_level(["digon"] * 20, seed=s)),
    (4.0, lambda s: _tegum_level(["pentagon"] * 10, seed=s)),
    (5.0, lambda s: _tegum_level(["square antiprism"] * 6 + ["pentagon"], seed=s)),
    (10.0, lambda s: _sparse(s)),
    (20.0, lambda s: _sparse(s)),
]


def sweep(levels: list[tuple[float, np.ndarray]]) -> dict[str, bool]:
    """The geometry claims judged on metrics of the weights ``levels`` ((1/(1 − S), W) each)."""
    inv = [x for x, _ in levels]
    W = np.stack([w for _, w in levels]).astype(np.float32)
    result = Result("geometry", {}, 0, arrays={"W": W, "b": np.zeros((len(inv), N), np.float32),
                                               "loss": np.zeros(len(inv))},
                    info={"inverse_density": inv})
    return {j.id: j.holds for j in geo.claims(geo.metrics(result))}


def picture(transform=lambda W, k: W, drop: tuple[float, ...] = ()) -> list[tuple[float, np.ndarray]]:
    return [(x, transform(make(k), k)) for k, (x, make) in enumerate(PICTURE) if x not in drop]


CLAIMS = {"half-plateau", "one-plateau", "dense-no-dedicated-dimension", "sticky-values",
          "sum-to-rank", "antipodal-pairs", "five-shapes"}


@pytest.fixture(scope="module")
def exact() -> dict[str, bool]:
    return sweep(picture())


def test_every_claim_holds_on_the_papers_picture_built_exactly(exact):
    assert set(exact) == CLAIMS
    assert all(exact.values()), exact


def test_a_rotated_solution_passes_every_claim():
    rotated = sweep(picture(lambda W, k: random_rotation(M_, 100 + k) @ W))
    assert all(rotated.values()), rotated


def test_an_untrained_model_fails_every_claim():
    judged = sweep([(x, _untrained(k)) for k, (x, _) in enumerate(PICTURE)])
    assert not any(judged.values()), judged


def test_the_linear_model_fails_the_claims_about_superposition():
    # the linear model's solution at every density: a rank-m projection, D* = 1 throughout
    judged = sweep([(x, _dense(k)) for k, (x, _) in enumerate(PICTURE)])
    for claim in ("half-plateau", "one-plateau", "dense-no-dedicated-dimension", "sticky-values",
                  "antipodal-pairs", "five-shapes"):
        assert judged[claim] is False, claim
    assert judged["sum-to-rank"] is True  # a projection packs its features exactly: D_i = P_ii


def test_levels_in_the_wrong_order_fail_the_plateaus():
    judged = sweep([(x, w) for (x, _), (_, w) in zip(PICTURE, reversed(picture()), strict=True)])
    assert judged["one-plateau"] is False and judged["half-plateau"] is False
    assert judged["dense-no-dedicated-dimension"] is False and judged["antipodal-pairs"] is False


def test_a_flat_curve_at_one_half_is_not_a_plateau():
    judged = sweep([(x, _tegum_level(["digon"] * 20, seed=k)) for k, (x, _) in enumerate(PICTURE)])
    assert judged["half-plateau"] is False and judged["antipodal-pairs"] is False


def test_dedicated_dimensions_on_dense_data_fail_the_dense_claim():
    dedicated = np.eye(M_, N)  # m features with a dimension each: D* = 1 too, but D_i = 1
    levels = [(x, dedicated if x < 1.3 else w) for x, w in picture()]
    judged = sweep(levels)
    assert judged["one-plateau"] is True
    assert judged["dense-no-dedicated-dimension"] is False


def test_evenly_spread_directions_that_are_not_pairs_fail_the_antipodal_claim():
    # four directions 45° apart in each of ten planes: D_i = 1/2 and D* = 1/2, no antipodes
    frame = np.zeros((M_, N))
    angles = np.radians([0, 45, 90, 135])
    for p in range(M_ // 2):
        frame[2 * p, 4 * p:4 * p + 4] = np.cos(angles)
        frame[2 * p + 1, 4 * p:4 * p + 4] = np.sin(angles)
    assert np.allclose(geo.M.feature_dimensionality(frame)[:40], 0.5)
    judged = sweep([(x, frame if 2 <= x <= 3 else w) for x, w in picture()])
    assert judged["half-plateau"] is True
    assert judged["antipodal-pairs"] is False


def test_a_blurred_solution_fails_the_claims_about_shapes():
    rng = np.random.default_rng(7)
    judged = sweep(picture(lambda W, k: W + rng.normal(scale=0.05, size=W.shape)))
    assert judged["sticky-values"] is False
    assert judged["antipodal-pairs"] is False
    assert judged["five-shapes"] is False


def test_a_sweep_without_tetrahedra_fails_the_five_shapes_claim():
    judged = sweep([(x, _tegum_level(["triangle"] * 6, dedicated=8, seed=1) if x == 1.5 else w)
                    for x, w in picture()
                    if x != 1.7])
    assert judged["five-shapes"] is False
    assert judged["sticky-values"] is True


def test_geometry_claims_are_findings_not_identities():
    result = Result("geometry", {}, 0, arrays={"W": np.stack([w for _, w in picture()]),
                                               "b": np.zeros((len(PICTURE), N)), "loss": np.zeros(len(PICTURE))},
                    info={"inverse_density": [x for x, _ in PICTURE]})
    assert not any(c.identity for c in CONCEPT.claims(CONCEPT.metrics(result)))


def test_sweep_plan_replaces_the_levels_inside_the_windows():
    s = Settings()
    main, transition = sweep_plan(s)
    lo, hi = s.transition_window
    plo, phi = s.packing_window
    assert transition.size == s.transition_levels and transition.min() == pytest.approx(lo)
    assert not ((main >= lo) & (main <= hi)).any()
    assert ((main >= plo) & (main <= phi)).sum() == s.packing_levels
    assert main[0] == 1.0 and main[-1] == pytest.approx(s.inverse_density_max)


# --------------------------------------------------------------------------- slow


@pytest.fixture(scope="module")
def full() -> dict:
    return course_json("geometry")


@pytest.mark.slow
def test_full_settings_are_uniform_superposition_with_n_much_larger_than_m():
    s = CONCEPT.settings()
    assert s["n_features"] >= 200 and s["n_hidden"] >= 20 and s["n_features"] >= 10 * s["n_hidden"]
    assert s["inverse_density_max"] >= 100
    main, transition = sweep_plan(Settings(**s))
    # the whole sweep, and the transition from D* = 1 to 1/2 sampled densely
    assert 30 <= main.size + transition.size <= 60
    assert transition.size >= 10 and np.all(np.diff(np.log(transition)) < np.log(1.05))


def test_paper_profile_is_the_papers_size_and_default_is_the_plugins_own():
    assert Settings.for_profile("default") == Settings()
    paper = Settings.for_profile("paper")
    assert (paper.n_features, paper.n_hidden, paper.profile) == (400, 30, "paper")
    assert paper.steps > Settings().steps
    lo, hi = paper.transition_window
    assert lo <= 1.7 and hi >= 2.0  # where the step from 1 to 1/2 lies at n = 400, m = 30
    with pytest.raises(ValueError, match="unknown profile"):
        Settings.for_profile("huge")


@pytest.mark.slow
def test_full_run_dimensions_per_feature_has_plateaus_at_one_and_a_half(full):
    half, one = full["plateau_half"], full["plateau_one"]
    assert one is not None and one["from"] == pytest.approx(1.0) and one["levels"] >= 2
    assert half is not None and half["levels"] >= 2 and half["from"] > one["to"]
    on = [r for r in full["runs"] if half["from"] <= r["inverse_density"] <= half["to"]]
    assert all(abs(r["dimensions_per_feature"] - 0.5) <= 0.03 for r in on)
    # on the plateau the embedded features are antipodal pairs (90 % of them over its levels, as
    # the claim counts: where the plateau ends the first pentagons already take a few)
    assert 2 * sum(r["groups"]["digon"] for r in on) >= 0.9 * sum(r["features_embedded"] for r in on)


@pytest.mark.slow
def test_full_run_dimensionalities_are_sticky_and_sum_to_the_rank(full):
    reg = full["regime"]
    assert reg["features"] > 100
    assert reg["sticky_share"] >= max(0.6, 1.5 * reg["uniform_baseline"])
    for r in full["runs"]:
        assert r["gram_rank"] == full["n_hidden"]
        assert r["sum_dimensionality"] == pytest.approx(r["gram_rank"], rel=0.05)
    # past the plateau at least one group other than antipodal pairs is found
    assert full["groups_total"]["digon"] > 0
    assert full["groups_total"]["pentagon"] + full["groups_total"]["square antiprism"] > 0


@pytest.mark.slow
def test_full_claims_hold_but_for_the_two_at_the_edge_of_what_the_build_can_find(full):
    claims = {c.id: c for c in CONCEPT.claims({k: v for k, v in full.items() if k != "concept"})}
    assert set(claims) == CLAIMS
    failing = {k for k, c in claims.items() if not c.holds}
    # two claims sit at the edge of what the default build's 39 models can show, and the
    # report says so with its numbers when either fails: a tetrahedron is found in about one
    # model in five of the transition, and the sticky share sits near 1.5 times its smoothed
    # baseline; every other claim must hold
    assert failing <= {"five-shapes", "sticky-values"}, failing
    reg = full["regime"]
    assert reg["sticky_share"] >= 1.4 * reg["smoothed_baseline"], "D_i no longer cluster at the sticky values"
    totals = full["groups_total"]
    # digons, triangles, pentagons and square antiprisms are found at this size; the
    # tetrahedron is rare (the chapter says how rare) and the only shape allowed to be missing
    assert {k for k, v in totals.items() if v == 0} <= {"tetrahedron"}
    assert totals["triangle"] >= 5 and totals["pentagon"] >= 5
    assert ("five-shapes" in failing) == (totals["tetrahedron"] == 0)


@pytest.mark.slow
def test_scene_constructs_and_ends_on_the_summary():
    from course import render

    result = CONCEPT.run(CONCEPT.settings(quick=True))
    metrics = CONCEPT.metrics(result)
    scene = render.construct(CONCEPT.animation(result, metrics))
    frame = np.asarray(scene.renderer.get_frame())[..., :3].astype(int)
    bg = frame[0, 0]
    assert (np.abs(frame - bg).sum(axis=-1) > 60).sum() > 500  # title and summary text
