"""MobileNet V1 / V2 / V3 beyond the generic nets tests: every TF-Hub variant's width, the end
points of every layout variant, a synthetic checkpoint of every width, the smallest input sizes,
depthwise batch norm in training, and TF-Slim's activation constants."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from hubzoo.errors import HubzooError
from modules.checkpoints.reading import read_checkpoint
from modules.checkpoints.synthetic import synthetic_layout, write_synthetic_checkpoint
from modules.nets import create_net, net_definition
from modules.nets.layers import _activate
from tests.nets.conftest import layout_section
from tests.nets.helpers import SEED, images
from tests.nets.mobilenet_variants import CI_VARIANTS, SWEEP_VARIANTS, VARIANTS

MOBILENETS = ("mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small")
LAYOUT_VARIANTS = {
    key: variant
    for key, variant in layout_section("variants").items()
    if variant["net"] in MOBILENETS
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_num_features_are_what_the_tfhub_page_states(name):
    variant = VARIANTS[name]
    definition = net_definition(variant.net, **variant.hyperparameters)
    assert definition.num_features == variant.num_features


@pytest.mark.parametrize(
    ("net_name", "depth_multiplier", "finegrain", "num_features"),
    [
        ("mobilenet_v2", 0.35, True, 1280),
        ("mobilenet_v2", 0.35, False, 448),
        ("mobilenet_v2", 1.4, True, 1792),
        ("mobilenet_v2", 1.4, False, 1792),  # finegrain only keeps narrower widths at 1280
        ("mobilenet_v3_large", 0.75, False, 960),
        ("mobilenet_v3_large", 1.5, True, 1280),  # V3's finegrain mode never scales Conv_2
        ("mobilenet_v3_large", 1.5, False, 1920),
    ],
)
def test_finegrain_classification_mode_sets_the_last_conv_as_tf_slim(
    net_name, depth_multiplier, finegrain, num_features
):
    definition = net_definition(
        net_name, depth_multiplier=depth_multiplier, finegrain_classification_mode=finegrain
    )
    assert definition.num_features == num_features


@pytest.mark.parametrize("net_name", MOBILENETS)
def test_a_width_multiplier_must_be_positive(net_name):
    with pytest.raises(ValueError, match="depth_multiplier must be > 0"):
        net_definition(net_name, depth_multiplier=0)


@pytest.mark.parametrize("net_name", ["mobilenet_v2", "mobilenet_v3_small"])
def test_finegrain_classification_mode_must_be_a_bool(net_name):
    # scripts/make_checkpoint.py --hparam passes "false" as text, which would read as True.
    with pytest.raises(HubzooError, match="finegrain_classification_mode must be True or False"):
        net_definition(net_name, finegrain_classification_mode="false")


def test_activations_keep_tf_slim_constants():
    x = tf.constant([-4.0, -3.0, -1.5, 0.0, 0.7, 3.0, 7.0])
    relu6 = np.clip(x.numpy() + 3.0, 0.0, 6.0)
    np.testing.assert_array_equal(_activate(x, "hard_sigmoid"), relu6 * np.float32(0.16667))
    np.testing.assert_array_equal(
        _activate(x, "hard_swish"), x.numpy() * relu6 * np.float32(1.0 / 6.0)
    )
    np.testing.assert_array_equal(_activate(x, "relu6"), np.clip(x.numpy(), 0.0, 6.0))
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        _activate(x, "swish")


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(LAYOUT_VARIANTS))
def test_layout_variant_end_points_match_reference(key, reference_layouts):
    variant = LAYOUT_VARIANTS[key]
    net = create_net(variant["net"], 1001, **variant["hyperparameters"])

    logits, end_points = net(images(net.definition.default_image_size, batch=1))

    shapes = {name: [None, *tensor.shape[1:]] for name, tensor in end_points.items()}
    expected = reference_layouts[key]["end_points_at_default_size"]
    assert shapes == {**expected, "Logits": [None, 1001], "Predictions": [None, 1001]}
    assert logits.shape == (1, 1001)


def _check_synthetic_variant(name, tmp_path):
    """A synthetic checkpoint of the variant's width, in its layout, gives finite, varied,
    image-dependent features at the variant's input size, with inference and batch statistics."""
    variant = VARIANTS[name]
    prefix = write_synthetic_checkpoint(
        variant.net, tmp_path / name / "model.ckpt", SEED, **variant.hyperparameters
    )
    stored = dict(tf.train.list_variables(str(prefix)))
    expected = synthetic_layout(variant.net, **variant.hyperparameters)
    assert stored == {**{k: list(v) for k, v in expected.items()}, "global_step": []}
    marker = json.loads(prefix.with_name("model.ckpt.synthetic.json").read_text())
    assert marker["hyperparameters"] == variant.hyperparameters
    net = create_net(variant.net, **variant.hyperparameters)
    net.assign(read_checkpoint(prefix, net.layout()).values)
    batch = images(variant.size, batch=2, seed=3)

    for training in (False, True):
        features, _ = net(batch, training=training, batch_norm_momentum=1.0)
        features = features.numpy()
        assert features.shape == (2, variant.num_features)
        assert np.isfinite(features).all()
        assert features.std() > 1e-2, f"constant features (training={training})"
        assert np.abs(features[0] - features[1]).max() > 1e-3, f"training={training}"


