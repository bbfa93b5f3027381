"""The sticky geometries of uniform superposition, and finding them in a trained W.

A *group* is a set of features whose directions span a subspace of their own,
orthogonal to every other feature (a tegum factor, in the paper's words: the
whole arrangement is a *tegum product* of the groups): an antipodal pair
(digon) on a line, a triangle or pentagon in a plane, a tetrahedron or square
antiprism in three dimensions. The reference shapes are built geometrically
here; their feature dimensionalities are always computed with
:func:`course.metrics.feature_dimensionality`, never typed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from course.metrics import REPRESENTED


@dataclass(frozen=True)
class Shape:
    """A reference geometry: ``k`` unit vectors spanning ``d`` dimensions."""

    name: str
    k: int
    d: int
    plural: str = ""

    def vectors(self) -> np.ndarray:
        """The shape's unit vectors as the columns of a (d, k) matrix."""
        return ideal_vectors(self.name)

    def dimensionality(self) -> float:
        """D_i of every vector of the shape (they are all equal), computed."""
        from course.metrics import feature_dimensionality

        return float(np.mean(feature_dimensionality(self.vectors())))

    def fraction(self) -> Fraction:
        """The computed D as a small fraction, e.g. 2/5 for the pentagon."""
        return Fraction(self.dimensionality()).limit_denominator(12)


#: the five shapes of the paper's "Why these geometric structures?", by size
SHAPES: tuple[Shape, ...] = (
    Shape("digon", 2, 1, "digons"),
    Shape("triangle", 3, 2, "triangles"),
    Shape("tetrahedron", 4, 3, "tetrahedra"),
    Shape("pentagon", 5, 2, "pentagons"),
    Shape("square antiprism", 8, 3, "square antiprisms"),
)
BY_NAME = {s.name: s for s in SHAPES}


def _polygon(k: int) -> np.ndarray:
    angles = 2 * np.pi * np.arange(k) / k
    return np.stack([np.cos(angles), np.sin(angles)])


def ideal_vectors(name: str) -> np.ndarray:
    """Unit vectors of a reference shape, columns of a (d, k) matrix.

    The square antiprism is two squares, one turned by 45°, at heights ±h with
    h² = 1/3 so that the eight vectors spread evenly over the three
    dimensions.
    """
    if name == "digon":
        return np.array([[1.0, -1.0]])
    if name == "triangle":
        return _polygon(3)
    if name == "pentagon":
        return _polygon(5)
    if name == "tetrahedron":
        v = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float).T
        return v / np.sqrt(3.0)
    if name == "square antiprism":
        h = np.sqrt(1 / 3)
        r = np.sqrt(1 - h * h)
        az = np.pi / 2 * np.arange(4)
        top = np.stack([r * np.cos(az), r * np.sin(az), np.full(4, h)])
        bottom = np.stack([r * np.cos(az + np.pi / 4), r * np.sin(az + np.pi / 4), np.full(4, -h)])
        return np.concatenate([top, bottom], axis=1)
    raise KeyError(f"unknown shape {name!r}; choose one of {', '.join(BY_NAME)}")


def sticky_values() -> dict[str, float]:
    """Computed D of each shape: the sticky values the paper names (a feature
    alone in its dimension would have D = 1, but the paper draws no such line:
    dense features are not stored one per dimension, see the chapter)."""
    return {s.name: s.dimensionality() for s in SHAPES}


#: a group's members may share at most this much of their direction with
#: features outside the group (see :func:`find_groups`)
OUTSIDE_MAX = 0.1


@dataclass
class Group:
    """A set of learned features that forms one of the shapes."""

    shape: str
    features: list[int]
    #: each member's D_i in the whole model (what the scatter shows)
    dimensionality: list[float]
    #: singular values of the group's vectors, largest first
    singular_values: list[float]
    #: largest |cosine| between a group member and an embedded feature outside the group
    leak: float
    #: each member's D_i computed from the group's vectors alone
    own_dimensionality: list[float] = field(default_factory=list)
    #: largest share of a member's denominator Σ_j (Ŵ_i·W_j)² that comes from
    #: features outside the group (1 − D_i / own D_i)
    outside: float = 0.0
    #: every member's D_i in the whole model within the tolerance of the shape's
    #: value (the stricter test: the group is a subspace of its own in practice)
    clean: bool = False

    def error(self, target: float) -> float:
        """Mean |D_i − target| of the group: how close to the ideal shape."""
        return float(np.mean(np.abs(np.asarray(self.dimensionality) - target)))


def _components(adj: np.ndarray) -> list[list[int]]:
    n = adj.shape[0]
    seen = np.zeros(n, dtype=bool)
    comps = []
    for start in range(n):
        if seen[start]:
            continue
        stack, comp = [start], []
        seen[start] = True
        while stack:
            i = stack.pop()
            comp.append(i)
            for j in np.flatnonzero(adj[i] & ~seen):
                seen[j] = True
                stack.append(int(j))
        comps.append(sorted(comp))
    return comps


