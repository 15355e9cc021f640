"""NASNet-A for ImageNet, as TF-Slim builds it (tensorflow/models research/slim nets/nasnet:
`build_nasnet_mobile`, `build_nasnet_large`, with nasnet_utils' cells), and the cell machinery
PNASNet-5 shares with it.

The net: a 3x3 VALID stem convolution ("conv0", stride 2) with batch norm, two stem cells (the
reduction cell at 1/4 and 1/2 of the filters, stride 2), then `num_cells` normal cells with a
reduction cell (stride 2, twice the filters) before cell num_cells/3 and 2*num_cells/3. Each cell
takes the previous cell's output and the one before it ("prev"), which is matched to the cell's
resolution (ReLU + factorized reduction) or width (ReLU + 1x1 conv + batch norm) first. The
features are the spatial mean of ReLU(last cell) (TF-Slim's "global_pool"); the head is
"final_layer/FC" on them (TF-Slim's dropout before it, keep 0.5 in training, is not applied, as
for the other nets here).

Unlike TF-Slim's other nets, these open no top-level variable scope: variables are named
"cell_0/comb_iter_0/left/separable_5x5_1/depthwise_weights", end points "Cell_0". The definition's
`scope` is the network's name ("nasnet_mobile"), which names the module (and prefixes exported
end points, "nasnet_mobile/Cell_0", where TF-Slim has none).

Drop path (TF-Slim's `drop_path`, applied to every non-identity operation of a cell) is off at
inference, as TF-Slim builds it with is_training=False. In training it is on when
`drop_path_keep_prob` < 1 (nasnet_large 0.7, pnasnet_large 0.6; nasnet_mobile 1.0 has none), at
the rate TF-Slim reaches at the end of its schedule: keep probability
1 - (cell_number + 1) / total_cells * (1 - drop_path_keep_prob), the stem cells numbered 0 and 1.
That is what the published TF-Hub modules' training graphs do ("the dropout probability in NASNet
path dropout is not scaled with the training steps of fine-tuning and remains at the final
(maximal) value"); pass drop_path_keep_prob=1.0 to fine-tune without it.

Cell structure decisions (factorized reduction or 1x1 for "prev") follow resolution levels
(how many stride-2 steps a tensor has been through), not TF-Slim's static width comparison, so the
net also runs on inputs of unknown size; the two agree for inputs of at least 19x19, the smallest
size at which TF-Slim builds these nets with their checkpoints' variables.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from modules.nets.base import EndPoints, NetDefinition
from modules.nets.layers import ArgScope, Channels, LayoutPass

AUX_PROJECTION_DEPTH = 128
AUX_HIDDEN_DEPTH = 768
NUM_STEM_CELLS = 2


@dataclass(frozen=True)
class CellSpec:
    """A cell of the NASNet search space, as nasnet_utils' NasNetABaseCell takes it.

    Hidden states: 0 is the cell's input after ReLU, 1x1 conv and batch norm; 1 is "prev";
    combination i (0..4) adds operations[2i] on state inputs[2i] ("left") and operations[2i+1]
    on state inputs[2i+1] ("right") as state 2+i. The output concatenates every state whose
    `used` flag is 0. Operations: "separable_KxK_N" (N stacked ReLU, separable conv, batch norm),
    "avg_pool_KxK", "max_pool_KxK" (a 1x1 conv and batch norm follow if the depth differs) and
    "none" (identity, or ReLU + 1x1 conv + batch norm when striding or changing depth). A cell
    with stride 2 applies it only to operations on states 0 and 1.
    """

    operations: tuple[str, ...]
    inputs: tuple[int, ...]
    used: tuple[int, ...]

    @property
    def output_states(self) -> int:
        return self.used.count(0)


NASNET_A_NORMAL = CellSpec(
    operations=(
        "separable_5x5_2",
        "separable_3x3_2",
        "separable_5x5_2",
        "separable_3x3_2",
        "avg_pool_3x3",
        "none",
        "avg_pool_3x3",
        "avg_pool_3x3",
        "separable_3x3_2",
        "none",
    ),
    inputs=(0, 1, 1, 1, 0, 1, 1, 1, 0, 0),
    used=(1, 0, 0, 0, 0, 0, 0),
)
NASNET_A_REDUCTION = CellSpec(
    operations=(
        "separable_5x5_2",
        "separable_7x7_2",
        "max_pool_3x3",
        "separable_7x7_2",
        "avg_pool_3x3",
        "separable_5x5_2",
        "none",
        "avg_pool_3x3",
        "separable_3x3_2",
        "max_pool_3x3",
    ),
    inputs=(0, 1, 0, 1, 0, 1, 3, 2, 2, 0),
    used=(1, 1, 1, 0, 0, 0, 0),
)


@dataclass(frozen=True)
class State:
    """A hidden state and its resolution level (stride-2 steps since the stem convolution)."""

    value: Any
    level: int


def reduction_indices(num_cells: int, num_reduction_layers: int) -> list[int]:
    """TF-Slim's `calc_reduction_layers`: the cells that reduce (NASNet: after which a
    reduction cell comes first; PNASNet: that stride)."""
    return [
        int(float(pool) / (num_reduction_layers + 1) * num_cells)
        for pool in range(1, num_reduction_layers + 1)
    ]


def drop_path_keep(drop_path_keep_prob: float, cell_number: int, total_cells: int) -> float:
    """TF-Slim's drop-path keep probability of a cell at the end of its schedule (drop connect
    "v3" with the step ratio at 1): scaled by the cell's depth in the net."""
    if drop_path_keep_prob >= 1.0:
        return 1.0
    return 1.0 - (cell_number + 1) / float(total_cells) * (1.0 - drop_path_keep_prob)


