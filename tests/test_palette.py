"""course.palette: twelve feature colours that stay apart with normal vision and
with the common red-green deficiencies, and the colour science that says so."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from course import palette as P

REPO = Path(__file__).resolve().parent.parent

#: the smallest CIEDE2000 difference the twelve colours keep (≈ 10 is "clearly
#: different at a glance"; 2 is a just-noticeable difference), and the five
#: colours of the most common figures (n = 5)
MIN_ALL = {None: 12.0, "deuteranopia": 11.0, "protanopia": 10.0}
MIN_FIVE = {None: 20.0, "deuteranopia": 20.0, "protanopia": 20.0}
#: the ten colours the figures used before this palette (two near-duplicates
#: for everyone, several for deuteranopes): the negative control
OLD = ["#f59e0b", "#38bdf8", "#f472b6", "#4ade80", "#a78bfa", "#fb7185", "#2dd4bf", "#facc15", "#60a5fa", "#c084fc"]


# --------------------------------------------------------------------------- the colour science


def test_ciede2000_matches_sharma_wu_dalal_test_data() -> None:
    # pairs from Sharma, Wu and Dalal (2005), table 1: (L, a, b) twice, then ΔE00
    pairs = [
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
        ((50.0, 2.5, 0.0), (50.0, 0.0, -2.5), 4.3065),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
        ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
        ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
        ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
    ]
    for lab1, lab2, expected in pairs:
        assert float(P.ciede2000(np.array(lab1), np.array(lab2))) == pytest.approx(expected, abs=1e-4)
        assert float(P.ciede2000(np.array(lab2), np.array(lab1))) == pytest.approx(expected, abs=1e-4)


def test_lab_of_white_black_and_srgb_red() -> None:
    np.testing.assert_allclose(P.lab(P.to_rgb(["#ffffff"]))[0], [100, 0, 0], atol=0.01)
    np.testing.assert_allclose(P.lab(P.to_rgb(["#000000"]))[0], [0, 0, 0], atol=0.01)
    np.testing.assert_allclose(P.lab(P.to_rgb(["#ff0000"]))[0], [53.24, 80.09, 67.20], atol=0.05)


def test_the_simulations_keep_greys_and_merge_red_with_green_for_deuteranopes() -> None:
    greys = P.to_rgb(["#000000", "#777777", "#ffffff"])
    for deficiency in P.MACHADO:
        np.testing.assert_allclose(P.simulate(greys, deficiency), greys, atol=2e-3)
    red_green = ["#d62728", "#2ca02c"]
    assert P.min_difference(red_green)[0] > 60
    assert P.min_difference(red_green, "deuteranopia")[0] < 15
    with pytest.raises(ValueError, match="deuteranopia"):
        P.simulate(greys, "colour-blind")
    with pytest.raises(ValueError, match="#rrggbb"):
        P.to_rgb(["red"])


# --------------------------------------------------------------------------- the palette


@pytest.mark.parametrize("deficiency", list(MIN_ALL))
def test_twelve_feature_colours_stay_apart(deficiency: str | None) -> None:
    assert len(P.FEATURES) == P.MAX_FEATURES == 12
    smallest, pair = P.min_difference(P.FEATURES, deficiency)
    assert smallest >= MIN_ALL[deficiency], f"features {pair[0] + 1} and {pair[1] + 1}: ΔE00 {smallest:.1f}"
    five, pair = P.min_difference(P.FEATURES[:5], deficiency)
    assert five >= MIN_FIVE[deficiency], f"features {pair[0] + 1} and {pair[1] + 1}: ΔE00 {five:.1f}"


@pytest.mark.parametrize("deficiency", list(MIN_ALL))
def test_the_old_palette_fails_the_same_check(deficiency: str | None) -> None:
    assert P.min_difference(OLD, deficiency)[0] < MIN_ALL[deficiency] / 2


def test_every_colour_shows_on_white_figures_and_dark_videos() -> None:
    lo, hi = P.L_RANGE
    assert all(lo <= L <= hi for L in P.lightness(P.FEATURES))
    assert P.lightness(["#ffffff"])[0] - hi > 25  # the book's figures
    from course_animations import palette as legacy

    assert lo - P.lightness([legacy.BACKGROUND])[0] > 25  # the videos' background


def test_feature_colors_cycle_and_legacy_colours_map_to_the_same_feature() -> None:
    from course_animations import palette as legacy

    assert P.feature_colors(3) == list(P.FEATURES[:3])
    assert P.feature_color(12) == P.feature_color(0)
    for i, old in enumerate(legacy.FEATURES):
        assert P.legacy_to_feature(old.upper()) == P.feature_color(i)
    assert P.legacy_to_feature(legacy.MUTED) == legacy.MUTED


def test_repaint_gives_manim_pieces_the_palette_colours() -> None:
    from course_animations.mobjects import feature_arrows, neuron_bars

    W = np.array([[1.0, 0.0, 0.4], [0.0, 1.0, -0.5]])
    arrows = P.repaint(feature_arrows(W))
    assert [a.get_stroke_color().to_hex().lower() for a in arrows] == P.feature_colors(3)
    bars = P.repaint(neuron_bars(W))
    assert {b.get_fill_color().to_hex().lower() for b in bars} == set(P.feature_colors(3))


def test_figures_and_scenes_colour_features_from_this_palette() -> None:
    """No plugin figure or scene takes a feature colour from course_animations directly."""
    legacy_use = re.compile(r"(?<![\w.])palette\.(feature_color|FEATURES)\b")
    offenders = []
    for path in sorted((REPO / "plugins").glob("*/*.py")):
        rel = path.relative_to(REPO).as_posix()
        if path.name not in ("figures.py", "scene.py") or rel in OWNED_ELSEWHERE:
            continue
        text = path.read_text(encoding="utf-8")
        if "from course_animations import palette" in text and legacy_use.search(text):
            offenders.append(rel)
    assert not offenders, f"feature colours not from course.palette in {offenders}"


#: figures modules whose owners have yet to switch (reported on issue 17)
OWNED_ELSEWHERE = {"plugins/geometry/figures.py", "plugins/sparsity/figures.py"}
