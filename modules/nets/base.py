"""`SlimNet`: a TF-Slim-compatible network as a `tf.Module`, usable eagerly and in tf.compat.v1 graphs."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from hubzoo.errors import HubzooError
from modules.nets.layers import ArgScope, Channels, ForwardPass, LayoutPass, VariableSpec

NUM_CHANNELS = 3
HEAD_END_POINTS = ("Logits", "Predictions")
"""End points a net with a classification head adds after its feature extractor's."""


class NetDefinition:
    """A TF-Slim network's architecture, with no variables: its scope, hyperparameters and math.

    A net file defines one subclass per architecture; its hyperparameters (a width multiplier, a
    depth) are ordinary constructor arguments, so a variant is data, not a new class. `base` builds
    the feature extractor (returning the last activation and the end points) and `logits` the
    TF-Slim classification head, both written against the `modules.nets.layers` vocabulary, which
    runs them once on channel counts (`variable_specs`) and once on tensors (`SlimNet.__call__`).
    """

    scope: str  # TF-Slim's top variable scope, e.g. "InceptionV1" (per variant where it varies)
    default_image_size: int  # the image size TF-Slim trains the net at
    arg_scope: ArgScope = ArgScope()  # TF-Slim's arg scope defaults for this net

    def base(self, ops, images):
        """The feature extractor: (last activation, EndPoints)."""
        raise NotImplementedError

    def logits(self, ops, net, num_classes: int):
        """The classification head on the feature extractor's last activation."""
        raise NotImplementedError

    def variable_specs(self, num_classes: int | None = None) -> tuple[VariableSpec, ...]:
        """Every variable the net creates, in TF-Slim's creation order, without creating any."""
        layout_pass = LayoutPass(self.scope, self.arg_scope)
        features, _ = self.base(layout_pass, Channels(NUM_CHANNELS))
        if num_classes is not None:
            self.logits(layout_pass, features, num_classes)
        return tuple(layout_pass.specs)

    def end_point_name(self, name: str) -> str:
        """The end point's name as TF-Slim's end_points dict spells it, which is what an export
        publishes it as: under the net's top scope, e.g. "InceptionV1/Mixed_4c"."""
        return f"{self.scope}/{name}"

    def training_extras(self, num_classes: int) -> dict[str, tuple[int, ...]]:
        """Variables a TF-Slim training checkpoint holds beyond the net and its head (auxiliary
        heads), by name; the net never reads them, synthetic checkpoints write them."""
        del num_classes
        return {}

    @property
    def num_features(self) -> int:
        """Length of the feature vector: the depth of the feature extractor's last activation."""
        features, _ = self.base(LayoutPass(self.scope, self.arg_scope), Channels(NUM_CHANNELS))
        return features.depth


