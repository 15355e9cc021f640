"""TF-Slim MobileNet V1 / V2 / V3 variable names -> Keras Applications' MobileNet weights.

Keras' ``MobileNet``, ``MobileNetV2``, ``MobileNetV3Large`` and ``MobileNetV3Small`` are the
independent references for our ``mobilenet_v1``, ``mobilenet_v2``, ``mobilenet_v3_large`` and
``mobilenet_v3_small``. Keras names every conv and batch norm, so the mapping goes by name; the
activations of V3 are unnamed, so those end points are found by walking the Keras graph from the
named batch norm to the operation that consumes its output. Every pair is checked for equal
shapes and every Keras weight must be matched.

Where Keras' architecture differs from TF-Slim's, and how the tests handle it:

- V1 pads stride-2 depthwise convs with ``ZeroPadding2D(((0, 1), (0, 1)))`` and VALID padding,
  which equals TF-Slim's SAME only on even maps: the two agree for inputs that are multiples of
  32 (all of TF-Hub's 128-224) and nowhere else (``keras_v1_last_grid`` shows how they part). The
  width multiplier is ``int(depth * alpha)`` without TF-Slim's ``min_depth`` of 8, which binds
  for none of the widths 0.25-1.0.
- V2 and V3 pad stride-2 depthwise convs by ``imagenet_utils.correct_pad``, which equals SAME when
  the input shape is static: every Keras model here is built for one input size.
- V2's expansion is ``6 * input depth`` without ``_make_divisible`` and its block depths are
  ``_make_divisible(int(depth * alpha), 8)``; both equal TF-Slim's for every width here (input
  depths are multiples of 8; no ``int()`` changes the rounding). Its last conv keeps 1280 below
  1.0 and grows above it, as TF-Slim's ``finegrain_classification_mode=True``. Its head is a
  ``Dense`` layer: TF-Slim's 1x1 ``Conv2d_1c_1x1`` kernel is reshaped to it.
- V3 without top has no ``conv_2``: TF-Slim's feature extractor ends in ``Conv_2`` (after the
  1x1 average pool), so the Keras model is built with its top (``include_top=True``,
  ``include_preprocessing=False``, ``classifier_activation=None``) and the features are read at
  ``conv_2``'s activation. Its stem keeps 16 channels whatever ``alpha`` (TF-Slim: 16 x
  multiplier rounded to 8, also 16 at 0.75), and ``conv_2`` keeps 1280 / 1024 below 1.0, as
  TF-Slim's ``finegrain_classification_mode=True``. Its squeeze-excite gate is
  ``relu6(x + 3) * (1 / 6)`` where TF-Slim's is ``relu6(x + 3) * 0.16667``: the gates differ by
  2e-5 relative, which compounds to about 6e-5 of an end point's largest value by the last
  blocks. ``build_keras`` builds Keras' V3 with TF-Slim's gate (``tf_slim_gate``).
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import keras
import numpy as np
from keras.src.applications import mobilenet_v3 as keras_mobilenet_v3

NUM_CLASSES = 1001
WEIGHT_KINDS = {
    "weights": "kernel",
    "depthwise_weights": "kernel",
    "biases": "bias",
    "BatchNorm/gamma": "gamma",
    "BatchNorm/beta": "beta",
    "BatchNorm/moving_mean": "moving_mean",
    "BatchNorm/moving_variance": "moving_variance",
}
ROOTS = {
    "mobilenet_v1": "MobilenetV1",
    "mobilenet_v2": "MobilenetV2",
    "mobilenet_v3_large": "MobilenetV3",
    "mobilenet_v3_small": "MobilenetV3",
}
V3_BLOCKS = {"mobilenet_v3_large": 15, "mobilenet_v3_small": 11}


def build_keras(net_name: str, depth_multiplier: float, size: int) -> keras.Model:
    """Keras' twin of ``net_name`` at width ``depth_multiplier`` for ``size`` x ``size`` inputs,
    with a 1001-class head returning logits."""
    common = {
        "input_shape": (size, size, 3),
        "alpha": depth_multiplier,
        "weights": None,
        "classes": NUM_CLASSES,
        "classifier_activation": None,
    }
    if net_name == "mobilenet_v1":
        return keras.applications.MobileNet(**common)
    if net_name == "mobilenet_v2":
        return keras.applications.MobileNetV2(**common)
    application = {
        "mobilenet_v3_large": keras.applications.MobileNetV3Large,
        "mobilenet_v3_small": keras.applications.MobileNetV3Small,
    }[net_name]
    with tf_slim_gate():
        return application(**common, include_preprocessing=False)


TF_SLIM_GATE_SCALE = 0.16667
"""mobilenet_v3's squeeze-excite gate: ``relu6(x + 3) * 0.16667``."""


