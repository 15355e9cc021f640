"""The reusable TF2 SavedModel format (`saved_model_2`, what `hub.KerasLayer` fine-tunes): written,
checked and loaded as tensorflow_hub 0.16 loads it.

The root object follows TF Hub's reusable SavedModel API: `__call__(images, training=False,
batch_norm_momentum=<record's momentum>)` is a tf.function with an input signature (batch norm
uses batch statistics and updates its moving averages when `training` is true), beside
`variables`, `trainable_variables` and `regularization_losses` (one function: the weight decay).
Serving signatures repeat the record's inference signatures (`default`, `image_feature_vector`,
...), each returning `default` and the end points by TF-Slim name.
"""

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import tensorflow as tf

from hubzoo.contract import (
    DEFAULT_OUTPUT,
    FORMATS,
    IMAGES_INPUT,
    MOMENTUM_INPUT,
    SAVED_MODEL_2,
    TRAINING_INPUT,
)
from hubzoo.files import staged_dir
from modules.export import ConsumerCalls, SignatureCall, missing_signature
from modules.export.provenance import write_provenance
from modules.export.spec import ExportSpec
from modules.export.weights import check_weights
from modules.inspect import (
    CallDescription,
    ModuleDescription,
    TensorDescription,
    diff_signatures,
    diff_tensors,
    same_value,
)
from modules.preprocessing import apply_input_mapping

ROOT_ATTRIBUTES = ("variables", "trainable_variables", "regularization_losses")
"""What TF Hub's reusable SavedModel API puts beside `__call__` on the root object."""


def export(spec: ExportSpec, weights: Mapping[str, np.ndarray], out_dir: Path) -> Path:
    """Export `weights` for `spec.net` to `out_dir` as a reusable TF2 SavedModel; returns it."""
    from modules.nets import create_net

    with staged_dir(out_dir) as staging:
        net = create_net(spec.net, num_classes=spec.num_classes, **spec.hyperparameters)
        check_weights(net.layout(), weights, spec.handle)
        net.assign(weights)
        root = reusable_module(spec, net)
        tf.saved_model.save(root, str(staging), signatures=_serving_signatures(spec, net))
        write_provenance(staging, spec)
    return Path(out_dir)


def reusable_module(spec: ExportSpec, net: tf.Module) -> tf.__internal__.tracking.AutoTrackable:
    """The object to save: `net` behind TF Hub's reusable SavedModel attributes."""
    images_spec = tf.TensorSpec(spec.images_shape, tf.float32, name=IMAGES_INPUT)
    training_spec = tf.TensorSpec([], tf.bool, name=TRAINING_INPUT)

    def features(images, training, momentum):
        inputs = apply_input_mapping(images, spec.input_mapping)
        return tf.cond(
            training,
            lambda: net(inputs, training=True, batch_norm_momentum=momentum)[0],
            lambda: net(inputs, training=False)[0],
        )

    call: Callable[..., tf.Tensor]
    if spec.batch_norm_momentum is None:

        def call_without_momentum(images, training=False):
            return features(images, training, None)

        call = call_without_momentum
        signature = [images_spec, training_spec]
    else:

        def call_with_momentum(
            images, training=False, batch_norm_momentum=spec.batch_norm_momentum
        ):
            return features(images, training, batch_norm_momentum)

        call = call_with_momentum
        signature = [images_spec, training_spec, tf.TensorSpec([], tf.float32, name=MOMENTUM_INPUT)]

    variables = list(net.variables_by_name().values())
    root = tf.__internal__.tracking.AutoTrackable()
    root.variables = variables
    root.trainable_variables = [variable for variable in variables if variable.trainable]
    root.regularization_losses = [
        tf.function(
            lambda: tf.add_n(net.regularization_losses()), input_signature=[], autograph=False
        )
    ]
    root.__call__ = tf.function(call, input_signature=signature, autograph=False)
    return root


