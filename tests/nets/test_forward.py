"""End points, input sizes, graph vs eager, and TF-Slim's batch norm in training mode."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from modules.checkpoints.reading import read_checkpoint
from modules.nets import create_net
from tests.nets.helpers import (
    ALTERNATE_SIZES,
    POSTNORM_NETS,
    SMALLEST_SIZES,
    SWEEP_VARIANTS_IN_GRAPH_MODE,
    images,
    net_params,
)

pytestmark = pytest.mark.slow
FIRST_BN = "InceptionV1/Conv2d_1a_7x7/BatchNorm"


@pytest.mark.parametrize("net_name", net_params())
def test_end_points_match_reference_at_default_size(net_name, loaded_net, reference_layouts):
    net = loaded_net(net_name, 1001)
    size = net.definition.default_image_size

    logits, end_points = net(images(size, batch=1))

    # TF-Slim's ResNets name their end points with the net's scope, which our keys leave out.
    expected = {
        name.removeprefix(f"{net.scope}/"): shape
        for name, shape in reference_layouts[net_name]["end_points_at_default_size"].items()
    }
    shapes = {name: [None, *tensor.shape[1:]] for name, tensor in end_points.items()}
    assert shapes == {**expected, "Logits": [None, 1001], "Predictions": [None, 1001]}
    assert logits.shape == (1, 1001)
    np.testing.assert_allclose(tf.reduce_sum(end_points["Predictions"], axis=1), [1.0], rtol=1e-5)


@pytest.mark.parametrize("net_name", net_params())
def test_feature_vector_is_spatial_mean_of_last_end_point_at_other_sizes(net_name, loaded_net):
    net = loaded_net(net_name)
    size, grid = ALTERNATE_SIZES[net_name]

    features, end_points = net(images(size, batch=1, seed=1))

    last = list(end_points.values())[-1]
    assert features.shape == (1, net.definition.num_features)
    if last.shape.rank == 2:
        # TF-Slim's own pooled end point (NASNet's "global_pool": the mean of ReLU(last cell)).
        np.testing.assert_allclose(features, last, rtol=1e-6)
        last = tf.nn.relu([value for value in end_points.values() if value.shape.rank == 4][-1])
    assert last.shape == (1, grid, grid, net.definition.num_features)
    if net_name in POSTNORM_NETS:
        last = _postnorm(net, last)
    np.testing.assert_allclose(features, tf.reduce_mean(last, axis=[1, 2]), rtol=1e-5, atol=1e-6)


def _postnorm(net, x):
    """resnet_v2's `postnorm` (inference batch norm with gamma, then ReLU), computed here."""
    variables = {
        name.rsplit("/", 1)[1]: variable.numpy()
        for name, variable in net.variables_by_name().items()
        if name.startswith(f"{net.scope}/postnorm/")
    }
    epsilon = net.definition.arg_scope.batch_norm_epsilon
    scale = variables["gamma"] / np.sqrt(variables["moving_variance"] + epsilon)
    return np.maximum((x - variables["moving_mean"]) * scale + variables["beta"], 0.0)


@pytest.mark.parametrize("net_name", net_params(SMALLEST_SIZES))
def test_runs_at_its_smallest_input_size_and_not_below(net_name, loaded_net):
    net = loaded_net(net_name, 1001)
    size, grid = SMALLEST_SIZES[net_name]

    logits, end_points = net(images(size, batch=2, seed=8))

    assert list(end_points.values())[-3].shape[1:3] == (grid, grid)  # the last before the head
    assert logits.shape == (2, 1001)
    assert np.isfinite(logits.numpy()).all()
    if size > 1:
        with pytest.raises((tf.errors.InvalidArgumentError, ValueError)):
            net(images(size - 1, batch=1))


@pytest.mark.parametrize("net_name", net_params())
@pytest.mark.parametrize("training", [False, True])
def test_synthetic_weights_give_finite_varied_features(net_name, training, loaded_net):
    net = loaded_net(net_name)
    batch = images(net.definition.default_image_size, batch=2, seed=2)

    # Momentum 1.0 keeps the shared net's moving averages as they are.
    features, _ = net(batch, training=training, batch_norm_momentum=1.0)

    features = features.numpy()
    assert np.isfinite(features).all()
    assert features.std() > 1e-2  # not constant across channels
    assert np.abs(features[0] - features[1]).max() > 1e-3  # depends on the image


