# %% [markdown]
# # Terminology map: the notebook
#
# This notebook goes with the chapter *Terminology map*. Nothing is trained here: the chapter
# builds four small codes by hand (two or four features in two neurons, local or turned by an
# angle), measures what each one is, and draws them as a map. This notebook rebuilds that map
# with the plugin's own code, prints the numbers behind it, and then asks you to tell the words
# apart yourself: when is a code in superposition, and what do ‖W‖_F² and D_i see?
#
# Each exercise is a cell with a `...` for you to replace, followed by a cell of checks that
# fails, with a hint, until your answer is right. The solutions are folded at the end.

# %%
import os
import tempfile
from pathlib import Path

import numpy as np
from IPython.display import Image, display

from course import metrics as M
from course_plugins.terminology import analysis, figures
from course_plugins.terminology.experiment import Settings, run

# QUICK = True would use tiny settings elsewhere in the course; here nothing is trained, so the
# quick settings are the chapter's own. The course's tests set COURSE_QUICK=1.
QUICK = os.environ.get("COURSE_QUICK") == "1"

# %% [markdown]
# ## Build the chapter's codes
#
# `run` builds the four weight matrices of the map, each an array `result[NAME]` of shape
# (m, n) = (neurons, features), one column per feature: `local` (the identity), `distributed`
# (the identity turned by 45°), `superposed-local` (four features as two antipodal pairs on
# the neuron axes) and `superposed-distributed` (those pairs turned by 45°).

# %%
s = Settings.quick() if QUICK else Settings()
result = run(s, seed=0)
metrics = analysis.metrics(result)
names = list(result.info["codes"])
codes = {name: result[name] for name in names}
for name, W in codes.items():
    print(f"{name}: W has shape {W.shape}\n{np.round(W, 3)}")

# %% [markdown]
# ## The chapter's map
#
# Each code as arrows (its columns) next to its WᵀW, and under the grid what each word is about.

# %%
drawn = figures.draw(result, metrics, Path(tempfile.mkdtemp()))
display(Image(filename=str(drawn["map"])))

# %% [markdown]
# The numbers behind the map, measured with `course.metrics` by the plugin's `analysis`:

# %%
print(f"{'code':24} {'superposition':>13} {'distributed':>11} {'polysemantic':>12} {'interference':>12}")
for r in metrics["runs"]:
    print(f"{r['code']:24} {str(r['superposition']):>13} {str(r['distributed']):>11} "
          f"{r['polysemantic_neurons']:>9}/{r['n_hidden']} {r['max_interference']:>12.2f}")

# %% [markdown]
# ## Exercise 1: is this code in superposition?
#
# The paper's test: a layer is in superposition when WᵀW of its *represented* features is not
# invertible, that is when its rank is below their number. A feature is represented when its
# column is long enough, ‖W_i‖ > 0.5 (`M.REPRESENTED`). The restriction matters: WᵀW of all n
# columns has rank at most m, so over all columns it is singular whenever n > m.
#
# Here are two more codes, each with three features in two neurons:
#
# - `linear`: what the linear model learns, two features on the two neurons and the third left
#   out (a zero column);
# - `triangle`: three unit arrows 120° apart.
#
# **Predict first**: the rank of WᵀW over all three columns is 2 in both. Which of them is in
# superposition? Then compute, for each code in the order of `extra`, the number of
# represented features (`counts`), the rank of WᵀW restricted to them (`ranks`, e.g. with
# `np.linalg.matrix_rank`), and whether the code is in superposition (`superposed`, booleans).

# %%
angles = np.radians([90.0, 210.0, 330.0])
extra = {
    "linear": np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
    "triangle": np.stack([np.cos(angles), np.sin(angles)]),
}
print("rank of WᵀW over all columns:", {k: int(np.linalg.matrix_rank(W.T @ W)) for k, W in extra.items()})

# %% tags=["exercise"]
counts = ...  # your code: one integer per code of extra, the represented features
ranks = ...  # your code: one integer per code, the rank of WᵀW over the represented features
superposed = ...  # your code: one boolean per code

# %% tags=["solution"]
counts, ranks, superposed = [], [], []
for W in extra.values():
    keep = np.linalg.norm(W, axis=0) > M.REPRESENTED
    Wr = W[:, keep]
    counts.append(int(keep.sum()))
    ranks.append(int(np.linalg.matrix_rank(Wr.T @ Wr)))
    superposed.append(ranks[-1] < counts[-1])

