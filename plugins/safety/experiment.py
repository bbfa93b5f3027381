"""The safety chapter's experiments, trained together in one result:

- the privileged-basis neuron model of the Polysemanticity chapter
  (h = ReLU(Wx), x' = ReLU(Wᵀh + b), n = 10, m = 5, I = 0.75^i): its neurons
  are switched off one at a time in analysis.py (side effects of an edit), and
  read one at a time (reading neurons is not reading features);
- the ReLU-output sweep of the Sparsity chapter (n = 20, m = 5, I = 0.7^i):
  attacked in analysis.py with the paper's analytic attack and a gradient
  attack (mix-ups under attack);
- the pentagon of the Superposition chapter (n = 5, m = 2, I = 0.9^i,
  S = 0.9), whose hidden activations a small sparse dictionary is fitted to
  here (the way out, previewed).

Each model is trained here with the same settings as the chapter it comes
from, so that a shared cached result can later replace it. Only the seed
search differs from the Sparsity chapter: this file keeps the seed with the
lowest loss on the engine's evaluation batch, where that chapter integrates
the loss exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from course import Result, profiles


@dataclass(frozen=True)
class Sweep:
    """One sweep of toy models and how it is trained."""

    densities: tuple[float, ...]
    n_seeds: int
    steps: int
    batch_size: int
    lr: float
    lr_schedule: str


@dataclass(frozen=True)
class Dictionary:
    """The sparse dictionary fitted to the pentagon's hidden activations."""

    atoms: int = 5
    samples: int = 4096
    l1: float = 0.05
    iterations: int = 30
    ista_steps: int = 100
    restarts: int = 4


@dataclass(frozen=True)
class Settings:
    """What the experiments train; :meth:`quick` is the smallest that exercises the code."""

    # the Polysemanticity chapter's settings (plugins/polysemanticity/experiment.py)
    neuron_features: int = 10
    neuron_hidden: int = 5
    neuron_importance_decay: float = 0.75
    neuron: Sweep = Sweep(densities=(0.75, 0.35, 0.15, 0.1, 0.06, 0.02, 0.01),
                          n_seeds=8, steps=3000, batch_size=1024, lr=5e-3, lr_schedule="cosine")
    # the Sparsity chapter's ReLU-output sweep (plugins/sparsity/experiment.py, Settings.relu)
    relu_features: int = 20
    relu_hidden: int = 5
    relu_importance_decay: float = 0.7
    relu: Sweep = Sweep(densities=(1.0, 0.3, 0.1, 0.03, 0.01, 0.001),
                        n_seeds=4, steps=2000, batch_size=1024, lr=1e-2, lr_schedule="cosine")
    # the Superposition chapter's model at S = 0.9 (plugins/superposition/experiment.py)
    pentagon_features: int = 5
    pentagon_hidden: int = 2
    pentagon_importance_decay: float = 0.9
    pentagon: Sweep = Sweep(densities=(0.1,), n_seeds=6, steps=10_000, batch_size=1024, lr=1e-3,
                            lr_schedule="constant")
    dictionary: Dictionary = Dictionary()

    def __post_init__(self) -> None:
        # Settings(**settings) hands the nested parts back as dicts (lists for tuples)
        for name in ("neuron", "relu", "pentagon"):
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, Sweep(**{**value, "densities": tuple(value["densities"])}))
        if isinstance(self.dictionary, dict):
            object.__setattr__(self, "dictionary", Dictionary(**self.dictionary))

    @classmethod
    def quick(cls) -> Settings:
        return cls(
            neuron=Sweep(densities=(0.75, 0.1, 0.01), n_seeds=1, steps=200, batch_size=256, lr=5e-3,
                         lr_schedule="cosine"),
            relu=Sweep(densities=(1.0, 0.1, 0.01), n_seeds=1, steps=100, batch_size=256, lr=1e-2,
                       lr_schedule="cosine"),
            pentagon=Sweep(densities=(0.1,), n_seeds=1, steps=300, batch_size=256, lr=1e-2,
                           lr_schedule="constant"),
            dictionary=Dictionary(samples=512, iterations=5, ista_steps=30, restarts=1),
        )

    @classmethod
    def for_profile(cls, name: str) -> Settings:
        """Under ``paper``: the neuron sweep trains the paper's 1000 models per
        density, and every sweep the notebook's 10,000 steps at batch 1024."""
        s = cls()
        train = {"steps": "steps", "batch_size": "batch_size"}
        return cls(
            neuron=profiles.update(s.neuron, name, n_seeds="neuron_models", **train),
            relu=profiles.update(s.relu, name, **train),
            pentagon=profiles.update(s.pentagon, name, **train),
        )


