# %% [markdown]
# # Non-uniform superposition: the notebook
#
# This notebook goes with the chapter *Non-uniform superposition*. It trains the chapter's
# models with the course's engine (among them n = 5 features in m = 2 dimensions, a pentagon,
# where feature 1's density is made smaller or larger than the others'), redraws the chapter's
# figure of what happens to the pentagon, and then asks you to find where it gives way.
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
from course_plugins.non_uniform_superposition import analysis, figures
from course_plugins.non_uniform_superposition.experiment import Settings, run

# QUICK = True trains on tiny settings (seconds; the numbers are not the science).
# The course's tests set COURSE_QUICK=1; for the chapter's own models leave it False.
QUICK = os.environ.get("COURSE_QUICK") == "1"

# %% [markdown]
# ## Train the chapter's models
#
# `Settings` are the chapter's own settings; `run` trains every part of the chapter (several
# minutes on a laptop CPU). For the density perturbation, one level per ratio in
# `result.info["ratios"]`: feature 1's density is the others' times the ratio. `free_W` is what
# training finds from random starts; `pentagon_loss` and `digon_loss` are the exact expected
# losses of the two shapes the chapter compares, each optimised at every ratio.

# %%
s = Settings.quick() if QUICK else Settings()
result = run(s, seed=0)
metrics = analysis.metrics(result)
ratios = np.array(result.info["ratios"])
W_free = result["free_W"]  # (ratios, 2, 5)
print("ratios:", np.round(ratios, 3), " W_free:", W_free.shape)

# %% [markdown]
# ## The chapter's figure

# %%
drawn = figures.draw(result, metrics, Path(tempfile.mkdtemp()))
display(Image(filename=str(drawn["collapse"])))

# %% [markdown]
# ## Exercise 1: how many features survive?
#
# *Predict* first: when feature 1 gets much sparser than the others (a small ratio), does the
# model keep all five features? Then count, for every ratio, the features of `W_free` whose
# norm ‖W_i‖ exceeds 0.5 (`M.REPRESENTED`), as `kept`, one integer per ratio.

# %% tags=["exercise"]
kept = ...  # your code: one count per ratio

# %% tags=["solution"]
kept = (np.linalg.norm(W_free, axis=1) > M.REPRESENTED).sum(axis=1)

# %% tags=["check"]
assert kept is not ..., "Exercise 1: replace the ... with one count per ratio."
assert np.shape(kept) == (len(ratios),), f"Exercise 1: give one count per ratio ({len(ratios)})."
assert np.array_equal(np.asarray(kept), M.represented(W_free).sum(axis=-1)), (
    "Exercise 1: not yet. Feature i's norm is the length of column i (axis 1 of W_free is the "
    f"hidden dimensions); count the norms above 0.5 per ratio. Yours: {kept}"
)
print("Exercise 1 done:", dict(zip(np.round(ratios, 3).tolist(), map(int, kept), strict=True)))

# %% [markdown]
# ## Exercise 2: which shape wins?
#
# At every ratio the chapter compares the pentagon with two antipodal pairs ("two digons",
# feature 1 dropped) by their exact expected loss. Make `winner` a list with, per ratio,
# `"pentagon"` where the pentagon's loss is lower and `"two digons"` otherwise, then find the
# largest ratio at which the two digons win, `last_digon` (`None` if they never do).

# %% tags=["exercise"]
winner = ...  # your code: one name per ratio
last_digon = ...  # your code: a ratio, or None

# %% tags=["solution"]
winner = ["pentagon" if p < d else "two digons"
          for p, d in zip(result["pentagon_loss"], result["digon_loss"], strict=True)]
digon_ratios = [r for r, w in zip(ratios, winner, strict=True) if w == "two digons"]
last_digon = max(digon_ratios) if digon_ratios else None

# %% tags=["check"]
assert winner is not ... and last_digon is not ..., "Exercise 2: fill in both winner and last_digon."
expected = ["pentagon" if p < d else "two digons"
            for p, d in zip(result["pentagon_loss"], result["digon_loss"], strict=True)]
assert list(winner) == expected, (
    "Exercise 2: winner is not yet right: compare result['pentagon_loss'][k] with result['digon_loss'][k]."
)
digons = [r for r, w in zip(ratios, expected, strict=True) if w == "two digons"]
assert last_digon == (max(digons) if digons else None), (
    "Exercise 2: last_digon is the largest ratio whose winner is 'two digons' (None if there is none)."
)
print("Exercise 2 done: the two digons win up to ratio", last_digon, "and the pentagon above it")

# %% [markdown] tags=["solutions"]
# ## Solutions
#
# One solution per exercise; open a cell to read it (its code is folded).
