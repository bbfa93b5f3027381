# %% [markdown]
# # Superposition: the notebook
#
# This notebook goes with the chapter *Superposition*. It trains the chapter's toy model
# (n = 5 features, m = 2 hidden dimensions, the ReLU-output model x' = ReLU(WᵀW x + b)) at
# several sparsities with the course's engine, redraws the chapter's figure, and then asks
# you to measure what the model learned.
#
# Each exercise is a cell with a `...` for you to replace, followed by a cell of checks that
# fails, with a hint, until your answer is right. The solutions are folded at the end.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from course import metrics as M
from course.engine import ToyConfig, train
from course_plugins.superposition.experiment import Settings

# QUICK = True trains on tiny settings (seconds; the numbers are not the science).
# The course's tests set COURSE_QUICK=1; for the chapter's own models leave it False.
QUICK = os.environ.get("COURSE_QUICK") == "1"

# %% [markdown]
# ## Train the chapter's models
#
# `Settings` are the chapter's own settings (the book trains exactly these);
# `ToyConfig.sweep` makes one level per sparsity S (feature density 1 − S), each trained from
# `n_seeds` random starts in one batched program, and `train` keeps the best seed of each level.
# With the chapter's settings this takes about a minute on a laptop CPU.

# %%
s = Settings.quick() if QUICK else Settings()
config = ToyConfig.sweep(
    s.n_features, s.n_hidden,
    importance=s.importance_decay ** np.arange(s.n_features),
    density=[1.0 - sp for sp in s.sparsities],
    model=s.model, n_seeds=s.n_seeds, steps=s.steps, batch_size=s.batch_size, lr=s.lr,
)
trained = train(config, seed=0)
W = trained.best_W  # (sparsities, m, n): column i of W[k] is feature i's direction
print("sparsities:", s.sparsities)
print("W:", W.shape, " loss per sparsity:", np.round(trained.best_loss, 4))

# %% [markdown]
# ## The chapter's figure
#
# Top row: each feature's column of W as an arrow in the two hidden dimensions (a feature
# whose arrow is shorter than 0.5 is not represented and is left out). Bottom row: WᵀW, whose
# off-diagonal entries are the interference between features.

# %%
k = len(s.sparsities)
fig, axes = plt.subplots(2, k, figsize=(2.3 * k, 4.8))
for j, sp in enumerate(s.sparsities):
    ax = axes[0, j]
    ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="grey", lw=0.8, ls="--"))
    for i in range(s.n_features):
        v = W[j][:, i]
        if np.linalg.norm(v) > M.REPRESENTED:
            ax.annotate("", xy=(v[0], v[1]), xytext=(0, 0), arrowprops={"arrowstyle": "-|>", "color": f"C{i}", "lw": 2})
    ax.set(xlim=(-1.4, 1.4), ylim=(-1.4, 1.4), aspect="equal", xticks=[], yticks=[])
    ax.set_title(f"S = {sp:g}\n{int(M.represented(W[j]).sum())} features")
    axes[1, j].imshow(M.gram(W[j]), cmap="RdBu_r", vmin=-1.2, vmax=1.2)
    axes[1, j].set(xticks=[], yticks=[], title="WᵀW")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Exercise 1: a feature's dimensionality, by hand
#
# The paper measures how much of a dimension feature i owns with
#
# $$D_i = \frac{\lVert W_i \rVert^2}{\sum_j (\hat W_i \cdot W_j)^2},$$
#
# the sum over every feature j, including i itself (Ŵ_i = W_i / ‖W_i‖). A feature alone in its
# dimension has D_i = 1, one of an antipodal pair 1/2, one corner of a pentagon 2/5.
#
# Compute D_i for every feature of the sparsest model, `W[-1]` (shape (2, 5)), with numpy only,
# as a 1-d array `dims` of 5 numbers. (Every feature of this W is represented, or nearly:
# you need not treat a zero column specially.)

