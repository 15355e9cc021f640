"""MobileNet V3 large and small, as TF-Slim's `mobilenet_v3` builds them (research/slim/nets/mobilenet).

A 3x3 conv (hard-swish), the V3_LARGE or V3_SMALL inverted-residual blocks (V2's
`expanded_conv` with ReLU or hard-swish inside, 3x3 or 5x5 depthwise, and in some blocks a
squeeze-excite after the depthwise conv: squeeze to `make_divisible(expanded depth / 4, 8)` with
ReLU, gate with TF-Slim's hard sigmoid `relu6(x + 3) * 0.16667`), a 1x1 conv with batch norm and
hard-swish (`Conv_1`: 960 large, 576 small), TF-Slim's `reduce_to_1x1` average pool, and a biased
1x1 conv without batch norm, hard-swish (`Conv_2`: 1280 large, 1024 small). All of that is the
feature extractor (`mobilenet_base`), so its last end point, `layer_19` (large) or `layer_15`
(small), is 1x1 and the features are its 1280 or 1024 values. SAME padding throughout.

`reduce_to_1x1` pools the whole map when its static height and width are known and equal, and
with a fixed 7x7 window (VALID) otherwise: inputs of unknown size must then be at least 193x193,
and above 224 they leave a map larger than 1x1 for the head's global pool.

Widths: `make_divisible(depth * depth_multiplier, 8)` for every conv but the last;
`finegrain_classification_mode=True` (as the published 0.75 checkpoints and the TF-Hub modules
were built: 1280 / 1024 features at 0.75) leaves `Conv_2` at full width whatever the multiplier,
TF-Slim's own default `False` scales it too. Arg scope as MobileNet V2's (`training_scope`).

The head: global average pool, dropout (identity at inference), biased 1x1 conv
`Logits/Conv2d_1c_1x1`.
"""

from __future__ import annotations

from typing import ClassVar

from modules.nets.base import EndPoints, NetDefinition, conv_logits
from modules.nets.mobilenet_v2 import (
    MOBILENET_ARG_SCOPE,
    expanded_conv,
    make_divisible,
    numbered,
)

_FIRST_CONV = 16  # Conv: 3x3, stride 2, hard-swish
_SQUEEZE_FACTOR = 4
# (kernel, expansion factor, output depth, stride, activation, squeeze-excite), per V3_LARGE.
_LARGE_BLOCKS = (
    (3, 1, 16, 1, "relu", False),
    (3, 4, 24, 2, "relu", False),
    (3, 3, 24, 1, "relu", False),
    (5, 3, 40, 2, "relu", True),
    (5, 3, 40, 1, "relu", True),
    (5, 3, 40, 1, "relu", True),
    (3, 6, 80, 2, "hard_swish", False),
    (3, 2.5, 80, 1, "hard_swish", False),
    (3, 184 / 80, 80, 1, "hard_swish", False),
    (3, 184 / 80, 80, 1, "hard_swish", False),
    (3, 6, 112, 1, "hard_swish", True),
    (3, 6, 112, 1, "hard_swish", True),
    (5, 6, 160, 2, "hard_swish", True),
    (5, 6, 160, 1, "hard_swish", True),
    (5, 6, 160, 1, "hard_swish", True),
)
# Per V3_SMALL.
_SMALL_BLOCKS = (
    (3, 1, 16, 2, "relu", True),
    (3, 72 / 16, 24, 2, "relu", False),
    (3, 88 / 24, 24, 1, "relu", False),
    (5, 4, 40, 2, "hard_swish", True),
    (5, 6, 40, 1, "hard_swish", True),
    (5, 6, 40, 1, "hard_swish", True),
    (5, 3, 48, 1, "hard_swish", True),
    (5, 3, 48, 1, "hard_swish", True),
    (5, 6, 96, 2, "hard_swish", True),
    (5, 6, 96, 1, "hard_swish", True),
    (5, 6, 96, 1, "hard_swish", True),
)


class _MobilenetV3(NetDefinition):
    """TF-Slim `mobilenet_v3.mobilenet_base` (to Conv_2) and its `Logits/Conv2d_1c_1x1` head."""

    scope = "MobilenetV3"
    default_image_size = 224
    arg_scope = MOBILENET_ARG_SCOPE
    blocks: ClassVar[tuple]
    last_conv: ClassVar[int]  # Conv_1
    final_conv: ClassVar[int]  # Conv_2

    def __init__(
        self, depth_multiplier: float = 1.0, finegrain_classification_mode: bool = True
    ) -> None:
        if depth_multiplier <= 0:
            raise ValueError(f"depth_multiplier must be > 0, not {depth_multiplier}")
        if not isinstance(finegrain_classification_mode, bool):
            raise TypeError(
                "finegrain_classification_mode must be True or False, "
                f"not {finegrain_classification_mode!r}"
            )
        self.depth_multiplier = depth_multiplier
        self.finegrain_classification_mode = finegrain_classification_mode

    def _depth(self, depth: float) -> int:
        return make_divisible(depth * self.depth_multiplier, 8)

    def base(self, ops, images):
        end_points = EndPoints()
        net = end_points.add(
            "layer_1",
            ops.conv_with_activation(images, self._depth(_FIRST_CONV), 3, "Conv", "hard_swish", 2),
        )
        for index, (kernel, expansion, depth, stride, activation, excite) in enumerate(self.blocks):
            expansion_size = make_divisible(ops.depth(net) * expansion, 8)
            inner_depth = max(expansion_size, ops.depth(net))  # the block expands only upwards
            block_end_point = f"layer_{index + 2}"
            net = expanded_conv(
                ops,
                net,
                numbered("expanded_conv", index),
                block_end_point,
                end_points,
                expansion_size=expansion_size,
                depth=self._depth(depth),
                stride=stride,
                kernel=kernel,
                activation=activation,
                squeeze_depth=(
                    make_divisible(inner_depth / _SQUEEZE_FACTOR, 8) if excite else None
                ),
            )
            end_points[block_end_point] = net
        layer = len(self.blocks) + 2
        net = end_points.add(
            f"layer_{layer}",
            ops.conv_with_activation(net, self._depth(self.last_conv), 1, "Conv_1", "hard_swish"),
        )
        net = end_points.add(f"layer_{layer + 1}", ops.reduce_to_1x1(net, default_size=7))
        final_depth = (
            self.final_conv if self.finegrain_classification_mode else self._depth(self.final_conv)
        )
        net = end_points.add(
            f"layer_{layer + 2}",
            ops.conv_with_activation(net, final_depth, 1, "Conv_2", "hard_swish", batch_norm=False),
        )
        return net, end_points

    def logits(self, ops, net, num_classes):
        return conv_logits(ops, net, num_classes, "Conv2d_1c_1x1")


class MobilenetV3Large(_MobilenetV3):
    """MobileNet V3 large (TF-Slim's `mobilenet_v3.large`, conv_defs V3_LARGE)."""

    blocks = _LARGE_BLOCKS
    last_conv = 960
    final_conv = 1280


class MobilenetV3Small(_MobilenetV3):
    """MobileNet V3 small (TF-Slim's `mobilenet_v3.small`, conv_defs V3_SMALL)."""

    blocks = _SMALL_BLOCKS
    last_conv = 576
    final_conv = 1024


NETS = {"mobilenet_v3_large": MobilenetV3Large, "mobilenet_v3_small": MobilenetV3Small}
