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


# --------------------------------------------------------------------------- n = 3, m = 2
#
# The paper's second diagram: features 1 and 2 have importance 1, feature 3 a
# relative importance r, all three the same density p. A 2 × 3 matrix W of rank
# 2 has one null direction v (W v = 0); the paper names each solution by it:
# W ⊥ [0, 0, 1] means W_3 = 0 (feature 3 not represented), W ⊥ [1, 1, 0] means
# W_1 + W_2 = 0 (features 1 and 2 an antipodal pair), W ⊥ [1, 1, 1] means
# W_1 + W_2 + W_3 = 0 (three directions 120° apart: joint superposition).

#: the classes of the n = 3 diagram, in the order the figure and the JSON use
DROP_3 = "W⊥[0,0,1]"  # feature 3 not represented; 1 and 2 a dimension each
DROP_1 = "W⊥[1,0,0]"  # feature 1 (or 2) not represented; 3 and the other a dimension each
PAIR_3 = "W⊥[0,1,1]"  # feature 3 antipodal with feature 2 (or 1); the other a dimension
PAIR_12 = "W⊥[1,1,0]"  # features 1 and 2 antipodal; feature 3 a dimension
JOINT = "W⊥[1,1,1]"  # all three 120° apart (the paper did not consider it)
OTHER_3 = "other"
PAPER_PHASES_3 = (DROP_3, DROP_1, PAIR_3, PAIR_12)
PHASES_3 = (*PAPER_PHASES_3, JOINT, OTHER_3)
#: the classes in which more features than dimensions are represented
SUPERPOSED_3 = (PAIR_3, PAIR_12, JOINT)

#: a null direction counts as a candidate's within this angle (degrees)
NULL_TOLERANCE = 20.0
#: ‖W‖_F² above m + this marks superposition (more than m features' worth of weight)
SUPERPOSITION_MARGIN = 0.5

_S3 = 1 / np.sqrt(3)
_S2 = 1 / np.sqrt(2)
#: the candidate null directions of each superposition class, with only
#: non-negative entries: W_a + W_b = 0 is antipodal, W_a − W_b = 0 would be two
#: features in one direction (no candidate)
_SUPERPOSED_NULLS = (
    (PAIR_3, (0.0, _S2, _S2)), (PAIR_3, (_S2, 0.0, _S2)),
    (PAIR_12, (_S2, _S2, 0.0)),
    (JOINT, (_S3, _S3, _S3)),
)


def null_direction(W: Any) -> np.ndarray | None:
    """The unit null direction v of a 2 × 3 ``W`` (W v = 0), sign chosen so its
    largest entry is positive; ``None`` when W has rank below 2 (its second
    singular value under 0.3: then no single direction is lost)."""
    W = np.asarray(W, dtype=float).reshape(2, 3)
    if np.linalg.svd(W, compute_uv=False)[-1] < 0.3:
        return None
    v = np.cross(W[0], W[1])
    v = v / np.linalg.norm(v)
    return v if v[np.argmax(np.abs(v))] > 0 else -v


def classify_phase_3(W: Any, tolerance: float = NULL_TOLERANCE) -> str:
    """The class of a trained n = 3, m = 2 model, from its weights alone.

    First, superposition or not: ‖W‖_F² > m + :data:`SUPERPOSITION_MARGIN`
    (the model holds more than two features' worth of weight). Then the null
    direction v of W:

    - without superposition, |v_3| ≥ cos(``tolerance``): feature 3 is what is
      lost, ``W⊥[0,0,1]``; |v_3| ≤ sin(``tolerance``): feature 3 keeps its
      dimension and features 1 and 2 share the other without superposition,
      ``W⊥[1,0,0]`` (one dropped, or on dense data a blend v = [a, b, 0] of
      the two, which there costs the same);
    - with superposition, the candidate of :data:`_SUPERPOSED_NULLS` within
      ``tolerance`` of v: ``W⊥[0,1,1]`` (feature 3 antipodal with 1 or 2),
      ``W⊥[1,1,0]`` (1 and 2 antipodal), ``W⊥[1,1,1]`` (three at 120°);
    - anything else (rank below 2, no candidate near): ``"other"``.
    """
    W = np.asarray(W, dtype=float).reshape(2, 3)
    v = null_direction(W)
    if v is None:
        return OTHER_3
    cos_tol = float(np.cos(np.radians(tolerance)))
    if float((W * W).sum()) <= 2 + SUPERPOSITION_MARGIN:
        if abs(v[2]) >= cos_tol:
            return DROP_3
        if abs(v[2]) <= float(np.sin(np.radians(tolerance))):
            return DROP_1
        return OTHER_3
    for name, c in _SUPERPOSED_NULLS:
        if abs(float(v @ np.asarray(c))) >= cos_tol:
            return name
    return OTHER_3


