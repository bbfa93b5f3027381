"""The safety chapter's numbers: what switching off a neuron breaks, how far an
attack can push a model, what a neuron-by-neuron reading misses, and what a
sparse dictionary recovers; and the claims judged on them.

Every measure takes plain weights (W, b, importance, density) so that the
tests can run it on hand-built models whose answer is known.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from course import Judgement, Result
from course import jsonable as _f
from course import metrics as M
from course_plugins.safety.experiment import sample_inputs

#: a neuron is monosemantic when one feature holds more than this share of the
#: length of its positive weights (the Polysemanticity chapter's threshold)
MONO_THRESHOLD = 0.9
#: a neuron whose positive weights have a norm below this never fires: dead
DEAD = 0.1
#: switching off a neuron harms feature i when feature i's loss rises by more
#: than this share of what forgetting the feature entirely costs (I_i E[x_i²])
HARMED = 0.1
#: inputs drawn to measure the ablations and the attacks
ABLATION_SAMPLES = 32_768
ATTACK_SAMPLES = 4096
#: the attack's L2 budget, as a share of the average input norm (the paper's 0.1)
ATTACK_FRACTION = 0.1
#: the gradient attack: steps of projected gradient ascent, each this share of the budget
PGD_STEPS = 50
PGD_STEP = 0.1

#: tolerances of the claims, stated beside them in the report
DENSE_DENSITY_MIN = 0.5  # the densest neuron model is trained at least this dense
RISE_MIN = 3.0  # the paper's "increasing by >3x"
FORMED_MIN = 1.5  # ... "as superposition forms": 1/D* at that level above this × the densest's
TRACK_RANK_MIN = 0.8  # Spearman rank correlation of vulnerability with 1/D*
DICT_COS_MIN = 0.95  # cosine of each recovered direction to the true W_i


# --------------------------------------------------------------------------- side effects


def neuron_forward(W: np.ndarray, b: np.ndarray, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """x' = ReLU(Wᵀ (mask ⊙ ReLU(W x)) + b) for a batch x (samples, n)."""
    h = np.maximum(x @ W.T, 0.0)
    if mask is not None:
        h = h * mask
    return np.maximum(h @ W + b, 0.0)


