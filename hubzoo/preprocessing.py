"""Input mappings: what a module does to its input color values before the network sees them.

A module takes float32 images with color values in [0, 1] (TF Hub's common image input); the
network inside was trained on values mapped per channel as `value * scale + offset[channel]`.
The mappings are data (registry/preprocessing.yaml) and a record names one (`preprocessing`);
`modules.preprocessing` applies a mapping to tensors.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputMapping:
    """An affine map of [0, 1] color values, per channel: `value * scale + offset[channel]`."""

    id: str  # its id in registry/preprocessing.yaml, e.g. "inception"
    description: str  # e.g. "TF-Slim's Inception-style preprocessing: [0, 1] to [-1, 1]"
    scale: float
    offset: tuple[float, float, float]  # red, green, blue
    output_range: tuple[float, float]  # what the network sees, e.g. (-1.0, 1.0)
