"""MobileNet V2, as TF-Slim's `mobilenet_v2` builds it (research/slim/nets/mobilenet).

A 3x3 conv, 17 inverted-residual blocks (`expanded_conv`: 1x1 expansion with ReLU6, 3x3
depthwise with ReLU6, linear 1x1 projection, residual add when the stride is 1 and the depth is
kept) and a 1x1 conv to 1280, each conv with batch norm; SAME padding throughout. End points are
TF-Slim's `layer_1` .. `layer_19`, and inside each block `layer_N/expansion_output` (when the
block expands), `layer_N/depthwise_output` and `layer_N/output`.

Widths follow TF-Slim's `depth_multiplier`: every conv's depth becomes
`make_divisible(depth * depth_multiplier, 8)` (at least `min_depth`, 8), and a block expands to
`make_divisible(input depth * 6, 8)` (the first block does not expand). The last conv
(`Conv_1`, 1280) grows with multipliers above 1 (1.3: 1664, 1.4: 1792); below 1 it keeps 1280
with `finegrain_classification_mode=True`, as the published checkpoints and the TF-Hub modules
(`mobilenet_v2_035`, `mobilenet_v2_050` wrappers) were built, and shrinks with TF-Slim's own
default `False`. Arg scope (`training_scope`): weight decay 0.00004 on conv weights (not the
depthwise ones), batch norm with scale (gamma), decay 0.997, epsilon 0.001.

The head: global average pool, dropout (identity at inference), biased 1x1 conv
`Logits/Conv2d_1c_1x1`.
"""

from __future__ import annotations

from modules.nets.base import EndPoints, NetDefinition, conv_logits
from modules.nets.layers import ArgScope

MOBILENET_ARG_SCOPE = ArgScope(
    weight_decay=0.00004,
    batch_norm_decay=0.997,
    batch_norm_epsilon=0.001,
    batch_norm_scale=True,
)
"""TF-Slim's mobilenet `training_scope()` defaults, shared by V2 and V3."""

_FIRST_CONV = 32  # Conv: 3x3, stride 2
# expanded_conv .. expanded_conv_16: (expansion factor, output depth, stride)
_BLOCKS = (
    (1, 16, 1),
    (6, 24, 2),
    (6, 24, 1),
    (6, 32, 2),
    (6, 32, 1),
    (6, 32, 1),
    (6, 64, 2),
    (6, 64, 1),
    (6, 64, 1),
    (6, 64, 1),
    (6, 96, 1),
    (6, 96, 1),
    (6, 96, 1),
    (6, 160, 2),
    (6, 160, 1),
    (6, 160, 1),
    (6, 320, 1),
)
_LAST_CONV = 1280  # Conv_1: 1x1


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """TF-Slim's `_make_divisible`: `value` rounded to the nearest multiple of `divisor` (at least
    `min_value`, default `divisor`), one step up if rounding lost more than 10%."""
    if min_value is None:
        min_value = divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return int(rounded)


def expanded_conv(
    ops,
    net,
    scope: str,
    layer: str,
    end_points: EndPoints,
    *,
    expansion_size: int,
    depth: int,
    stride: int,
    kernel: int,
    activation: str,
    squeeze_depth: int | None = None,
):
    """TF-Slim's `conv_blocks.expanded_conv` as MobileNet V2 and V3 use it, in variable scope
    `scope`, recording end points `layer/...` as `mobilenet_base` names them.

    1x1 "expand" conv to `expansion_size` (only when that exceeds the input depth), depthwise
    conv "depthwise" (`kernel`, `stride`), both with batch norm and `activation`; then the
    squeeze-excite when `squeeze_depth` is given (V3); linear 1x1 "project" conv with batch norm
    to `depth`; the input added back when the stride is 1 and the depth unchanged.
    """
    with ops.scope(scope):
        block_input = net
        if expansion_size > ops.depth(net):
            net = end_points.add(
                f"{layer}/expansion_output",
                ops.conv_with_activation(net, expansion_size, 1, "expand", activation),
            )
        net = end_points.add(
            f"{layer}/depthwise_output",
            ops.depthwise_conv(net, kernel, "depthwise", activation, stride),
        )
        if squeeze_depth is not None:
            net = ops.squeeze_excite(net, squeeze_depth)
        net = ops.conv_with_activation(net, depth, 1, "project", None)
        if stride == 1 and ops.depth(net) == ops.depth(block_input):
            net = ops.add(net, block_input)
    end_points.add(f"{layer}/output", net)
    return net


def numbered(name: str, index: int) -> str:
    """TF-Slim's unique scope names: "Conv", "Conv_1", "Conv_2", ..."""
    return name if index == 0 else f"{name}_{index}"


class MobilenetV2(NetDefinition):
    """TF-Slim `mobilenet_v2.mobilenet_base` (to layer_19, Conv_1) and its
    `Logits/Conv2d_1c_1x1` head."""

    scope = "MobilenetV2"
    default_image_size = 224
    arg_scope = MOBILENET_ARG_SCOPE

    def __init__(
        self,
        depth_multiplier: float = 1.0,
        finegrain_classification_mode: bool = True,
        min_depth: int = 8,
        divisible_by: int = 8,
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
        self.min_depth = min_depth
        self.divisible_by = divisible_by

    def _depth(self, depth: float) -> int:
        """TF-Slim's `mobilenet.depth_multiplier` applied to a layer's `num_outputs`."""
        return make_divisible(depth * self.depth_multiplier, self.divisible_by, self.min_depth)

    def _last_conv_depth(self) -> int:
        depth: float = _LAST_CONV
        if self.finegrain_classification_mode and self.depth_multiplier < 1:
            depth = depth / self.depth_multiplier  # TF-Slim divides, then multiplies back
        return self._depth(depth)

    def base(self, ops, images):
        end_points = EndPoints()
        net = end_points.add(
            "layer_1",
            ops.conv_with_activation(images, self._depth(_FIRST_CONV), 3, "Conv", "relu6", 2),
        )
        for index, (expansion, depth, stride) in enumerate(_BLOCKS):
            # The first block's expansion is rounded to 1, not 8: it never expands.
            divisor = 1 if index == 0 else 8
            layer = f"layer_{index + 2}"
            net = expanded_conv(
                ops,
                net,
                numbered("expanded_conv", index),
                layer,
                end_points,
                expansion_size=make_divisible(ops.depth(net) * expansion, divisor),
                depth=self._depth(depth),
                stride=stride,
                kernel=3,
                activation="relu6",
            )
            end_points[layer] = net
        net = end_points.add(
            f"layer_{len(_BLOCKS) + 2}",
            ops.conv_with_activation(net, self._last_conv_depth(), 1, "Conv_1", "relu6"),
        )
        return net, end_points

    def logits(self, ops, net, num_classes):
        return conv_logits(ops, net, num_classes, "Conv2d_1c_1x1")


NETS = {"mobilenet_v2": MobilenetV2}