# %% tags=["exercise"]
Wk = W[-1]
dims = ...  # your code: an array of 5 numbers, D_i for each feature of Wk

# %% tags=["solution"]
Wk = W[-1]
unit = Wk / np.linalg.norm(Wk, axis=0, keepdims=True)
dims = (Wk**2).sum(axis=0) / ((unit.T @ Wk) ** 2).sum(axis=1)

# %% tags=["check"]
assert dims is not ..., "Exercise 1: replace the ... in the cell above with your computation of D_i."
dims = np.asarray(dims, dtype=float)
assert dims.shape == (s.n_features,), f"Exercise 1: expected one D_i per feature, shape ({s.n_features},), got {dims.shape}."
expected = M.feature_dimensionality(Wk)
assert np.allclose(dims, expected, atol=1e-4), (
    "Exercise 1: not yet. Check that the denominator sums over every j including i, "
    f"and that you project onto the unit vector Ŵ_i. Yours: {np.round(dims, 3)}"
)
print("Exercise 1 done: D_i =", np.round(dims, 3))

# %% [markdown]
# ## Exercise 2: how many features does each model represent?
#
# First *predict*: with no sparsity (S = 0), two hidden dimensions and five features of
# decreasing importance, how many features should the model represent? Then count them for
# every model: a feature is represented when its column's norm ‖W_i‖ exceeds 0.5
# (`M.REPRESENTED`). Make `counts` a list with one integer per sparsity, in the order of
# `s.sparsities`.

# %% tags=["exercise"]
counts = ...  # your code: one integer per sparsity

# %% tags=["solution"]
counts = [int((np.linalg.norm(W[j], axis=0) > M.REPRESENTED).sum()) for j in range(len(s.sparsities))]

# %% tags=["check"]
assert counts is not ..., "Exercise 2: replace the ... with one count per sparsity."
assert len(counts) == len(s.sparsities), f"Exercise 2: give one count per sparsity ({len(s.sparsities)} of them)."
measured = [int(M.represented(W[j]).sum()) for j in range(len(s.sparsities))]
assert list(map(int, counts)) == measured, (
    "Exercise 2: not yet. The norm of feature i is the length of column i of W[j] "
    "(np.linalg.norm(..., axis=0)); count the norms above 0.5."
)
print("Exercise 2 done:", dict(zip(s.sparsities, counts, strict=True)))
if not QUICK:
    print("The dense model keeps", counts[0], "features: did you predict m = 2?")

# %% [markdown]
# ## Exercise 3: dimensions per feature
#
# The paper's D* = m / ‖W‖_F² is how many hidden dimensions each stored feature gets:
# 1 in the dense regime, 1/2 for antipodal pairs. Compute ‖W‖_F² (the sum of the squares of
# every entry) for each model as `frob_sq`, one number per sparsity, and from it `d_star`.
# Then look: does D* fall as S grows?

# %% tags=["exercise"]
frob_sq = ...  # your code: ‖W‖_F² per sparsity
d_star = ...  # your code: m / ‖W‖_F² per sparsity

# %% tags=["solution"]
frob_sq = (W**2).sum(axis=(1, 2))
d_star = s.n_hidden / frob_sq

# %% tags=["check"]
assert frob_sq is not ... and d_star is not ..., "Exercise 3: fill in both frob_sq and d_star."
assert np.allclose(np.asarray(frob_sq, dtype=float), M.features_learned(W), rtol=1e-4), (
    "Exercise 3: ‖W‖_F² is the sum of W[j]**2 over both axes of each model (axis=(1, 2) of W)."
)
assert np.allclose(np.asarray(d_star, dtype=float), M.dimensions_per_feature(W), rtol=1e-4), (
    "Exercise 3: D* is the number of hidden dimensions, s.n_hidden, divided by ‖W‖_F²."
)
print("Exercise 3 done: D* per sparsity:", np.round(d_star, 3))

# %% [markdown] tags=["solutions"]
# ## Solutions
#
# One solution per exercise; open a cell to read it (its code is folded).
