"""The course's shared visual vocabulary (installed as ``course_animations``).

``palette`` holds the colours and fonts that both the Manim scenes and the
matplotlib figures use; ``mobjects`` holds reusable Manim pieces built from
weights: feature arrows, a WᵀW heat map, neuron bars. Import ``mobjects`` only
where Manim is wanted; ``palette`` is light.
"""
