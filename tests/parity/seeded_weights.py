"""Seeded random values for a TF-Slim variable layout that keep a network's activations in range.

Pure numpy, so the same rule runs in the main venv and in the legacy venv. Each value depends only
on the seed and the variable's name and shape, not on the order variables come in.
"""

import re
import zlib
from collections.abc import Iterable, Sequence

import numpy as np

RESIDUAL_BRANCH_END = re.compile(r"/bottleneck_v\d/conv3/weights$")


def seeded_value(name: str, shape: Sequence[int], seed: int) -> np.ndarray:
    """A float32 value for variable ``name``: He-scaled kernels, small offsets, variances > 0."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    kind = name.rsplit("/", 1)[-1]
    shape = tuple(int(dim) for dim in shape)
    if kind in ("weights", "pointwise_weights"):
        fan_in = int(np.prod(shape[:-1]))
        # The last conv of a ResNet unit's residual branch gets 1/50 of the gain, else the
        # units' sum grows ~1e10 over a 152-layer ResNet in inference mode.
        gain = 2.0 / 50 if RESIDUAL_BRANCH_END.search(name) else 2.0
        value = rng.normal(0.0, np.sqrt(gain / fan_in), shape)
    elif kind == "depthwise_weights":
        value = rng.normal(0.0, np.sqrt(1.0 / (shape[0] * shape[1])), shape)
    elif kind in ("biases", "beta", "moving_mean"):
        value = rng.normal(0.0, 0.1, shape)
    elif kind == "moving_variance":
        value = rng.uniform(0.5, 2.0, shape)
    elif kind == "gamma":
        value = rng.uniform(0.5, 1.5, shape)
    else:
        raise ValueError(f"no seeded rule for variable {name!r}")
    return value.astype(np.float32)


def seeded_weights(layout: Iterable[tuple[str, Sequence[int]]], seed: int) -> dict[str, np.ndarray]:
    """Seeded values for every ``(name, shape)`` of a layout."""
    return {name: seeded_value(name, shape, seed) for name, shape in layout}


def seeded_images(batch: int, size: int, seed: int) -> np.ndarray:
    """``batch`` random RGB images of ``size`` x ``size``, float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 1.0, (batch, size, size, 3)).astype(np.float32)