@contextmanager
def tf_slim_gate() -> Iterator[None]:
    """Keras' MobileNetV3 built inside gets TF-Slim's squeeze-excite gate constant, 0.16667,
    instead of 1 / 6 (Keras' ``_se_block`` looks ``hard_sigmoid`` up when it builds)."""
    keras_hard_sigmoid = keras_mobilenet_v3.hard_sigmoid
    keras_mobilenet_v3.hard_sigmoid = lambda x: keras.layers.ReLU(6.0)(x + 3.0) * TF_SLIM_GATE_SCALE
    try:
        yield
    finally:
        keras_mobilenet_v3.hard_sigmoid = keras_hard_sigmoid


def keras_layer_names(net_name: str, unit: str) -> tuple[str, str | None]:
    """(Keras conv layer, Keras batch norm layer or None) for a TF-Slim layer scope without the
    root ("Conv2d_3_depthwise", "expanded_conv_4/expand", "Logits/Conv2d_1c_1x1")."""
    if unit == "Logits/Conv2d_1c_1x1":
        head = {"mobilenet_v1": "conv_preds", "mobilenet_v2": "predictions"}
        return head.get(net_name, "logits"), None
    if net_name == "mobilenet_v1":
        if unit == "Conv2d_0":
            return "conv1", "conv1_bn"
        index, kind = unit.removeprefix("Conv2d_").split("_")
        short = {"depthwise": "dw", "pointwise": "pw"}[kind]
        return f"conv_{short}_{index}", f"conv_{short}_{index}_bn"
    if net_name == "mobilenet_v2":
        if unit == "Conv":
            return "Conv1", "bn_Conv1"
        if unit == "Conv_1":
            return "Conv_1", "Conv_1_bn"
        block, part = unit.split("/")
        index = _block_index(block)
        prefix = "expanded_conv_" if index == 0 else f"block_{index}_"
        return f"{prefix}{part}", f"{prefix}{part}_BN"
    if unit in ("Conv", "Conv_1"):
        layer = unit.lower()
        return layer, f"{layer}_bn"
    if unit == "Conv_2":
        return "conv_2", None
    block, *parts = unit.split("/")
    prefix = _v3_prefix(_block_index(block))
    if parts[0] == "squeeze_excite":
        suffix = {"Conv": "conv", "Conv_1": "conv_1"}[parts[1]]
        return f"{prefix}squeeze_excite_{suffix}", None
    return f"{prefix}{parts[0]}", f"{prefix}{parts[0]}_bn"


def slim_to_keras(
    net_name: str, model: keras.Model, layout: Mapping[str, Sequence[int]]
) -> dict[str, tuple[str, str]]:
    """Every TF-Slim variable of ``layout`` -> (Keras layer name, Keras weight name).

    Raises ``ValueError`` if a shape differs (the head's kernel may differ by the 1x1 of a conv
    against a Dense layer) or a variable or Keras weight is left unmatched.
    """
    root = ROOTS[net_name] + "/"
    mapping: dict[str, tuple[str, str]] = {}
    for name, shape in layout.items():
        unit, kind = _split(name.removeprefix(root))
        conv, batch_norm = keras_layer_names(net_name, unit)
        layer_name = batch_norm if kind.startswith("BatchNorm/") else conv
        weight = _keras_weight(model, layer_name, WEIGHT_KINDS[kind])
        if tuple(weight.shape) != tuple(shape) and (
            np.prod(weight.shape) != np.prod(shape) or layer_name != "predictions"
        ):
            raise ValueError(f"{name} {tuple(shape)} != {layer_name}/{weight.name} {weight.shape}")
        mapping[name] = (layer_name, weight.name)
    keras_weights = {(layer.name, w.name) for layer in model.layers for w in layer.weights}
    if set(mapping.values()) != keras_weights:
        raise ValueError(
            f"unmatched Keras weights: {sorted(keras_weights - set(mapping.values()))}"
        )
    return mapping


def assign_slim_weights(net_name: str, model: keras.Model, weights: Mapping[str, np.ndarray]):
    """Sets the Keras model's weights from TF-Slim-named values (a 1x1 head kernel is reshaped)."""
    mapping = slim_to_keras(net_name, model, {name: v.shape for name, v in weights.items()})
    for slim_name, (layer_name, weight_name) in mapping.items():
        weight = _keras_weight(model, layer_name, weight_name)
        weight.assign(np.reshape(weights[slim_name], weight.shape))


