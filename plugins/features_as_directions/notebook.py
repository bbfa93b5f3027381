# %% [markdown]
# # Features as directions: the notebook
#
# This notebook goes with the chapter *Features as directions*. It trains the chapter's model
# (three features of importance 1, 0.7 and 0.4, two hidden dimensions, the linear model
# x' = WᵀW x + b on dense data) with the course's engine, redraws the chapter's figure, and then
# asks you to push an input through the model and measure the features' directions.
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
from course_plugins.features_as_directions import analysis, figures
from course_plugins.features_as_directions.experiment import Settings, run

# QUICK = True trains on tiny settings (seconds; the numbers are not the science).
# The course's tests set COURSE_QUICK=1; for the chapter's own models leave it False.
QUICK = os.environ.get("COURSE_QUICK") == "1"

# %% [markdown]
# ## Train the chapter's model
#
# `Settings` are the chapter's own settings; `run` trains the model from several random starts
# in one batched program of `course.engine` (seconds) and keeps the best. `W` has shape (2, 3):
# column i is feature i's direction in the two hidden dimensions.

# %%
s = Settings.quick() if QUICK else Settings()
result = run(s, seed=0)
metrics = analysis.metrics(result)
W, b = result["W"][0], result["b"][0]
x = np.array(s.example_input)
print("W =\n", np.round(W, 3), "\nb =", np.round(b, 3))

# %% [markdown]
# ## The chapter's figure

# %%
drawn = figures.draw(result, metrics, Path(tempfile.mkdtemp()))
display(Image(filename=str(drawn["directions"])))

# %% [markdown]
# ## Exercise 1: an input, through the model
#
# Push the chapter's example input `x` (three feature values) through the model: the hidden
# vector `h = W x` (two numbers), then the output `x_out = Wᵀ h + b` (three numbers). Which
# feature comes back worst, and why?

# %% tags=["exercise"]
h = ...  # your code
x_out = ...  # your code

# %% tags=["solution"]
h = W @ x
x_out = W.T @ h + b

# %% tags=["check"]
assert h is not ... and x_out is not ..., "Exercise 1: fill in both h and x_out."
assert np.shape(h) == (s.n_hidden,), f"Exercise 1: h has one number per hidden dimension ({s.n_hidden}); W @ x."
assert np.allclose(h, W @ x, atol=1e-6), "Exercise 1: h is W @ x."
assert np.allclose(x_out, M.gram(W) @ x + b, atol=1e-6), "Exercise 1: x_out is W.T @ h + b (the linear model: no ReLU)."
print("Exercise 1 done: x =", x, " x' =", np.round(x_out, 3))

# %% [markdown]
# ## Exercise 2: the angle between two features
#
# *Predict*: the linear model has two dimensions for three features, so it gives two of them a
# direction each. At what angle should those two directions sit? Then measure the angle between
# the directions of features 1 and 2 (columns 0 and 1 of `W`), in degrees, as `angle_12`.

# %% tags=["exercise"]
angle_12 = ...  # your code: degrees between W[:, 0] and W[:, 1]

# %% tags=["solution"]
cos = W[:, 0] @ W[:, 1] / (np.linalg.norm(W[:, 0]) * np.linalg.norm(W[:, 1]))
angle_12 = float(np.degrees(np.arccos(np.clip(cos, -1, 1))))

# %% tags=["check"]
assert angle_12 is not ..., "Exercise 2: replace the ... with an angle in degrees."
u = W[:, :2] / np.linalg.norm(W[:, :2], axis=0)
expected = float(np.degrees(np.arccos(np.clip(u[:, 0] @ u[:, 1], -1, 1))))
assert np.isclose(float(angle_12), expected, atol=1e-3), (
    "Exercise 2: not yet. The cosine of the angle is the dot product of the two columns over the "
    "product of their norms; np.degrees(np.arccos(...)) turns it into degrees. "
    f"Yours: {angle_12}"
)
print(f"Exercise 2 done: features 1 and 2 are {float(angle_12):.1f}° apart")

# %% [markdown] tags=["solutions"]
# ## Solutions
#
# One solution per exercise; open a cell to read it (its code is folded).
