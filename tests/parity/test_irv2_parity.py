"""Our inception_resnet_v2 against Keras Applications' InceptionResNetV2 on the same checkpoint.

tf_slim has no inception_resnet_v2, so Keras' implementation is the reference, loaded through the
TF-Slim-name mapping in keras_irv2_mapping.py. The checkpoint holds seeded values under our
layout's TF-Slim names, written with TensorFlow's own SaveV2 op; our net reads it with
modules.checkpoints.reading, Keras through tf.train.load_checkpoint.
"""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from modules.checkpoints.reading import read_checkpoint
from modules.nets import SlimNet, create_net
from tests.parity import keras_irv2_mapping
from tests.parity.conftest import CHECKPOINT_SEED, assert_close, parity_images
from tests.parity.seeded_weights import seeded_weights

NET_NAME = "inception_resnet_v2"
SIZES = (299, 353)
END_POINTS = ("Mixed_5b", "Mixed_6a", "Mixed_7a")


def write_name_based_checkpoint(prefix: Path, values: dict[str, np.ndarray]) -> None:
    """A TF1-style checkpoint (variable name -> tensor), as tf.compat.v1.train.Saver writes."""
    names = list(values)
    tf.raw_ops.SaveV2(
        prefix=str(prefix),
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.constant(values[name]) for name in names],
    )


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    prefix = tmp_path_factory.mktemp("irv2") / "model.ckpt"
    layout = create_net(NET_NAME).layout()
    write_name_based_checkpoint(prefix, seeded_weights(layout.items(), CHECKPOINT_SEED))
    return prefix


@pytest.fixture(scope="module")
def keras_model() -> keras.Model:
    return keras_irv2_mapping.build_keras_irv2()


@pytest.fixture(scope="module")
def keras_reference(keras_model: keras.Model, checkpoint: Path) -> keras.Model:
    """Keras' InceptionResNetV2 with the checkpoint's weights, returning features and end points."""
    reader = tf.train.load_checkpoint(str(checkpoint))
    names = reader.get_variable_to_shape_map()
    keras_irv2_mapping.assign_slim_weights(
        keras_model, {name: reader.get_tensor(name) for name in names}
    )
    return keras_irv2_mapping.end_point_model(keras_model)


@pytest.fixture(scope="module")
def our_net(checkpoint: Path) -> SlimNet:
    net = create_net(NET_NAME)
    net.assign(read_checkpoint(checkpoint, net.layout()).values)
    return net


@pytest.mark.slow
def test_keras_reference_is_configured_like_tf_slim(keras_model):
    batch_norms = [
        layer for layer in keras_model.layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    layout = create_net(NET_NAME).layout()
    assert len(batch_norms) == sum(name.endswith("/BatchNorm/beta") for name in layout)
    assert all(not layer.scale and layer.center for layer in batch_norms)
    assert {layer.epsilon for layer in batch_norms} == {0.001}
    layer_names = {layer.name for layer in keras_model.layers}
    assert "block8_9_ac" in layer_names
    assert "block8_10_ac" not in layer_names, "the last Block8 must have no activation"


@pytest.mark.slow
def test_mapping_pairs_every_variable_with_one_keras_weight(keras_model):
    layout = create_net(NET_NAME).layout()
    mapping = keras_irv2_mapping.slim_to_keras(keras_model, layout)

    assert set(mapping) == set(layout)
    assert len(set(mapping.values())) == len(mapping)
    shuffled = dict(sorted(layout.items(), reverse=True))
    assert keras_irv2_mapping.slim_to_keras(keras_model, shuffled) == mapping
    root = keras_irv2_mapping.ROOT
    assert mapping[f"{root}/Block8/Conv2d_1x1/biases"] == ("block8_10_conv", "bias")
    assert mapping[f"{root}/Repeat_1/block17_20/Conv2d_1x1/weights"] == (
        "block17_20_conv",
        "kernel",
    )
    assert mapping[f"{root}/Conv2d_7b_1x1/BatchNorm/moving_variance"] == (
        "conv_7b_bn",
        "moving_variance",
    )


@pytest.mark.slow
def test_mapping_rejects_a_layout_with_a_wrong_shape(keras_model):
    layout = dict(create_net(NET_NAME).layout())
    name = f"{keras_irv2_mapping.ROOT}/Repeat_1/block17_3/Branch_1/Conv2d_0b_1x7/weights"
    layout[name] = (7, 1, *layout[name][2:])
    with pytest.raises(ValueError, match="block17_3/Branch_1/Conv2d_0b_1x7/weights"):
        keras_irv2_mapping.slim_to_keras(keras_model, layout)


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
def test_features_and_end_points_match_keras(size, our_net, keras_reference):
    images = parity_images(size)
    expected = {name: value.numpy() for name, value in keras_reference(images * 2.0 - 1.0).items()}
    features, end_points = our_net(images * 2.0 - 1.0)

    assert np.std(expected["features"]) > 0.1, "degenerate reference features"
    assert not np.allclose(expected["features"][0], expected["features"][1], atol=1e-3)
    for name in END_POINTS:
        assert_close(end_points[name].numpy(), expected[name], f"{NET_NAME} {size} {name}")
    assert_close(features.numpy(), expected["features"], f"{NET_NAME} {size} features")