def end_point_model(net_name: str, model: keras.Model, end_points: Iterable[str]) -> keras.Model:
    """The same model with outputs ``{"logits", "features", TF-Slim end point: activation}``."""
    graph = _Graph(model)
    outputs = {name: graph.output(_end_point_op(net_name, name, graph)) for name in end_points}
    if net_name.startswith("mobilenet_v3"):
        # The features are Conv_2's (1x1) activation, the last end point.
        last = f"layer_{V3_BLOCKS[net_name] + 4}"
        features = keras.layers.Flatten()(graph.output(_end_point_op(net_name, last, graph)))
    else:
        last = {"mobilenet_v1": "conv_pw_13_relu", "mobilenet_v2": "out_relu"}[net_name]
        features = keras.layers.Flatten()(graph.output(graph.consumer(last)))  # the global pool
    return keras.Model(model.input, {"logits": model.output, "features": features, **outputs})


def keras_v1_last_grid(size: int) -> int:
    """The side of Keras MobileNet's last feature map for ``size`` x ``size`` inputs: SAME for
    the first conv, then (0, 1) padding with VALID before each stride-2 depthwise conv."""
    side = -(-size // 2)
    for _ in range(4):
        side = (side + 1 - 3) // 2 + 1
    return side


def _end_point_op(net_name: str, end_point: str, graph: "_Graph") -> str:
    """The Keras operation whose output is TF-Slim's ``end_point``."""
    if net_name == "mobilenet_v1":
        if end_point == "Conv2d_0":
            return "conv1_relu"
        index, kind = end_point.removeprefix("Conv2d_").split("_")
        return f"conv_{'dw' if kind == 'depthwise' else 'pw'}_{index}_relu"
    layer, _, part = end_point.partition("/")
    number = int(layer.removeprefix("layer_"))
    if net_name == "mobilenet_v2":
        if number == 1:
            return "Conv1_relu"
        if number == 19:
            return "out_relu"
        index = number - 2
        prefix = "expanded_conv_" if index == 0 else f"block_{index}_"
        if part == "expansion_output":
            return f"{prefix}expand_relu"
        if part == "depthwise_output":
            return f"{prefix}depthwise_relu"
        return graph.first_of(f"{prefix}add", f"{prefix}project_BN")
    blocks = V3_BLOCKS[net_name]
    if number == 1:
        return graph.consumer("conv_bn")
    if number == blocks + 2:
        return graph.consumer("conv_1_bn")
    if number == blocks + 3:
        return graph.consumer(graph.consumer("conv_1_bn"))
    if number == blocks + 4:
        return graph.consumer("conv_2")
    prefix = _v3_prefix(number - 2)
    if part == "expansion_output":
        return graph.consumer(f"{prefix}expand_bn")
    if part == "depthwise_output":
        return graph.consumer(f"{prefix}depthwise_bn")
    return graph.first_of(f"{prefix}add", f"{prefix}project_bn")


class _Graph:
    """Keras operations by name, with what consumes each one's output."""

    def __init__(self, model: keras.Model) -> None:
        self.operations = {op.name: op for op in model.operations}
        producers = {id(op.output): op.name for op in model.operations}
        self.consumers: dict[str, list[str]] = {}
        for op in model.operations:
            inputs = op.input if isinstance(op.input, list) else [op.input]
            for tensor in inputs:
                if id(tensor) in producers and producers[id(tensor)] != op.name:
                    self.consumers.setdefault(producers[id(tensor)], []).append(op.name)

    def consumer(self, name: str) -> str:
        (consumer,) = self.consumers[name]
        return consumer

    def first_of(self, *names: str) -> str:
        return next(name for name in names if name in self.operations)

    def output(self, name: str):
        return self.operations[name].output


def _block_index(block: str) -> int:
    return 0 if block == "expanded_conv" else int(block.removeprefix("expanded_conv_"))


def _v3_prefix(index: int) -> str:
    return "expanded_conv_" if index == 0 else f"expanded_conv_{index}_"


def _split(name: str) -> tuple[str, str]:
    """("expanded_conv_3/expand", "BatchNorm/gamma") from "expanded_conv_3/expand/BatchNorm/gamma"."""
    if "/BatchNorm/" in name:
        unit, kind = name.split("/BatchNorm/")
        return unit, f"BatchNorm/{kind}"
    unit, kind = name.rsplit("/", 1)
    return unit, kind


def _keras_weight(model: keras.Model, layer_name: str, weight_name: str):
    layer = model.get_layer(layer_name)
    for weight in layer.weights:
        if weight.name == weight_name:
            return weight
    raise ValueError(f"Keras layer {layer_name} has no weight {weight_name!r}")
