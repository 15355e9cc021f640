"""Write a module as a reusable TF2 SavedModel (`saved_model_2`), what `hub.KerasLayer` fine-tunes.

The root object follows TF Hub's reusable SavedModel API: `__call__(images, training=False,
batch_norm_momentum=<record's momentum>)` is a tf.function with an input signature (batch norm
uses batch statistics and updates its moving averages when `training` is true), beside
`variables`, `trainable_variables` and `regularization_losses` (one function: the weight decay).
Serving signatures repeat the record's inference signatures (`default`, `image_feature_vector`,
...), each returning `default` and the end points by TF-Slim name.
"""

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import tensorflow as tf

from modules.export.spec import DEFAULT_OUTPUT, IMAGES_INPUT, MOMENTUM_INPUT, ExportSpec
from modules.export.staging import staged_module_dir, write_provenance
from modules.export.weights import check_weights
from modules.inspect import (
    SAVED_MODEL_2_FORMAT,
    TRAINING_INPUT,
    check_export,
    expected_sm2_signatures,
)
from modules.preprocessing import apply_input_mapping


def export_saved_model2(spec: ExportSpec, weights: Mapping[str, np.ndarray], out_dir: Path) -> Path:
    """Export `weights` for `spec.net` to `out_dir` as a reusable TF2 SavedModel, checked."""
    from modules.nets import create_net

    with staged_module_dir(out_dir) as staging:
        net = create_net(spec.net, num_classes=spec.num_classes)
        check_weights(net.layout(), weights, spec.handle)
        net.assign(weights)
        root = reusable_module(spec, net)
        tf.saved_model.save(root, str(staging), signatures=_serving_signatures(spec, net))
        write_provenance(staging, spec)
        check_export(staging, spec, SAVED_MODEL_2_FORMAT)
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

    if spec.batch_norm_momentum is None:

        def call(images, training=False):
            return features(images, training, None)

        signature = [images_spec, training_spec]
    else:

        def call(images, training=False, batch_norm_momentum=spec.batch_norm_momentum):
            return features(images, training, batch_norm_momentum)

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

    @tf.function(input_signature=[images_spec], autograph=False)
    def inference(images):
        output, end_points = net(apply_input_mapping(images, spec.input_mapping), training=False)
        outputs = {DEFAULT_OUTPUT: output}
        outputs.update({f"{net.scope}/{name}": tensor for name, tensor in end_points.items()})
        return outputs

    concrete = inference.get_concrete_function()
    return {name: concrete for name in expected_sm2_signatures(spec)}
