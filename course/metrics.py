"""Measurements of superposition on a weight matrix W.

Every function takes W of shape (m, n) — hidden dimensions × features, so
column W_i is feature i's direction — or a batch (..., m, n), as a torch
tensor or a numpy array, and returns the same kind. Ŵ_i = W_i / ‖W_i‖ (0 for
a zero column).
"""

from __future__ import annotations

import functools
import importlib
import typing
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, Concatenate, NamedTuple, ParamSpec, TypeVar

import numpy as np

if typing.TYPE_CHECKING:
    import torch
else:

    class _Torch(ModuleType):
        """torch, imported when first used: a build that only reads cached
        metrics (and a plugin that only needs :data:`REPRESENTED`) does not
        pay about a second to import it."""

        def __getattr__(self, name: str) -> Any:
            module = importlib.import_module("torch")
            globals()["torch"] = module
            return getattr(module, name)

    torch = _Torch("torch")

Array = TypeVar("Array", np.ndarray, "torch.Tensor")
P = ParamSpec("P")
R = TypeVar("R")

#: columns with a norm below this count as exactly zero (not represented)
EPS = 1e-6
#: a feature counts as represented (learned) when its column's norm exceeds this;
#: the one threshold every chapter, figure and narration uses
REPRESENTED = 0.5


def _torch_in(fn: Callable[Concatenate[torch.Tensor, P], R]) -> Callable[Concatenate[Any, P], Any]:
    """Run ``fn`` on torch (float64 for numpy input); hand back the input's kind
    (a numpy array, or a tuple of them, for numpy input)."""

    @functools.wraps(fn)
    def wrapper(W: Any, *args: P.args, **kwargs: P.kwargs) -> Any:
        if isinstance(W, torch.Tensor):
            return fn(W, *args, **kwargs)
        out = fn(torch.as_tensor(np.asarray(W, dtype=np.float64)), *args, **kwargs)
        if isinstance(out, tuple):
            return type(out)(*(o.numpy() for o in out))
        return out.numpy()  # type: ignore[attr-defined]

    return wrapper


def _unit(W: torch.Tensor) -> torch.Tensor:
    norms = W.norm(dim=-2, keepdim=True)
    return torch.where(norms > EPS, W / norms.clamp_min(EPS), torch.zeros_like(W))


@_torch_in
def gram(W: torch.Tensor) -> torch.Tensor:
    """WᵀW, features × features: entry (i, j) = W_i · W_j.

    The diagonal is each feature's squared norm; an off-diagonal entry is how
    much feature j's direction overlaps feature i's (0 = orthogonal).
    """
    return W.transpose(-1, -2) @ W


@_torch_in
def feature_norms(W: torch.Tensor) -> torch.Tensor:
    """‖W_i‖ per feature: about 1 when a feature is fully represented, 0 when not."""
    return W.norm(dim=-2)


@_torch_in
def interference(W: torch.Tensor) -> torch.Tensor:
    """Σ_{j≠i} (Ŵ_i · W_j)² per feature: how strongly other features project
    onto feature i's direction. 0 means orthogonal to all others; ≥ 1 means
    some group of features can activate i as strongly as i itself."""
    proj = _unit(W).transpose(-1, -2) @ W  # (..., n, n): Ŵ_i · W_j
    sq = proj.square()
    return sq.sum(dim=-1) - torch.diagonal(sq, dim1=-2, dim2=-1)


@_torch_in
def features_learned(W: torch.Tensor) -> torch.Tensor:
    """‖W‖_F² = Σ_i ‖W_i‖²: roughly how many features the model represents
    (basis-independent)."""
    return W.square().sum(dim=(-2, -1))


@_torch_in
def dimensions_per_feature(W: torch.Tensor) -> torch.Tensor:
    """D* = m / ‖W‖_F²: hidden dimensions per embedded feature (1 = one each,
    1/2 = antipodal pairs)."""
    return W.shape[-2] / W.square().sum(dim=(-2, -1))


@_torch_in
def feature_dimensionality(W: torch.Tensor) -> torch.Tensor:
    """D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)², j over all features including i.

    The fraction of a dimension feature i owns: 1 alone, 1/2 in an antipodal
    pair, 2/5 in a pentagon; 0 for a feature that is not represented.
    """
    proj = _unit(W).transpose(-1, -2) @ W
    denom = proj.square().sum(dim=-1)
    norms_sq = W.square().sum(dim=-2)
    ok = norms_sq > EPS**2
    return torch.where(ok, norms_sq / denom.clamp_min(EPS**2), torch.zeros_like(norms_sq))


