"""TF-Slim ``inception_resnet_v2`` variable names -> Keras Applications' InceptionResNetV2 weights.

TF-Slim's reference lacks inception_resnet_v2, so Keras' ``InceptionResNetV2`` (same architecture:
VALID stem, block scales 0.17 / 0.10 / 0.20, a last Block8 without activation, batch norm with
``scale=False`` and epsilon 0.001, biased "up" convs without batch norm) stands in for it.

Keras names its blocks (``mixed_5b``, ``block35_1_mixed``, ``block35_1_conv``, ..., ``block8_10``,
``conv_7b``) but not the convolutions inside them, whose automatic names depend on build order.
So the mapping follows the graph: branch ``k`` of a TF-Slim block is input ``k`` of the Keras
block's ``Concatenate``, and walking back from it through activation, batch norm and pooling
layers meets that branch's convolutions last to first. Every pair is checked for equal shapes.
"""

from collections.abc import Iterator, Mapping, Sequence

import keras
import numpy as np

ROOT = "InceptionResnetV2"
STEM_CONVS = 5
FINAL_CONV = "Conv2d_7b_1x1"
# TF-Slim end point -> the Keras layer whose output it is.
END_POINT_LAYERS = {
    "Mixed_5b": "mixed_5b",
    "Mixed_6a": "mixed_6a",
    "PreAuxLogits": "block17_20_ac",
    "Mixed_7a": "mixed_7a",
    "Conv2d_7b_1x1": "conv_7b_ac",
}
# TF-Slim variable kind -> Keras weight name, for convolutions and for batch norms.
CONV_WEIGHTS = {"weights": "kernel", "biases": "bias"}
BATCH_NORM_WEIGHTS = {
    "beta": "beta",
    "moving_mean": "moving_mean",
    "moving_variance": "moving_variance",
}
PASS_THROUGH = ("Activation", "AveragePooling2D", "MaxPooling2D")


def blocks() -> Iterator[tuple[str, str, bool]]:
    """(TF-Slim scope, Keras block name, is residual) for each block after the stem, in order."""
    yield "Mixed_5b", "mixed_5b", False
    yield from ((f"Repeat/block35_{i}", f"block35_{i}", True) for i in range(1, 11))
    yield "Mixed_6a", "mixed_6a", False
    yield from ((f"Repeat_1/block17_{i}", f"block17_{i}", True) for i in range(1, 21))
    yield "Mixed_7a", "mixed_7a", False
    yield from ((f"Repeat_2/block8_{i}", f"block8_{i}", True) for i in range(1, 10))
    yield "Block8", "block8_10", True


def build_keras_irv2() -> keras.Model:
    """Keras Applications' InceptionResNetV2 features (no top, average pooling, any size)."""
    return keras.applications.InceptionResNetV2(
        include_top=False, weights=None, pooling="avg", input_shape=(None, None, 3)
    )


def slim_to_keras(
    model: keras.Model, layout: Mapping[str, Sequence[int]]
) -> dict[str, tuple[str, str]]:
    """Maps every TF-Slim variable name of ``layout`` to ``(keras layer name, keras weight name)``.

    Raises ``ValueError`` if a shape differs or a variable or Keras weight is left unmatched.
    """
    units = _slim_conv_units(layout)
    producers = {id(layer.output): layer for layer in model.layers}
    pairs: list[tuple[str, keras.layers.Layer, keras.layers.Layer | None]] = []
    stem_output = None
    for slim_scope, keras_block, residual in blocks():
        concat = model.get_layer(f"{keras_block}_mixed" if residual else keras_block)
        for branch, branch_output in enumerate(_inputs(concat, producers)):
            branch_units = [
                u for u in units if u.startswith(f"{ROOT}/{slim_scope}/Branch_{branch}/")
            ]
            convs, below = _walk_back(branch_output, len(branch_units), producers)
            pairs += [
                (unit, conv, bn) for unit, (conv, bn) in zip(branch_units, convs, strict=True)
            ]
            if stem_output is None and branch == 0:
                stem_output = below
        if residual:
            pairs.append(
                (f"{ROOT}/{slim_scope}/Conv2d_1x1", model.get_layer(f"{keras_block}_conv"), None)
            )
    stem_units = [u for u in units if u.count("/") == 1 and u != f"{ROOT}/{FINAL_CONV}"]
    stem_convs, _ = _walk_back(stem_output, STEM_CONVS, producers)
    pairs += [(unit, conv, bn) for unit, (conv, bn) in zip(stem_units, stem_convs, strict=True)]
    pairs.append(
        (f"{ROOT}/{FINAL_CONV}", model.get_layer("conv_7b"), model.get_layer("conv_7b_bn"))
    )
    return _variable_mapping(pairs, layout, model)


