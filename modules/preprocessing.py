"""Applying a record's input mapping to images: the tensor math of `hubzoo.preprocessing`.

A module takes float32 images with color values in [0, 1] (TF Hub's common image input); its
record names the mapping (`preprocessing`, data in registry/preprocessing.yaml) that turns them
into what the network was trained on, e.g. TF-Slim's Inception-style [-1, 1].
"""

from __future__ import annotations

import tensorflow as tf

from hubzoo.preprocessing import InputMapping


def apply_input_mapping(images: tf.Tensor, mapping: InputMapping) -> tf.Tensor:
    """`images` ([N, H, W, 3] in [0, 1]) as the network expects them:
    `value * mapping.scale + mapping.offset[channel]`."""
    images = tf.convert_to_tensor(images, dtype=tf.float32)
    offset = tf.constant(mapping.offset, dtype=tf.float32)
    return images * mapping.scale + offset