@_torch_in
def gram_spectrum(W: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of WᵀW, largest first (= squared singular values of W).

    At most m are non-zero, so WᵀW is not invertible when n > m: the
    paper's criterion for superposition in a linear representation.
    """
    return torch.linalg.eigvalsh(W.transpose(-1, -2) @ W).flip(-1)


@_torch_in
def gram_rank(W: torch.Tensor, rtol: float = 1e-3) -> torch.Tensor:
    """Numerical rank of WᵀW: eigenvalues above ``rtol`` × the largest."""
    ev = torch.linalg.eigvalsh(W.transpose(-1, -2) @ W)
    top = ev.max(dim=-1, keepdim=True).values.clamp_min(EPS)
    return (ev > rtol * top).sum(dim=-1)


@_torch_in
def participation(W: torch.Tensor) -> torch.Tensor:
    """Participation ratio of each feature over hidden dimensions:
    (Σ_k W_ki²)² / Σ_k W_ki⁴, from 1 (one neuron) to m (spread evenly over
    all); 0 for a zero column. How *distributed* a code is, which is a
    different axis from superposition."""
    sq = W.square()
    num = sq.sum(dim=-2).square()
    den = sq.square().sum(dim=-2)
    return torch.where(den > EPS**4, num / den.clamp_min(EPS**4), torch.zeros_like(num))


class NeuronPolysemanticity(NamedTuple):
    """Per-neuron results of :func:`neuron_polysemanticity`."""

    features_per_neuron: object  # effective number of features each neuron serves
    monosemanticity: object  # max_i |W_ki| / ‖W_k‖ (1 = one feature only)
    monosemantic: object  # bool: monosemanticity above the threshold


@_torch_in
def neuron_polysemanticity(W: torch.Tensor, threshold: float = 0.9, positive: bool = False) -> NeuronPolysemanticity:
    """How many features each neuron (row of W) serves, for the
    privileged-basis model h = ReLU(Wx).

    ``features_per_neuron`` is the participation ratio of the row,
    (Σ_i W_ki²)² / Σ_i W_ki⁴ (0 for a dead neuron); ``monosemanticity`` is
    max_i |W_ki| / ‖W_k‖, and a neuron is monosemantic when that exceeds
    ``threshold``.

    With ``positive=True`` both use the positive part max(W_ki, 0) instead:
    for non-negative inputs (as in the toy models) only a positive weight
    makes neuron k fire for feature i, while a negative one only suppresses
    it, so this counts the features a neuron *responds* to. A neuron with no
    positive weight never fires and gets 0 for both.
    """
    if positive:
        W = W.clamp_min(0)
    rows = W.transpose(-1, -2)  # (..., n, m): columns are neurons
    fpn = participation(rows)  # a tensor in, a tensor out
    norms = W.norm(dim=-1)
    mono = torch.where(norms > EPS, W.abs().amax(dim=-1) / norms.clamp_min(EPS), torch.zeros_like(norms))
    return NeuronPolysemanticity(fpn, mono, mono > threshold)


class LossTerms(NamedTuple):
    """The linear-model loss, split as in the paper."""

    benefit: object
    interference: object


@_torch_in
def loss_decomposition(W: torch.Tensor, importance: torch.Tensor | float = 1.0) -> LossTerms:
    """The paper's decomposition of the linear model's loss,
    L ∝ Σ_i I_i (1 − ‖W_i‖²)² + Σ_{i≠j} I_j (W_j · W_i)².

    Returns ``benefit`` = Σ_i I_i [1 − (1 − ‖W_i‖²)²] — how much representing
    the features lowers the loss below the W = 0 baseline Σ_i I_i — and
    ``interference`` = Σ_{i≠j} I_j (W_j · W_i)², so L ∝ Σ_i I_i − benefit +
    interference. (The proportionality constants depend on the data
    distribution; the paper writes the loss up to them.)
    """
    imp = torch.as_tensor(np.asarray(importance) if not isinstance(importance, torch.Tensor) else importance, dtype=W.dtype)
    g = W.transpose(-1, -2) @ W
    norms_sq = torch.diagonal(g, dim1=-2, dim2=-1)
    benefit = (imp * (1 - (1 - norms_sq).square())).sum(dim=-1)
    off = g.square() - torch.diag_embed(norms_sq.square())
    # row j of the Gram matrix weighted by I_j: Σ_j I_j Σ_{i≠j} (W_j·W_i)²
    interf = (imp * off.sum(dim=-1)).sum(dim=-1)
    return LossTerms(benefit, interf)


def represented(W: Array, threshold: float = REPRESENTED) -> Array:
    """True per feature whose norm ‖W_i‖ exceeds ``threshold`` (:data:`REPRESENTED`)."""
    return feature_norms(W) > threshold


def mean_dimensionality(dimensionality: Sequence[float], norms: Sequence[float],
                        threshold: float = REPRESENTED) -> float:
    """The mean D_i over the represented features (norm above ``threshold``);
    0 when none is. The one definition the chapters, videos and descriptions share."""
    ds = [float(d) for d, n in zip(dimensionality, norms, strict=True) if n > threshold]
    return sum(ds) / len(ds) if ds else 0.0
