"""TF-Slim's layer vocabulary, run in two passes over one network definition.

Each network body is written once against the methods below. `LayoutPass` runs it on channel
counts only and records every variable the body needs (TF-Slim name, shape, trainable,
regularized), in TF-Slim's creation order. `ForwardPass` runs the same body on tensors, using
variables that already exist, with `tf.nn` ops and TF-Slim's math:

- conv2d: no biases when batch norm follows; biases when it does not (head, residual "up" convs).
- batch norm: `center=True`, `scale` and `epsilon` from the net's `ArgScope`, with the fused batch norm op as TF-Slim
  uses it (which also lets Grappler fuse it into the preceding convolution on CPU). Inference
  uses the moving statistics. Training normalizes with the batch mean and (biased) batch
  variance and moves `moving = moving - (moving - batch) * (1 - momentum)` towards the batch
  mean and the Bessel-corrected batch variance, as TF-Slim's fused batch norm does.
- separable_conv2d (inception_v2's first layer): depthwise then pointwise, biases, ReLU, no batch norm.
- MobileNets (`conv_with_activation`, `depthwise_conv`, `squeeze_excite`, `reduce_to_1x1`):
  SAME padding, an activation named per layer (see `ACTIVATIONS`), and TF-Slim's
  `separable_conv2d(num_outputs=None, depth_multiplier=1)` for the depthwise convolutions
  (`depthwise_weights` [kh, kw, C, 1], batch norm, no weight decay under the MobileNet arg scopes).
- batch_norm on its own (resnet_v2's `preact` and `postnorm` with ReLU, NASNet's without): `slim.batch_norm(x,
  activation_fn=relu, scope=name)`, its variables directly under `name` (no `BatchNorm` level).
- conv_same (TF-Slim's `resnet_utils.conv2d_same`): SAME padding at stride 1; at stride s > 1 an
  explicit zero padding of (k - 1) // 2 before and k - 1 - (k - 1) // 2 after, then a VALID conv,
  which differs from a strided SAME conv on even inputs.
- add (ResNet units): `a + b`, optionally followed by ReLU.
- TF-Slim's batch norm creates `gamma` (when scaled) before `beta`, then the moving statistics.
- NASNet-style layers, each its own TF-Slim call as nasnet_utils stacks them: `plain_conv` and
  `plain_separable_conv` (conv2d / separable_conv2d under NASNet's arg scope: activation_fn=None,
  biases_initializer=None, weights regularized; separable with depth_multiplier 1), `batch_norm`
  on its own scope ("bn_sep_5x5_1/gamma", not ".../BatchNorm/..."), `relu`, `add`,
  `shift_up_left` (the second path of NASNet's factorized reduction) and `drop_path`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import tensorflow as tf


@dataclass(frozen=True)
class ArgScope:
    """What a TF-Slim net's arg scope (its `*_arg_scope()` defaults) sets for every layer."""

    weight_decay: float = 0.00004  # L2 decay on weights: loss weight_decay * sum(w**2) / 2
    regularize_biases: bool = False  # whether biases get the weight decay too
    batch_norm_decay: float = 0.9997  # momentum of the moving averages when none is given
    batch_norm_epsilon: float = 0.001  # added to the variance before normalizing
    batch_norm_scale: bool = False  # whether batch norm learns a per-channel `gamma`


@dataclass(frozen=True)
class VariableSpec:
    """One variable a network creates, named as TF-Slim names it."""

    name: str
    shape: tuple[int, ...]
    trainable: bool = True
    regularized: bool = False


@dataclass(frozen=True)
class Channels:
    """What `LayoutPass` knows of an activation: its channel count."""

    depth: int


ACTIVATIONS = ("relu", "relu6", "hard_swish", "hard_sigmoid", None)
"""Activation names the MobileNet methods take, with TF-Slim's math (None: linear):
relu6 = min(max(x, 0), 6); hard_swish = x * relu6(x + 3) * (1/6), in that order, as
mobilenet_v3.hard_swish; hard_sigmoid = relu6(x + 3) * 0.16667, the constant mobilenet_v3's
squeeze-excite gate uses (not 1/6)."""


def _check_activation(activation: str | None) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; known: {ACTIVATIONS}")


def _activate(x: tf.Tensor, activation: str | None) -> tf.Tensor:
    _check_activation(activation)
    if activation == "relu":
        return tf.nn.relu(x)
    if activation == "relu6":
        return tf.nn.relu6(x)
    if activation == "hard_swish":
        return x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)
    if activation == "hard_sigmoid":
        return tf.nn.relu6(x + 3.0) * 0.16667
    return x