def _serving_signatures(
    spec: ExportSpec, net: tf.Module
) -> dict[str, tf.types.experimental.ConcreteFunction]:
    images_spec = tf.TensorSpec(spec.images_shape, tf.float32, name=IMAGES_INPUT)

    def outputs(images, features: bool):
        inputs = apply_input_mapping(images, spec.input_mapping)
        output, feature_vector, end_points = net.call_with_features(inputs, training=False)
        default = feature_vector if features else output
        named = {net.definition.end_point_name(name): tensor for name, tensor in end_points.items()}
        return {DEFAULT_OUTPUT: default, **named}

    def concrete(features: bool) -> tf.types.experimental.ConcreteFunction:
        @tf.function(input_signature=[images_spec], autograph=False)
        def signature(images):
            return outputs(images, features)

        return signature.get_concrete_function()

    served = served_signatures(spec)
    functions = {
        features: concrete(features) for features in {n in spec.feature_signatures for n in served}
    }
    return {name: functions[name in spec.feature_signatures] for name in served}


def served_signatures(spec: ExportSpec) -> tuple[str, ...]:
    """The record's signatures minus the bn-hparams ones: a TF2 SavedModel has no training graph
    variant; fine-tuning goes through `__call__`, whose `batch_norm_momentum` argument replaces
    the bn-hparams signature."""
    return FORMATS[SAVED_MODEL_2].served_signatures(spec.signatures)


def diff(desc: ModuleDescription, spec: ExportSpec) -> list[str]:
    """How a reusable TF2 SavedModel departs from `spec`: root attributes, `__call__` and the
    serving signatures."""
    problems = [
        f"attribute '{name}': missing on the root object"
        for name in ROOT_ATTRIBUTES
        if name not in desc.attributes
    ]
    problems += _diff_call(desc.call, spec)
    for variant in desc.variants:
        problems += diff_signatures(
            SAVED_MODEL_2, variant.signatures, spec, served_signatures(spec)
        )
    return problems


def _diff_call(call: CallDescription | None, spec: ExportSpec) -> list[str]:
    if call is None:
        return ["__call__: missing, so not a reusable SavedModel"]
    expected_inputs = [
        TensorDescription(IMAGES_INPUT, "float32", spec.images_shape),
        TensorDescription(TRAINING_INPUT, "bool", ()),
    ]
    expected_defaults: dict[str, object] = {TRAINING_INPUT: False}
    if spec.batch_norm_momentum is not None:
        expected_inputs.append(TensorDescription(MOMENTUM_INPUT, "float32", ()))
        expected_defaults[MOMENTUM_INPUT] = spec.batch_norm_momentum
    problems = diff_tensors("__call__ input", call.inputs, expected_inputs, exact=True)
    defaults = dict(call.defaults)
    for name, value in expected_defaults.items():
        if name not in defaults or not same_value(defaults[name], value):
            problems.append(
                f"__call__ default of {name}: found {defaults.get(name)!r}, expected {value!r}"
            )
    expected_output = TensorDescription("output_0", "float32", (None, spec.num_outputs))
    problems += diff_tensors("__call__ output", call.outputs, [expected_output], exact=True)
    return problems


def load_calls(module_dir: Path, spec: ExportSpec) -> ConsumerCalls:
    """The module loaded once by tensorflow_hub: at inference, each serving signature; its
    training path is `__call__(images, training=True)` (batch norm on batch statistics) on the
    same object."""
    import tensorflow_hub as hub

    loaded = hub.load(str(module_dir))
    calls: dict[str, SignatureCall] = {}
    for name in served_signatures(spec):
        if name not in loaded.signatures:
            calls[name] = missing_signature(name)
            continue
        function = loaded.signatures[name]
        calls[name] = lambda images, function=function: function(**{IMAGES_INPUT: images})

    def training() -> dict[str, SignatureCall]:
        return {"__call__": lambda images: {DEFAULT_OUTPUT: loaded(images, training=True)}}

    return ConsumerCalls(calls, training)
