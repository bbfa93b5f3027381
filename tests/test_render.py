"""course.render's own machinery: copies of text share their parsed SVG paths while a scene is drawn."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from course import render
from course.concept import Animation


def _glyphs(text: object) -> list:
    from manim.mobject.svg.svg_mobject import VMobjectFromSVGPath

    return [m for m in text.get_family() if isinstance(m, VMobjectFromSVGPath)]  # type: ignore[attr-defined]


def test_a_copy_of_text_shares_its_svg_paths_only_inside_the_block() -> None:
    from manim import RIGHT, VMobject
    from manim.mobject.svg.svg_mobject import VMobjectFromSVGPath

    from course_animations.mobjects import label

    words = label("W x + b", 30)
    before = [g.points.copy() for g in _glyphs(words)]
    assert len(before) >= 4
    with render.shared_svg_paths():
        with render.shared_svg_paths():  # a block inside another leaves the outer one's in place
            pass
        twin = words.copy()
        assert all(a.path_obj is b.path_obj for a, b in zip(_glyphs(words), _glyphs(twin), strict=True))
        # everything a frame is drawn from is still the copy's own
        for a, b in zip(_glyphs(words), _glyphs(twin), strict=True):
            assert a is not b
            assert not np.shares_memory(a.points, b.points)
            assert not np.shares_memory(a.fill_rgbas, b.fill_rgbas)
        twin.shift(RIGHT * 2).set_color("#ff0000")
        assert all(np.array_equal(g.points, p) for g, p in zip(_glyphs(words), before, strict=True))
    assert "__deepcopy__" not in VMobjectFromSVGPath.__dict__, "the class is as Manim made it again"
    assert VMobjectFromSVGPath.__deepcopy__ is VMobject.__deepcopy__
    apart = words.copy()
    assert all(a.path_obj is not b.path_obj for a, b in zip(_glyphs(words), _glyphs(apart), strict=True))


def _texts_scene() -> type:
    """Labels typeset once and copied, transformed and faded: what the course's scenes do."""
    from manim import DOWN, LEFT, RIGHT, UP, FadeIn, FadeOut, Scene, Transform

    from course_animations.mobjects import label

    class Texts(Scene):
        def construct(self) -> None:
            a = label("feature 1", 36).shift(LEFT * 2 + UP)
            b = label("feature 2", 36).shift(RIGHT * 2 + DOWN)
            self.play(FadeIn(a), run_time=0.2)
            self.play(Transform(a, b), run_time=0.2)
            self.play(FadeIn(label("feature 1", 36).shift(UP * 2)), FadeOut(a), run_time=0.2)

    return Texts


def test_sharing_the_svg_paths_changes_no_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    shared = render.construct(Animation(scene=_texts_scene()), theme="light").renderer.get_frame()
    monkeypatch.setattr(render, "shared_svg_paths", contextlib.nullcontext)
    copied = render.construct(Animation(scene=_texts_scene()), theme="light").renderer.get_frame()
    assert (shared != shared[0, 0]).any(axis=-1).mean() > 0.005, "the frame shows the labels"
    assert np.array_equal(shared, copied)