def _pair(kernel: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(kernel, int):
        return kernel, kernel
    height, width = kernel
    return int(height), int(width)


class _ScopedPass:
    """Tracks the TF-Slim variable scope ("InceptionV1/Mixed_3b/Branch_0") while a body runs."""

    def __init__(self, root: str) -> None:
        self._scopes = [root]

    @contextmanager
    def scope(self, name: str) -> Iterator[None]:
        """Enters a nested variable scope, like `tf.variable_scope(name)` in TF-Slim."""
        self._scopes.append(name)
        try:
            with self._name_scope(name):
                yield
        finally:
            self._scopes.pop()

    @contextmanager
    def top_level(self) -> Iterator[None]:
        """Builds variables outside the root scope, as TF-Slim names them for nets that open no
        variable scope of their own (NASNet, PNASNet: "cell_0/1x1/weights")."""
        scopes, self._scopes = self._scopes, []
        try:
            yield
        finally:
            self._scopes = scopes

    def _name_scope(self, name: str):
        return _no_scope()

    def _full_name(self, layer: str, variable: str) -> str:
        return "/".join([*self._scopes, layer, variable])


@contextmanager
def _no_scope() -> Iterator[None]:
    yield


class LayoutPass(_ScopedPass):
    """Runs a body on `Channels` and records the variables it needs."""

    def __init__(self, root: str, arg_scope: ArgScope) -> None:
        super().__init__(root)
        self.specs: list[VariableSpec] = []
        self._arg_scope = arg_scope

    def _add(self, layer: str, variable: str, shape: tuple[int, ...], **kwargs: bool) -> None:
        self.specs.append(VariableSpec(self._full_name(layer, variable), shape, **kwargs))

    def _add_biases(self, layer: str, depth: int) -> None:
        self._add(layer, "biases", (depth,), regularized=self._arg_scope.regularize_biases)

    def _add_batch_norm(self, layer: str, depth: int, prefix: str = "BatchNorm/") -> None:
        if self._arg_scope.batch_norm_scale:
            self._add(layer, f"{prefix}gamma", (depth,))
        self._add(layer, f"{prefix}beta", (depth,))
        self._add(layer, f"{prefix}moving_mean", (depth,), trainable=False)
        self._add(layer, f"{prefix}moving_variance", (depth,), trainable=False)

    def conv(
        self,
        x: Channels,
        depth: int,
        kernel: int | Sequence[int],
        name: str,
        stride: int = 1,
        padding: str = "SAME",
        batch_norm: bool = True,
        activation: bool = True,
    ) -> Channels:
        del stride, padding, activation
        self._add(name, "weights", (*_pair(kernel), x.depth, depth), regularized=True)
        if batch_norm:
            self._add_batch_norm(name, depth)
        else:
            self._add_biases(name, depth)
        return Channels(depth)

    def separable_conv(
        self,
        x: Channels,
        depth: int,
        kernel: int | Sequence[int],
        name: str,
        depth_multiplier: int,
        stride: int = 1,
        padding: str = "SAME",
    ) -> Channels:
        del stride, padding
        self._add(name, "depthwise_weights", (*_pair(kernel), x.depth, depth_multiplier))
        self._add(name, "pointwise_weights", (1, 1, x.depth * depth_multiplier, depth))
        self._add(name, "biases", (depth,))
        return Channels(depth)

    def conv_same(
        self,
        x: Channels,
        depth: int,
        kernel: int,
        name: str,
        stride: int = 1,
        batch_norm: bool = True,
        activation: bool = True,
    ) -> Channels:
        return self.conv(x, depth, kernel, name, stride, "SAME", batch_norm, activation)

    def batch_norm(self, x: Channels, name: str, activation: bool = False) -> Channels:
        del activation
        self._add_batch_norm(name, x.depth, prefix="")
        return x

    def add(self, x: Channels, y: Channels, activation: bool = False) -> Channels:
        if x.depth != y.depth:
            raise ValueError(f"cannot add {x.depth} channels to {y.depth}")
        return x

    def dense(self, x: Channels, units: int, name: str) -> Channels:
        self._add(name, "weights", (x.depth, units), regularized=True)
        self._add_biases(name, units)
        return Channels(units)

    def max_pool(self, x: Channels, size: int, stride: int = 1, padding: str = "SAME") -> Channels:
        return x

    def avg_pool(self, x: Channels, size: int, stride: int = 1, padding: str = "SAME") -> Channels:
        return x

    def concat(self, branches: Sequence[Channels]) -> Channels:
        return Channels(sum(branch.depth for branch in branches))

    def residual(self, x: Channels, up: Channels, scale: float, activation: bool) -> Channels:
        return x

    def spatial_mean(self, x: Channels, keepdims: bool = False) -> Channels:
        return x

    def depth(self, x: Channels) -> int:
        return x.depth

    def squeeze_spatial(self, x: Channels) -> Channels:
        return x

    def softmax(self, x: Channels) -> Channels:
        return x

    def conv_with_activation(
        self,
        x: Channels,
        depth: int,
        kernel: int | Sequence[int],
        name: str,
        activation: str | None,
        stride: int = 1,
        batch_norm: bool = True,
    ) -> Channels:
        _check_activation(activation)
        return self.conv(x, depth, kernel, name, stride, batch_norm=batch_norm)

    def depthwise_conv(
        self,
        x: Channels,
        kernel: int | Sequence[int],
        name: str,
        activation: str | None,
        stride: int = 1,
    ) -> Channels:
        _check_activation(activation)
        self._add(name, "depthwise_weights", (*_pair(kernel), x.depth, 1))
        self._add_batch_norm(name, x.depth)
        return Channels(x.depth)

    def squeeze_excite(self, x: Channels, squeeze_depth: int) -> Channels:
        with self.scope("squeeze_excite"):
            squeezed = self.conv(x, squeeze_depth, 1, "Conv", batch_norm=False)
            self.conv(squeezed, x.depth, 1, "Conv_1", batch_norm=False)
        return x

    def reduce_to_1x1(self, x: Channels, default_size: int = 7) -> Channels:
        return x

    def plain_conv(
        self,
        x: Channels,
        depth: int,
        kernel: int | Sequence[int],
        name: str,
        stride: int = 1,
        padding: str = "SAME",
    ) -> Channels:
        del stride, padding
        self._add(name, "weights", (*_pair(kernel), x.depth, depth), regularized=True)
        return Channels(depth)

    def plain_separable_conv(
        self, x: Channels, depth: int, kernel: int, name: str, stride: int = 1
    ) -> Channels:
        del stride
        self._add(name, "depthwise_weights", (*_pair(kernel), x.depth, 1), regularized=True)
        self._add(name, "pointwise_weights", (1, 1, x.depth, depth), regularized=True)
        return Channels(depth)

    def relu(self, x: Channels) -> Channels:
        return x

    def shift_up_left(self, x: Channels) -> Channels:
        return x

    def drop_path(self, x: Channels, keep_prob: float) -> Channels:
        return x


class ForwardPass(_ScopedPass):
    """Runs a body on NHWC float32 tensors with existing variables.

    `collect_updates=True` (tf.compat.v1 graph mode) puts the moving-average updates of training
    batch norm into `tf.compat.v1.GraphKeys.UPDATE_OPS` without running them; otherwise (eager,
    tf.function) they are applied.
    """

    def __init__(
        self,
        root: str,
        arg_scope: ArgScope,
        variables: Mapping[str, tf.Variable],
        training: bool,
        momentum: float | tf.Tensor,
        collect_updates: bool,
    ) -> None:
        super().__init__(root)
        self._arg_scope = arg_scope
        self._variables = variables
        self._training = training
        self._momentum = tf.cast(momentum, tf.float32)
        self._collect_updates = collect_updates

    def _name_scope(self, name: str):
        return tf.name_scope(name)

    def _get(self, layer: str, variable: str) -> tf.Variable:
        return self._variables[self._full_name(layer, variable)]

    def _batch_norm(self, x: tf.Tensor, layer: str, prefix: str = "BatchNorm/") -> tf.Tensor:
        beta = self._get(layer, f"{prefix}beta")
        moving_mean = self._get(layer, f"{prefix}moving_mean")
        moving_variance = self._get(layer, f"{prefix}moving_variance")
        scope = self._arg_scope
        scale = self._get(layer, f"{prefix}gamma") if scope.batch_norm_scale else tf.ones_like(beta)
        if not self._training:
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(
                x,
                scale,
                beta,
                mean=moving_mean,
                variance=moving_variance,
                epsilon=scope.batch_norm_epsilon,
                is_training=False,
            )
            return y
        # Normalizes with the biased batch variance; returns the Bessel-corrected one.
        y, batch_mean, batch_variance = tf.compat.v1.nn.fused_batch_norm(
            x, scale, beta, epsilon=scope.batch_norm_epsilon, is_training=True
        )
        self._move(moving_mean, batch_mean)
        self._move(moving_variance, batch_variance)
        return y

    def _move(self, moving: tf.Variable, batch_value: tf.Tensor) -> None:
        update = moving.assign_sub(
            (moving - batch_value) * (1.0 - self._momentum), read_value=False
        )
        if self._collect_updates:
            tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.UPDATE_OPS, update)

    def conv(
        self,
        x: tf.Tensor,
        depth: int,
        kernel: int | Sequence[int],
        name: str,
        stride: int = 1,
        padding: str | Sequence[Sequence[int]] = "SAME",  # or explicit NHWC paddings
        batch_norm: bool = True,
        activation: bool = True,
    ) -> tf.Tensor:
        del depth, kernel
        with tf.name_scope(name):
            y = tf.nn.conv2d(x, self._get(name, "weights"), stride, padding)
            if batch_norm:
                y = self._batch_norm(y, name)
            else:
                y = tf.nn.bias_add(y, self._get(name, "biases"))
            return tf.nn.relu(y) if activation else y

    def separable_conv(
        self,
        x: tf.Tensor,
        depth: int,
        kernel: int | Sequence[int],
        name: str,
        depth_multiplier: int,
        stride: int = 1,
        padding: str = "SAME",
    ) -> tf.Tensor:
        del depth, kernel, depth_multiplier
        with tf.name_scope(name):
            y = tf.nn.separable_conv2d(
                x,
                self._get(name, "depthwise_weights"),
                self._get(name, "pointwise_weights"),
                strides=[1, stride, stride, 1],
                padding=padding,
            )
            return tf.nn.relu(tf.nn.bias_add(y, self._get(name, "biases")))

    def conv_same(
        self,
        x: tf.Tensor,
        depth: int,
        kernel: int,
        name: str,
        stride: int = 1,
        batch_norm: bool = True,
        activation: bool = True,
    ) -> tf.Tensor:
        if stride == 1:
            return self.conv(x, depth, kernel, name, 1, "SAME", batch_norm, activation)
        before = (kernel - 1) // 2
        after = kernel - 1 - before
        padding = [[0, 0], [before, after], [before, after], [0, 0]]
        return self.conv(x, depth, kernel, name, stride, padding, batch_norm, activation)

    def batch_norm(self, x: tf.Tensor, name: str, activation: bool = False) -> tf.Tensor:
        with tf.name_scope(name):
            y = self._batch_norm(x, name, prefix="")
            return tf.nn.relu(y) if activation else y

    def add(self, x: tf.Tensor, y: tf.Tensor, activation: bool = False) -> tf.Tensor:
        z = x + y
        return tf.nn.relu(z) if activation else z

    def dense(self, x: tf.Tensor, units: int, name: str) -> tf.Tensor:
        del units
        with tf.name_scope(name):
            return tf.nn.bias_add(
                tf.matmul(x, self._get(name, "weights")), self._get(name, "biases")
            )

    def max_pool(
        self, x: tf.Tensor, size: int, stride: int = 1, padding: str = "SAME"
    ) -> tf.Tensor:
        return tf.nn.max_pool2d(x, size, stride, padding)

    def avg_pool(
        self, x: tf.Tensor, size: int, stride: int = 1, padding: str = "SAME"
    ) -> tf.Tensor:
        return tf.nn.avg_pool2d(x, size, stride, padding)

    def concat(self, branches: Sequence[tf.Tensor]) -> tf.Tensor:
        return tf.concat(list(branches), axis=3)

    def residual(self, x: tf.Tensor, up: tf.Tensor, scale: float, activation: bool) -> tf.Tensor:
        y = x + scale * up
        return tf.nn.relu(y) if activation else y

    def spatial_mean(self, x: tf.Tensor, keepdims: bool = False) -> tf.Tensor:
        return tf.reduce_mean(x, axis=[1, 2], keepdims=keepdims)

    def depth(self, x: tf.Tensor) -> int:
        return int(x.shape[-1])

    def squeeze_spatial(self, x: tf.Tensor) -> tf.Tensor:
        return tf.squeeze(x, axis=[1, 2])

    def softmax(self, x: tf.Tensor) -> tf.Tensor:
        return tf.nn.softmax(x)

    def conv_with_activation(
        self,
        x: tf.Tensor,
        depth: int,
        kernel: int | Sequence[int],
        name: str,
        activation: str | None,
        stride: int = 1,
        batch_norm: bool = True,
    ) -> tf.Tensor:
        """TF-Slim's conv2d (SAME padding) with batch norm, or biases without it, then
        `activation` (one of ACTIVATIONS)."""
        del depth, kernel
        with tf.name_scope(name):
            y = tf.nn.conv2d(x, self._get(name, "weights"), stride, "SAME")
            if batch_norm:
                y = self._batch_norm(y, name)
            else:
                y = tf.nn.bias_add(y, self._get(name, "biases"))
            return _activate(y, activation)

    def depthwise_conv(
        self,
        x: tf.Tensor,
        kernel: int | Sequence[int],
        name: str,
        activation: str | None,
        stride: int = 1,
    ) -> tf.Tensor:
        """TF-Slim's `separable_conv2d(x, None, kernel, depth_multiplier=1, stride=stride)` as the
        MobileNets use it: one 3x3 (or 5x5) filter per channel, SAME padding, batch norm, then
        `activation`."""
        del kernel
        with tf.name_scope(name):
            y = tf.nn.depthwise_conv2d(
                x, self._get(name, "depthwise_weights"), [1, stride, stride, 1], "SAME"
            )
            return _activate(self._batch_norm(y, name), activation)

    def squeeze_excite(self, x: tf.Tensor, squeeze_depth: int) -> tf.Tensor:
        """mobilenet_v3's squeeze-excite (conv_blocks.squeeze_excite with squeeze_factor 4, ReLU
        inside, hard-sigmoid gate): x * gate, the gate from the spatial mean of x through the
        biased 1x1 convs "squeeze_excite/Conv" (squeeze_depth, ReLU) and
        "squeeze_excite/Conv_1" (x's depth, hard_sigmoid)."""
        with self.scope("squeeze_excite"):
            pooled = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
            squeezed = self.conv_with_activation(
                pooled, squeeze_depth, 1, "Conv", "relu", batch_norm=False
            )
            gate = self.conv_with_activation(
                squeezed, self.depth(x), 1, "Conv_1", "hard_sigmoid", batch_norm=False
            )
            return x * gate

    def reduce_to_1x1(self, x: tf.Tensor, default_size: int = 7) -> tf.Tensor:
        """mobilenet_v3's `reduce_to_1x1`: an average pool, stride 1, VALID padding, whose window
        is the whole map when its static height and width are known and equal, else
        default_size x default_size (so a map of unknown size must be at least that large)."""
        height, width = x.shape[1], x.shape[2]
        size = height if height is not None and height == width else default_size
        return tf.nn.avg_pool2d(x, size, 1, "VALID")

    def plain_conv(
        self,
        x: tf.Tensor,
        depth: int,
        kernel: int | Sequence[int],
        name: str,
        stride: int = 1,
        padding: str = "SAME",
    ) -> tf.Tensor:
        del depth, kernel
        with tf.name_scope(name):
            return tf.nn.conv2d(x, self._get(name, "weights"), stride, padding)

    def plain_separable_conv(
        self, x: tf.Tensor, depth: int, kernel: int, name: str, stride: int = 1
    ) -> tf.Tensor:
        del depth, kernel
        with tf.name_scope(name):
            return tf.nn.separable_conv2d(
                x,
                self._get(name, "depthwise_weights"),
                self._get(name, "pointwise_weights"),
                strides=[1, stride, stride, 1],
                padding="SAME",
            )

    def relu(self, x: tf.Tensor) -> tf.Tensor:
        return tf.nn.relu(x)

    def shift_up_left(self, x: tf.Tensor) -> tf.Tensor:
        """x moved up and left by one pixel, a zero row and column entering at the bottom and
        right: TF-Slim's `tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]])[:, 1:, 1:, :]`."""
        return tf.pad(x[:, 1:, 1:, :], [[0, 0], [0, 1], [0, 1], [0, 0]])

    def drop_path(self, x: tf.Tensor, keep_prob: float) -> tf.Tensor:
        """TF-Slim's drop path (nasnet_utils.drop_path): in training, each example's `x` is
        zeroed with probability 1 - keep_prob and otherwise divided by keep_prob
        (`x / keep_prob * floor(keep_prob + uniform[0, 1))`, one draw per example); the identity
        at inference or with keep_prob 1."""
        if not self._training or keep_prob >= 1.0:
            return x
        noise_shape = tf.stack([tf.shape(x)[0], 1, 1, 1])
        keep = tf.floor(keep_prob + tf.random.uniform(noise_shape, dtype=x.dtype))
        return x / keep_prob * keep
