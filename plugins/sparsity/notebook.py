# %% [markdown]
# # Sparsity: the notebook
#
# This notebook goes with the chapter *Sparsity*. It trains the chapter's models (n = 20
# features of importance 0.7^(i−1) in m = 5 hidden dimensions, the linear model and the
# ReLU-output model, across feature densities) with the course's engine, redraws the chapter's
# figure of the ReLU model, and then asks you to read the sweep yourself.
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
from course_plugins.sparsity import analysis, figures
from course_plugins.sparsity.experiment import Settings, run

# QUICK = True trains on tiny settings (seconds; the numbers are not the science).
# The course's tests set COURSE_QUICK=1; for the chapter's own models leave it False.
QUICK = os.environ.get("COURSE_QUICK") == "1"

# %% [markdown]
# ## Train the chapter's models
#
# `Settings` are the chapter's own settings; `run` trains every density of each model in one
# batched program of `course.engine` and keeps the best seed of each (a few minutes on a laptop
# CPU with the chapter's settings). `result["relu_W"]` has shape (densities, m, n): column i of
# one matrix is feature i's direction.

# %%
s = Settings.quick() if QUICK else Settings()
result = run(s, seed=0)
metrics = analysis.metrics(result)
densities = result.info["densities"]
W_linear, W_relu = result["linear_W"], result["relu_W"]
print("densities:", densities)
print("W_relu:", W_relu.shape)

# %% [markdown]
# ## The chapter's figure
#
# For each density, the ReLU model's WᵀW and each feature's norm ‖W_i‖, coloured by how
# much the feature shares its direction with others.

# %%
drawn = figures.draw(result, metrics, Path(tempfile.mkdtemp()))
display(Image(filename=str(drawn["basic_relu"])))

# %% [markdown]
# ## Exercise 1: how much does the linear model store?
#
# First *predict*: the linear model x' = WᵀW x + b can give at most m = 5 features a direction
# of their own. What should ‖W‖_F² (the sum of the squares of every entry of W) be at each
# density? Then compute it for every density as `frob_linear`, one number per density.

# %% tags=["exercise"]
frob_linear = ...  # your code: ‖W‖_F² of W_linear[k] for each density k

# %% tags=["solution"]
frob_linear = (W_linear**2).sum(axis=(1, 2))

# %% tags=["check"]
assert frob_linear is not ..., "Exercise 1: replace the ... with ‖W‖_F² per density."
assert np.shape(frob_linear) == (len(densities),), f"Exercise 1: give one number per density ({len(densities)})."
assert np.allclose(np.asarray(frob_linear, dtype=float), M.features_learned(W_linear), rtol=1e-4), (
    "Exercise 1: not yet. Square every entry of W_linear[k] and add them up (axis=(1, 2) for all k at once)."
)
print("Exercise 1 done: ‖W‖_F² of the linear model per density:", np.round(frob_linear, 2))

# %% [markdown]
# ## Exercise 2: where does superposition start?
#
# The ReLU model is in superposition when it stores more features than it has dimensions:
# ‖W‖_F² > m. Going from the densest to the sparsest, find the first density at which that
# happens, as `first_superposed` (a number from `densities`, or `None` if it never happens).

# %% tags=["exercise"]
first_superposed = ...  # your code: the first density (densest first) where ‖W_relu‖_F² > m

# %% tags=["solution"]
frob_relu = (W_relu**2).sum(axis=(1, 2))
first_superposed = next((d for d, f in zip(densities, frob_relu, strict=True) if f > s.n_hidden), None)

# %% tags=["check"]
assert first_superposed is not ..., "Exercise 2: replace the ... with a density (or None)."
expected = next((d for d, f in zip(densities, M.features_learned(W_relu), strict=True) if f > s.n_hidden), None)
assert first_superposed == expected, (
    "Exercise 2: not yet. Compute ‖W‖_F² of each W_relu[k], walk the densities in order (densest "
    f"first) and keep the first whose ‖W‖_F² exceeds m = {s.n_hidden}. Yours: {first_superposed}"
)
print("Exercise 2 done: the ReLU model first stores more than m features at density", first_superposed)

# %% [markdown] tags=["solutions"]
# ## Solutions
#
# One solution per exercise; open a cell to read it (its code is folded).
