"""Inception-ResNet-v2, as TF-Slim's `inception_resnet_v2` builds it (tensorflow/models research/slim).

Defaults of the reference: output_stride=16, align_feature_maps=False (the stem and grid
reductions use VALID padding), ReLU block activations, residual scales 0.17 / 0.10 / 0.20, and a
last Block8 with scale 1.0 and no activation, followed by Conv2d_7b_1x1. Its arg scope also
regularizes biases.
"""

from __future__ import annotations

from modules.nets.base import EndPoints, NetDefinition
from modules.nets.layers import ArgScope


def _block35(ops, net, depth):
    with ops.scope("Branch_0"):
        branch_0 = ops.conv(net, 32, 1, "Conv2d_1x1")
    with ops.scope("Branch_1"):
        branch_1 = ops.conv(net, 32, 1, "Conv2d_0a_1x1")
        branch_1 = ops.conv(branch_1, 32, 3, "Conv2d_0b_3x3")
    with ops.scope("Branch_2"):
        branch_2 = ops.conv(net, 32, 1, "Conv2d_0a_1x1")
        branch_2 = ops.conv(branch_2, 48, 3, "Conv2d_0b_3x3")
        branch_2 = ops.conv(branch_2, 64, 3, "Conv2d_0c_3x3")
    mixed = ops.concat([branch_0, branch_1, branch_2])
    return ops.conv(mixed, depth, 1, "Conv2d_1x1", batch_norm=False, activation=False)


def _block17(ops, net, depth):
    with ops.scope("Branch_0"):
        branch_0 = ops.conv(net, 192, 1, "Conv2d_1x1")
    with ops.scope("Branch_1"):
        branch_1 = ops.conv(net, 128, 1, "Conv2d_0a_1x1")
        branch_1 = ops.conv(branch_1, 160, (1, 7), "Conv2d_0b_1x7")
        branch_1 = ops.conv(branch_1, 192, (7, 1), "Conv2d_0c_7x1")
    mixed = ops.concat([branch_0, branch_1])
    return ops.conv(mixed, depth, 1, "Conv2d_1x1", batch_norm=False, activation=False)


def _block8(ops, net, depth):
    with ops.scope("Branch_0"):
        branch_0 = ops.conv(net, 192, 1, "Conv2d_1x1")
    with ops.scope("Branch_1"):
        branch_1 = ops.conv(net, 192, 1, "Conv2d_0a_1x1")
        branch_1 = ops.conv(branch_1, 224, (1, 3), "Conv2d_0b_1x3")
        branch_1 = ops.conv(branch_1, 256, (3, 1), "Conv2d_0c_3x1")
    mixed = ops.concat([branch_0, branch_1])
    return ops.conv(mixed, depth, 1, "Conv2d_1x1", batch_norm=False, activation=False)


def _residual(ops, net, block, scope, scale, activation=True):
    with ops.scope(scope):
        return ops.residual(net, block(ops, net, ops.depth(net)), scale, activation)


def _repeat(ops, net, repeat_scope, block, block_name, count, scale):
    """TF-Slim's `slim.repeat`: scopes "<repeat_scope>/<block_name>_1" .. "_<count>"."""
    with ops.scope(repeat_scope):
        for index in range(1, count + 1):
            net = _residual(ops, net, block, f"{block_name}_{index}", scale)
    return net


def _mixed_5b(ops, net):
    with ops.scope("Mixed_5b"):
        with ops.scope("Branch_0"):
            branch_0 = ops.conv(net, 96, 1, "Conv2d_1x1")
        with ops.scope("Branch_1"):
            branch_1 = ops.conv(net, 48, 1, "Conv2d_0a_1x1")
            branch_1 = ops.conv(branch_1, 64, 5, "Conv2d_0b_5x5")
        with ops.scope("Branch_2"):
            branch_2 = ops.conv(net, 64, 1, "Conv2d_0a_1x1")
            branch_2 = ops.conv(branch_2, 96, 3, "Conv2d_0b_3x3")
            branch_2 = ops.conv(branch_2, 96, 3, "Conv2d_0c_3x3")
        with ops.scope("Branch_3"):
            branch_3 = ops.avg_pool(net, 3)
            branch_3 = ops.conv(branch_3, 64, 1, "Conv2d_0b_1x1")
        return ops.concat([branch_0, branch_1, branch_2, branch_3])


def _mixed_6a(ops, net):
    with ops.scope("Mixed_6a"):
        with ops.scope("Branch_0"):
            branch_0 = ops.conv(net, 384, 3, "Conv2d_1a_3x3", stride=2, padding="VALID")
        with ops.scope("Branch_1"):
            branch_1 = ops.conv(net, 256, 1, "Conv2d_0a_1x1")
            branch_1 = ops.conv(branch_1, 256, 3, "Conv2d_0b_3x3")
            branch_1 = ops.conv(branch_1, 384, 3, "Conv2d_1a_3x3", stride=2, padding="VALID")
        with ops.scope("Branch_2"):
            branch_2 = ops.max_pool(net, 3, stride=2, padding="VALID")
        return ops.concat([branch_0, branch_1, branch_2])


