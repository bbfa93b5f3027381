# %% [markdown]
# # Interference: the notebook
#
# This notebook goes with the chapter *Interference*. It trains the models the chapter reads
# (the Sparsity chapter's sweep, and a small ReLU-output model of n = 5 features in m = 2
# dimensions) with the course's engine, redraws the chapter's first figure, and then asks you
# to compute interference and the linear model's loss split yourself.
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
from course_plugins.interference import analysis, figures
from course_plugins.sparsity.experiment import Settings, run

# QUICK = True trains on tiny settings (seconds; the numbers are not the science).
# The course's tests set COURSE_QUICK=1; for the chapter's own models leave it False.
QUICK = os.environ.get("COURSE_QUICK") == "1"

# %% [markdown]
# ## Train the chapter's models
#
# The chapter shares the Sparsity chapter's experiment: the same `Settings` and `run`, which
# trains every model in batched programs of `course.engine` (a few minutes on a laptop CPU
# with the chapter's settings).

# %%
s = Settings.quick() if QUICK else Settings()
result = run(s, seed=0)
metrics = analysis.metrics(result)
W_arrows = result["arrows_W"][0]  # (2, 5): the small ReLU model, one column per feature
print("arrows model W:", W_arrows.shape, " density:", result.info["arrows_density"])

# %% [markdown]
# ## The chapter's figure

# %%
drawn = figures.draw(result, metrics, Path(tempfile.mkdtemp()))
display(Image(filename=str(drawn["reading"])))

# %% [markdown]
# ## Exercise 1: interference on each feature
#
# How strongly do the other features project onto feature i's direction? The paper measures
#
# $$\sum_{j \ne i} (\hat W_i \cdot W_j)^2,$$
#
# with Ŵ_i = W_i / ‖W_i‖. Compute it for every feature of `W_arrows` as `interf`, an array of
# 5 numbers. (A feature with a zero column has Ŵ_i = 0, so no interference: guard the division.)

# %% tags=["exercise"]
interf = ...  # your code: one number per feature of W_arrows

# %% tags=["solution"]
norms = np.linalg.norm(W_arrows, axis=0)
unit = W_arrows / np.where(norms > 1e-6, norms, np.inf)
proj_sq = (unit.T @ W_arrows) ** 2  # (i, j): (Ŵ_i · W_j)²
interf = proj_sq.sum(axis=1) - np.diag(proj_sq)

# %% tags=["check"]
assert interf is not ..., "Exercise 1: replace the ... with the interference on each feature."
assert np.shape(interf) == (W_arrows.shape[1],), f"Exercise 1: give one number per feature ({W_arrows.shape[1]})."
assert np.allclose(np.asarray(interf, dtype=float), M.interference(W_arrows), atol=1e-4), (
    "Exercise 1: not yet. Row i of Ŵᵀ W holds Ŵ_i · W_j for every j; square, sum over j, "
    "and leave out j = i (the diagonal)."
)
print("Exercise 1 done: interference per feature:", np.round(interf, 3))

# %% [markdown]
# ## Exercise 2: the linear model's loss, split in two
#
# For the linear model the paper splits the loss into a benefit of representing features and
# a cost of their interference:
#
# $$\text{benefit} = \sum_i I_i \left[1 - (1 - \lVert W_i \rVert^2)^2\right], \qquad
# \text{interference} = \sum_{i \ne j} I_j (W_j \cdot W_i)^2.$$
#
# Compute both for the dense linear model, `W_linear = result["linear_W"][0]`, with its
# importances `imp = result["linear_importance"][0]`, as `benefit` and `interference` (two numbers).
# Which is larger?

# %% tags=["exercise"]
W_linear = result["linear_W"][0]
imp = result["linear_importance"][0]
benefit = ...  # your code
interference = ...  # your code

# %% tags=["solution"]
W_linear = result["linear_W"][0]
imp = result["linear_importance"][0]
G = W_linear.T @ W_linear
norms_sq = np.diag(G)
benefit = float((imp * (1 - (1 - norms_sq) ** 2)).sum())
off = G**2 - np.diag(norms_sq**2)  # (W_j · W_i)², zero on the diagonal
interference = float((imp[:, None] * off).sum())

# %% tags=["check"]
assert benefit is not ... and interference is not ..., "Exercise 2: fill in both benefit and interference."
terms = M.loss_decomposition(W_linear, imp)
assert np.isclose(float(benefit), float(terms.benefit), rtol=1e-4), (
    "Exercise 2: benefit is not yet right: ‖W_i‖² is the diagonal of WᵀW; weight each feature's term by imp[i] (I_i)."
)
assert np.isclose(float(interference), float(terms.interference), rtol=1e-4, atol=1e-8), (
    "Exercise 2: interference is not yet right: square the off-diagonal entries of WᵀW and weight row j by imp[j] (I_j)."
)
print(f"Exercise 2 done: benefit {benefit:.3f}, interference {interference:.4f}")

# %% [markdown] tags=["solutions"]
# ## Solutions
#
# One solution per exercise; open a cell to read it (its code is folded).