def ablation_damage(W: np.ndarray, b: np.ndarray, importance: np.ndarray, density: float,
                    x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(damage, clean): ``damage[i, k]`` is how much feature i's loss rises when
    neuron k is switched off, as a share of I_i E[x_i²] = I_i · density / 3 (the
    cost of forgetting feature i); ``clean`` is each feature's loss, in the same units."""
    W, b, imp = (np.asarray(a, dtype=np.float64) for a in (W, b, importance))
    m = W.shape[0]
    forget = np.maximum(imp * density / 3.0, 1e-12)

    def per_feature(mask: np.ndarray | None) -> np.ndarray:
        return (imp * np.square(x - neuron_forward(W, b, x, mask))).mean(axis=0)

    clean = per_feature(None)
    damage = np.stack([per_feature((np.arange(m) != k).astype(float)) - clean for k in range(m)], axis=1)
    return damage / forget[:, None], clean / forget


def neuron_level(W: np.ndarray, b: np.ndarray, importance: np.ndarray, density: float,
                 seed: int = 0, samples: int = ABLATION_SAMPLES) -> dict[str, Any]:
    """One neuron model: each neuron's ablation damage, who it harms, what a
    neuron-by-neuron reading lists, and what the model represents."""
    W = np.asarray(W, dtype=np.float64)
    x = sample_inputs(W.shape[1], density, samples, seed)
    damage, clean = ablation_damage(W, b, importance, density, x)
    harmed = damage > HARMED
    poly = M.neuron_polysemanticity(W, threshold=MONO_THRESHOLD, positive=True)
    alive = np.linalg.norm(np.clip(W, 0, None), axis=1) > DEAD
    mono = np.asarray(poly.monosemantic) & alive
    dominant = np.argmax(np.clip(W, 0, None), axis=1)
    readable = sorted({int(dominant[k]) for k in np.flatnonzero(mono)})
    represented = [int(i) for i in np.flatnonzero(M.represented(W))]
    return {
        "density": _f(density),
        "sparsity": _f(1.0 - density),
        "damage": _f(damage, 4),
        "clean_loss": _f(clean, 4),
        "harmed": [int(c) for c in harmed.sum(axis=0)],
        "worst_damage": _f(damage.max(axis=0), 4),
        "harmed_features": [[int(i) for i in np.flatnonzero(harmed[:, k])] for k in range(W.shape[0])],
        "monosemantic": [bool(v) for v in mono],
        "alive": [bool(v) for v in alive],
        "monosemanticity": _f(poly.monosemanticity),
        "dominant": [int(d) for d in dominant],
        "monosemantic_neurons": int(mono.sum()),
        "polysemantic_neurons": int((alive & ~mono).sum()),
        "readable": readable,
        "features_readable": len(readable),
        "represented": represented,
        "features_represented": len(represented),
        "missed": [i for i in represented if i not in readable],
        "feature_norms": _f(M.feature_norms(W)),
    }


def showcase(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The level and the two neurons the figure and the video single out: the
    sparsest level where monosemantic and polysemantic neurons live side by
    side (else the sparsest), its monosemantic neuron that harms fewest
    features (else the neuron that does), and the neuron that harms most."""
    mixed = [k for k, r in enumerate(runs) if r["monosemantic_neurons"] and r["polysemantic_neurons"]]
    level = mixed[-1] if mixed else len(runs) - 1
    r = runs[level]
    harmed = r["harmed"]
    monos = [k for k, mono in enumerate(r["monosemantic"]) if mono]
    quiet = min(monos or range(len(harmed)), key=lambda k: (harmed[k], k))
    loud = max((k for k in range(len(harmed)) if k != quiet), key=lambda k: (harmed[k], -k), default=quiet)
    return {"level": level, "quiet": int(quiet), "loud": int(loud)}


# --------------------------------------------------------------------------- attacks


def relu_forward(W: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """x' = ReLU(WᵀW x + b) for a batch x (samples, n)."""
    return np.maximum(x @ W.T @ W + b, 0.0)


def attack_directions(W: np.ndarray) -> np.ndarray:
    """The paper's analytic attack on each feature, (WᵀW)_i / ‖(WᵀW)_i‖: the
    unit input direction that raises output i fastest. Rows of zeros for
    features the model ignores."""
    G = M.gram(np.asarray(W, dtype=np.float64))
    norms = np.linalg.norm(G, axis=1, keepdims=True)
    return np.where(norms > M.EPS, G / np.maximum(norms, M.EPS), 0.0)


def loss_increase(W: np.ndarray, b: np.ndarray, importance: np.ndarray, x: np.ndarray,
                  z: np.ndarray) -> np.ndarray:
    """Per input, Σ_j I_j (x_j − x'_j(z))² − Σ_j I_j (x_j − x'_j(x))²: how much
    worse the model reports the true features x when it is shown z instead."""
    imp = np.asarray(importance, dtype=np.float64)
    clean = (imp * np.square(x - relu_forward(W, b, x))).sum(-1)
    return (imp * np.square(x - relu_forward(W, b, z))).sum(-1) - clean


def analytic_attacks(W: np.ndarray, b: np.ndarray, importance: np.ndarray, x: np.ndarray,
                     eps: float) -> np.ndarray:
    """(features, samples): the loss increase of the analytic attack ε (WᵀW)_i/‖(WᵀW)_i‖
    on each feature i, added to every input (inputs may leave [0, 1])."""
    dirs = attack_directions(W)
    return np.stack([loss_increase(W, b, importance, x, x + eps * dirs[i]) for i in range(dirs.shape[0])])


def gradient_attack(W: np.ndarray, b: np.ndarray, importance: np.ndarray, x: np.ndarray, eps: float,
                    start: np.ndarray, steps: int = PGD_STEPS) -> np.ndarray:
    """Per input, the loss increase of an L2 attack of norm at most ε found by
    projected gradient ascent from ``start`` (the best analytic attack of each
    input); never less than the start's.

    The gradient of Σ_j I_j (x_j − x'_j)² with respect to the perturbation d,
    for x' = ReLU((x + d) WᵀW + b), is −2 [I ⊙ (x − x') ⊙ 1(pre-activation > 0)] WᵀW."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tensors this small only lose time to a second thread
    try:
        Wt, bt, It, xt = (torch.as_tensor(np.asarray(a, dtype=np.float64)) for a in (W, b, importance, x))
        G = Wt.T @ Wt
        d = torch.as_tensor(np.array(start, dtype=np.float64))
        for _ in range(steps):
            pre = (xt + d) @ G + bt
            grad = -2.0 * (It * (xt - pre.clamp_min(0.0)) * (pre > 0)) @ G
            d = d + PGD_STEP * eps * grad / grad.norm(dim=1, keepdim=True).clamp_min(1e-12)
            d = d * (eps / d.norm(dim=1, keepdim=True).clamp_min(1e-12)).clamp(max=1.0)
    finally:
        torch.set_num_threads(before)
    found = loss_increase(W, b, importance, x, x + d.numpy())
    return np.maximum(found, loss_increase(W, b, importance, x, x + start))


def reference_model(n: int, m: int, density: float) -> tuple[np.ndarray, np.ndarray]:
    """The model without superposition that the attacks are measured against:
    the m most important features on their own axes (what the linear model
    learns), the others dropped and set to their mean density/2 by the bias."""
    k = min(m, n)
    W0 = np.zeros((k, n))
    W0[:, :k] = np.eye(k)
    b0 = np.zeros(n)
    b0[k:] = density / 2.0
    return W0, b0


def attack_level(W: np.ndarray, b: np.ndarray, importance: np.ndarray, density: float,
                 seed: int = 0, samples: int = ATTACK_SAMPLES) -> dict[str, Any]:
    """One ReLU-output model under attack, relative to :func:`reference_model`.

    ``vulnerability`` is the paper's (L' − L) / (L'_0 − L_0): the loss increase
    of the analytic attack that most harms the model on average (one attack for
    all inputs), over the same for the reference model. ``vulnerability_per_input``
    lets each input take its own worst analytic attack; ``vulnerability_gradient``
    refines that with projected gradient ascent. ``false_activation`` is, under
    the model's worst analytic attack on feature i, the mean over inputs of the
    largest rise of another output x'_j (j ≠ i), in units of the budget ε."""
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    imp = np.asarray(importance, dtype=np.float64)
    m, n = W.shape
    x = sample_inputs(n, density, samples, seed)
    eps = ATTACK_FRACTION * float(np.linalg.norm(x, axis=1).mean())
    W0, b0 = reference_model(n, m, density)
    frob = float(M.features_learned(W))
    out: dict[str, Any] = {
        "density": _f(density),
        "sparsity": _f(1.0 - density),
        "eps": _f(eps),
        "n_features": int(n),
        "n_hidden": int(m),
        "features_per_dimension": _f(frob / m),
        "features_represented": int(M.represented(W).sum()),
        "bias_min": _f(float(b.min())),
    }
    if eps <= 0.0:  # no input was drawn with a feature present: nothing to attack
        return {**out, "attacked": 0, "attacked_bias": 0.0, "vulnerability": 0.0,
                "vulnerability_per_input": 0.0, "vulnerability_gradient": 0.0, "false_activation": 0.0,
                "reference_increase": 0.0}
    incs = analytic_attacks(W, b, imp, x, eps)
    ref = analytic_attacks(W0, b0, imp, x, eps)
    worst = int(np.argmax(incs.mean(axis=1)))
    ref_univ = max(float(ref.mean(axis=1).max()), 1e-30)
    ref_each = max(float(ref.max(axis=0).mean()), 1e-30)
    dirs, dirs0 = attack_directions(W), attack_directions(W0)
    start = eps * dirs[np.argmax(incs, axis=0)]
    start0 = eps * dirs0[np.argmax(ref, axis=0)]
    pgd = gradient_attack(W, b, imp, x, eps, start).mean()
    pgd0 = max(float(gradient_attack(W0, b0, imp, x, eps, start0).mean()), 1e-30)
    rise = relu_forward(W, b, x + eps * dirs[worst]) - relu_forward(W, b, x)
    rise[:, worst] = 0.0
    return {
        **out,
        "attacked": worst,
        "attacked_bias": _f(float(b[worst])),
        "vulnerability": _f(float(incs[worst].mean()) / ref_univ),
        "vulnerability_per_input": _f(float(incs.max(axis=0).mean()) / ref_each),
        "vulnerability_gradient": _f(float(pgd) / pgd0),
        "false_activation": _f(float(np.clip(rise, 0, None).max(axis=1).mean()) / eps),
        "reference_increase": _f(ref_univ / eps**2),
    }


def rank_correlation(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation (ties get their average rank); 0 when either
    list is constant."""
    def ranks(v: list[float]) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64)
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v), dtype=np.float64)
        for value in np.unique(v):
            tie = v == value
            r[tie] = r[tie].mean()
        return r

    return pearson(list(ranks(a)), list(ranks(b)))


def pearson(a: list[float], b: list[float]) -> float:
    """Pearson's correlation; 0 when either list is constant (or shorter than 2)."""
    a_, b_ = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a_) < 2 or np.ptp(a_) < 1e-12 or np.ptp(b_) < 1e-12:
        return 0.0
    return float(np.corrcoef(a_, b_)[0, 1])


# --------------------------------------------------------------------------- dictionary


def best_matching(C: np.ndarray) -> list[int]:
    """The one-to-one assignment of features (rows of ``C``) to atoms (columns)
    with the largest total ``C``; a feature left without an atom (more features
    than atoms) gets -1. Exhaustive, for the handful of atoms used here."""
    n, k = C.shape
    best: list[int] = [-1] * n
    best_score = -np.inf
    for atoms in itertools.permutations(range(k), min(n, k)):
        for rows in itertools.combinations(range(n), len(atoms)):
            score = sum(C[r, a] for r, a in zip(rows, atoms, strict=True))
            if score > best_score:
                best_score = score
                best = [-1] * n
                for r, a in zip(rows, atoms, strict=True):
                    best[r] = int(a)
    return best


def recovery(W: np.ndarray, D: np.ndarray) -> dict[str, Any]:
    """How well the atoms (columns of ``D``, m × atoms) recover the feature
    directions W_i: each feature's cosine to the atom it is matched with one to
    one (0 when it gets none), and how many reach :data:`DICT_COS_MIN`."""
    W = np.asarray(W, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    unit_W = W / np.maximum(np.linalg.norm(W, axis=0, keepdims=True), M.EPS)
    unit_D = D / np.maximum(np.linalg.norm(D, axis=0, keepdims=True), M.EPS)
    C = unit_W.T @ unit_D
    match = best_matching(C)
    cos = [float(C[i, a]) if a >= 0 else 0.0 for i, a in enumerate(match)]
    return {"match": match, "cosines": _f(cos, 4), "recovered": sum(c >= DICT_COS_MIN for c in cos),
            "atoms": int(D.shape[1])}


def hidden_basis(H: np.ndarray) -> np.ndarray:
    """The m principal directions of the hidden activations (m × m, columns),
    the best a reader of the hidden space's own axes could use; their signs are
    chosen to point along the activations."""
    _, _, vt = np.linalg.svd(np.asarray(H, dtype=np.float64), full_matrices=False)
    basis = vt.T
    signs = np.sign((np.asarray(H) @ basis).sum(axis=0))
    return basis * np.where(signs == 0, 1.0, signs)


def dictionary_metrics(W: np.ndarray, D: np.ndarray, H: np.ndarray, x: np.ndarray,
                       codes: np.ndarray) -> dict[str, Any]:
    """The dictionary's recovery, next to the hidden space's own m directions,
    and how well each matched code follows its feature's value."""
    rec = recovery(W, D)
    # a reader of the hidden axes may read one axis as several features: no one-to-one matching
    unit_W = np.asarray(W, dtype=np.float64) / np.maximum(np.linalg.norm(W, axis=0, keepdims=True), M.EPS)
    basis = np.abs(unit_W.T @ hidden_basis(H)).max(axis=1)
    corr = []
    for i, a in enumerate(rec["match"]):
        corr.append(pearson(list(codes[:, a]), list(x[:, i])) if a >= 0 else 0.0)
    return {
        **rec,
        "basis_cosines": _f(basis, 4),
        "basis_recovered": int((basis >= DICT_COS_MIN).sum()),
        "code_correlation": _f(corr, 4),
        "n_features": int(np.asarray(W).shape[1]),
        "n_hidden": int(np.asarray(W).shape[0]),
        "feature_dimensionality": _f(M.feature_dimensionality(np.asarray(W, dtype=np.float64))),
    }


# --------------------------------------------------------------------------- metrics and claims


def metrics(result: Result) -> dict[str, Any]:
    """The neuron models (ablations, readings), the ReLU sweep under attack and the dictionary."""
    seed = int(result.seed)
    W, b, imp = (result[f"neuron_{k}"].astype(np.float64) for k in ("W", "b", "importance"))
    runs = [neuron_level(W[k], b[k], imp[k], d, seed=seed + k)
            for k, d in enumerate(result.info["neuron_densities"])]
    rW, rb, rimp = (result[f"relu_{k}"].astype(np.float64) for k in ("W", "b", "importance"))
    attack = [attack_level(rW[k], rb[k], rimp[k], d, seed=seed + 100 + k)
              for k, d in enumerate(result.info["relu_densities"])]
    dictionary = dictionary_metrics(result["pentagon_W"][0], result["dictionary_D"], result["dictionary_H"],
                                    result["dictionary_x"], result["dictionary_codes"])
    return assemble(runs, attack, dictionary)


def assemble(runs: list[dict[str, Any]], attack: list[dict[str, Any]],
             dictionary: dict[str, Any]) -> dict[str, Any]:
    """The metrics dict from the three measurements (tests build it from hand-made weights)."""
    vuln = [a["vulnerability"] for a in attack]
    fpd = [a["features_per_dimension"] for a in attack]
    m = len(runs[0]["harmed"]) if runs else 0
    # monosemantic by their weights, yet switching them off harms several features
    # (their negative weights hold other features' stray activations down)
    surprises = [{"density": r["density"], "neuron": k, "harmed": r["harmed"][k],
                  "features": r["harmed_features"][k], "dominant": r["dominant"][k]}
                 for r in runs for k in range(m) if r["monosemantic"][k] and r["harmed"][k] > 1]
    return {
        "monosemantic_side_effects": surprises,
        "runs": runs,
        "attack": attack,
        "dictionary": dictionary,
        "n_features": len(runs[0]["feature_norms"]) if runs else 0,
        "n_hidden": m,
        "showcase": showcase(runs) if runs else {"level": 0, "quiet": 0, "loud": 0},
        "attack_rank_correlation": _f(rank_correlation(vuln, fpd)),
        "attack_pearson": _f(pearson(vuln, fpd)),
        "attack_peak": int(np.argmax(vuln)) if vuln else 0,
        # the largest vulnerability over the densest model's (0 when that is 0)
        "attack_peak_ratio": _f(max(vuln) / vuln[0] if vuln and vuln[0] > 0 else 0.0),
        "thresholds": {"mono": MONO_THRESHOLD, "harmed": HARMED, "represented": M.REPRESENTED,
                       "attack_fraction": ATTACK_FRACTION, "dictionary_cos": DICT_COS_MIN,
                       "pgd_steps": PGD_STEPS},
    }


def claims(metrics: dict[str, Any]) -> list[Judgement]:
    """Ablation side effects, the reading gap, the attack's rise and tracking, the dictionary."""
    runs, attack, dic = metrics["runs"], metrics["attack"], metrics["dictionary"]
    m = metrics["n_hidden"]
    out = []
    dense, sparse = runs[0], runs[-1]
    out.append(Judgement(
        "ablation-monosemantic-one",
        dense["density"] >= DENSE_DENSITY_MIN and dense["monosemantic_neurons"] == m
        and all(h == 1 for h in dense["harmed"]),
        {"run": dense, "m": m, "density_min": DENSE_DENSITY_MIN, "harmed_share": HARMED},
    ))
    poly = [(r["density"], k, r["harmed"][k]) for r in runs for k in range(m)
            if r["alive"][k] and not r["monosemantic"][k]]
    out.append(Judgement(
        "ablation-polysemantic-several",
        bool(poly) and all(h >= 2 for _, _, h in poly),
        {"count": len(poly), "min": min((h for *_, h in poly), default=0),
         "mean": _f(float(np.mean([h for *_, h in poly])) if poly else 0.0),
         "levels": len(runs), "harmed_share": HARMED,
         "sparse": sparse, "m": m},
    ))
    out.append(Judgement(
        "reading-gap",
        dense["readable"] == dense["represented"]
        and sparse["features_readable"] < sparse["features_represented"],
        {"dense": dense, "sparse": sparse, "threshold": MONO_THRESHOLD, "represented": M.REPRESENTED},
    ))
    vuln = [a["vulnerability"] for a in attack]
    base = attack[0]
    peak = int(np.argmax(vuln[1:])) + 1 if len(vuln) > 1 else 0
    ratio = vuln[peak] / base["vulnerability"] if base["vulnerability"] > 0 else 0.0
    out.append(Judgement(
        "attack-rise",
        # the rise must come with superposition: an untrained model, the same at every
        # density, can show a threefold change of this ratio by chance
        len(vuln) > 1 and ratio > RISE_MIN
        and attack[peak]["features_per_dimension"] > FORMED_MIN * base["features_per_dimension"],
        {"base": base, "peak": attack[peak], "ratio": _f(ratio), "last": attack[-1], "levels": len(vuln),
         "last_ratio": _f(vuln[-1] / base["vulnerability"] if base["vulnerability"] > 0 else 0.0),
         "rise_min": RISE_MIN, "formed_min": FORMED_MIN},
    ))
    out.append(Judgement(
        "attack-tracks",
        metrics["attack_rank_correlation"] >= TRACK_RANK_MIN,
        {"rank": metrics["attack_rank_correlation"], "pearson": metrics["attack_pearson"],
         "rank_min": TRACK_RANK_MIN, "attack": attack},
    ))
    out.append(Judgement(
        "dictionary-recovers",
        dic["recovered"] == dic["n_features"],
        {"dictionary": dic, "cos_min": DICT_COS_MIN},
    ))
    return out
