"""TF-Slim NASNet-A variable names -> Keras Applications' NASNetMobile / NASNetLarge weights.

Keras' NASNet names every layer after its cell ("normal_conv_1_5", "separable_conv_2_bn_reduction
_left1_stem_1", "adjust_conv_projection_3", ...), so the mapping is by name: TF-Slim's normal
cell_i is Keras' block i + i // num_blocks (Keras counts the reduction cells' numbers in: 0.., then
num_blocks + 1.., then 2 * num_blocks + 1..),
reduction_cell_r is "reduce_<(r + 1) * num_blocks>", cell_stem_0 / cell_stem_1 are "stem_1" /
"stem_2"; inside a cell, the operations with weights are Keras' separable conv blocks
("normal_left1", ...) as TF-Slim's comb_iter_<i>/<left|right> hold them, and the "prev" paths
(TF-Slim's prev_1x1 + prev_bn, or path1_conv + path2_conv + final_path_bn) are Keras' "adjust"
layers. Every pair is checked for equal shapes, and every weight on both sides is used once.

Keras deviates from TF-Slim in one place: in a reduction cell, its three stride-2 pools
(max and average pools of comb_iter_1/2/4) pool a zero-padded copy of the cell's hidden state with
VALID padding, where TF-Slim pools with SAME padding, which leaves the padding out (out of the
maximum, and out of the average's count). Only the outermost rows and columns of a reduction
cell's output differ, but the difference spreads through the rest of the net. `tf_slim_pooling`
rewires a Keras NASNet to pool as TF-Slim does, keeping its layers and weights; every other
layer is Keras' own.
"""

from collections.abc import Iterator, Mapping, Sequence

import keras

# TF-Slim comb_iter index and side -> Keras separable conv block, per cell kind.
NORMAL_BLOCKS = {
    (0, "left"): "normal_left1",
    (0, "right"): "normal_right1",
    (1, "left"): "normal_left2",
    (1, "right"): "normal_right2",
    (4, "left"): "normal_left5",
}
REDUCTION_BLOCKS = {
    (0, "left"): "reduction_left1",
    (0, "right"): "reduction_right1",
    (1, "right"): "reduction_right2",
    (2, "right"): "reduction_right3",
    (4, "left"): "reduction_left4",
}
# Keras' reduction-cell pools on the zero-padded hidden state ("reduction_pad_1_<block>").
PADDED_POOLS = ("reduction_left2_", "reduction_left3_", "reduction_right5_")
KERAS_KINDS = {
    "weights": "kernel",
    "biases": "bias",
    "depthwise_weights": "depthwise_kernel",
    "pointwise_weights": "pointwise_kernel",
    "gamma": "gamma",
    "beta": "beta",
    "moving_mean": "moving_mean",
    "moving_variance": "moving_variance",
}


def build_keras_nasnet(net_name: str, size: int, num_classes: int = 1001) -> keras.Model:
    """Keras' NASNetMobile or NASNetLarge, weights=None, with a logits head, at `size`."""
    builder = {"nasnet_mobile": keras.applications.NASNetMobile}.get(
        net_name, keras.applications.NASNetLarge
    )
    return builder(
        input_shape=(size, size, 3),
        include_top=True,
        weights=None,
        classes=num_classes,
        classifier_activation=None,
    )


def num_blocks(model: keras.Model) -> int:
    """Keras' num_blocks: normal cells per group (4 in NASNetMobile, 6 in NASNetLarge)."""
    names = {layer.name for layer in model.layers}
    return next(n for n in range(1, 100) if f"reduction_concat_reduce_{n}" in names)


def cell_blocks(model: keras.Model, num_cells: int) -> Iterator[tuple[str, str, bool]]:
    """(TF-Slim cell scope, TF-Slim end point or None, Keras block id, is reduction) in order."""
    blocks = num_blocks(model)
    yield "cell_stem_0", None, "stem_1", True
    yield "cell_stem_1", "Stem", "stem_2", True
    for index in range(num_cells):
        group, within = divmod(index, blocks)
        if within == 0 and group > 0:
            reduction = group - 1
            yield (
                f"reduction_cell_{reduction}",
                f"Reduction_Cell_{reduction}",
                f"reduce_{group * blocks}",
                True,
            )
        yield f"cell_{index}", f"Cell_{index}", str(group * blocks + (group > 0) + within), False


def end_point_layers(model: keras.Model, num_cells: int) -> dict[str, str]:
    """TF-Slim end point -> the Keras layer whose output it is."""
    layers = {
        end_point: f"{'reduction' if reduction else 'normal'}_concat_{block}"
        for _, end_point, block, reduction in cell_blocks(model, num_cells)
        if end_point
    }
    pooling = [
        layer.name
        for layer in model.layers
        if isinstance(layer, keras.layers.GlobalAveragePooling2D)
    ]
    return {**layers, "global_pool": pooling[-1], "Logits": "predictions"}


