"""The n = 2, m = 1 phase diagram's classes and the closed-form losses of the
three idealised solutions the paper compares (no training here: the analysis
and the figures use these)."""

from __future__ import annotations

from typing import Any

import numpy as np

from course.metrics import REPRESENTED

#: the phase-diagram classes, in the order the figure and the JSON use
NOT_LEARNED = "not learned"
DEDICATED = "dedicated"
SUPERPOSITION = "superposition"
OTHER = "other"
PHASES = (NOT_LEARNED, DEDICATED, SUPERPOSITION)


def classify_phase(W: Any, threshold: float = REPRESENTED) -> str:
    """The extra feature's situation in a trained n = 2, m = 1 model.

    ``W`` is the 1 × 2 weight matrix (any shape with two entries),
    feature 1 first and the extra feature second:

    - ``"not learned"``: ‖W_2‖ ≤ ``threshold`` (the extra feature has no direction);
    - ``"dedicated"``: ‖W_2‖ > threshold and ‖W_1‖ ≤ threshold, W ≈ [0, ±1]
      (the extra feature owns the dimension);
    - ``"superposition"``: both above the threshold with opposite signs,
      W ≈ [a, −b] (an antipodal pair);
    - ``"other"``: both above the threshold with the same sign (a
      configuration the paper does not find; reported, not hidden).
    """
    w1, w2 = (float(v) for v in np.asarray(W, dtype=float).reshape(-1))
    if abs(w2) <= threshold:
        return NOT_LEARNED
    if abs(w1) <= threshold:
        return DEDICATED
    return SUPERPOSITION if w1 * w2 < 0 else OTHER


def ideal_losses(relative_importance: float, density: float) -> dict[str, float]:
    """Closed-form loss of the three idealised solutions (n = 2, m = 1, ReLU).

    With x_i uniform on [0, 1] when present (probability p) and feature 1's
    importance 1, the extra feature's r, in the engine's units (loss summed
    over features, divided by n = 2):

    - not learned, W = [1, 0], b = [0, p/2]: only the extra feature's
      variance is lost: r (p/3 − p²/4);
    - dedicated, W = [0, 1], b = [p/2, 0]: feature 1's variance: p/3 − p²/4;
    - antipodal, W = [1, −1], b = 0: exact when one feature is active;
      when both are, each read-out is off by min(x₁, x₂), whose mean
      square is 1/6: (1 + r) p² / 6.

    These are the configurations the paper compares; the trained model may
    beat the antipodal one slightly with a negative bias.
    """
    r, p = float(relative_importance), float(density)
    var = p / 3 - p * p / 4
    return {
        NOT_LEARNED: r * var / 2,
        DEDICATED: var / 2,
        SUPERPOSITION: (1 + r) * p * p / 6 / 2,
    }


def ideal_phase(relative_importance: float, density: float) -> str:
    """The idealised solution with the lowest closed-form loss."""
    losses = ideal_losses(relative_importance, density)
    return min(PHASES, key=lambda k: losses[k])


def antipodal_boundary(relative_importance: np.ndarray) -> np.ndarray:
    """Density below which W = [1, −1] beats both alternatives (closed form).

    Solving (1 + r) p² / 6 = min(r, 1) (p/3 − p²/4) for p gives
    p* = 4 min(r, 1) / (2 + 2r + 3 min(r, 1)).
    """
    r = np.asarray(relative_importance, dtype=float)
    lo = np.minimum(r, 1.0)
    return 4 * lo / (2 + 2 * r + 3 * lo)
