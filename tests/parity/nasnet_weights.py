"""Seeded values for the NASNet family's TF-Slim variables: ``seeded_weights``' rules, plus
batch-norm ``gamma`` (NASNet's arg scope sets ``scale=True``), which those rules do not cover.

Pure numpy, so the same values come out in the main venv and in the legacy venv; each value
depends only on the seed and the variable's name and shape.
"""

import zlib
from collections.abc import Iterable, Sequence

import numpy as np

try:  # imported as tests.parity.nasnet_weights (pytest) or from this folder (legacy venv)
    from tests.parity.seeded_weights import seeded_value as _seeded_value
except ImportError:  # pragma: no cover - the legacy venv's script puts this folder on sys.path
    from seeded_weights import seeded_value as _seeded_value


def seeded_value(name: str, shape: Sequence[int], seed: int) -> np.ndarray:
    """A float32 value for variable ``name``; gamma is uniform in [0.5, 1.5]."""
    if name.rsplit("/", 1)[-1] == "gamma":
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        return rng.uniform(0.5, 1.5, tuple(int(dim) for dim in shape)).astype(np.float32)
    return _seeded_value(name, shape, seed)


def seeded_weights(layout: Iterable[tuple[str, Sequence[int]]], seed: int) -> dict[str, np.ndarray]:
    """Seeded values for every ``(name, shape)`` of a layout."""
    return {name: seeded_value(name, shape, seed) for name, shape in layout}