@pytest.mark.parametrize("net_name", net_params(sweep=SWEEP_VARIANTS_IN_GRAPH_MODE))
def test_graph_mode_and_eager_mode_agree(net_name, synthetic_checkpoint, loaded_net):
    eager_net = loaded_net(net_name, 1001)
    batch = images(eager_net.definition.default_image_size, batch=2, seed=3)
    eager_logits, eager_end_points = eager_net(batch)
    weights = read_checkpoint(synthetic_checkpoint(net_name), eager_net.layout()).values

    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        net = create_net(net_name, 1001)
        placeholder = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3])
        logits, end_points = net(placeholder)
        net.assign(weights, session=session)
        middle = list(end_points)[len(end_points) // 2]  # Mixed_5b in inception_v1
        graph_logits, graph_middle = session.run([logits, end_points[middle]], {placeholder: batch})

    # Grappler fuses the graph's convs, batch norms and activations, which rounds differently:
    # agreement to 1e-5 of each output's scale (deep nets with large activations part by more
    # than 1e-5 absolute).
    for graph_value, eager_value in [
        (graph_logits, eager_logits),
        (graph_middle, eager_end_points[middle]),
    ]:
        scale = max(float(np.abs(eager_value).max()), 1.0)
        np.testing.assert_allclose(graph_value, eager_value, rtol=1e-5, atol=1e-5 * scale)


def _first_layer_batch_statistics(net, batch):
    """Mean and Bessel-corrected variance of the first conv's output, computed independently."""
    weights = net.variables_by_name()["InceptionV1/Conv2d_1a_7x7/weights"]
    conv = tf.nn.conv2d(batch, weights, 2, "SAME").numpy()
    flat = conv.reshape(-1, conv.shape[-1]).astype(np.float64)
    return flat.mean(axis=0), flat.var(axis=0, ddof=1)


def _moving(net):
    variables = net.variables_by_name()
    return (
        variables[f"{FIRST_BN}/moving_mean"].numpy(),
        variables[f"{FIRST_BN}/moving_variance"].numpy(),
    )


@pytest.mark.parametrize("momentum", [0.25, tf.constant(0.25)], ids=["float", "tensor"])
def test_eager_training_updates_moving_averages_with_momentum(momentum, synthetic_checkpoint):
    net = create_net("inception_v1")
    net.assign(read_checkpoint(synthetic_checkpoint("inception_v1"), net.layout()).values)
    batch = images(64, batch=2, seed=4)
    old_mean, old_variance = _moving(net)
    batch_mean, batch_variance = _first_layer_batch_statistics(net, batch)

    tf.function(lambda x: net(x, training=True, batch_norm_momentum=momentum))(batch)

    new_mean, new_variance = _moving(net)
    np.testing.assert_allclose(new_mean, 0.25 * old_mean + 0.75 * batch_mean, atol=1e-5)
    np.testing.assert_allclose(new_variance, 0.25 * old_variance + 0.75 * batch_variance, rtol=1e-4)


def test_eager_training_default_momentum_is_slim_decay(synthetic_checkpoint):
    net = create_net("inception_v1")
    net.assign(read_checkpoint(synthetic_checkpoint("inception_v1"), net.layout()).values)
    batch = images(64, batch=2, seed=5)
    old_mean, _ = _moving(net)
    batch_mean, _ = _first_layer_batch_statistics(net, batch)

    net(batch, training=True)

    decay = net.definition.arg_scope.batch_norm_decay
    assert decay == 0.9997  # TF-Slim's inception_v1 arg scope
    np.testing.assert_allclose(
        _moving(net)[0], decay * old_mean + (1 - decay) * batch_mean, rtol=1e-6, atol=1e-7
    )


def test_inference_leaves_moving_averages_alone(loaded_net):
    net = loaded_net("inception_v1")
    before = _moving(net)

    net(images(64, batch=1), training=False)

    np.testing.assert_array_equal(_moving(net)[0], before[0])


def test_graph_training_collects_update_ops_without_running_them(synthetic_checkpoint):
    batch = images(64, batch=2, seed=6)
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        net = create_net("inception_v1")
        momentum = tf.compat.v1.placeholder_with_default(0.5, shape=[])
        features, _ = net(tf.constant(batch), training=True, batch_norm_momentum=momentum)
        update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
        net.assign(
            read_checkpoint(synthetic_checkpoint("inception_v1"), net.layout()).values,
            session=session,
        )
        batch_norms = sum(name.endswith("/moving_mean") for name in net.layout())
        old_mean, old_variance = session.run(
            [net.variables_by_name()[f"{FIRST_BN}/moving_{kind}"] for kind in ("mean", "variance")]
        )

        session.run(features)
        unchanged = session.run(net.variables_by_name()[f"{FIRST_BN}/moving_mean"])
        session.run(update_ops, {momentum: 0.5})
        new_mean, new_variance = session.run(
            [net.variables_by_name()[f"{FIRST_BN}/moving_{kind}"] for kind in ("mean", "variance")]
        )
        weights = session.run(net.variables_by_name()["InceptionV1/Conv2d_1a_7x7/weights"])

    conv = tf.nn.conv2d(batch, weights, 2, "SAME").numpy().reshape(-1, 64)
    assert len(update_ops) == 2 * batch_norms
    np.testing.assert_array_equal(unchanged, old_mean)
    np.testing.assert_allclose(new_mean, 0.5 * old_mean + 0.5 * conv.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(
        new_variance, 0.5 * old_variance + 0.5 * conv.var(axis=0, ddof=1), rtol=1e-4
    )


def test_training_mode_normalizes_with_biased_batch_statistics(loaded_net):
    net = loaded_net("inception_v1")
    variables = net.variables_by_name()
    batch = images(64, batch=2, seed=7)

    _, end_points = net(batch, training=True, batch_norm_momentum=1.0)

    conv = tf.nn.conv2d(batch, variables["InceptionV1/Conv2d_1a_7x7/weights"], 2, "SAME")
    conv = conv.numpy().astype(np.float64)
    normalized = (conv - conv.mean(axis=(0, 1, 2))) / np.sqrt(conv.var(axis=(0, 1, 2)) + 0.001)
    expected = np.maximum(normalized + variables[f"{FIRST_BN}/beta"].numpy(), 0.0)
    np.testing.assert_allclose(end_points["Conv2d_1a_7x7"], expected, atol=2e-5)
