"""WebVTT captions: consecutive cues follow each other without overlapping.

Manim ends a subcaption when its duration is up, which can be a frame or more
after the next narration step has begun; the captions the course writes end
such a cue where the next begins.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from course import render

#: what Manim writes when a 2.5 s cue is followed by one that starts 33 ms before it ends
MANIM_SRT = """\
1
00:00:00,000 --> 00:00:02,533
A model with two hidden dimensions must store five features.

2
00:00:02,500 --> 00:00:05,000
At sparsity 0, 2 features are represented.

3
00:00:05,000 --> 00:00:07,033
D measures the share of a dimension each feature gets.

4
00:00:07,000 --> 00:00:09,000
Sparse features can share dimensions.
"""


def naive_vtt(srt: str) -> str:
    """The SubRip cues as they are, with WebVTT's decimal point (the conversion used before)."""
    return "WEBVTT\n\n" + srt.replace(",", ".")


def test_the_overlap_check_finds_the_overlaps_manim_leaves() -> None:
    assert render.overlaps(naive_vtt(MANIM_SRT)) == [(1, 2.533, 2.5), (3, 7.033, 7.0)]


def test_captions_converted_from_manim_do_not_overlap_and_keep_every_cue() -> None:
    vtt = render.srt_to_vtt(MANIM_SRT)
    assert vtt.startswith("WEBVTT\n")
    assert render.overlaps(vtt) == []
    assert vtt.count("-->") == 4
    assert "00:00:00.000 --> 00:00:02.500" in vtt and "00:00:05.000 --> 00:00:07.000" in vtt
    assert "At sparsity 0, 2 features are represented." in vtt


def test_cues_out_of_order_come_back_in_order_without_overlap() -> None:
    blocks = MANIM_SRT.strip().split("\n\n")
    shuffled = "\n\n".join([blocks[2], blocks[0], blocks[3], blocks[1]]) + "\n"
    vtt = render.srt_to_vtt(shuffled)
    assert render.overlaps(vtt) == []
    assert vtt.index("A model with two") < vtt.index("At sparsity 0") < vtt.index("Sparse features")


def test_the_book_s_captions_do_not_overlap_even_from_an_unclipped_timeline() -> None:
    """chapters.describe writes the book's captions from a render's timeline; one
    kept from before the timeline was clipped must not bring overlaps back."""
    cues = [[0.0, 2.533, "one"], [2.5, 5.0, "two"], [5.0, 7.033, "three"], [7.0, 9.0, "four"]]
    vtt = render.timeline_to_vtt(cues)
    assert render.overlaps(vtt) == [] and vtt.count("-->") == 4
    assert render.overlaps(render.timeline_to_vtt(render.timeline(naive_vtt(MANIM_SRT)))) == []


@pytest.mark.slow
def test_a_rendered_scene_whose_cues_run_over_has_captions_without_overlap(tmp_path: Path) -> None:
    """A real Manim render: each subcaption lasts longer than the step it narrates."""
    from manim import Circle, Create, FadeOut, Scene

    from course.concept import Animation

    class Overrun(Scene):
        def construct(self) -> None:
            c = Circle()
            for i in range(3):
                self.add_subcaption(f"step {i + 1}", duration=1.0)
                self.play(Create(c) if i % 2 == 0 else FadeOut(c), run_time=0.6)

    done = render.render(Animation(scene=Overrun), tmp_path, "overrun", quality="low")
    assert done.captions is not None
    vtt = done.captions.read_text(encoding="utf-8")
    assert vtt.count("-->") == 3
    assert render.overlaps(vtt) == []
    # each cue was asked to last 1 s but its step took 0.6 s: the first two were cut
    cues = render.timeline(vtt)
    assert [round(end - start, 1) for start, end, _ in cues][:2] == [0.6, 0.6]
