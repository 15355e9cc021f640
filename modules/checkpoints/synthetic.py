"""Write seeded random checkpoints in the exact TF-Slim layout, for tests and the offline demo.

What is written is what `tf.compat.v1.train.Saver` writes for a TF-Slim training run: the
feature extractor's variables, the classification head (1001 classes), the auxiliary heads a
net's definition lists as training extras (inception_resnet_v2's AuxLogits) and an int64 `global_step`, as `<prefix>.index`, `<prefix>.data-00000-of-00001` and
the `checkpoint` state file. A sidecar `<prefix>.synthetic.json` marks the weights as synthetic.

Values are deterministic per (seed, variable name) and keep activations finite and varied
through the whole net, eagerly and with batch statistics: He-scaled weights (gain 1 for layers
without a ReLU), beta and biases near 0, moving_mean near 0, moving_variance and gamma near 1.
A depthwise filter is He-scaled over its kh * kw inputs: gain 1 when a pointwise conv follows it
directly (separable_conv2d), gain 2 when it has a batch norm of its own, which a ReLU-like
activation follows (the MobileNets' depthwise layers; with gain 1 their 13 to 17 depthwise layers
shrink the image's signal until the features no longer depend on it).
The last conv of a ResNet bottleneck unit's residual branch (`bottleneck_v1/conv3`,
`bottleneck_v2/conv3`) gets 1/50 of that gain: with moving statistics that do not track the
activations (inference), each unit would otherwise add as much as it receives, and a 152-layer
ResNet's last block would reach 1e10; trained ResNets keep their residual branches small too.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from hubzoo.errors import HubzooError
from modules.nets import net_definition

NUM_CLASSES = 1001
SIDECAR_SUFFIX = ".synthetic.json"
RESIDUAL_BRANCH_END = re.compile(r"/bottleneck_v\d/conv3/weights$")
RESIDUAL_BRANCH_END_GAIN = 1 / 50  # times the He gain, for the weights RESIDUAL_BRANCH_END matches


def synthetic_layout(net_name: str, **hyperparameters: Any) -> dict[str, tuple[int, ...]]:
    """Float32 variables of a synthetic checkpoint (global_step, int64, comes on top): the net
    with its 1001-class head, plus what a TF-Slim training run leaves beside it (auxiliary heads)."""
    definition = net_definition(net_name, **hyperparameters)
    layout = {spec.name: spec.shape for spec in definition.variable_specs(NUM_CLASSES)}
    layout.update(definition.training_extras(NUM_CLASSES))
    return layout


def synthetic_values(net_name: str, seed: int, **hyperparameters: Any) -> dict[str, np.ndarray]:
    """The float32 values `write_synthetic_checkpoint` writes, by variable name."""
    layout = synthetic_layout(net_name, **hyperparameters)
    linear_layers = {name.rsplit("/", 1)[0] for name in layout if name.endswith("/biases")}
    normalized_layers = {name.split("/BatchNorm/")[0] for name in layout if "/BatchNorm/" in name}
    return {
        name: _value(
            name,
            shape,
            seed,
            linear=name.rsplit("/", 1)[0] in linear_layers,
            normalized=name.rsplit("/", 1)[0] in normalized_layers,
        )
        for name, shape in layout.items()
    }


def write_synthetic_checkpoint(
    net_name: str, prefix: str | Path, seed: int, **hyperparameters: Any
) -> Path:
    """Writes a seeded TF-Slim checkpoint of `net_name` (with its variant's hyperparameters, e.g.
    depth_multiplier) at `prefix`; returns the prefix."""
    prefix = Path(prefix)
    if prefix.is_dir():
        raise HubzooError(
            f"{prefix} is a directory; give a checkpoint prefix such as {prefix}/model.ckpt"
        )
    values = synthetic_values(net_name, seed, **hyperparameters)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    with tf.Graph().as_default():
        variables = {
            name: tf.Variable(tf.zeros(value.shape), name=name, trainable=False)
            for name, value in values.items()
        }
        variables["global_step"] = tf.Variable(
            0, dtype=tf.int64, name="global_step", trainable=False
        )
        saver = tf.compat.v1.train.Saver(var_list=variables)
        with tf.compat.v1.Session() as session:
            session.run(
                [variable.initializer for variable in variables.values()],
                feed_dict={
                    variables[name].initializer.inputs[1]: value for name, value in values.items()
                },
            )
            saver.save(session, str(prefix), write_meta_graph=False)
    sidecar = {"net": net_name, "hyperparameters": hyperparameters, "seed": seed, "synthetic": True}
    _sidecar_path(prefix).write_text(json.dumps(sidecar, indent=2) + "\n")
    return prefix


def is_synthetic(prefix: str | Path) -> bool:
    """True iff the checkpoint at `prefix` carries the synthetic marker."""
    return _sidecar_path(Path(prefix)).is_file()


def _sidecar_path(prefix: Path) -> Path:
    return prefix.with_name(prefix.name + SIDECAR_SUFFIX)


def _value(
    name: str, shape: tuple[int, ...], seed: int, linear: bool, normalized: bool = False
) -> np.ndarray:
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    kind = name.rsplit("/", 1)[1]
    if kind in ("weights", "depthwise_weights", "pointwise_weights"):
        # He scaling over the fan-in; a depthwise filter sees kh*kw inputs, and only one with a
        # batch norm of its own has a ReLU-like activation after it.
        fan_in = math.prod(shape[:2]) if kind == "depthwise_weights" else math.prod(shape[:-1])
        depthwise_linear = kind == "depthwise_weights" and not normalized
        gain = 1.0 if linear or depthwise_linear else 2.0
        if RESIDUAL_BRANCH_END.search(name):
            gain *= RESIDUAL_BRANCH_END_GAIN
        value = rng.standard_normal(shape) * math.sqrt(gain / fan_in)
    elif kind in ("moving_variance", "gamma"):
        value = rng.uniform(0.8, 1.25, shape)
    elif kind in ("beta", "moving_mean"):
        value = rng.normal(0.0, 0.05, shape)
    elif kind == "biases":
        value = rng.normal(0.0, 0.01, shape)
    else:
        raise HubzooError(f"no synthetic value rule for variable {name}")
    return value.astype(np.float32)