@pytest.mark.slow
@pytest.mark.parametrize("name", CI_VARIANTS)
def test_synthetic_checkpoint_of_each_width_gives_varied_features(name, tmp_path):
    _check_synthetic_variant(name, tmp_path)


@pytest.mark.slow
@pytest.mark.sweep
@pytest.mark.parametrize("name", SWEEP_VARIANTS)
def test_synthetic_checkpoint_of_every_tfhub_variant_gives_varied_features(name, tmp_path):
    _check_synthetic_variant(name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("net_name", MOBILENETS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (33, 17)])
def test_any_input_size_from_one_pixel_up_runs_when_its_size_is_static(net_name, shape, loaded_net):
    """SAME padding everywhere; V3's average pool covers a known square map whole and falls back
    to 7x7 otherwise, so its non-square maps need 7x7 (inputs of at least 193)."""
    net = loaded_net(net_name, 1001)
    height, width = shape
    if net_name.startswith("mobilenet_v3") and height != width:
        height, width = 193 + height, 193 + width
    batch = images(max(height, width), batch=1)[:, :height, :width, :]

    logits, end_points = net(batch)

    assert logits.shape == (1, 1001)
    assert np.isfinite(logits.numpy()).all()
    if net_name.startswith("mobilenet_v3"):
        last = list(end_points.values())[-3]
        expected = 1 if height == width else -(-height // 32) - 6
        assert last.shape[1] == expected


@pytest.mark.slow
@pytest.mark.parametrize("net_name", ["mobilenet_v3_large", "mobilenet_v3_small"])
def test_v3_of_unknown_input_size_needs_193_pixels(net_name, loaded_net):
    """With the input size unknown when the graph is built, TF-Slim's reduce_to_1x1 pools 7x7
    windows (VALID): 193x193 is the smallest input (a 7x7 last map), 192 fails, and larger inputs
    leave a map larger than 1x1, which the head then averages."""
    net = loaded_net(net_name, 1001)
    run = tf.function(
        lambda x: net(x), input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)]
    )

    logits, end_points = run(images(193, batch=1))
    assert logits.shape == (1, 1001)
    _, end_points = run(images(257, batch=1))
    assert end_points[list(end_points)[-3]].shape[1:3] == (3, 3)
    with pytest.raises(tf.errors.InvalidArgumentError):
        run(images(192, batch=1))


@pytest.mark.slow
def test_training_moves_depthwise_batch_norm_towards_batch_statistics(synthetic_checkpoint):
    net = create_net("mobilenet_v2")
    net.assign(read_checkpoint(synthetic_checkpoint("mobilenet_v2"), net.layout()).values)
    variables = net.variables_by_name()
    scope = "MobilenetV2/expanded_conv/depthwise"
    old_mean = variables[f"{scope}/BatchNorm/moving_mean"].numpy()
    old_variance = variables[f"{scope}/BatchNorm/moving_variance"].numpy()
    batch = images(64, batch=2, seed=8)

    _, end_points = net(batch, training=True, batch_norm_momentum=0.5)

    depthwise = tf.nn.depthwise_conv2d(
        end_points["layer_1"], variables[f"{scope}/depthwise_weights"], [1, 1, 1, 1], "SAME"
    )
    flat = depthwise.numpy().reshape(-1, depthwise.shape[-1]).astype(np.float64)
    new_mean = variables[f"{scope}/BatchNorm/moving_mean"].numpy()
    new_variance = variables[f"{scope}/BatchNorm/moving_variance"].numpy()
    np.testing.assert_allclose(new_mean, 0.5 * old_mean + 0.5 * flat.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(
        new_variance, 0.5 * old_variance + 0.5 * flat.var(axis=0, ddof=1), rtol=1e-4
    )
    gamma = variables[f"{scope}/BatchNorm/gamma"].numpy()
    beta = variables[f"{scope}/BatchNorm/beta"].numpy()
    normalized = (flat - flat.mean(axis=0)) / np.sqrt(flat.var(axis=0) + 0.001) * gamma + beta
    np.testing.assert_allclose(
        end_points["layer_2/depthwise_output"].numpy().reshape(flat.shape),
        np.clip(normalized, 0.0, 6.0),
        atol=2e-5,
    )
