"""What a module does to its input images before the network sees them.

A module takes float32 images with color values in [0, 1] (TF Hub's common image input). The
network inside was trained on values mapped per channel as `value * scale + offset[channel]`:
TF-Slim's Inception-style preprocessing maps [0, 1] to [-1, 1] (scale 2, offset -1); VGG-style
preprocessing multiplies by 255 and subtracts the ImageNet channel means.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf


@dataclass(frozen=True)
class InputMapping:
    """An affine map of [0, 1] color values, per channel: `value * scale + offset[channel]`."""

    scale: float
    offset: tuple[float, float, float]


INCEPTION_STYLE = InputMapping(scale=2.0, offset=(-1.0, -1.0, -1.0))
"""TF-Slim's Inception-style preprocessing: [0, 1] to [-1, 1]."""


def apply_input_mapping(images: tf.Tensor, mapping: InputMapping) -> tf.Tensor:
    """`images` ([N, H, W, 3] in [0, 1]) as the network expects them."""
    images = tf.convert_to_tensor(images, dtype=tf.float32)
    offset = tf.constant(mapping.offset, dtype=tf.float32)
    return images * mapping.scale + offset
