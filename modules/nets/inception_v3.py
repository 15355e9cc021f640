"""Inception V3, as TF-Slim's `inception_v3` builds it (tf_slim 1.1.0, depth_multiplier 1).

The stem (to MaxPool_5a_3x3) uses VALID padding except Conv2d_2b_3x3; the Mixed blocks use SAME
padding, their grid reductions (Mixed_6a, Mixed_7a) VALID strided convs and max pools. TF-Slim's
own layer names are kept, quirks included (Mixed_5c's Branch_1 is "Conv2d_0b_1x1" then
"Conv_1_0c_5x5"; Mixed_6a's 3x3 reductions are named "Conv2d_1a_1x1").
"""

from __future__ import annotations

from modules.nets.base import EndPoints, NetDefinition, conv_logits

# Mixed_5b..5d: (name, branch_1 conv names, branch_3 depth).
_MIXED_5 = (
    ("Mixed_5b", ("Conv2d_0a_1x1", "Conv2d_0b_5x5"), 32),
    ("Mixed_5c", ("Conv2d_0b_1x1", "Conv_1_0c_5x5"), 64),
    ("Mixed_5d", ("Conv2d_0a_1x1", "Conv2d_0b_5x5"), 64),
)
# Mixed_6b..6e: (name, depth of the 7x7-factorized branches' inner convs).
_MIXED_6 = (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192))
# Mixed_7b, 7c: (name, branch_1's 3x1 conv name).
_MIXED_7 = (("Mixed_7b", "Conv2d_0b_3x1"), ("Mixed_7c", "Conv2d_0c_3x1"))


def _mixed_5(ops, net, block):
    name, branch_1_names, depth_3 = block
    with ops.scope(name):
        with ops.scope("Branch_0"):
            branch_0 = ops.conv(net, 64, 1, "Conv2d_0a_1x1")
        with ops.scope("Branch_1"):
            branch_1 = ops.conv(net, 48, 1, branch_1_names[0])
            branch_1 = ops.conv(branch_1, 64, 5, branch_1_names[1])
        with ops.scope("Branch_2"):
            branch_2 = ops.conv(net, 64, 1, "Conv2d_0a_1x1")
            branch_2 = ops.conv(branch_2, 96, 3, "Conv2d_0b_3x3")
            branch_2 = ops.conv(branch_2, 96, 3, "Conv2d_0c_3x3")
        with ops.scope("Branch_3"):
            branch_3 = ops.avg_pool(net, 3)
            branch_3 = ops.conv(branch_3, depth_3, 1, "Conv2d_0b_1x1")
        return ops.concat([branch_0, branch_1, branch_2, branch_3])


def _mixed_6a(ops, net):
    with ops.scope("Mixed_6a"):
        with ops.scope("Branch_0"):
            branch_0 = ops.conv(net, 384, 3, "Conv2d_1a_1x1", stride=2, padding="VALID")
        with ops.scope("Branch_1"):
            branch_1 = ops.conv(net, 64, 1, "Conv2d_0a_1x1")
            branch_1 = ops.conv(branch_1, 96, 3, "Conv2d_0b_3x3")
            branch_1 = ops.conv(branch_1, 96, 3, "Conv2d_1a_1x1", stride=2, padding="VALID")
        with ops.scope("Branch_2"):
            branch_2 = ops.max_pool(net, 3, stride=2, padding="VALID")
        return ops.concat([branch_0, branch_1, branch_2])


def _mixed_6(ops, net, block):
    name, depth = block
    with ops.scope(name):
        with ops.scope("Branch_0"):
            branch_0 = ops.conv(net, 192, 1, "Conv2d_0a_1x1")
        with ops.scope("Branch_1"):
            branch_1 = ops.conv(net, depth, 1, "Conv2d_0a_1x1")
            branch_1 = ops.conv(branch_1, depth, (1, 7), "Conv2d_0b_1x7")
            branch_1 = ops.conv(branch_1, 192, (7, 1), "Conv2d_0c_7x1")
        with ops.scope("Branch_2"):
            branch_2 = ops.conv(net, depth, 1, "Conv2d_0a_1x1")
            branch_2 = ops.conv(branch_2, depth, (7, 1), "Conv2d_0b_7x1")
            branch_2 = ops.conv(branch_2, depth, (1, 7), "Conv2d_0c_1x7")
            branch_2 = ops.conv(branch_2, depth, (7, 1), "Conv2d_0d_7x1")
            branch_2 = ops.conv(branch_2, 192, (1, 7), "Conv2d_0e_1x7")
        with ops.scope("Branch_3"):
            branch_3 = ops.avg_pool(net, 3)
            branch_3 = ops.conv(branch_3, 192, 1, "Conv2d_0b_1x1")
        return ops.concat([branch_0, branch_1, branch_2, branch_3])