def _mixed_7a(ops, net):
    with ops.scope("Mixed_7a"):
        with ops.scope("Branch_0"):
            branch_0 = ops.conv(net, 256, 1, "Conv2d_0a_1x1")
            branch_0 = ops.conv(branch_0, 384, 3, "Conv2d_1a_3x3", stride=2, padding="VALID")
        with ops.scope("Branch_1"):
            branch_1 = ops.conv(net, 256, 1, "Conv2d_0a_1x1")
            branch_1 = ops.conv(branch_1, 288, 3, "Conv2d_1a_3x3", stride=2, padding="VALID")
        with ops.scope("Branch_2"):
            branch_2 = ops.conv(net, 256, 1, "Conv2d_0a_1x1")
            branch_2 = ops.conv(branch_2, 288, 3, "Conv2d_0b_3x3")
            branch_2 = ops.conv(branch_2, 320, 3, "Conv2d_1a_3x3", stride=2, padding="VALID")
        with ops.scope("Branch_3"):
            branch_3 = ops.max_pool(net, 3, stride=2, padding="VALID")
        return ops.concat([branch_0, branch_1, branch_2, branch_3])


class InceptionResnetV2(NetDefinition):
    """TF-Slim `inception_resnet_v2_base` (to Conv2d_7b_1x1) and its `Logits/Logits` head."""

    scope = "InceptionResnetV2"
    default_image_size = 299
    arg_scope = ArgScope(regularize_biases=True)

    def base(self, ops, images):
        end_points = EndPoints()
        add = end_points.add
        net = add("Conv2d_1a_3x3", ops.conv(images, 32, 3, "Conv2d_1a_3x3", 2, "VALID"))
        net = add("Conv2d_2a_3x3", ops.conv(net, 32, 3, "Conv2d_2a_3x3", padding="VALID"))
        net = add("Conv2d_2b_3x3", ops.conv(net, 64, 3, "Conv2d_2b_3x3"))
        net = add("MaxPool_3a_3x3", ops.max_pool(net, 3, stride=2, padding="VALID"))
        net = add("Conv2d_3b_1x1", ops.conv(net, 80, 1, "Conv2d_3b_1x1", padding="VALID"))
        net = add("Conv2d_4a_3x3", ops.conv(net, 192, 3, "Conv2d_4a_3x3", padding="VALID"))
        net = add("MaxPool_5a_3x3", ops.max_pool(net, 3, stride=2, padding="VALID"))
        net = add("Mixed_5b", _mixed_5b(ops, net))
        net = _repeat(ops, net, "Repeat", _block35, "block35", 10, scale=0.17)
        net = add("Mixed_6a", _mixed_6a(ops, net))
        net = add("PreAuxLogits", _repeat(ops, net, "Repeat_1", _block17, "block17", 20, 0.10))
        net = add("Mixed_7a", _mixed_7a(ops, net))
        net = _repeat(ops, net, "Repeat_2", _block8, "block8", 9, scale=0.20)
        net = _residual(ops, net, _block8, "Block8", scale=1.0, activation=False)
        net = add("Conv2d_7b_1x1", ops.conv(net, 1536, 1, "Conv2d_7b_1x1"))
        return net, end_points

    def logits(self, ops, net, num_classes):
        with ops.scope("Logits"):
            return ops.dense(ops.spatial_mean(net), num_classes, "Logits")

    def training_extras(self, num_classes):
        """The auxiliary head on PreAuxLogits (17x17x1088 at 299x299), as TF-Slim creates it."""
        aux = f"{self.scope}/AuxLogits"
        return {
            f"{aux}/Conv2d_1b_1x1/weights": (1, 1, 1088, 128),
            f"{aux}/Conv2d_1b_1x1/BatchNorm/beta": (128,),
            f"{aux}/Conv2d_1b_1x1/BatchNorm/moving_mean": (128,),
            f"{aux}/Conv2d_1b_1x1/BatchNorm/moving_variance": (128,),
            f"{aux}/Conv2d_2a_5x5/weights": (5, 5, 128, 768),
            f"{aux}/Conv2d_2a_5x5/BatchNorm/beta": (768,),
            f"{aux}/Conv2d_2a_5x5/BatchNorm/moving_mean": (768,),
            f"{aux}/Conv2d_2a_5x5/BatchNorm/moving_variance": (768,),
            f"{aux}/Logits/weights": (768, num_classes),
            f"{aux}/Logits/biases": (num_classes,),
        }


NETS = {"inception_resnet_v2": InceptionResnetV2}