def assign_slim_weights(model: keras.Model, weights: Mapping[str, np.ndarray]) -> None:
    """Sets the Keras model's weights from TF-Slim-named values."""
    mapping = slim_to_keras(model, {name: value.shape for name, value in weights.items()})
    keras_weights = {
        (layer.name, weight.name): weight for layer in model.layers for weight in layer.weights
    }
    for slim_name, key in mapping.items():
        keras_weights[key].assign(weights[slim_name])


def end_point_model(model: keras.Model) -> keras.Model:
    """The same model with outputs ``{"features": pooled features, end point: activation}``."""
    outputs = {name: model.get_layer(layer).output for name, layer in END_POINT_LAYERS.items()}
    return keras.Model(model.input, {"features": model.output, **outputs})


def _slim_conv_units(layout: Mapping[str, Sequence[int]]) -> list[str]:
    """Convolution scopes ("…/Branch_1/Conv2d_0a_1x1"), sorted.

    TF-Slim's layer names encode their order within a branch or the stem (Conv2d_0a before
    Conv2d_0b before Conv2d_1a; Conv2d_1a_3x3 ... Conv2d_4a_3x3), so sorting puts every branch's
    convolutions in forward order whatever order the layout's names come in.
    """
    return sorted({name.rsplit("/", 1)[0].removesuffix("/BatchNorm") for name in layout})


def _inputs(layer: keras.layers.Layer, producers: dict) -> list[keras.layers.Layer]:
    inputs = layer.input if isinstance(layer.input, list) else [layer.input]
    return [producers[id(tensor)] for tensor in inputs]


def _walk_back(
    layer: keras.layers.Layer, count: int, producers: dict
) -> tuple[list[tuple[keras.layers.Layer, keras.layers.Layer | None]], keras.layers.Layer]:
    """The ``count`` (conv, batch norm) pairs ending at ``layer``, first to last, and the layer
    below the first conv."""
    found: list[tuple[keras.layers.Layer, keras.layers.Layer | None]] = []
    batch_norm = None
    while len(found) < count:
        kind = type(layer).__name__
        if kind == "Conv2D":
            found.append((layer, batch_norm))
            batch_norm = None
        elif kind == "BatchNormalization":
            batch_norm = layer
        elif kind not in PASS_THROUGH:
            raise ValueError(f"walking back a branch met {layer.name} ({kind}) before a conv")
        (layer,) = _inputs(layer, producers)
    return found[::-1], layer


def _variable_mapping(
    pairs: list[tuple[str, keras.layers.Layer, keras.layers.Layer | None]],
    layout: Mapping[str, Sequence[int]],
    model: keras.Model,
) -> dict[str, tuple[str, str]]:
    mapping: dict[str, tuple[str, str]] = {}
    for unit, conv, batch_norm in pairs:
        targets = [(conv, CONV_WEIGHTS)] + (
            [(batch_norm, BATCH_NORM_WEIGHTS)] if batch_norm else []
        )
        for layer, kinds in targets:
            prefix = f"{unit}/BatchNorm" if kinds is BATCH_NORM_WEIGHTS else unit
            for weight in layer.weights:
                slim_name = f"{prefix}/{_slim_kind(kinds, weight.name)}"
                if slim_name not in layout:
                    raise ValueError(
                        f"{layer.name}/{weight.name} -> {slim_name}: not in the layout"
                    )
                if tuple(layout[slim_name]) != tuple(weight.shape):
                    raise ValueError(
                        f"{slim_name} {tuple(layout[slim_name])} != "
                        f"{layer.name}/{weight.name} {tuple(weight.shape)}"
                    )
                mapping[slim_name] = (layer.name, weight.name)
    unmatched = sorted(set(layout) - set(mapping))
    if unmatched:
        raise ValueError(
            f"{len(unmatched)} TF-Slim variables have no Keras weight: {unmatched[:5]}"
        )
    keras_count = sum(len(layer.weights) for layer in model.layers)
    if keras_count != len(mapping):
        raise ValueError(f"{keras_count} Keras weights, {len(mapping)} mapped")
    return mapping


def _slim_kind(kinds: Mapping[str, str], keras_name: str) -> str:
    for slim_kind, keras_kind in kinds.items():
        if keras_kind == keras_name:
            return slim_kind
    raise ValueError(f"unexpected Keras weight {keras_name!r}")
