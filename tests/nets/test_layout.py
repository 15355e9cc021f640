"""Variable names, shapes, order and flags match TF-Slim's layouts exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from hubzoo.errors import HubzooError
from modules.nets import create_net, net_definition, net_layout, net_names

HEADS = {
    "inception_v1": {
        "InceptionV1/Logits/Conv2d_0c_1x1/weights": (1, 1, 1024, 1001),
        "InceptionV1/Logits/Conv2d_0c_1x1/biases": (1001,),
    },
    "inception_v2": {
        "InceptionV2/Logits/Conv2d_1c_1x1/weights": (1, 1, 1024, 1001),
        "InceptionV2/Logits/Conv2d_1c_1x1/biases": (1001,),
    },
    "inception_resnet_v2": {
        "InceptionResnetV2/Logits/Logits/weights": (1536, 1001),
        "InceptionResnetV2/Logits/Logits/biases": (1001,),
    },
    "nasnet_mobile": {"final_layer/FC/weights": (1056, 1001), "final_layer/FC/biases": (1001,)},
    "nasnet_large": {"final_layer/FC/weights": (4032, 1001), "final_layer/FC/biases": (1001,)},
    "pnasnet_large": {"final_layer/FC/weights": (4320, 1001), "final_layer/FC/biases": (1001,)},
}


@pytest.mark.parametrize("net_name", net_names())
def test_feature_extractor_variables_match_reference_exactly(net_name, reference_layouts):
    reference = reference_layouts[net_name]
    expected = {name: tuple(shape) for name, shape in reference["variables"].items()}
    net = create_net(net_name)

    layout = net.layout()

    assert list(layout.items()) == list(expected.items())  # names, shapes and creation order
    assert sum(math.prod(shape) for shape in layout.values()) == reference["num_values"]
    trainable = sum(math.prod(v.shape) for v in net.variables_by_name().values() if v.trainable)
    assert trainable == reference["trainable_values"]
    assert net.definition.num_features == reference["final_end_point_shape_at_default_size"][-1]


@pytest.mark.parametrize("net_name", net_names())
def test_variables_are_float32_resource_variables_named_as_in_slim(net_name):
    net = create_net(net_name)
    variables = net.variables_by_name()

    assert list(variables) == list(net.layout())
    for name, variable in variables.items():
        assert variable.name == f"{name}:0"
        assert tuple(variable.shape) == net.layout()[name]
        assert variable.dtype == tf.float32
        assert variable.trainable == ("/moving_" not in name)


@pytest.mark.parametrize("net_name", net_names())
def test_classification_head_adds_the_slim_logits_variables(net_name):
    base = net_layout(net_name)
    with_head = net_layout(net_name, 1001)

    assert with_head == {**base, **HEADS[net_name]}
    assert list(with_head)[-2:] == list(HEADS[net_name])


def test_unknown_net_name_lists_the_known_ones():
    with pytest.raises(HubzooError, match="inception_resnet_v2, inception_v1, inception_v2"):
        create_net("inception_v9")


@pytest.mark.parametrize(
    ("net_name", "regularized_biases"),
    [("inception_v1", False), ("inception_resnet_v2", True)],
)
def test_regularization_losses_follow_the_slim_arg_scopes(net_name, regularized_biases):
    net = create_net(net_name, 1001)
    layout = net.layout()
    rng = np.random.default_rng(0)
    values = {name: rng.normal(size=shape).astype(np.float32) for name, shape in layout.items()}
    net.assign(values)
    regularized = [
        name
        for name in layout
        if name.endswith("/weights") or (regularized_biases and name.endswith("/biases"))
    ]

    losses = net.regularization_losses()

    weight_decay = net.definition.arg_scope.weight_decay
    assert weight_decay == 0.00004  # TF-Slim's inception arg scopes
    expected = sum(weight_decay * 0.5 * float(np.sum(values[name] ** 2)) for name in regularized)
    assert len(losses) == len(regularized)
    assert float(tf.add_n(losses)) == pytest.approx(expected, rel=1e-5)


def test_inception_v2_separable_conv_is_not_regularized():
    names = [
        spec.name for spec in net_definition("inception_v2").variable_specs() if spec.regularized
    ]
    assert not any("Conv2d_1a_7x7" in name for name in names)
    assert len(names) == sum(name.endswith("/weights") for name in net_layout("inception_v2"))


def test_assign_rejects_missing_and_misshaped_values():
    net = create_net("inception_v1")
    values = {name: np.zeros(shape, np.float32) for name, shape in net.layout().items()}
    del values["InceptionV1/Mixed_5c/Branch_3/Conv2d_0b_1x1/weights"]
    values["InceptionV1/Conv2d_1a_7x7/weights"] = np.zeros((7, 7, 3, 32), np.float32)

    with pytest.raises(HubzooError, match=r"1 missing .*Mixed_5c.* 1 mis-shaped .*\[7, 7, 3, 32\]"):
        net.assign(values)
