"""ResNet V2 (50, 101, 152 layers, pre-activation units), as TF-Slim's `resnet_v2` builds it
(tf_slim 1.1.0).

The root block is a 7x7/2 `conv2d_same` with biases and neither batch norm nor activation, then
a 3x3/2 SAME max pool. Each bottleneck unit starts with `preact`, a batch norm with ReLU of its
input; the shortcut subsamples the *input* (1x1 max pool) when it already has the output depth,
else it is a biased 1x1 conv of `preact`; the residual is conv1 and conv2 (batch norm, ReLU) on
`preact` and a biased 1x1 `conv3` without activation; the unit's output is shortcut + residual,
with no activation. After block4, `postnorm` (batch norm with ReLU) gives the last activation,
whose spatial mean is the feature vector (TF-Slim's global pool); `postnorm` is not an end point,
so the last end point (`block4`) precedes it. Blocks, end points and head as in `resnet_v1`.
"""

from __future__ import annotations

from functools import partial

from modules.nets.base import EndPoints, NetDefinition
from modules.nets.resnet_v1 import RESNET_ARG_SCOPE, UNITS, resnet_logits, stack_blocks, subsample


def _bottleneck(ops, net, depth, bottleneck_depth, stride, name, end_points):
    add = end_points.add
    preact = ops.batch_norm(net, "preact", activation=True)
    if ops.depth(net) == depth:
        shortcut = subsample(ops, net, stride)
    else:
        shortcut = add(
            f"{name}/shortcut",
            ops.conv(preact, depth, 1, "shortcut", stride, batch_norm=False, activation=False),
        )
    residual = add(f"{name}/conv1", ops.conv(preact, bottleneck_depth, 1, "conv1"))
    residual = add(f"{name}/conv2", ops.conv_same(residual, bottleneck_depth, 3, "conv2", stride))
    residual = add(
        f"{name}/conv3",
        ops.conv(residual, depth, 1, "conv3", batch_norm=False, activation=False),
    )
    return ops.add(shortcut, residual)


class ResnetV2(NetDefinition):
    """TF-Slim `resnet_v2_<depth>` with num_classes=None (through postnorm) and its `logits` head."""

    default_image_size = 224
    arg_scope = RESNET_ARG_SCOPE

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.scope = f"resnet_v2_{depth}"

    def base(self, ops, images):
        end_points = EndPoints()
        net = end_points.add(
            "conv1",
            ops.conv_same(images, 64, 7, "conv1", 2, batch_norm=False, activation=False),
        )
        net = ops.max_pool(net, 3, stride=2)
        net = stack_blocks(ops, net, self.depth, _bottleneck, "bottleneck_v2", end_points)
        return ops.batch_norm(net, "postnorm", activation=True), end_points

    def logits(self, ops, net, num_classes):
        return resnet_logits(ops, net, num_classes)


NETS = {f"resnet_v2_{depth}": partial(ResnetV2, depth) for depth in UNITS}
