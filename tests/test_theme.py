"""The videos' light and dark themes: chosen at render time, cached apart,
offered on the command line, and a WᵀW scale whose small entries show in both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from course import cache, pipeline, render
from course import palette as P
from course.cli.main import cli
from course.concept import Animation
from course_animations import palette

#: CIEDE2000 difference that a viewer tells apart at a glance (2.3 is "just noticeable")
VISIBLE = 10.0


def _rgb(hex_color: str) -> np.ndarray:
    return np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)])


def _delta(a: str, b: str) -> float:
    return float(P.ciede2000(P.lab(P.to_rgb([a])), P.lab(P.to_rgb([b])))[0])


def _tiny_scene() -> type:
    """A scene made of the shared pieces, with one line drawn in no colour at all."""
    from manim import LEFT, RIGHT, UP, FadeIn, Line, Scene

    from course_animations.mobjects import gram_heatmap, label

    class Tiny(Scene):
        def construct(self) -> None:
            words = label("WᵀW", 60).shift(UP * 2.5)
            line = Line(LEFT * 5 + UP * 1.2, RIGHT * 5 + UP * 1.2, stroke_width=12)  # Manim's default colour
            gram = gram_heatmap(np.array([[1.0, 0.05], [-0.05, 1.0]]), cell=1.2, vmax=1.0).shift(UP * -1.2)
            self.play(FadeIn(words), FadeIn(line), FadeIn(gram), run_time=0.2)

    return Tiny


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_theme_reaches_the_render(theme: str, tmp_path: Path) -> None:
    done = render.render(Animation(scene=_tiny_scene()), tmp_path, f"tiny-{theme}", quality="low", theme=theme)
    from PIL import Image

    frame = np.asarray(Image.open(done.poster).convert("RGB")).astype(int)
    current = palette.THEMES[theme]
    assert np.abs(frame[2, 2] - _rgb(current.background)).max() <= 3, "the background is the theme's"
    h, w, _ = frame.shape
    # the colourless line (y = 1.2 of the 8-unit frame) is drawn in the theme's foreground, not Manim's white
    row = frame[int(h * (0.5 - 1.2 / 8)), w // 4 : 3 * w // 4]
    to_fg = np.abs(row - _rgb(current.foreground)).sum(-1)
    assert (to_fg < np.abs(row - _rgb(current.background)).sum(-1) / 3).mean() > 0.9
    if theme == "light":
        assert (to_fg < np.abs(row - 255).sum(-1) / 3).mean() > 0.9, "the line is drawn in Manim's white"
    other = palette.THEMES["dark" if theme == "light" else "light"]
    assert (np.abs(frame - _rgb(other.background)).sum(-1) < 10).mean() < 0.01, "no trace of the other theme"


def test_the_theme_is_chosen_when_drawing_not_on_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURSE_THEME", raising=False)
    assert palette.theme().name == palette.DEFAULT_THEME
    with palette.use_theme("light"):
        assert palette.BACKGROUND == palette.PAPER and palette.theme().foreground == palette.INK
        with palette.use_theme(None):
            assert palette.theme().name == "light"
    assert palette.BACKGROUND == palette.THEMES[palette.DEFAULT_THEME].background
    monkeypatch.setenv("COURSE_THEME", "light")
    assert palette.theme().name == "light"
    monkeypatch.setenv("COURSE_THEME", "purple")
    with pytest.raises(ValueError, match="light, dark"):
        palette.theme()
    with pytest.raises(ValueError, match="unknown theme 'purple'"):
        palette.use_theme("purple").__enter__()


def test_the_book_uses_the_light_theme_and_figures_stay_on_white() -> None:
    assert pipeline.Options().theme == palette.BOOK_THEME == "light"
    assert render.THEMES == tuple(palette.THEMES)
    light = palette.THEMES["light"]
    assert light.background == palette.PAPER  # the figures' paper: white means zero in both
    assert _delta(palette.gram_color(0.0), palette.PAPER) < 2.0 or palette.theme().name == "dark"
    with palette.use_theme("light"):
        assert _delta(palette.gram_color(0.0), palette.PAPER) < 2.0
        assert palette.gram_color(0.0) == palette.diverging_color(0.0)  # the figures' zero


def test_the_cache_keeps_themes_apart() -> None:
    from course_plugins.features_as_directions import CONCEPT

    light = cache.render_key(CONCEPT, "e", "m", "low", "mp4", "light")
    dark = cache.render_key(CONCEPT, "e", "m", "low", "mp4", "dark")
    assert light != dark
    assert cache.render_key(CONCEPT, "e", "m", "low", "mp4") == light  # the book's default


@pytest.mark.parametrize("command", ["render", "slides"])
def test_an_unknown_theme_is_a_short_usage_error(command: str) -> None:
    res = CliRunner().invoke(cli, [command, "superposition", "--theme", "purple"])
    assert res.exit_code == 2
    assert "'purple' is not one of 'light', 'dark'" in res.output
    assert "Traceback" not in res.output and len(res.output.splitlines()) < 8


@pytest.mark.parametrize("command", ["render", "slides"])
def test_the_help_says_which_theme_is_the_default(command: str) -> None:
    text = " ".join(CliRunner().invoke(cli, [command, "--help"]).output.split())
    assert "--theme [light|dark]" in text and "default: light" in text and "white means zero" in text


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("value", [0.05, -0.05])
def test_small_gram_entries_stay_visible(theme: str, value: float) -> None:
    with palette.use_theme(theme) as current:
        small, zero = palette.gram_color(value), palette.gram_color(0.0)
    assert _delta(small, current.background) >= VISIBLE
    assert _delta(small, zero) >= VISIBLE
    # the scale still orders values: 0.05 is paler than 0.5, which is paler than 1
    with palette.use_theme(theme):
        steps = [palette.gram_color(v * np.sign(value)) for v in (0.05, 0.5, 1.0)]
    assert _delta(steps[0], zero) < _delta(steps[1], zero) < _delta(steps[2], zero)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_linear_scale_would_hide_small_entries(theme: str) -> None:
    """Negative control: the linear blend the figures use puts 0.05 within a
    just-visible step of zero, which the visibility check above rejects."""
    current = palette.THEMES[theme]
    linear = palette.diverging_color(0.05, dark=theme == "dark")
    zero = palette.diverging_color(0.0, dark=theme == "dark")
    assert zero == current.zero
    assert _delta(linear, zero) < VISIBLE


@pytest.mark.slow
def test_a_plugin_scene_draws_in_the_light_theme() -> None:
    """A real scene (which reads colours while it is constructed): white background,
    and nothing it shows is drawn white on white."""
    from manim import VMobject

    from course.plugins import PluginInfo, Registered
    from course_plugins.features_as_directions import CONCEPT

    reg = Registered(CONCEPT, PluginInfo(CONCEPT.slug))
    result, _ = pipeline.experiment(reg, quick=True, use_cache=False)
    scene = render.construct(CONCEPT.animation(result, pipeline.metrics(reg, result)), theme="light")
    frame = np.asarray(scene.renderer.get_frame())[..., :3].astype(int)
    assert (frame[0, 0] == 255).all()
    assert (np.abs(frame - 255).sum(-1) > 60).mean() > 0.02, "the last frame is nearly empty"
    hidden = []
    for mob in scene.mobjects:
        for part in mob.get_family():
            if not isinstance(part, VMobject) or part.get_num_points() == 0:
                continue
            stroke = part.get_stroke_opacity() if part.get_stroke_width() > 0 else 0.0
            for color, opacity in ((part.get_stroke_color(), stroke), (part.get_fill_color(), part.get_fill_opacity())):
                if opacity > 0 and color.to_hex()[:7].lower() == palette.PAPER:
                    hidden.append(type(part).__name__)
    assert not hidden, f"drawn white on white: {hidden}"


def test_the_pipeline_renders_each_theme_once_and_keeps_them_apart(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    monkeypatch.setenv("FAKE_VIDEO", "1")
    course = fake.load("alpha")
    reg = course.get("alpha")
    arts = {}
    statuses = []
    for theme in ("light", "dark", "light"):
        art = pipeline.produce(reg, pipeline.Options(theme=theme))
        assert art is not None and art.video is not None
        with Image.open(art.video.poster) as im:
            corner = np.asarray(im.convert("RGB"))[1, 1].astype(int)
        assert np.abs(corner - _rgb(palette.THEMES[theme].background)).max() <= 3
        arts.setdefault(theme, art)
        statuses.append(next(r.status for r in art.records if r.stage == "video"))
    assert arts["light"].video is not None and arts["dark"].video is not None
    assert arts["light"].video.video != arts["dark"].video.video  # two cache entries
    assert statuses == ["built", "built", "cached"]


def test_render_names_the_dark_videos_apart_from_the_light(fake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from course.cli import cli

    monkeypatch.setenv("FAKE_VIDEO", "1")
    course = fake.load("alpha")
    out = tmp_path / "media"
    for theme in ("light", "dark"):
        res = CliRunner().invoke(cli, ["render", "alpha", "--theme", theme, "--out", str(out), "-j", "1"],
                                 obj={"course": course})
        assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["alpha-low-dark.mp4", "alpha-low-dark.png", "alpha-low-dark.vtt",
                     "alpha-low.mp4", "alpha-low.png", "alpha-low.vtt"]
    from PIL import Image

    with Image.open(out / "alpha-low.png") as light, Image.open(out / "alpha-low-dark.png") as dark:
        assert np.asarray(light.convert("L")).mean() > np.asarray(dark.convert("L")).mean() + 100