def run(s: Settings, seed: int = 0, device: str = "cpu",
        progress: Callable[[int, int], None] | None = None) -> Result:
    """The three sweeps, each in one batched program, then the dictionary."""
    import torch

    from course.engine import ToyConfig, train

    sweeps = (
        ("neuron", "neuron", s.neuron_features, s.neuron_hidden, s.neuron_importance_decay, s.neuron),
        ("relu", "relu", s.relu_features, s.relu_hidden, s.relu_importance_decay, s.relu),
        ("pentagon", "relu", s.pentagon_features, s.pentagon_hidden, s.pentagon_importance_decay, s.pentagon),
    )
    total = sum(sw.steps for *_, sw in sweeps)
    done = 0
    arrays: dict[str, np.ndarray] = {}
    # One torch thread, as the Polysemanticity chapter measured: these sweeps
    # are too small for a second thread to pay for its synchronisation.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for offset, (name, model, n, m, decay, sw) in enumerate(sweeps):
            cfg = ToyConfig.sweep(
                n, m, importance=decay ** np.arange(n), density=list(sw.densities), model=model,
                n_seeds=sw.n_seeds, steps=sw.steps, batch_size=sw.batch_size, lr=sw.lr,
                lr_schedule=sw.lr_schedule,
            )
            report = None
            if progress is not None:
                report = (lambda base: (lambda step, _total: progress(base + step, total)))(done)
            tr = train(cfg, seed=seed + offset, device=device, progress=report)
            done += sw.steps
            arrays.update(tr.arrays(prefix=f"{name}_"))
    finally:
        torch.set_num_threads(threads)

    # the dictionary: hidden activations h = W x of the pentagon model on fresh data
    W = arrays["pentagon_W"][0].astype(np.float64)
    x = sample_inputs(s.pentagon_features, s.pentagon.densities[0], s.dictionary.samples, seed)
    H = x @ W.T
    fits = [fit_dictionary(H, s.dictionary, seed=seed * 1000 + r) for r in range(s.dictionary.restarts)]
    objectives = np.array([obj for _, _, obj in fits])
    best = int(np.argmin(objectives))
    arrays.update({
        "dictionary_D": fits[best][0],
        "dictionary_codes": fits[best][1].astype(np.float32),
        "dictionary_D_all": np.stack([d for d, _, _ in fits]),
        "dictionary_objective": objectives,
        "dictionary_x": x.astype(np.float32),
        "dictionary_H": H.astype(np.float32),
    })
    info: dict[str, Any] = {
        "neuron_densities": list(s.neuron.densities),
        "relu_densities": list(s.relu.densities),
        "pentagon_density": s.pentagon.densities[0],
        "dictionary_kept": best,
    }
    return Result("why-it-matters", asdict(s), seed, arrays=arrays, info=info)


def sample_inputs(n: int, density: float, samples: int, seed: int) -> np.ndarray:
    """(samples, n) inputs of the toy models: each feature 0 with probability
    1 − density, otherwise uniform on [0, 1]."""
    rng = np.random.default_rng(seed)
    return rng.random((samples, n)) * (rng.random((samples, n)) < density)


def sparse_codes(H: np.ndarray, D: np.ndarray, l1: float, steps: int) -> np.ndarray:
    """Non-negative codes A ≥ 0 minimising ½‖H − A Dᵀ‖² + l1 Σ A, by ISTA.

    ``H`` is (samples, m), ``D`` (m, atoms) with unit columns; the result is
    (samples, atoms)."""
    lipschitz = max(float(np.linalg.norm(D, 2)) ** 2, 1e-12)
    A = np.zeros((H.shape[0], D.shape[1]))
    for _ in range(steps):
        grad = (A @ D.T - H) @ D
        A = np.maximum(A - (grad + l1) / lipschitz, 0.0)
    return A


def fit_dictionary(H: np.ndarray, d: Dictionary, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Sparse coding by alternating minimisation: codes by ISTA, then the
    atoms by least squares, scaled back to length 1. Returns (D, codes, objective)."""
    rng = np.random.default_rng(seed)
    m = H.shape[1]
    D = rng.normal(size=(m, d.atoms))
    D /= np.linalg.norm(D, axis=0)
    for _ in range(d.iterations):
        A = sparse_codes(H, D, d.l1, d.ista_steps)
        D = np.linalg.lstsq(A, H, rcond=None)[0].T
        norms = np.linalg.norm(D, axis=0)
        dead = norms < 1e-8  # an atom no code uses starts again somewhere random
        D[:, dead] = rng.normal(size=(m, int(dead.sum())))
        D /= np.linalg.norm(D, axis=0)
    A = sparse_codes(H, D, d.l1, d.ista_steps)
    objective = 0.5 * float(np.square(H - A @ D.T).sum()) + d.l1 * float(A.sum())
    return D, A, objective

