"""NASNet-A and PNASNet-5 beyond the shared net tests: heads, auxiliary heads, arg scopes, drop
path, the smallest input size, and TF-Slim's training graph (update ops), against the facts in
data/slim_layouts_nasnet.json (read off TF-Slim's reference code)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from modules.checkpoints.synthetic import synthetic_layout
from modules.nets import create_net, net_definition, net_layout
from modules.nets.layers import ArgScope, ForwardPass
from modules.nets.nasnet import drop_path_keep, grid_size, reduction_indices
from tests.nets.helpers import images

FACTS = json.loads((Path(__file__).parent / "data" / "slim_layouts_nasnet.json").read_text())[
    "nets"
]
NETS = tuple(FACTS)
WEIGHT_DECAY = {"nasnet_mobile": 0.00004, "nasnet_large": 0.00005, "pnasnet_large": 0.00004}
# Nets run at their smallest input size in CI; nasnet_large's run is in the sweep.
SMALLEST = ["nasnet_mobile", pytest.param("nasnet_large", marks=pytest.mark.sweep), "pnasnet_large"]


def _shapes(variables: dict) -> list:
    return [(name, tuple(shape)) for name, shape in variables.items()]


def test_every_nasnet_network_has_reference_facts():
    assert set(NETS) == {"nasnet_mobile", "nasnet_large", "pnasnet_large"}


@pytest.mark.parametrize("net_name", NETS)
def test_head_and_auxiliary_head_match_tf_slim(net_name):
    base = net_layout(net_name)
    with_head = net_layout(net_name, 1001)
    extras = net_definition(net_name).training_extras(1001)

    assert list(with_head.items())[len(base) :] == _shapes(FACTS[net_name]["logits_variables"])
    assert list(extras.items()) == _shapes(FACTS[net_name]["aux_logits_variables"])
    assert synthetic_layout(net_name) == {**with_head, **extras}
    assert "AuxLogits" in FACTS[net_name]["training_end_points_with_head"]


@pytest.mark.parametrize("net_name", NETS)
def test_arg_scope_and_regularized_variables_follow_tf_slim(net_name):
    definition = net_definition(net_name)
    specs = definition.variable_specs(1001)
    regularized = [spec.name for spec in specs if spec.regularized]
    aux_weights = [name for name in definition.training_extras(1001) if name.endswith("weights")]

    assert definition.arg_scope == ArgScope(
        weight_decay=WEIGHT_DECAY[net_name],
        batch_norm_decay=0.9997,
        batch_norm_epsilon=0.001,
        batch_norm_scale=True,
    )
    # TF-Slim's training graph regularizes these plus the auxiliary head's three weights.
    assert (
        len(regularized) + len(aux_weights)
        == FACTS[net_name]["regularized_variables_in_training_graph"]
    )
    assert all(name.rsplit("/", 1)[1].endswith("weights") for name in regularized)
    assert not any(spec.name.endswith("biases") for spec in specs if spec.regularized)


def test_weight_decay_losses_cover_separable_kernels():
    net = create_net("nasnet_mobile", 1001)
    rng = np.random.default_rng(0)
    values = {n: rng.normal(size=s).astype(np.float32) for n, s in net.layout().items()}
    net.assign(values)

    total = float(tf.add_n(net.regularization_losses()))

    expected = sum(
        0.5 * float(np.sum(value.astype(np.float64) ** 2))
        for name, value in values.items()
        if name.endswith(("/weights", "/depthwise_weights", "/pointwise_weights"))
    )
    assert total == pytest.approx(0.00004 * expected, rel=1e-5)


def test_reduction_indices_and_drop_path_schedule():
    assert reduction_indices(12, 2) == [4, 8]
    assert reduction_indices(18, 2) == [6, 12]
    large = net_definition("nasnet_large")
    assert large.total_cells == 22 and net_definition("pnasnet_large").total_cells == 14
    assert large.keep_prob_of(0) == pytest.approx(1 - 0.3 / 22)
    assert large.keep_prob_of(21) == pytest.approx(0.7)
    assert net_definition("nasnet_mobile").keep_prob_of(15) == 1.0
    assert drop_path_keep(0.6, 13, 14) == pytest.approx(0.6)
    assert net_definition("nasnet_large", drop_path_keep_prob=1.0).keep_prob_of(21) == 1.0


def _forward_pass(training: bool) -> ForwardPass:
    return ForwardPass(
        "Net", ArgScope(), {}, training=training, momentum=0.0, collect_updates=False
    )


def test_drop_path_drops_whole_examples_and_rescales_the_rest():
    x = tf.ones([4000, 2, 2, 3])
    tf.random.set_seed(0)

    dropped = _forward_pass(training=True).drop_path(x, 0.7).numpy()

    per_example = dropped.reshape(4000, -1)
    np.testing.assert_array_equal(per_example.min(axis=1), per_example.max(axis=1))
    kept = per_example[:, 0] != 0
    np.testing.assert_allclose(per_example[kept, 0], 1 / 0.7, rtol=1e-6)
    assert 1 - kept.mean() == pytest.approx(0.3, abs=0.03)
    np.testing.assert_array_equal(_forward_pass(training=False).drop_path(x, 0.7), x)
    np.testing.assert_array_equal(_forward_pass(training=True).drop_path(x, 1.0), x)


@pytest.mark.slow
def test_training_without_drop_path_is_deterministic(loaded_net):
    net = loaded_net("nasnet_mobile")  # drop_path_keep_prob 1.0, as TF-Slim's mobile config
    batch = images(96, batch=2, seed=3)

    first, _ = net(batch, training=True, batch_norm_momentum=1.0)
    second, _ = net(batch, training=True, batch_norm_momentum=1.0)

    np.testing.assert_array_equal(first, second)


@pytest.mark.slow
def test_training_with_drop_path_drops_paths_and_inference_does_not(loaded_net):
    net = loaded_net("pnasnet_large")
    batch = images(64, batch=2, seed=4)

    trained = [net(batch, training=True, batch_norm_momentum=1.0)[0].numpy() for _ in range(2)]
    inferred = [net(batch)[0].numpy() for _ in range(2)]

    assert not np.allclose(trained[0], trained[1])
    np.testing.assert_array_equal(inferred[0], inferred[1])


@pytest.mark.slow
@pytest.mark.parametrize("net_name", SMALLEST)
def test_runs_at_the_smallest_input_size_tf_slim_accepts(net_name, loaded_net):
    size = FACTS[net_name]["smallest_input_size"]
    net = loaded_net(net_name)

    features, end_points = net(images(size, batch=2))

    cells = [value for name, value in end_points.items() if name.startswith("Cell_")]
    assert cells[-1].shape[1:3] == (grid_size(size, 4),) * 2
    features = features.numpy()
    assert np.isfinite(features).all()
    assert np.abs(features[0] - features[1]).max() > 1e-3


@pytest.mark.slow
def test_graph_training_collects_tf_slim_update_ops():
    with tf.Graph().as_default():
        net = create_net("nasnet_mobile", 1001)
        net(tf.compat.v1.placeholder(tf.float32, [None, 224, 224, 3]), training=True)
        update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)

    aux_batch_norms = 2  # TF-Slim's training graph also updates the auxiliary head's two
    expected = FACTS["nasnet_mobile"]["batch_norm_update_ops_in_training_graph"]
    assert len(update_ops) == expected - 2 * aux_batch_norms
    assert len(update_ops) == 2 * sum(name.endswith("/moving_mean") for name in net.layout())


@pytest.mark.parametrize("net_name", NETS)
def test_end_point_grids_follow_the_resolution_levels(net_name):
    size = net_definition(net_name).default_image_size
    end_points = FACTS[net_name]["end_points_at_default_size"]

    assert end_points["Stem"][1] == grid_size(size, 2)
    assert end_points["Cell_0"][1] == grid_size(size, 2)
    last_cell = max(int(name.split("_")[1]) for name in end_points if name.startswith("Cell_"))
    assert end_points[f"Cell_{last_cell}"][1] == grid_size(size, 4)
    assert math.prod(end_points["global_pool"][1:]) == net_definition(net_name).num_features
