"""Inception V1 (GoogLeNet with batch norm), as TF-Slim's `inception_v1` builds it."""

from __future__ import annotations

from modules.nets.base import EndPoints, NetDefinition, conv_logits

# Mixed blocks: (name, branch_0 depth, branch_1 depths, branch_2 depths, branch_3 depth).
_MIXED_3 = (
    ("Mixed_3b", 64, (96, 128), (16, 32), 32),
    ("Mixed_3c", 128, (128, 192), (32, 96), 64),
)
_MIXED_4 = (
    ("Mixed_4b", 192, (96, 208), (16, 48), 64),
    ("Mixed_4c", 160, (112, 224), (24, 64), 64),
    ("Mixed_4d", 128, (128, 256), (24, 64), 64),
    ("Mixed_4e", 112, (144, 288), (32, 64), 64),
    ("Mixed_4f", 256, (160, 320), (32, 128), 128),
)
_MIXED_5 = (
    ("Mixed_5b", 256, (160, 320), (32, 128), 128),
    ("Mixed_5c", 384, (192, 384), (48, 128), 128),
)


def _mixed(ops, net, block):
    name, depth_0, depths_1, depths_2, depth_3 = block
    # TF-Slim quirk: Mixed_5b's Branch_2 3x3 conv is "Conv2d_0a_3x3", everywhere else "Conv2d_0b_3x3".
    branch_2_conv = "Conv2d_0a_3x3" if name == "Mixed_5b" else "Conv2d_0b_3x3"
    with ops.scope(name):
        with ops.scope("Branch_0"):
            branch_0 = ops.conv(net, depth_0, 1, "Conv2d_0a_1x1")
        with ops.scope("Branch_1"):
            branch_1 = ops.conv(net, depths_1[0], 1, "Conv2d_0a_1x1")
            branch_1 = ops.conv(branch_1, depths_1[1], 3, "Conv2d_0b_3x3")
        with ops.scope("Branch_2"):
            branch_2 = ops.conv(net, depths_2[0], 1, "Conv2d_0a_1x1")
            branch_2 = ops.conv(branch_2, depths_2[1], 3, branch_2_conv)
        with ops.scope("Branch_3"):
            branch_3 = ops.max_pool(net, 3)
            branch_3 = ops.conv(branch_3, depth_3, 1, "Conv2d_0b_1x1")
        return ops.concat([branch_0, branch_1, branch_2, branch_3])


class InceptionV1(NetDefinition):
    """TF-Slim `inception_v1_base` (to Mixed_5c) and its `Logits/Conv2d_0c_1x1` head."""

    scope = "InceptionV1"
    default_image_size = 224

    def base(self, ops, images):
        end_points = EndPoints()
        add = end_points.add
        net = add("Conv2d_1a_7x7", ops.conv(images, 64, 7, "Conv2d_1a_7x7", stride=2))
        net = add("MaxPool_2a_3x3", ops.max_pool(net, 3, stride=2))
        net = add("Conv2d_2b_1x1", ops.conv(net, 64, 1, "Conv2d_2b_1x1"))
        net = add("Conv2d_2c_3x3", ops.conv(net, 192, 3, "Conv2d_2c_3x3"))
        net = add("MaxPool_3a_3x3", ops.max_pool(net, 3, stride=2))
        for block in _MIXED_3:
            net = add(block[0], _mixed(ops, net, block))
        net = add("MaxPool_4a_3x3", ops.max_pool(net, 3, stride=2))
        for block in _MIXED_4:
            net = add(block[0], _mixed(ops, net, block))
        net = add("MaxPool_5a_2x2", ops.max_pool(net, 2, stride=2))
        for block in _MIXED_5:
            net = add(block[0], _mixed(ops, net, block))
        return net, end_points

    def logits(self, ops, net, num_classes):
        return conv_logits(ops, net, num_classes, "Conv2d_0c_1x1")


NETS = {"inception_v1": InceptionV1}