class SlimNet(tf.Module):
    """A TF-Slim network with its variables: created at construction, named as TF-Slim names them.

    Variables are resource variables named exactly as in a TF-Slim checkpoint (no ":0"), created
    with zeros (moving_variance with ones) until `assign` loads real values. Constructed inside
    `with tf.Graph().as_default():` they live in that graph; constructed eagerly they are TF2
    variables tracked by this module (for `tf.saved_model.save`).
    """

    def __init__(self, definition: NetDefinition, num_classes: int | None = None) -> None:
        super().__init__(name=definition.scope)
        self.definition = definition
        self.scope = definition.scope
        self.num_classes = num_classes
        self._specs = definition.variable_specs(num_classes)
        self._variables = {spec.name: _create_variable(spec) for spec in self._specs}

    def layout(self) -> dict[str, tuple[int, ...]]:
        """TF-Slim variable name -> shape, for exactly the variables this net creates."""
        return {spec.name: spec.shape for spec in self._specs}

    def variables_by_name(self) -> dict[str, tf.Variable]:
        """TF-Slim variable name -> variable (the same keys as `layout()`)."""
        return dict(self._variables)

    def __call__(
        self,
        images: tf.Tensor,
        training: bool = False,
        batch_norm_momentum: float | tf.Tensor | None = None,
    ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """Runs the net on float32 inputs [N, H, W, 3], already preprocessed as the net was trained
        (see `modules.preprocessing`; an Inception-style net takes values in [-1, 1]).

        Returns `(output, end_points)`: output is the feature vector [N, num_features] (spatial
        mean of the feature extractor's last activation) or, with `num_classes`, the logits
        [N, num_classes] (dropout is the identity at inference). end_points is keyed by TF-Slim
        end-point names without the scope ("Mixed_4c"), plus "Logits" and "Predictions"
        (softmax) with a head.

        training=True normalizes with batch statistics and updates the moving averages with
        `batch_norm_momentum` (TF-Slim "decay"; None means the net's arg-scope default).
        In a tf.compat.v1 graph the updates go to `tf.compat.v1.GraphKeys.UPDATE_OPS` and only
        run when fetched; eagerly or in a tf.function they are applied.
        """
        output, _, end_points = self.call_with_features(images, training, batch_norm_momentum)
        return output, end_points

    def call_with_features(
        self,
        images: tf.Tensor,
        training: bool = False,
        batch_norm_momentum: float | tf.Tensor | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor, dict[str, tf.Tensor]]:
        """`(output, features, end_points)`: as `__call__`, plus the feature vector, which a
        classifier's feature-vector signatures serve (for a net without a head, the output)."""
        arg_scope = self.definition.arg_scope
        momentum = (
            arg_scope.batch_norm_decay if batch_norm_momentum is None else batch_norm_momentum
        )
        ops = ForwardPass(
            self.scope,
            arg_scope,
            self._variables,
            training=training,
            momentum=momentum,
            collect_updates=not tf.compat.v1.executing_eagerly_outside_functions(),
        )
        with self.name_scope:
            images = tf.convert_to_tensor(images, dtype=tf.float32)
            net, end_points = self.definition.base(ops, images)
            features = ops.spatial_mean(net)
            if self.num_classes is None:
                return features, features, end_points
            logits = self.definition.logits(ops, net, self.num_classes)
            logits_name, predictions_name = HEAD_END_POINTS
            end_points[logits_name] = logits
            end_points[predictions_name] = ops.softmax(logits)
            return logits, features, end_points

    def regularization_losses(self) -> list[tf.Tensor]:
        """TF-Slim's weight decay: weight_decay * l2_loss(w) for each variable its arg scope regularizes."""
        return [
            self.definition.arg_scope.weight_decay * tf.nn.l2_loss(self._variables[spec.name])
            for spec in self._specs
            if spec.regularized
        ]

    def assign(self, weights: Mapping[str, np.ndarray], session=None) -> None:
        """Loads values for every variable of `layout()` (extra names in `weights` are ignored).

        Eagerly, the variables are assigned. In a tf.compat.v1 graph, pass the session (or call
        inside `with session.as_default():`): each variable's initializer is run with its value
        fed, so the graph gains no constants or assign ops; run no other initializer for these
        variables afterwards.
        """
        values = self._checked_values(weights)
        if tf.executing_eagerly():
            for name, value in values.items():
                self._variables[name].assign(value)
            return
        session = session or tf.compat.v1.get_default_session()
        if session is None:
            raise HubzooError(
                f"{self.scope}.assign in graph mode needs a tf.compat.v1.Session "
                "(pass session= or make one the default)"
            )
        initializers = [self._variables[name].initializer for name in values]
        feed = {
            init.inputs[1]: values[name] for name, init in zip(values, initializers, strict=True)
        }
        session.run(initializers, feed_dict=feed)

    def _checked_values(self, weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        missing = [spec.name for spec in self._specs if spec.name not in weights]
        misshaped = [
            f"{spec.name}: expected {list(spec.shape)}, got {list(np.shape(weights[spec.name]))}"
            for spec in self._specs
            if spec.name in weights and tuple(np.shape(weights[spec.name])) != spec.shape
        ]
        if missing or misshaped:
            raise HubzooError(
                f"cannot assign {self.scope} weights: {len(missing)} missing "
                f"{missing[:5]}, {len(misshaped)} mis-shaped {misshaped[:5]}"
            )
        return {spec.name: np.asarray(weights[spec.name], np.float32) for spec in self._specs}


def _create_variable(spec: VariableSpec) -> tf.Variable:
    fill = tf.ones if spec.name.endswith("/moving_variance") else tf.zeros
    return tf.Variable(
        lambda: fill(spec.shape, tf.float32),
        trainable=spec.trainable,
        name=spec.name,
        shape=spec.shape,
        dtype=tf.float32,
    )


class EndPoints(dict):
    """End points by TF-Slim name, filled as the network is built."""

    def add(self, name: str, net):
        """Record `net` as end point `name` and return it."""
        self[name] = net
        return net


def conv_logits(ops, net, num_classes: int, layer: str):
    """TF-Slim's convolutional head: spatial mean, then a biased 1x1 conv named `layer`."""
    with ops.scope("Logits"):
        pooled = ops.spatial_mean(net, keepdims=True)
        logits = ops.conv(pooled, num_classes, 1, layer, batch_norm=False, activation=False)
        return ops.squeeze_spatial(logits)
