"""Matplotlib in the course's palette. Figures are written as PNG for the book."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from cycler import cycler  # noqa: E402 - matplotlib's own dependency
from matplotlib.colors import LinearSegmentedColormap  # noqa: E402

from course_animations import palette  # noqa: E402

GRAM_CMAP = LinearSegmentedColormap.from_list(
    "course_gram", [palette.NEGATIVE, palette.ZERO_LIGHT, palette.POSITIVE]
)
INTERFERENCE_CMAP = LinearSegmentedColormap.from_list(
    "course_interference", [palette.INTERFERENCE_LOW, palette.INTERFERENCE_HIGH]
)

RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": [palette.FONT],
    "font.size": palette.FONT_SIZE,
    "axes.edgecolor": palette.INK,
    "axes.labelcolor": palette.INK,
    "axes.titlesize": palette.FONT_SIZE + 1,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": palette.INK,
    "ytick.color": palette.INK,
    "text.color": palette.INK,
    "figure.facecolor": palette.PAPER,
    "axes.facecolor": palette.PAPER,
    "axes.prop_cycle": cycler(color=palette.FEATURES),
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
}


@contextmanager
def style():
    """Use the course style inside a ``with`` block."""
    with matplotlib.rc_context(RC):
        yield


def save(fig: matplotlib.figure.Figure, path: Path) -> Path:
    """Save ``fig`` to ``path`` (PNG) atomically and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)
    tmp.replace(path)
    return path
