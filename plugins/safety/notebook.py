# %% [markdown]
# # Why superposition matters for safety: the notebook
#
# This notebook goes with the chapter *Why superposition matters for safety*. It trains the
# chapter's models with the course's engine (among them the Polysemanticity chapter's neuron
# model, h = ReLU(Wx), x' = ReLU(Wᵀh + b), n = 10 features in m = 5 neurons), redraws the
# chapter's figure of what switching off one neuron does, and then asks you to do the
# ablation yourself.
#
# Each exercise is a cell with a `...` for you to replace, followed by a cell of checks that
# fails, with a hint, until your answer is right. The solutions are folded at the end.

# %%
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from IPython.display import Image, display

from course.engine import forward
from course_plugins.safety import analysis, figures
from course_plugins.safety.experiment import Settings, run

# QUICK = True trains on tiny settings (seconds; the numbers are not the science).
# The course's tests set COURSE_QUICK=1; for the chapter's own models leave it False.
QUICK = os.environ.get("COURSE_QUICK") == "1"

# %% [markdown]
# ## Train the chapter's models
#
# `Settings` are the chapter's own settings; `run` trains each model in batched programs of
# `course.engine` (several minutes on a laptop CPU with the chapter's settings). The neuron
# model of the sparsest density is `W` (m × n = 5 × 10) with bias `b`.

# %%
s = Settings.quick() if QUICK else Settings()
result = run(s, seed=0)
metrics = analysis.metrics(result)
W, b = result["neuron_W"][-1].astype(np.float64), result["neuron_b"][-1].astype(np.float64)
print("densities:", result.info["neuron_densities"], " W:", W.shape)

# %% [markdown]
# ## The chapter's figure

# %%
drawn = figures.draw(result, metrics, Path(tempfile.mkdtemp()))
display(Image(filename=str(drawn["ablation"])))

# %% [markdown]
# ## Exercise 1: the neuron model, in numpy
#
# Write `model(W, b, x)`: for a batch `x` of inputs (shape (batch, n)) it returns the outputs
# x' = ReLU(Wᵀ ReLU(W x) + b), shape (batch, n). The check compares it with the engine's own
# `forward`.

# %% tags=["exercise"]
def model(W, b, x):
    ...  # your code: return x' for every row of x


# %% tags=["solution"]
def model(W, b, x):  # noqa: F811 - the solution replaces the exercise's stub
    h = np.maximum(x @ W.T, 0)  # (batch, m): the neurons' activations
    return np.maximum(h @ W + b, 0)


# %% tags=["check"]
x_test = np.random.default_rng(1).uniform(size=(64, W.shape[1]))
ours = model(W, b, x_test)
assert ours is not None, "Exercise 1: model returns nothing yet: return x' (replace the ...)."
engine = forward(torch.tensor(W[None]), torch.tensor(b[None]), torch.tensor(x_test[None]), "neuron")[0].numpy()
assert np.shape(ours) == engine.shape, f"Exercise 1: x' has shape (batch, n) = {engine.shape}; got {np.shape(ours)}."
assert np.allclose(ours, engine, atol=1e-6), (
    "Exercise 1: not yet. h = ReLU(W x) for a row x is np.maximum(x @ W.T, 0); then x' = ReLU(h @ W + b)."
)
print("Exercise 1 done: your model matches the engine.")

# %% [markdown]
# ## Exercise 2: switch off one neuron
#
# *Predict* first: if neurons were monosemantic, switching one off would harm one feature.
# Now do it: for each neuron k, set row k of W to zero and feed each feature alone at value 1
# (the rows of `np.eye(n)`). Feature i is *harmed* when its own output x'_i falls by more than
# half of what the intact model gives it. Make `harmed` a list with, per neuron, the number of
# features harmed (only features the intact model outputs above 0.1 count).

# %% tags=["exercise"]
harmed = ...  # your code: one count per neuron

# %% tags=["solution"]
eye = np.eye(W.shape[1])
intact = np.diag(model(W, b, eye))
harmed = []
for k in range(W.shape[0]):
    off = W.copy()
    off[k] = 0
    after = np.diag(model(off, b, eye))
    harmed.append(int(((intact > 0.1) & (after < intact / 2)).sum()))

# %% tags=["check"]
assert harmed is not ..., "Exercise 2: replace the ... with one count per neuron."
assert len(harmed) == W.shape[0], f"Exercise 2: give one count per neuron ({W.shape[0]})."
eye_t = torch.eye(W.shape[1], dtype=torch.float64)[None]
base = torch.diagonal(forward(torch.tensor(W[None]), torch.tensor(b[None]), eye_t, "neuron")[0]).numpy()
expected = []
for k in range(W.shape[0]):
    Wk = torch.tensor(W[None]).clone()
    Wk[0, k] = 0
    out = torch.diagonal(forward(Wk, torch.tensor(b[None]), eye_t, "neuron")[0]).numpy()
    expected.append(int(((base > 0.1) & (out < base / 2)).sum()))
assert list(map(int, harmed)) == expected, (
    "Exercise 2: not yet. For neuron k: zero row k of a copy of W, run the rows of np.eye(n) through "
    "the model, and compare the diagonal (each feature's own output) with the intact model's. "
    f"Yours: {harmed}"
)
print("Exercise 2 done: features harmed by switching off each neuron:", harmed)

# %% [markdown] tags=["solutions"]
# ## Solutions
#
# One solution per exercise; open a cell to read it (its code is folded).
