# %% [markdown]
# # The geometry of superposition: the notebook
#
# This notebook goes with the chapter *The geometry of superposition*. It trains the chapter's
# uniform-superposition sweep (many equally important features, n ≫ m, one ReLU-output model
# per density) with the course's engine, redraws the chapter's figure of dimensions per feature,
# and then asks you to predict and measure the shapes features form.
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
from course_plugins.geometry import analysis, figures
from course_plugins.geometry.experiment import Settings, run

# QUICK = True trains on tiny settings (seconds; the numbers are not the science).
# The course's tests set COURSE_QUICK=1; for the chapter's own models leave it False.
QUICK = os.environ.get("COURSE_QUICK") == "1"

# %% [markdown]
# ## Train the chapter's models
#
# `Settings` are the chapter's own settings (n = 200 features in m = 20 dimensions); `run`
# trains every density in batched programs of `course.engine`. With the chapter's settings this
# takes several minutes on a laptop CPU. `result["W"]` has shape (levels, m, n), one level per
# value of 1/(1 − S) in `result.info["inverse_density"]`.

# %%
s = Settings.quick() if QUICK else Settings()
result = run(s, seed=0)
metrics = analysis.metrics(result)
W = result["W"]
inverse_density = np.array(result.info["inverse_density"])
print("W:", W.shape, " 1/(1 − S) from", inverse_density.min(), "to", round(inverse_density.max(), 1))

# %% [markdown]
# ## The chapter's figure
#
# Dimensions per feature, D* = m / ‖W‖_F², against 1/(1 − S): it sticks at 1 and at 1/2,
# the plateaus of the shapes that the chapter names.

# %%
drawn = figures.draw(result, metrics, Path(tempfile.mkdtemp()))
display(Image(filename=str(drawn["dims"])))

# %% [markdown]
# ## Exercise 1: predict a hexagon's D_i
#
# A feature's dimensionality is D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)², the sum over every j
# including i. Antipodal pairs give 1/2, a pentagon 2/5. *Predict* D_i for six features stored
# as a regular hexagon in two dimensions, then check it: build the hexagon as `hexagon`, a
# (2, 6) array whose columns are unit vectors 60° apart, and set `d_hexagon` to the D_i of its
# first feature (with the formula, or with `M.feature_dimensionality`).

# %% tags=["exercise"]
hexagon = ...  # your code: a (2, 6) array, unit columns 60° apart
d_hexagon = ...  # your code: D_i of the hexagon's first feature

# %% tags=["solution"]
theta = np.radians(60 * np.arange(6))
hexagon = np.stack([np.cos(theta), np.sin(theta)])
d_hexagon = float(M.feature_dimensionality(hexagon)[0])

# %% tags=["check"]
assert hexagon is not ... and d_hexagon is not ..., "Exercise 1: fill in both hexagon and d_hexagon."
hexagon = np.asarray(hexagon, dtype=float)
assert hexagon.shape == (2, 6), f"Exercise 1: the hexagon is a (2, 6) array, one column per feature; got {hexagon.shape}."
assert np.allclose(np.linalg.norm(hexagon, axis=0), 1, atol=1e-6), "Exercise 1: every column should be a unit vector."
angles = np.sort(np.degrees(np.arctan2(hexagon[1], hexagon[0])) % 360)
assert np.allclose(np.diff(np.append(angles, angles[0] + 360)), 60, atol=1e-4), (
    "Exercise 1: neighbouring columns should be 60° apart (angles 0°, 60°, …, 300°)."
)
assert np.isclose(float(d_hexagon), M.feature_dimensionality(hexagon)[0], atol=1e-6), (
    "Exercise 1: d_hexagon is not yet D_i of the first column: Σ_j (Ŵ_1 · W_j)² runs over all six features."
)
print(f"Exercise 1 done: a hexagon's D_i = {float(d_hexagon):.4f}; did you predict it?")

# %% [markdown]
# ## Exercise 2: dimensions per feature, and how many features are embedded
#
# For every level of the trained sweep compute D* = m / ‖W‖_F² as `d_star`, and the number of
# features embedded (norm ‖W_i‖ above 0.5, `M.REPRESENTED`) as `embedded`, each one number per
# level. Where D* sits near 1/2, how many features per dimension does the model store?

# %% tags=["exercise"]
d_star = ...  # your code: one number per level
embedded = ...  # your code: one integer per level

# %% tags=["solution"]
d_star = s.n_hidden / (W**2).sum(axis=(1, 2))
embedded = (np.linalg.norm(W, axis=1) > M.REPRESENTED).sum(axis=1)

# %% tags=["check"]
assert d_star is not ... and embedded is not ..., "Exercise 2: fill in both d_star and embedded."
assert np.allclose(np.asarray(d_star, dtype=float), M.dimensions_per_feature(W), rtol=1e-4), (
    "Exercise 2: d_star is m = s.n_hidden divided by ‖W‖_F², the sum of W[k]**2 over both axes."
)
assert np.array_equal(np.asarray(embedded), M.represented(W).sum(axis=-1)), (
    "Exercise 2: embedded counts, per level, the columns of W[k] whose norm exceeds 0.5 (axis 1 of W is m)."
)
for inv, d, e in zip(inverse_density, d_star, embedded, strict=True):
    print(f"1/(1 − S) = {inv:7.2f}   D* = {d:.3f}   embedded = {e}")
print("Exercise 2 done.")

# %% [markdown] tags=["solutions"]
# ## Solutions
#
# One solution per exercise; open a cell to read it (its code is folded).
