"""MobileNet V1, as TF-Slim's `mobilenet_v1` builds it (tensorflow/models research/slim/nets).

A 3x3 conv then 13 depthwise-separable layers (3x3 depthwise with batch norm and ReLU6, then a 1x1
conv with batch norm and ReLU6), SAME padding throughout. The width multiplier
(`depth_multiplier`) scales every conv's output depth as `max(int(depth * depth_multiplier),
min_depth)`; depthwise layers keep their input's depth. Arg scope (`mobilenet_v1_arg_scope`):
weight decay 0.00004 on the conv weights (not the depthwise ones), batch norm with scale (gamma),
decay 0.9997, epsilon 0.001.

The head: TF-Slim's `mobilenet_v1` pools with a 7x7 window, VALID (`AvgPool_1a`; shrunk to the
map when the map's size is known and smaller), unless `global_pool=True`. That is the spatial
mean at the default 224x224 and for any known map of at most 7x7, and fails otherwise (a map of
unknown size other than 7x7, or a larger one, which leaves logits that do not squeeze). This net
always takes the spatial mean (as `global_pool=True` does), so the head accepts any input size;
then dropout (identity at inference) and the biased 1x1 conv `Logits/Conv2d_1c_1x1`.
"""

from __future__ import annotations

from modules.nets.base import EndPoints, NetDefinition, conv_logits
from modules.nets.layers import ArgScope

_FIRST_CONV = (32, 2)  # Conv2d_0: 3x3 conv (depth, stride)
# Conv2d_1 .. Conv2d_13: depthwise-separable layers (pointwise depth, stride).
_SEPARABLE = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)


class MobilenetV1(NetDefinition):
    """TF-Slim `mobilenet_v1_base` (to Conv2d_13_pointwise) and its `Logits/Conv2d_1c_1x1` head."""

    scope = "MobilenetV1"
    default_image_size = 224
    arg_scope = ArgScope(
        weight_decay=0.00004,
        batch_norm_decay=0.9997,
        batch_norm_epsilon=0.001,
        batch_norm_scale=True,
    )

    def __init__(self, depth_multiplier: float = 1.0, min_depth: int = 8) -> None:
        if depth_multiplier <= 0:
            raise ValueError(f"depth_multiplier must be > 0, not {depth_multiplier}")
        self.depth_multiplier = depth_multiplier
        self.min_depth = min_depth

    def _depth(self, depth: int) -> int:
        return max(int(depth * self.depth_multiplier), self.min_depth)

    def base(self, ops, images):
        end_points = EndPoints()
        add = end_points.add
        depth, stride = _FIRST_CONV
        net = add(
            "Conv2d_0",
            ops.conv_with_activation(images, self._depth(depth), 3, "Conv2d_0", "relu6", stride),
        )
        for index, (depth, stride) in enumerate(_SEPARABLE, start=1):
            depthwise, pointwise = f"Conv2d_{index}_depthwise", f"Conv2d_{index}_pointwise"
            net = add(depthwise, ops.depthwise_conv(net, 3, depthwise, "relu6", stride))
            net = add(
                pointwise,
                ops.conv_with_activation(net, self._depth(depth), 1, pointwise, "relu6"),
            )
        return net, end_points

    def logits(self, ops, net, num_classes):
        return conv_logits(ops, net, num_classes, "Conv2d_1c_1x1")


NETS = {"mobilenet_v1": MobilenetV1}