def find_groups(
    W: np.ndarray,
    d_tol: float = 0.04,
    overlaps: tuple[float, ...] = (0.1, 0.2),
    span_tol: float = 0.15,
    min_norm: float = REPRESENTED,
    outside_max: float = OUTSIDE_MAX,
) -> list[Group]:
    """Groups of features in ``W`` (m × n) that form one of :data:`SHAPES`.

    Features with ‖W_i‖ ≥ ``min_norm`` are linked when their directions
    overlap, |Ŵ_i·Ŵ_j| > t; each connected set is a candidate, for every
    threshold t in ``overlaps`` (a low one finds isolated groups, a higher one
    also groups that touch their neighbours faintly; ``leak`` reports how
    faintly). A candidate of k features is a shape with k vectors in d
    dimensions when

    - its arrangement is the shape's: every member's D_i computed from the
      group's own vectors is within ``d_tol`` of the shape's computed D (the
      vectors spread evenly over their subspace), and the vectors span d
      dimensions: the d-th singular value is at least half the largest and the
      next is below ``span_tol`` times the largest;
    - it is nearly a subspace of its own: no member shares more than
      ``outside_max`` of its denominator Σ_j (Ŵ_i·W_j)² with features outside
      the group, the weak ones included. The member's D_i in the whole model
      is then at least (1 − ``outside_max``) times the shape's value; it is
      reported as ``dimensionality``, and the share as ``outside``; ``clean``
      says whether every member's D_i in the whole model is within ``d_tol``
      of the shape's value too.
    """
    from course.metrics import feature_dimensionality

    W = np.asarray(W, dtype=np.float64)
    norms = np.linalg.norm(W, axis=0)
    idx = np.flatnonzero(norms >= min_norm)
    if idx.size == 0:
        return []
    D = feature_dimensionality(W)
    U = W[:, idx] / norms[idx]
    cos = np.abs(U.T @ U)
    np.fill_diagonal(cos, 0.0)
    targets = {s.k: (s, s.dimensionality()) for s in SHAPES}
    groups: list[Group] = []
    seen: set[frozenset[int]] = set()
    comps = [c for t in sorted(overlaps) for c in _components(cos > t)]
    for comp in comps:
        if len(comp) not in targets or frozenset(comp) in seen:
            continue
        seen.add(frozenset(comp))
        shape, target = targets[len(comp)]
        members = idx[comp]
        own = feature_dimensionality(W[:, members])
        if np.any(np.abs(own - target) > d_tol):
            continue
        sv = np.linalg.svd(W[:, members], compute_uv=False)
        nxt = sv[shape.d] if sv.size > shape.d else 0.0
        if sv[shape.d - 1] < 0.5 * sv[0] or nxt > span_tol * sv[0]:
            continue
        outside = float(np.max(1.0 - D[members] / own))
        if outside > outside_max:
            continue
        others = np.setdiff1d(np.arange(len(idx)), comp)
        leak = float(cos[np.ix_(np.asarray(comp), others)].max()) if others.size else 0.0
        groups.append(Group(shape.name, [int(i) for i in members], [float(v) for v in D[members]],
                            [float(v) for v in sv], leak, [float(v) for v in own], max(outside, 0.0),
                            bool(np.all(np.abs(D[members] - target) <= d_tol))))
    return groups


def project_group(W: np.ndarray, features: list[int], d: int) -> np.ndarray:
    """The learned vectors of ``features`` in coordinates of the d-dimensional
    subspace they span (its top singular directions): a (d, k) matrix whose
    column norms and angles are those of the learned W_i."""
    V = np.asarray(W, dtype=np.float64)[:, features]
    U, _, _ = np.linalg.svd(V, full_matrices=False)
    coords = U[:, :d].T @ V
    # fix the sign of each axis so pictures are stable: the first vector leans positive
    for a in range(d):
        j = int(np.argmax(np.abs(coords[a])))
        if coords[a, j] < 0:
            coords[a] *= -1
    return coords


def edges(V: np.ndarray, slack: float = 1.25) -> list[tuple[int, int]]:
    """Pairs of vectors (columns of V) whose tips are nearest neighbours:
    distance at most ``slack`` × the smallest tip-to-tip distance. Used to
    draw the outline of a shape."""
    V = np.asarray(V, dtype=np.float64)
    k = V.shape[1]
    if k < 2:
        return []
    dist = np.linalg.norm(V[:, :, None] - V[:, None, :], axis=0)
    iu = np.triu_indices(k, 1)
    smallest = dist[iu].min()
    return [(int(i), int(j)) for i, j in zip(*iu, strict=True) if dist[i, j] <= slack * smallest + 1e-9]
