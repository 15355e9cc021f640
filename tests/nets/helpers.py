"""Test inputs shared by the nets tests."""

from __future__ import annotations

import numpy as np
import pytest

SEED = 7
# A non-default input size per net, and the grid of its last end point at that size.
ALTERNATE_SIZES = {
    "inception_v1": (320, 10),
    "inception_v2": (320, 10),
    "inception_resnet_v2": (353, 9),
    "nasnet_mobile": (299, 10),
    "nasnet_large": (195, 7),
    "pnasnet_large": (195, 7),
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


# Nets whose shared forward and checkpoint tests run only in the sweep (`-m sweep`), to keep CI
# short: each takes no code path that a smaller net of its family does not take in CI, and its
# own parity test runs in CI. The graph-mode test also skips pnasnet_large in CI: its layers are
# NASNet's, which nasnet_mobile runs in a graph.
SWEEP_ONLY = frozenset({"nasnet_large"})
SWEEP_ONLY_IN_GRAPH_MODE = SWEEP_ONLY | {"pnasnet_large"}


def net_params(names, sweep_only=SWEEP_ONLY, slow=frozenset()) -> list:
    """`names` as pytest parameters: those in `sweep_only` marked `sweep`, those in `slow` `slow`."""
    return [
        pytest.param(
            name,
            marks=[
                mark
                for mark, among in ((pytest.mark.sweep, sweep_only), (pytest.mark.slow, slow))
                if name in among
            ],
        )
        for name in names
    ]