def slim_to_keras(
    model: keras.Model, layout: Mapping[str, Sequence[int]], num_cells: int
) -> dict[str, tuple[str, str]]:
    """Every TF-Slim variable of `layout` -> (Keras layer name, Keras weight name).

    Raises ValueError if a shape differs, or a TF-Slim variable or a Keras weight is left over.
    """
    units: dict[str, str] = {
        "conv0": "stem_conv1",
        "conv0_bn": "stem_bn1",
        "final_layer/FC": "predictions",
    }
    for scope, _, block, reduction in cell_blocks(model, num_cells):
        kind = "reduction" if reduction else "normal"
        units[f"{scope}/1x1"] = f"{kind}_conv_1_{block}"
        units[f"{scope}/beginning_bn"] = f"{kind}_bn_1_{block}"
        units[f"{scope}/prev_1x1"] = f"adjust_conv_projection_{block}"
        units[f"{scope}/prev_bn"] = f"adjust_bn_{block}"
        units[f"{scope}/path1_conv"] = f"adjust_conv_1_{block}"
        units[f"{scope}/path2_conv"] = f"adjust_conv_2_{block}"
        units[f"{scope}/final_path_bn"] = f"adjust_bn_{block}"
        for (combination, side), keras_block in (
            REDUCTION_BLOCKS if reduction else NORMAL_BLOCKS
        ).items():
            prefix = f"{scope}/comb_iter_{combination}/{side}"
            for layer in (1, 2):
                for kernel in (3, 5, 7):
                    units[f"{prefix}/separable_{kernel}x{kernel}_{layer}"] = (
                        f"separable_conv_{layer}_{keras_block}_{block}"
                    )
                    units[f"{prefix}/bn_sep_{kernel}x{kernel}_{layer}"] = (
                        f"separable_conv_{layer}_bn_{keras_block}_{block}"
                    )
    keras_weights = {
        (layer.name, weight.name): tuple(weight.shape)
        for layer in model.layers
        for weight in layer.weights
    }
    mapping: dict[str, tuple[str, str]] = {}
    for name, shape in layout.items():
        unit, kind = name.rsplit("/", 1)
        if unit not in units or kind not in KERAS_KINDS:
            raise ValueError(f"{name}: no Keras counterpart")
        key = (units[unit], KERAS_KINDS[kind])
        if key not in keras_weights:
            raise ValueError(f"{name} -> {key[0]}/{key[1]}: Keras has no such weight")
        if keras_weights[key] != tuple(shape):
            raise ValueError(f"{name} {tuple(shape)} != {key[0]}/{key[1]} {keras_weights[key]}")
        mapping[name] = key
    unused = sorted(set(keras_weights) - set(mapping.values()))
    if unused or len(set(mapping.values())) != len(mapping):
        raise ValueError(f"{len(unused)} Keras weights unmapped: {unused[:5]}")
    return mapping


def assign_slim_weights(model: keras.Model, weights: Mapping[str, object], num_cells: int) -> None:
    """Sets the Keras model's weights from TF-Slim-named values."""
    mapping = slim_to_keras(
        model, {name: tuple(value.shape) for name, value in weights.items()}, num_cells
    )
    variables = {
        (layer.name, weight.name): weight for layer in model.layers for weight in layer.weights
    }
    for slim_name, key in mapping.items():
        variables[key].assign(weights[slim_name])


def tf_slim_pooling(model: keras.Model) -> keras.Model:
    """The same model (same layers and weights) with its reduction cells' stride-2 pools made
    TF-Slim's: SAME padding on the unpadded hidden state, instead of VALID on a zero-padded one."""

    def call(layer, *args, **kwargs):
        if isinstance(layer, keras.layers.ZeroPadding2D) and layer.name.startswith(
            "reduction_pad_1_"
        ):
            return args[0]
        if layer.name.startswith(PADDED_POOLS):
            pool = type(layer)(
                layer.pool_size, strides=layer.strides, padding="same", name=f"{layer.name}_same"
            )
            return pool(*args, **kwargs)
        return layer(*args, **kwargs)

    return keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)


def end_point_model(model: keras.Model, num_cells: int) -> keras.Model:
    """The same model with outputs {TF-Slim end point: Keras layer output}."""
    outputs = {
        name: model.get_layer(layer).output
        for name, layer in end_point_layers(model, num_cells).items()
    }
    return keras.Model(model.inputs, outputs)
