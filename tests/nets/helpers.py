"""Test inputs shared by the nets tests."""

from __future__ import annotations

import numpy as np
import pytest

from modules.nets import net_names

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
    "inception_v3": (353, 9),
    **{f"resnet_v{v}_{depth}": (241, 8) for v in (1, 2) for depth in (50, 101, 152)},
    "nasnet_mobile": (299, 10),
    "nasnet_large": (195, 7),
    "pnasnet_large": (195, 7),
}
# The smallest input size each net accepts (one less is rejected where a size is), and the grid
# of its last end point there. A ResNet pads every strided conv and pool: any size runs.
SMALLEST_SIZES = {
    "inception_v3": (75, 1),
    **{f"resnet_v{v}_{depth}": (1, 1) for v in (1, 2) for depth in (50, 101, 152)},
}
# Nets whose feature vector is the spatial mean of a batch norm with ReLU that follows the last
# end point (resnet_v2's `postnorm`), not of the last end point itself.
POSTNORM_NETS = frozenset({"resnet_v2_50", "resnet_v2_101", "resnet_v2_152"})
# Variants whose whole-net runs (forward passes, synthetic checkpoints) only run with -m sweep;
# a normal run covers their code through the shallowest variant of the same family.
SWEEP_VARIANTS = frozenset(
    {"resnet_v1_101", "resnet_v1_152", "resnet_v2_101", "resnet_v2_152", "nasnet_large"}
)
# The graph-mode test also skips pnasnet_large in CI: its layers are NASNet's, which
# nasnet_mobile runs in a graph.
SWEEP_VARIANTS_IN_GRAPH_MODE = SWEEP_VARIANTS | {"pnasnet_large"}


def net_params(names=None, marks=(), sweep=SWEEP_VARIANTS) -> list:
    """`names` (default: every net) as pytest params with `marks`, plus `sweep` on those in
    `sweep`."""
    return [
        pytest.param(name, marks=[*marks, *([pytest.mark.sweep] * (name in sweep))])
        for name in (net_names() if names is None else names)
    ]


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