# %% tags=["check"]
assert counts is not ... and ranks is not ... and superposed is not ..., (
    "Exercise 1: fill in counts, ranks and superposed (one entry per code of extra)."
)
assert len(counts) == len(ranks) == len(superposed) == len(extra), (
    f"Exercise 1: give one entry per code of extra ({len(extra)} of them) in each list."
)
for k, (name, W) in enumerate(extra.items()):
    keep = np.asarray(M.represented(W), dtype=bool)
    assert int(counts[k]) == int(keep.sum()), (
        f"Exercise 1: not yet: {name} represents {int(keep.sum())} features, not {counts[k]}. "
        "A feature is represented when its column's norm (np.linalg.norm(W, axis=0)) exceeds 0.5."
    )
    rank = int(M.gram_rank(W[:, keep]))
    assert int(ranks[k]) == rank, (
        f"Exercise 1: not yet: the rank for {name} is {rank}. Keep only the represented columns, "
        "W[:, keep], before forming WᵀW."
    )
    assert bool(superposed[k]) == (rank < int(keep.sum())), (
        f"Exercise 1: not yet for {name}: superposition means rank < the number of represented features."
    )
print("Exercise 1 done:", dict(zip(extra, map(bool, superposed), strict=True)))
print("The linear code leaves a feature out; the triangle squeezes three into two dimensions.")

# %% [markdown]
# ## Exercise 2: what ‖W‖_F² and D_i see, and what they do not
#
# ‖W‖_F² = Σ_i ‖W_i‖² is roughly how many features a code represents, and
#
# $$D_i = \frac{\lVert W_i \rVert^2}{\sum_j (\hat W_i \cdot W_j)^2}$$
#
# (the sum over every feature j, including i; Ŵ_i = W_i / ‖W_i‖) is the fraction of a
# dimension feature i owns: 1 alone, 1/2 in an antipodal pair.
#
# **Predict first**: turning a code by 45° makes it distributed. Does it change ‖W‖_F² or D_i?
# Then compute, for each of the chapter's four codes in the order of `names`, ‖W‖_F² as
# `frob_sq` (one number per code) and D_i as `dims` (one array per code, one number per
# feature). Every feature of these codes is represented: no zero column to treat specially.

# %% tags=["exercise"]
frob_sq = ...  # your code: ‖W‖_F² for each code of names
dims = ...  # your code: for each code, an array of D_i, one per feature

# %% tags=["solution"]
frob_sq = [float((codes[name] ** 2).sum()) for name in names]
dims = []
for name in names:
    W = codes[name]
    What = W / np.linalg.norm(W, axis=0, keepdims=True)
    dims.append((W**2).sum(axis=0) / ((What.T @ W) ** 2).sum(axis=1))

# %% tags=["check"]
assert frob_sq is not ... and dims is not ..., "Exercise 2: fill in both frob_sq and dims."
assert len(frob_sq) == len(dims) == len(names), f"Exercise 2: give one entry per code ({len(names)} of them)."
for k, name in enumerate(names):
    W = codes[name]
    assert np.isclose(float(frob_sq[k]), float(M.features_learned(W)), rtol=1e-6), (
        f"Exercise 2: not yet: ‖W‖_F² of {name} is the sum of the squares of every entry of W."
    )
    mine = np.asarray(dims[k], dtype=float)
    assert mine.shape == (W.shape[1],), f"Exercise 2: {name} has {W.shape[1]} features: give one D_i each."
    assert np.allclose(mine, M.feature_dimensionality(W), atol=1e-6), (
        f"Exercise 2: not yet for {name}: the denominator sums (Ŵ_i · W_j)² over every j including i. "
        f"Yours: {np.round(mine, 3)}"
    )
print("Exercise 2 done.")
for k, name in enumerate(names):
    print(f"{name:24} ‖W‖_F² = {frob_sq[k]:.2f}   D_i = {np.round(dims[k], 2)}")
print("A rotation leaves both unchanged: they see superposition, not how distributed a code is.")

# %% [markdown] tags=["solutions"]
# ## Solutions
#
# One solution per exercise; open a cell to read it (its code is folded).
