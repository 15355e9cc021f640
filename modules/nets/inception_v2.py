"""Inception V2 (BN-Inception), as TF-Slim's `inception_v2` builds it."""

from __future__ import annotations

from modules.nets.base import EndPoints, NetDefinition, conv_logits

# Inception blocks: (name, branch_0, branch_1 depths, branch_2 depths, pool, branch_3 depth).
_MIXED_3 = (
    ("Mixed_3b", 64, (64, 64), (64, 96, 96), "avg", 32),
    ("Mixed_3c", 64, (64, 96), (64, 96, 96), "avg", 64),
)
_MIXED_4 = (
    ("Mixed_4b", 224, (64, 96), (96, 128, 128), "avg", 128),
    ("Mixed_4c", 192, (96, 128), (96, 128, 128), "avg", 128),
    ("Mixed_4d", 160, (128, 160), (128, 160, 160), "avg", 96),
    ("Mixed_4e", 96, (128, 192), (160, 192, 192), "avg", 96),
)
_MIXED_5 = (
    ("Mixed_5b", 352, (192, 320), (160, 224, 224), "avg", 128),
    ("Mixed_5c", 352, (192, 320), (192, 224, 224), "max", 128),
)
# Grid-reduction blocks: (name, branch_0 depths, branch_1 depths); branch_2 is a max pool.
_MIXED_4A = ("Mixed_4a", (128, 160), (64, 96, 96))
_MIXED_5A = ("Mixed_5a", (128, 192), (192, 256, 256))


def _inception(ops, net, block):
    name, depth_0, depths_1, depths_2, pool, depth_3 = block
    with ops.scope(name):
        with ops.scope("Branch_0"):
            branch_0 = ops.conv(net, depth_0, 1, "Conv2d_0a_1x1")
        with ops.scope("Branch_1"):
            branch_1 = ops.conv(net, depths_1[0], 1, "Conv2d_0a_1x1")
            branch_1 = ops.conv(branch_1, depths_1[1], 3, "Conv2d_0b_3x3")
        with ops.scope("Branch_2"):
            branch_2 = ops.conv(net, depths_2[0], 1, "Conv2d_0a_1x1")
            branch_2 = ops.conv(branch_2, depths_2[1], 3, "Conv2d_0b_3x3")
            branch_2 = ops.conv(branch_2, depths_2[2], 3, "Conv2d_0c_3x3")
        with ops.scope("Branch_3"):
            branch_3 = ops.avg_pool(net, 3) if pool == "avg" else ops.max_pool(net, 3)
            branch_3 = ops.conv(branch_3, depth_3, 1, "Conv2d_0b_1x1")
        return ops.concat([branch_0, branch_1, branch_2, branch_3])


def _reduction(ops, net, block):
    name, depths_0, depths_1 = block
    with ops.scope(name):
        with ops.scope("Branch_0"):
            branch_0 = ops.conv(net, depths_0[0], 1, "Conv2d_0a_1x1")
            branch_0 = ops.conv(branch_0, depths_0[1], 3, "Conv2d_1a_3x3", stride=2)
        with ops.scope("Branch_1"):
            branch_1 = ops.conv(net, depths_1[0], 1, "Conv2d_0a_1x1")
            branch_1 = ops.conv(branch_1, depths_1[1], 3, "Conv2d_0b_3x3")
            branch_1 = ops.conv(branch_1, depths_1[2], 3, "Conv2d_1a_3x3", stride=2)
        with ops.scope("Branch_2"):
            branch_2 = ops.max_pool(net, 3, stride=2)
        return ops.concat([branch_0, branch_1, branch_2])


class InceptionV2(NetDefinition):
    """TF-Slim `inception_v2_base` (to Mixed_5c) and its `Logits/Conv2d_1c_1x1` head.

    The first layer is a separable 7x7 convolution (depthwise multiplier 8) with biases and ReLU
    and no batch norm: TF-Slim's inception_v2 arg scope only puts batch norm on conv2d.
    """

    scope = "InceptionV2"
    default_image_size = 224

    def base(self, ops, images):
        end_points = EndPoints()
        add = end_points.add
        net = add(
            "Conv2d_1a_7x7",
            ops.separable_conv(images, 64, 7, "Conv2d_1a_7x7", depth_multiplier=8, stride=2),
        )
        net = add("MaxPool_2a_3x3", ops.max_pool(net, 3, stride=2))
        net = add("Conv2d_2b_1x1", ops.conv(net, 64, 1, "Conv2d_2b_1x1"))
        net = add("Conv2d_2c_3x3", ops.conv(net, 192, 3, "Conv2d_2c_3x3"))
        net = add("MaxPool_3a_3x3", ops.max_pool(net, 3, stride=2))
        for block in _MIXED_3:
            net = add(block[0], _inception(ops, net, block))
        net = add(_MIXED_4A[0], _reduction(ops, net, _MIXED_4A))
        for block in _MIXED_4:
            net = add(block[0], _inception(ops, net, block))
        net = add(_MIXED_5A[0], _reduction(ops, net, _MIXED_5A))
        for block in _MIXED_5:
            net = add(block[0], _inception(ops, net, block))
        return net, end_points

    def logits(self, ops, net, num_classes):
        return conv_logits(ops, net, num_classes, "Conv2d_1c_1x1")


NETS = {"inception_v2": InceptionV2}