def is_blend(W: Any, tolerance: float = NULL_TOLERANCE) -> bool:
    """A ``W⊥[1,0,0]`` model whose null direction is not within ``tolerance``
    of e_1 or e_2: features 1 and 2 blended in one dimension, neither dropped."""
    v = null_direction(W)
    if v is None or classify_phase_3(W, tolerance) != DROP_1:
        return False
    return bool(max(abs(v[0]), abs(v[1])) < float(np.cos(np.radians(tolerance))))


def ideal_losses_3(relative_importance: float, density: float) -> dict[str, float]:
    """Closed-form loss of the hand-built solutions (n = 3, m = 2, ReLU), in the
    engine's units (loss summed over features, divided by n = 3).

    Features 1 and 2 have importance 1, feature 3 ``relative_importance`` r;
    every feature is uniform on [0, 1] with probability p = ``density``. Each
    solution is a sum of independent parts: a feature with a dimension of
    its own (unit column orthogonal to the others, bias 0) costs nothing; a
    dropped feature (W_i = 0, bias p/2, its mean) costs its variance,
    V = p/3 − p²/4; an antipodal pair (W_a = −W_b, unit, bias 0) is exact
    unless both are active (probability p²), when each read-out is off by
    min(x_a, x_b), of mean square 1/6: (I_a + I_b) p²/6. So

    - ``W⊥[0,0,1]``: r V; ``W⊥[1,0,0]``: V;
    - ``W⊥[0,1,1]``: (1 + r) p²/6; ``W⊥[1,1,0]``: 2 p²/6 = p²/3;
    - ``W⊥[1,1,1]`` (unit columns 120° apart, bias 0, not a candidate of the
      paper): exact when one feature is active; when exactly two are
      (probability p²(1 − p) per pair) each read-out is off by
      min(x_i, x_j/2), of mean square 1/16; when all three are (p³), by
      min(x_i, (x_j + x_k)/2), of mean square 1/6. Summed:
      (2 + r) [p²(1 − p)/8 + p³/6].
    """
    r, p = float(relative_importance), float(density)
    var = p / 3 - p * p / 4
    return {
        DROP_3: r * var / 3,
        DROP_1: var / 3,
        PAIR_3: (1 + r) * p * p / 6 / 3,
        PAIR_12: p * p / 3 / 3,
        JOINT: (2 + r) * (p * p * (1 - p) / 8 + p ** 3 / 6) / 3,
    }


def ideal_phase_3(relative_importance: float, density: float) -> str:
    """The paper's candidate with the lowest closed-form loss (W⊥[1,1,1] left out, as the paper does)."""
    losses = ideal_losses_3(relative_importance, density)
    return min(PAPER_PHASES_3, key=lambda k: losses[k])


def ideal_weights_3(phase: str) -> tuple[np.ndarray, np.ndarray]:
    """The hand-built W (2 × 3) of a class, and its bias as a function of the
    density's slot: returns (W, mask) where the bias is ``mask * p / 2``
    (only a dropped feature has one)."""
    c, s = np.cos(2 * np.pi / 3), np.sin(2 * np.pi / 3)
    table = {
        DROP_3: ([[1, 0, 0], [0, 1, 0]], [0, 0, 1]),
        DROP_1: ([[0, 1, 0], [0, 0, 1]], [1, 0, 0]),
        PAIR_3: ([[1, 0, 0], [0, 1, -1]], [0, 0, 0]),
        PAIR_12: ([[1, -1, 0], [0, 0, 1]], [0, 0, 0]),
        JOINT: ([[1, c, c], [0, s, -s]], [0, 0, 0]),
    }
    if phase not in table:
        raise ValueError(f"no hand-built weights for {phase!r}; choose one of {', '.join(table)}")
    W, mask = table[phase]
    return np.asarray(W, dtype=float), np.asarray(mask, dtype=float)


def boundary_3(relative_importance: np.ndarray) -> np.ndarray:
    """Density below which a superposition candidate beats both non-superposition
    ones (closed form): for r ≤ 1, r V = (1 + r) p²/6 gives p* = 4r/(2 + 5r);
    for r ≥ 1, V = p²/3 gives p* = 4/7. The two meet at the triple point
    (r, p) = (1, 4/7)."""
    r = np.asarray(relative_importance, dtype=float)
    return np.where(r <= 1, 4 * r / (2 + 5 * r), 4 / 7)
