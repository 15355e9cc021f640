"""PNASNet-5 Large, as TF-Slim builds it (tensorflow/models research/slim nets/nasnet/pnasnet.py:
`build_pnasnet_large`), on the NASNet cell machinery of `modules.nets.nasnet`.

PNASNet has one cell kind: the stem (conv0 and two stride-2 cells, as NASNet's ImageNet stem)
uses it, and the cells at num_cells/3 and 2*num_cells/3 apply it with stride 2 and twice the
filters instead of a separate reduction cell. Each cell's "prev" is the output before its input
(skip_reduction_layer_input). Features, head, auxiliary head, drop path and naming (no top-level
variable scope) are NASNet's; see `modules.nets.nasnet`.
"""

from __future__ import annotations

import functools
from typing import Any

from modules.nets.base import EndPoints
from modules.nets.nasnet import (
    NUM_STEM_CELLS,
    CellSpec,
    NasNetFamily,
    cell,
    final_features,
    imagenet_stem,
    reduction_indices,
)

PNASNET_5_NORMAL = CellSpec(
    operations=(
        "separable_5x5_2",
        "max_pool_3x3",
        "separable_7x7_2",
        "max_pool_3x3",
        "separable_5x5_2",
        "separable_3x3_2",
        "separable_3x3_2",
        "max_pool_3x3",
        "separable_3x3_2",
        "none",
    ),
    inputs=(1, 1, 0, 0, 0, 0, 4, 0, 1, 0),
    used=(1, 1, 0, 0, 0, 0, 0),
)


class PNASNet(NasNetFamily):
    """TF-Slim's PNASNet-5 for ImageNet (`_build_pnasnet_base`)."""

    @property
    def total_cells(self) -> int:
        # No reduction cells: num_cells plus the two stem cells.
        return self.num_cells + NUM_STEM_CELLS

    def base(self, ops, images):
        with ops.top_level():
            return self._base(ops, images)

    def _base(self, ops, images):
        end_points = EndPoints()
        net, outputs = imagenet_stem(
            ops,
            images,
            PNASNET_5_NORMAL,
            self.num_conv_filters,
            self.stem_multiplier,
            self.filter_scaling_rate,
            self.keep_prob_of,
        )
        end_points.add("Stem", net.value)
        reductions = reduction_indices(self.num_cells, self.num_reduction_layers)
        filter_scaling = 1.0
        prev = None
        for index in range(self.num_cells):
            reducing = index in reductions
            if reducing:
                filter_scaling *= self.filter_scaling_rate
            if self.skip_reduction_layer_input or not reducing:
                prev = outputs[-2]
            net = cell(
                ops,
                PNASNET_5_NORMAL,
                f"cell_{index}",
                net,
                prev,
                int(self.num_conv_filters * filter_scaling),
                stride=2 if reducing else 1,
                keep_prob=self.keep_prob_of(NUM_STEM_CELLS + index),
            )
            end_points.add(f"Cell_{index}", net.value)
            outputs.append(net)
        return final_features(ops, net, end_points), end_points


# TF-Slim's pnasnet large_imagenet_config and pnasnet_large_arg_scope's weight decay.
PNASNET_LARGE: dict[str, Any] = {
    "num_cells": 12,
    "num_conv_filters": 216,
    "stem_multiplier": 3.0,
    "skip_reduction_layer_input": True,
    "drop_path_keep_prob": 0.6,
    "weight_decay": 0.00004,
    "image_size": 331,
}

NETS = {"pnasnet_large": functools.partial(PNASNet, "pnasnet_large", **PNASNET_LARGE)}
