"""ResNet V1 (50, 101, 152 layers), as TF-Slim's `resnet_v1` builds it (tf_slim 1.1.0).

The root block is a 7x7/2 `conv2d_same` with batch norm and ReLU, then a 3x3/2 SAME max pool
(`pool1`, not an end point). Four blocks of bottleneck units follow; each block subsamples in its
*last* unit (stride 2 on the 3x3 conv, block4 not at all), and a unit whose input already has the
output depth takes its shortcut by subsampling (a 1x1 max pool), else by a 1x1 conv with batch
norm and no activation. The unit's output is ReLU(shortcut + residual).

End points are keyed by TF-Slim's names without the top scope: `conv1`, each conv of a unit
(`block1/unit_1/bottleneck_v1/conv1`, ... `/shortcut`), each unit (`block1/unit_1/bottleneck_v1`)
and each block (`block1`). The feature vector is TF-Slim's global pool (spatial mean of block4);
the head is TF-Slim's `logits`, a biased 1x1 conv on the global pool, squeezed to [N, classes].
"""

from __future__ import annotations

from functools import partial

from modules.nets.base import EndPoints, NetDefinition
from modules.nets.layers import ArgScope

RESNET_ARG_SCOPE = ArgScope(
    weight_decay=0.0001, batch_norm_decay=0.997, batch_norm_epsilon=1e-5, batch_norm_scale=True
)
"""TF-Slim's `resnet_arg_scope()` defaults (resnet_utils), shared by resnet_v1 and resnet_v2."""

# Units per block, by depth; the blocks' bottleneck depths are 64, 128, 256, 512 (outputs 4x).
UNITS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
BASE_DEPTHS = (64, 128, 256, 512)
BLOCK_STRIDES = (2, 2, 2, 1)


def block_specs(depth: int):
    """(block name, [(output depth, bottleneck depth, stride) per unit]) for each block, as
    TF-Slim's `resnet_v*_block` lays them out: the block's stride is on its last unit."""
    for index, (units, base_depth, stride) in enumerate(
        zip(UNITS[depth], BASE_DEPTHS, BLOCK_STRIDES, strict=True)
    ):
        strides = [1] * (units - 1) + [stride]
        yield f"block{index + 1}", [(base_depth * 4, base_depth, s) for s in strides]


def subsample(ops, net, stride: int):
    """TF-Slim's `resnet_utils.subsample`: the input itself, or a 1x1 max pool of that stride."""
    return net if stride == 1 else ops.max_pool(net, 1, stride=stride)


def stack_blocks(ops, net, depth: int, unit, unit_name: str, end_points: EndPoints):
    """TF-Slim's `stack_blocks_dense` at the nominal output stride: scopes
    `blockN/unit_M/<unit_name>`, each unit and each block an end point."""
    for block, units in block_specs(depth):
        with ops.scope(block):
            for index, (output_depth, bottleneck_depth, stride) in enumerate(units):
                name = f"{block}/unit_{index + 1}/{unit_name}"
                with ops.scope(f"unit_{index + 1}"), ops.scope(unit_name):
                    net = unit(ops, net, output_depth, bottleneck_depth, stride, name, end_points)
                end_points.add(name, net)
        end_points.add(block, net)
    return net


def resnet_logits(ops, net, num_classes: int):
    """TF-Slim's ResNet head: global pool, biased 1x1 conv `logits`, spatial squeeze."""
    pooled = ops.spatial_mean(net, keepdims=True)
    logits = ops.conv(pooled, num_classes, 1, "logits", batch_norm=False, activation=False)
    return ops.squeeze_spatial(logits)


def _bottleneck(ops, net, depth, bottleneck_depth, stride, name, end_points):
    add = end_points.add
    if ops.depth(net) == depth:
        shortcut = subsample(ops, net, stride)
    else:
        shortcut = add(
            f"{name}/shortcut", ops.conv(net, depth, 1, "shortcut", stride, activation=False)
        )
    residual = add(f"{name}/conv1", ops.conv(net, bottleneck_depth, 1, "conv1"))
    residual = add(f"{name}/conv2", ops.conv_same(residual, bottleneck_depth, 3, "conv2", stride))
    residual = add(f"{name}/conv3", ops.conv(residual, depth, 1, "conv3", activation=False))
    return ops.add(shortcut, residual, activation=True)


class ResnetV1(NetDefinition):
    """TF-Slim `resnet_v1_<depth>` with num_classes=None (the blocks) and its `logits` head."""

    default_image_size = 224
    arg_scope = RESNET_ARG_SCOPE

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.scope = f"resnet_v1_{depth}"

    def base(self, ops, images):
        end_points = EndPoints()
        net = end_points.add("conv1", ops.conv_same(images, 64, 7, "conv1", stride=2))
        net = ops.max_pool(net, 3, stride=2)
        net = stack_blocks(ops, net, self.depth, _bottleneck, "bottleneck_v1", end_points)
        return net, end_points

    def logits(self, ops, net, num_classes):
        return resnet_logits(ops, net, num_classes)


NETS = {f"resnet_v1_{depth}": partial(ResnetV1, depth) for depth in UNITS}
