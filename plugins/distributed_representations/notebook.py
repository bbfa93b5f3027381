# %% [markdown]
# # Distributed representations: the notebook
#
# This notebook goes with the chapter *Distributed representations*. It trains the chapter's
# codes (a neuron-model code and a ReLU-output code with n = m = 5, and one with twice as many
# features as dimensions) with the course's engine, redraws the chapter's figure of the codes,
# and then asks you to tell how distributed a code is from whether it is in superposition.
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
from course_plugins.distributed_representations import analysis, figures
from course_plugins.distributed_representations.experiment import Settings, run

# QUICK = True trains on tiny settings (seconds; the numbers are not the science).
# The course's tests set COURSE_QUICK=1; for the chapter's own models leave it False.
QUICK = os.environ.get("COURSE_QUICK") == "1"

# %% [markdown]
# ## Train the chapter's models
#
# `Settings` are the chapter's own settings; `run` trains each code with `course.engine` and
# makes the rotated codes the chapter compares (about a minute on a laptop CPU). Each code is
# an array `result["W_NAME"]` of shape (m, n), one column per feature.

# %%
s = Settings.quick() if QUICK else Settings()
result = run(s, seed=0)
metrics = analysis.metrics(result)
W_distributed = result["W_distributed"]  # n = m = 5, the ReLU-output model on dense data
W_superposition = result["W_superposition"]  # n = 10 features in m = 5, sparse data
print({name.removeprefix("W_"): a.shape for name, a in result.arrays.items() if name.startswith("W_")})

# %% [markdown]
# ## The chapter's figure

# %%
drawn = figures.draw(result, metrics, Path(tempfile.mkdtemp()))
display(Image(filename=str(drawn["codes"])))

# %% [markdown]
# ## Exercise 1: how spread out is each feature?
#
# How many hidden units does feature i use? Its participation ratio over the hidden dimensions
# says: (Σ_k W_ki²)² / Σ_k W_ki⁴, 1 when one unit carries it, m when all m carry it evenly
# (0 for a zero column). Compute it for each feature of `W_distributed` as `spread`.

# %% tags=["exercise"]
spread = ...  # your code: one number per feature (column) of W_distributed

# %% tags=["solution"]
sq = W_distributed**2
num, den = sq.sum(axis=0) ** 2, (sq**2).sum(axis=0)
spread = np.where(den > 1e-24, num / np.maximum(den, 1e-24), 0.0)

# %% tags=["check"]
assert spread is not ..., "Exercise 1: replace the ... with one number per feature."
assert np.shape(spread) == (W_distributed.shape[1],), "Exercise 1: give one number per feature (column)."
assert np.allclose(np.asarray(spread, dtype=float), M.participation(W_distributed), atol=1e-4), (
    "Exercise 1: not yet. Work on the columns (axis=0 sums over hidden units): (Σ w²)² / Σ w⁴. "
    f"Yours: {np.round(spread, 2)}"
)
print("Exercise 1 done: hidden units per feature:", np.round(spread, 2))

# %% [markdown]
# ## Exercise 2: a rotation changes how distributed a code is, not its superposition
#
# Turn the hidden space of `W_superposition` by an orthogonal matrix: make `R`, any (5, 5)
# orthogonal matrix that is not the identity (for example the Q of `np.linalg.qr` of a random
# matrix), and `W_turned = R @ W_superposition`. Then see what changed: the participation of
# the features, or WᵀW (every feature's norm and every overlap between features)?

# %% tags=["exercise"]
R = ...  # your code: a (5, 5) orthogonal matrix
W_turned = ...  # your code

# %% tags=["solution"]
R, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(5, 5)))
W_turned = R @ W_superposition

# %% tags=["check"]
assert R is not ... and W_turned is not ..., "Exercise 2: fill in both R and W_turned."
R = np.asarray(R, dtype=float)
assert R.shape == (5, 5) and np.allclose(R.T @ R, np.eye(5), atol=1e-6), "Exercise 2: R must be orthogonal: RᵀR = I."
assert not np.allclose(R, np.eye(5)), "Exercise 2: choose a rotation that is not the identity."
assert np.allclose(W_turned, R @ W_superposition, atol=1e-6), "Exercise 2: W_turned is R @ W_superposition."
assert np.allclose(M.gram(W_turned), M.gram(W_superposition), atol=1e-5), "Exercise 2: WᵀW should not change"
print("WᵀW unchanged; participation before:", np.round(M.participation(W_superposition), 2))
print("                 participation after: ", np.round(M.participation(W_turned), 2))
print("Exercise 2 done.")

# %% [markdown] tags=["solutions"]
# ## Solutions
#
# One solution per exercise; open a cell to read it (its code is folded).