def _mixed_7a(ops, net):
    with ops.scope("Mixed_7a"):
        with ops.scope("Branch_0"):
            branch_0 = ops.conv(net, 192, 1, "Conv2d_0a_1x1")
            branch_0 = ops.conv(branch_0, 320, 3, "Conv2d_1a_3x3", stride=2, padding="VALID")
        with ops.scope("Branch_1"):
            branch_1 = ops.conv(net, 192, 1, "Conv2d_0a_1x1")
            branch_1 = ops.conv(branch_1, 192, (1, 7), "Conv2d_0b_1x7")
            branch_1 = ops.conv(branch_1, 192, (7, 1), "Conv2d_0c_7x1")
            branch_1 = ops.conv(branch_1, 192, 3, "Conv2d_1a_3x3", stride=2, padding="VALID")
        with ops.scope("Branch_2"):
            branch_2 = ops.max_pool(net, 3, stride=2, padding="VALID")
        return ops.concat([branch_0, branch_1, branch_2])


def _mixed_7(ops, net, block):
    name, branch_1_3x1 = block
    with ops.scope(name):
        with ops.scope("Branch_0"):
            branch_0 = ops.conv(net, 320, 1, "Conv2d_0a_1x1")
        with ops.scope("Branch_1"):
            branch_1 = ops.conv(net, 384, 1, "Conv2d_0a_1x1")
            branch_1 = ops.concat(
                [
                    ops.conv(branch_1, 384, (1, 3), "Conv2d_0b_1x3"),
                    ops.conv(branch_1, 384, (3, 1), branch_1_3x1),
                ]
            )
        with ops.scope("Branch_2"):
            branch_2 = ops.conv(net, 448, 1, "Conv2d_0a_1x1")
            branch_2 = ops.conv(branch_2, 384, 3, "Conv2d_0b_3x3")
            branch_2 = ops.concat(
                [
                    ops.conv(branch_2, 384, (1, 3), "Conv2d_0c_1x3"),
                    ops.conv(branch_2, 384, (3, 1), "Conv2d_0d_3x1"),
                ]
            )
        with ops.scope("Branch_3"):
            branch_3 = ops.avg_pool(net, 3)
            branch_3 = ops.conv(branch_3, 192, 1, "Conv2d_0b_1x1")
        return ops.concat([branch_0, branch_1, branch_2, branch_3])


class InceptionV3(NetDefinition):
    """TF-Slim `inception_v3_base` (to Mixed_7c) and its `Logits/Conv2d_1c_1x1` head.

    TF-Slim's head average-pools with a fixed 8x8 VALID window (shrunk to the grid when that is
    smaller), which is the global mean wherever its squeeze to [N, classes] works (grids up to
    8x8, inputs up to 330x330); this head takes the global mean at every size.
    """

    scope = "InceptionV3"
    default_image_size = 299

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
        for mixed_5 in _MIXED_5:
            net = add(mixed_5[0], _mixed_5(ops, net, mixed_5))
        net = add("Mixed_6a", _mixed_6a(ops, net))
        for mixed_6 in _MIXED_6:
            net = add(mixed_6[0], _mixed_6(ops, net, mixed_6))
        net = add("Mixed_7a", _mixed_7a(ops, net))
        for mixed_7 in _MIXED_7:
            net = add(mixed_7[0], _mixed_7(ops, net, mixed_7))
        return net, end_points

    def logits(self, ops, net, num_classes):
        return conv_logits(ops, net, num_classes, "Conv2d_1c_1x1")

    def training_extras(self, num_classes):
        """The auxiliary head on Mixed_6e (17x17x768 at 299x299), as TF-Slim creates it."""
        aux = f"{self.scope}/AuxLogits"
        extras: dict[str, tuple[int, ...]] = {}
        for layer, shape in (
            ("Conv2d_1b_1x1", (1, 1, 768, 128)),
            ("Conv2d_2a_5x5", (5, 5, 128, 768)),
        ):
            extras[f"{aux}/{layer}/weights"] = shape
            for variable in ("beta", "moving_mean", "moving_variance"):
                extras[f"{aux}/{layer}/BatchNorm/{variable}"] = shape[-1:]
        extras[f"{aux}/Conv2d_2b_1x1/weights"] = (1, 1, 768, num_classes)
        extras[f"{aux}/Conv2d_2b_1x1/biases"] = (num_classes,)
        return extras


NETS = {"inception_v3": InceptionV3}
