"""The terminology map's "experiment": a construction, not a training run.

Four weight matrices built from angles, each showing a different mix of the
properties the words name:

==========================  ===================  =======================
                            no superposition     superposition
==========================  ===================  =======================
local (one neuron each)     ``local``            ``superposed-local``
distributed (spread out)    ``distributed``      ``superposed-distributed``
==========================  ===================  =======================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from course import Result


@dataclass(frozen=True)
class Settings:
    """What the construction uses; nothing is trained, so :meth:`quick` is the same."""

    # the turn applied to the distributed codes: 45° spreads every feature
    # evenly over both neurons
    angle: float = 45.0

    @classmethod
    def quick(cls) -> Settings:
        return cls()


def rotation(deg: float) -> np.ndarray:
    """The 2 × 2 matrix rotating the plane by ``deg`` degrees."""
    t = math.radians(deg)
    return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


def build_codes(angle: float) -> dict[str, np.ndarray]:
    """The four weight matrices (hidden × features), columns of length 1.

    ``local``: the identity. ``distributed``: the identity turned by ``angle``.
    ``superposed-local``: four features as two antipodal pairs on the two
    neuron axes. ``superposed-distributed``: the same pairs turned by ``angle``.
    """
    eye = np.eye(2)
    pairs = np.array([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]])
    R = rotation(angle)
    return {
        "local": eye,
        "distributed": R @ eye,
        "superposed-local": pairs,
        "superposed-distributed": R @ pairs,
    }


def run(s: Settings, seed: int = 0, device: str = "cpu",
        progress: Callable[[int, int], None] | None = None) -> Result:
    """Build the four codes (``seed`` and ``device`` are unused: nothing is random)."""
    codes = build_codes(float(s.angle))
    if progress is not None:
        progress(1, 1)
    return Result("terminology", asdict(s), seed,
                  arrays={name: W.astype(np.float64) for name, W in codes.items()},
                  info={"codes": list(codes)})
