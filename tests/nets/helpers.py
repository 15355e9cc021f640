"""Test inputs shared by the nets tests."""

from __future__ import annotations

import numpy as np

SEED = 7
# A non-default input size per net, and the grid of its last end point at that size.
ALTERNATE_SIZES = {
    "inception_v1": (320, 10),
    "inception_v2": (320, 10),
    "inception_resnet_v2": (353, 9),
    "mobilenet_v1": (193, 7),
    "mobilenet_v2": (161, 6),
    # The V3 feature extractor ends with an average pool over the whole (square) map.
    "mobilenet_v3_large": (257, 1),
    "mobilenet_v3_small": (97, 1),
}


def images(size: int, batch: int = 2, seed: int = 0) -> np.ndarray:
    """Float32 network inputs in [-1, 1] (Inception-style preprocessing of [0, 1] images):
    smooth gradients plus noise, different per image."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.0, 1.0, size, dtype=np.float32)
    base = (
        ramp[None, :, None, None] * ramp[None, None, :, None] * rng.uniform(size=(batch, 1, 1, 3))
    )
    noise = rng.uniform(size=(batch, size, size, 3)).astype(np.float32)
    return (np.clip(0.7 * base + 0.3 * noise, 0.0, 1.0) * 2.0 - 1.0).astype(np.float32)