def factorized_reduction(ops, x, depth: int):
    """TF-Slim's `factorized_reduction` with stride 2: two 1x1 convs of depth/2 on x sampled at
    even and at odd pixels (x shifted up-left by one, zero-padded), concatenated, batch norm."""
    if depth % 2:
        raise ValueError(f"a factorized reduction needs an even depth, not {depth}")
    path1 = ops.avg_pool(x, 1, stride=2, padding="VALID")
    path1 = ops.plain_conv(path1, depth // 2, 1, "path1_conv")
    path2 = ops.avg_pool(ops.shift_up_left(x), 1, stride=2, padding="VALID")
    path2 = ops.plain_conv(path2, depth // 2, 1, "path2_conv")
    return ops.batch_norm(ops.concat([path1, path2]), "final_path_bn")


def _separable_stack(ops, x, depth: int, kernel: int, layers: int, stride: int):
    for layer in range(1, layers + 1):
        x = ops.relu(x)
        name = f"{kernel}x{kernel}_{layer}"
        x = ops.plain_separable_conv(x, depth, kernel, f"separable_{name}", stride)
        x = ops.batch_norm(x, f"bn_sep_{name}")
        stride = 1
    return x


def _operation(ops, state: State, operation: str, depth: int, stride: int, keep_prob: float):
    """One of a cell's operations (nasnet_utils `_apply_conv_operation`)."""
    x = state.value
    if operation.startswith("separable_"):
        _, shape, layers = operation.split("_")
        x = _separable_stack(ops, x, depth, int(shape.split("x")[0]), int(layers), stride)
    elif operation == "none":
        if stride > 1 or ops.depth(x) != depth:
            x = ops.relu(x)
            x = ops.plain_conv(x, depth, 1, "1x1", stride=stride)
            x = ops.batch_norm(x, "bn_1")
    elif operation.startswith(("avg_pool_", "max_pool_")):
        kind, _, shape = operation.split("_")
        pool = ops.avg_pool if kind == "avg" else ops.max_pool
        x = pool(x, int(shape.split("x")[0]), stride=stride)
        if ops.depth(x) != depth:
            x = ops.plain_conv(x, depth, 1, "1x1")
            x = ops.batch_norm(x, "bn_1")
    else:
        raise ValueError(f"unknown cell operation {operation!r}")
    if operation != "none":
        x = ops.drop_path(x, keep_prob)
    return State(x, state.level + (stride == 2))


def _match_prev(ops, prev: State | None, net: State, depth: int) -> State:
    """nasnet_utils `_reduce_prev_layer`: "prev" at the cell input's resolution and `depth`."""
    if prev is None:
        return net
    if prev.level != net.level:
        if prev.level + 1 != net.level:
            raise ValueError(f"prev is {net.level - prev.level} reductions behind the cell input")
        return State(factorized_reduction(ops, ops.relu(prev.value), depth), net.level)
    if ops.depth(prev.value) != depth:
        x = ops.plain_conv(ops.relu(prev.value), depth, 1, "prev_1x1")
        return State(ops.batch_norm(x, "prev_bn"), prev.level)
    return prev


def cell(
    ops,
    spec: CellSpec,
    scope: str,
    net: State,
    prev: State | None,
    depth: int,
    stride: int,
    keep_prob: float,
) -> State:
    """A NASNet-search-space cell (nasnet_utils NasNetABaseCell.__call__) in variable `scope`."""
    with ops.scope(scope):
        prev = _match_prev(ops, prev, net, depth)
        h = ops.plain_conv(ops.relu(net.value), depth, 1, "1x1")
        states = [State(ops.batch_norm(h, "beginning_bn"), net.level), prev]
        for combination in range(5):
            with ops.scope(f"comb_iter_{combination}"):
                outputs = []
                for side, index in (("left", 2 * combination), ("right", 2 * combination + 1)):
                    source = spec.inputs[index]
                    with ops.scope(side):
                        outputs.append(
                            _operation(
                                ops,
                                states[source],
                                spec.operations[index],
                                depth,
                                stride if source < 2 else 1,
                                keep_prob,
                            )
                        )
                left, right = outputs
                if left.level != right.level:
                    raise ValueError(f"{scope} comb_iter_{combination} adds different resolutions")
                states.append(State(ops.add(left.value, right.value), left.level))
        outputs = [state for state, used in zip(states, spec.used, strict=True) if not used]
        last = states[-1]
        for state in outputs:
            if state.level != last.level or ops.depth(state.value) != ops.depth(last.value):
                # TF-Slim would add a "cell_output/reduction_<i>" path; no net here needs one.
                raise ValueError(f"{scope}: unused hidden states of different shapes")
        with ops.scope("cell_output"):
            return State(ops.concat([state.value for state in outputs]), last.level)


def imagenet_stem(
    ops,
    images,
    stem_spec: CellSpec,
    num_conv_filters: int,
    stem_multiplier: float,
    filter_scaling_rate: float,
    keep_prob_of,
) -> tuple[State, list]:
    """TF-Slim's `_imagenet_stem`: conv0 (3x3, stride 2, VALID) + batch norm, then two cells of
    `stem_spec` with stride 2 at 1/rate**2 and 1/rate of the filters. Returns the last cell's
    output and the list of cell outputs so far ([None, conv0, stem 0, stem 1])."""
    net = ops.plain_conv(images, int(32 * stem_multiplier), 3, "conv0", stride=2, padding="VALID")
    net = State(ops.batch_norm(net, "conv0_bn"), 0)
    outputs: list[State | None] = [None, net]
    filter_scaling = 1.0 / filter_scaling_rate**NUM_STEM_CELLS
    for number in range(NUM_STEM_CELLS):
        net = cell(
            ops,
            stem_spec,
            f"cell_stem_{number}",
            net,
            outputs[-2],
            int(num_conv_filters * filter_scaling),
            stride=2,
            keep_prob=keep_prob_of(number),
        )
        outputs.append(net)
        filter_scaling *= filter_scaling_rate
    return net, outputs


def final_features(ops, net: State, end_points: EndPoints):
    """TF-Slim's "final_layer": ReLU of the last cell, spatially averaged as end point
    "global_pool"; returns the ReLU (whose spatial mean is the feature vector)."""
    activation = ops.relu(net.value)
    end_points.add("global_pool", ops.spatial_mean(activation))
    return activation


def final_logits(ops, net, num_classes: int):
    """TF-Slim's head: "final_layer/FC" on the spatial mean of ReLU(last cell)."""
    with ops.top_level(), ops.scope("final_layer"):
        return ops.dense(ops.spatial_mean(net), num_classes, "FC")


def aux_head(ops, net, num_classes: int, kernel: int):
    """TF-Slim's `_build_aux_head` (inside "aux_<cell>/aux_logits") on ReLU(cell): 5x5 average
    pool (stride 3, VALID), 1x1 conv "proj" to 128 + batch norm + ReLU, a VALID conv "Conv"
    covering the whole map to 768 + batch norm + ReLU, then "FC" (on the 1x1 map it leaves at
    the size the kernel was made for; TF-Slim flattens). Only training_extras runs it (on a
    LayoutPass): the auxiliary logits are a training loss, not a module output."""
    x = ops.avg_pool(net, 5, stride=3, padding="VALID")
    x = ops.relu(ops.batch_norm(ops.plain_conv(x, AUX_PROJECTION_DEPTH, 1, "proj"), "aux_bn0"))
    x = ops.plain_conv(x, AUX_HIDDEN_DEPTH, kernel, "Conv", padding="VALID")
    x = ops.relu(ops.batch_norm(x, "aux_bn1"))
    return ops.dense(ops.squeeze_spatial(x), num_classes, "FC")


def grid_size(image_size: int, level: int) -> int:
    """Feature-map size at a resolution level: conv0 (3x3, stride 2, VALID), then ceil(/2) per
    stride-2 step (SAME padding)."""
    size = (image_size - 3) // 2 + 1
    for _ in range(level):
        size = -(-size // 2)
    return size


class NasNetFamily(NetDefinition):
    """What NASNet-A and PNASNet-5 share: hyperparameters, arg scope, head, auxiliary head."""

    def __init__(
        self,
        scope: str,
        *,
        num_cells: int,
        num_conv_filters: int,
        stem_multiplier: float,
        skip_reduction_layer_input: bool,
        drop_path_keep_prob: float,
        weight_decay: float,
        image_size: int,
        filter_scaling_rate: float = 2.0,
        num_reduction_layers: int = 2,
    ) -> None:
        self.scope = scope
        self.num_cells = num_cells
        self.num_conv_filters = num_conv_filters
        self.stem_multiplier = stem_multiplier
        self.skip_reduction_layer_input = bool(skip_reduction_layer_input)
        self.drop_path_keep_prob = drop_path_keep_prob
        self.filter_scaling_rate = filter_scaling_rate
        self.num_reduction_layers = num_reduction_layers
        self.default_image_size = image_size
        # nasnet_mobile_arg_scope / nasnet_large_arg_scope (pnasnet_large's calls the latter).
        self.arg_scope = ArgScope(
            weight_decay=weight_decay,
            batch_norm_decay=0.9997,
            batch_norm_epsilon=0.001,
            batch_norm_scale=True,
        )

    def end_point_name(self, name: str) -> str:
        """TF-Slim builds these nets under no top scope: its end points are "Cell_0", "Stem"..."""
        return name

    @property
    def total_cells(self) -> int:
        """The cell count TF-Slim scales drop path by."""
        raise NotImplementedError

    def keep_prob_of(self, cell_number: int) -> float:
        return drop_path_keep(self.drop_path_keep_prob, cell_number, self.total_cells)

    @property
    def aux_cell(self) -> int:
        """The cell TF-Slim puts the auxiliary head on: the one before the second reduction."""
        return reduction_indices(self.num_cells, self.num_reduction_layers)[1] - 1

    def aux_level(self) -> int:
        """The auxiliary cell's resolution level: the stem cells', plus one per reduction (a
        NASNet reduction cell or a PNASNet strided cell) up to it."""
        reductions = reduction_indices(self.num_cells, self.num_reduction_layers)
        return NUM_STEM_CELLS + sum(index <= self.aux_cell for index in reductions)

    def logits(self, ops, net, num_classes):
        return final_logits(ops, net, num_classes)

    def training_extras(self, num_classes):
        """The auxiliary head on ReLU(Cell_<aux_cell>), which TF-Slim builds when training with a
        head, for the default image size (its "Conv" kernel covers the pooled map)."""
        _, end_points = self.base(LayoutPass(self.scope, self.arg_scope), Channels(3))
        pooled = (grid_size(self.default_image_size, self.aux_level()) - 5) // 3 + 1
        layout = LayoutPass(self.scope, self.arg_scope)
        aux_scope = f"aux_{self.aux_cell}"
        with layout.top_level(), layout.scope(aux_scope), layout.scope("aux_logits"):
            aux_head(layout, end_points[f"Cell_{self.aux_cell}"], num_classes, pooled)
        return {spec.name: spec.shape for spec in layout.specs}


class NASNet(NasNetFamily):
    """TF-Slim's NASNet-A for ImageNet (`_build_nasnet_base` with the ImageNet stem)."""

    @property
    def total_cells(self) -> int:
        # num_cells normal cells, the reduction cells and the two stem cells.
        return self.num_cells + self.num_reduction_layers + NUM_STEM_CELLS

    def base(self, ops, images):
        with ops.top_level():
            return self._base(ops, images)

    def _base(self, ops, images):
        end_points = EndPoints()
        net, outputs = imagenet_stem(
            ops,
            images,
            NASNET_A_REDUCTION,
            self.num_conv_filters,
            self.stem_multiplier,
            self.filter_scaling_rate,
            self.keep_prob_of,
        )
        end_points.add("Stem", net.value)
        reductions = reduction_indices(self.num_cells, self.num_reduction_layers)
        filter_scaling = 1.0
        cell_number = NUM_STEM_CELLS
        prev = None
        for index in range(self.num_cells):
            if self.skip_reduction_layer_input:
                prev = outputs[-2]
            if index in reductions:
                filter_scaling *= self.filter_scaling_rate
                number = reductions.index(index)
                net = cell(
                    ops,
                    NASNET_A_REDUCTION,
                    f"reduction_cell_{number}",
                    net,
                    outputs[-2],
                    int(self.num_conv_filters * filter_scaling),
                    stride=2,
                    keep_prob=self.keep_prob_of(cell_number),
                )
                end_points.add(f"Reduction_Cell_{number}", net.value)
                cell_number += 1
                outputs.append(net)
            if not self.skip_reduction_layer_input:
                prev = outputs[-2]
            net = cell(
                ops,
                NASNET_A_NORMAL,
                f"cell_{index}",
                net,
                prev,
                int(self.num_conv_filters * filter_scaling),
                stride=1,
                keep_prob=self.keep_prob_of(cell_number),
            )
            end_points.add(f"Cell_{index}", net.value)
            cell_number += 1
            outputs.append(net)
        return final_features(ops, net, end_points), end_points


# TF-Slim's mobile_imagenet_config / large_imagenet_config and arg-scope weight decays.
NASNET_MOBILE: dict[str, Any] = {
    "num_cells": 12,
    "num_conv_filters": 44,
    "stem_multiplier": 1.0,
    "skip_reduction_layer_input": False,
    "drop_path_keep_prob": 1.0,
    "weight_decay": 0.00004,
    "image_size": 224,
}
NASNET_LARGE: dict[str, Any] = {
    "num_cells": 18,
    "num_conv_filters": 168,
    "stem_multiplier": 3.0,
    "skip_reduction_layer_input": True,
    "drop_path_keep_prob": 0.7,
    "weight_decay": 0.00005,
    "image_size": 331,
}

NETS = {
    "nasnet_mobile": functools.partial(NASNet, "nasnet_mobile", **NASNET_MOBILE),
    "nasnet_large": functools.partial(NASNet, "nasnet_large", **NASNET_LARGE),
}
