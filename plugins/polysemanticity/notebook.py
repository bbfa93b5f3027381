# %% [markdown]
# # Polysemanticity: the notebook
#
# This notebook goes with the chapter *Polysemanticity*. It trains the chapter's models (the
# neuron model h = ReLU(Wx), x' = ReLU(Wᵀh + b), n = 10 features of importance 0.75^(i−1) and
# m = 5 neurons, at several feature densities) with the course's engine, redraws the chapter's
# figure of what each neuron responds to, and then asks you to count polysemantic neurons.
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
from course_plugins.polysemanticity import analysis, figures
from course_plugins.polysemanticity.experiment import Settings, run

# QUICK = True trains on tiny settings (seconds; the numbers are not the science).
# The course's tests set COURSE_QUICK=1; for the chapter's own models leave it False.
QUICK = os.environ.get("COURSE_QUICK") == "1"

# %% [markdown]
# ## Train the chapter's models
#
# `Settings` are the chapter's own settings: 128 models per density, all in one batched program
# of `course.engine`, of which `run` keeps the one of lowest expected loss (several minutes on
# a laptop CPU). `result["W"]` has shape (densities, m, n): row k of one matrix is neuron k's
# weights on the ten features.

# %%
s = Settings.quick() if QUICK else Settings()
result = run(s, seed=0)
metrics = analysis.metrics(result)
W = result["W"]
densities = result.info["densities"]
print("densities:", densities, " W:", W.shape)

# %% [markdown]
# ## The chapter's figure
#
# Each neuron's weights, stacked by feature: a neuron with one colour serves one feature, a
# neuron with several is polysemantic.

# %%
drawn = figures.draw(result, metrics, Path(tempfile.mkdtemp()))
display(Image(filename=str(drawn["neurons"])))

# %% [markdown]
# ## Exercise 1: how many features does each neuron serve?
#
# The effective number of features of neuron k is the participation ratio of its row of W,
#
# $$\frac{\left(\sum_i W_{ki}^2\right)^2}{\sum_i W_{ki}^4},$$
#
# 1 for a neuron with one feature, 10 for one that weighs all ten evenly (0 for a dead neuron,
# whose row is zero). Compute it for the sparsest model, `W[-1]`, as `per_neuron`, one number
# per neuron.

# %% tags=["exercise"]
per_neuron = ...  # your code: one number per neuron (row) of W[-1]

# %% tags=["solution"]
sq = W[-1] ** 2
num, den = sq.sum(axis=1) ** 2, (sq**2).sum(axis=1)
per_neuron = np.where(den > 1e-24, num / np.maximum(den, 1e-24), 0.0)

# %% tags=["check"]
assert per_neuron is not ..., "Exercise 1: replace the ... with one number per neuron."
assert np.shape(per_neuron) == (s.n_hidden,), f"Exercise 1: give one number per neuron ({s.n_hidden})."
expected = M.neuron_polysemanticity(W[-1]).features_per_neuron
assert np.allclose(np.asarray(per_neuron, dtype=float), expected, atol=1e-4), (
    "Exercise 1: not yet. Work on the rows of W[-1] (axis=1 sums over features): "
    f"(Σ w²)² / Σ w⁴. Yours: {np.round(per_neuron, 2)}"
)
print("Exercise 1 done: features per neuron at density", densities[-1], ":", np.round(per_neuron, 2))

# %% [markdown]
# ## Exercise 2: monosemantic neurons at each density
#
# Call neuron k *monosemantic* when one weight dominates its row: max_i |W_ki| / ‖W_k‖ > 0.9
# (a dead neuron, ‖W_k‖ = 0, is not). *Predict* first: as the features get sparser, do more or
# fewer neurons stay monosemantic? Then count them for every density, as `mono`, one integer
# per density.

# %% tags=["exercise"]
mono = ...  # your code: the number of monosemantic neurons of W[k] for each density k

# %% tags=["solution"]
row_norm = np.linalg.norm(W, axis=2)
ratio = np.abs(W).max(axis=2) / np.maximum(row_norm, 1e-12)
mono = ((ratio > 0.9) & (row_norm > 1e-6)).sum(axis=1)

# %% tags=["check"]
assert mono is not ..., "Exercise 2: replace the ... with one count per density."
assert np.shape(mono) == (len(densities),), f"Exercise 2: give one count per density ({len(densities)})."
expected = M.neuron_polysemanticity(W, threshold=0.9).monosemantic.sum(axis=-1)
assert np.array_equal(np.asarray(mono), expected), (
    "Exercise 2: not yet. For each row of W[k]: the largest |weight| over the row's norm, above 0.9; "
    f"count those rows per density. Yours: {mono}"
)
print("Exercise 2 done:", dict(zip(densities, map(int, mono), strict=True)))

# %% [markdown] tags=["solutions"]
# ## Solutions
#
# One solution per exercise; open a cell to read it (its code is folded).
