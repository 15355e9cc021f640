"""Variable names, shapes, order and flags match TF-Slim's layouts exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from hubzoo.errors import HubzooError
from modules.nets import ArgScope, create_net, net_definition, net_layout, net_names
from tests.nets.conftest import layout_section

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
    "inception_v3": {
        "InceptionV3/Logits/Conv2d_1c_1x1/weights": (1, 1, 2048, 1001),
        "InceptionV3/Logits/Conv2d_1c_1x1/biases": (1001,),
    },
    **{
        f"resnet_v{v}_{depth}": {
            f"resnet_v{v}_{depth}/logits/weights": (1, 1, 2048, 1001),
            f"resnet_v{v}_{depth}/logits/biases": (1001,),
        }
        for v in (1, 2)
        for depth in (50, 101, 152)
    },
    "nasnet_mobile": {"final_layer/FC/weights": (1056, 1001), "final_layer/FC/biases": (1001,)},
    "nasnet_large": {"final_layer/FC/weights": (4032, 1001), "final_layer/FC/biases": (1001,)},
    "pnasnet_large": {"final_layer/FC/weights": (4320, 1001), "final_layer/FC/biases": (1001,)},
}
# The auxiliary heads TF-Slim's training nets (1001 classes) create beside the net, as
# tests/nets/derive_slim_layouts.py --heads reads them off tf_slim.
AUX_HEADS = {
    "inception_v3": {
        "InceptionV3/AuxLogits/Conv2d_1b_1x1/weights": (1, 1, 768, 128),
        "InceptionV3/AuxLogits/Conv2d_1b_1x1/BatchNorm/beta": (128,),
        "InceptionV3/AuxLogits/Conv2d_1b_1x1/BatchNorm/moving_mean": (128,),
        "InceptionV3/AuxLogits/Conv2d_1b_1x1/BatchNorm/moving_variance": (128,),
        "InceptionV3/AuxLogits/Conv2d_2a_5x5/weights": (5, 5, 128, 768),
        "InceptionV3/AuxLogits/Conv2d_2a_5x5/BatchNorm/beta": (768,),
        "InceptionV3/AuxLogits/Conv2d_2a_5x5/BatchNorm/moving_mean": (768,),
        "InceptionV3/AuxLogits/Conv2d_2a_5x5/BatchNorm/moving_variance": (768,),
        "InceptionV3/AuxLogits/Conv2d_2b_1x1/weights": (1, 1, 768, 1001),
        "InceptionV3/AuxLogits/Conv2d_2b_1x1/biases": (1001,),
    },
}
# Families whose layout files list their heads (read off the reference with the layouts).
HEADS.update(
    {
        key: {name: tuple(shape) for name, shape in head.items()}
        for key, head in layout_section("heads").items()
    }
)
VARIANTS = layout_section("variants")


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


@pytest.mark.parametrize("key", sorted(VARIANTS))
def test_variant_variables_head_and_weight_decay_match_reference_exactly(key, reference_layouts):
    """Every variant a layout file lists (non-default hyperparameters), checked as exactly as
    the default nets: names, shapes and creation order, value counts, features, head, and the
    variables the arg scope's weight decay applies to."""
    variant = VARIANTS[key]
    reference = reference_layouts[key]
    definition = net_definition(variant["net"], **variant["hyperparameters"])
    specs = definition.variable_specs()
    with_head = definition.variable_specs(1001)

    layout = [(spec.name, spec.shape) for spec in specs]
    assert layout == [(name, tuple(shape)) for name, shape in reference["variables"].items()]
    assert sum(math.prod(shape) for _, shape in layout) == reference["num_values"]
    trainable = sum(math.prod(spec.shape) for spec in specs if spec.trainable)
    assert trainable == reference["trainable_values"]
    assert definition.num_features == reference["final_end_point_shape_at_default_size"][-1]
    head = {spec.name: spec.shape for spec in with_head[len(specs) :]}
    assert head == HEADS[key]
    regularized = [spec.name for spec in with_head if spec.regularized]
    expected_regularized = layout_section("regularized").get(key)
    if expected_regularized is not None:
        assert regularized == expected_regularized


@pytest.mark.parametrize(
    "net_name", [name for name in net_names() if name in layout_section("regularized")]
)
def test_weight_decay_applies_to_the_variables_the_reference_regularizes(net_name):
    with_head = net_definition(net_name).variable_specs(1001)
    regularized = [spec.name for spec in with_head if spec.regularized]
    assert regularized == layout_section("regularized")[net_name]


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


@pytest.mark.parametrize("net_name", net_names())
def test_training_extras_are_the_slim_auxiliary_heads(net_name):
    extras = net_definition(net_name).training_extras(1001)

    if net_name in AUX_HEADS:
        assert extras == AUX_HEADS[net_name]
    else:
        # TF-Slim names auxiliary heads AuxLogits, or aux_N in the NASNets (no top-level scope).
        assert all("/AuxLogits/" in name or name.startswith("aux_") for name in extras)
    assert not extras.keys() & net_layout(net_name, 1001).keys()


def test_unknown_net_name_lists_the_known_ones():
    with pytest.raises(HubzooError, match="inception_resnet_v2, inception_v1, inception_v2"):
        create_net("inception_v9")


@pytest.mark.parametrize(
    ("net_name", "regularized_biases", "weight_decay"),
    [
        ("inception_v1", False, 0.00004),  # TF-Slim's inception arg scopes
        ("inception_resnet_v2", True, 0.00004),
        ("inception_v3", False, 0.00004),
        ("resnet_v2_50", False, 0.0001),  # resnet_arg_scope: batch norm gamma not regularized
        ("mobilenet_v3_small", False, 0.00004),  # TF-Slim's mobilenet arg scopes
    ],
)
def test_regularization_losses_follow_the_slim_arg_scopes(
    net_name, regularized_biases, weight_decay
):
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

    assert net.definition.arg_scope.weight_decay == weight_decay
    expected = sum(weight_decay * 0.5 * float(np.sum(values[name] ** 2)) for name in regularized)
    assert len(losses) == len(regularized)
    assert float(tf.add_n(losses)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("net_name", ["resnet_v1_50", "resnet_v2_50"])
def test_resnet_arg_scope_is_slims(net_name):
    arg_scope = net_definition(net_name).arg_scope

    assert arg_scope == ArgScope(
        weight_decay=0.0001,
        regularize_biases=False,
        batch_norm_decay=0.997,
        batch_norm_epsilon=1e-5,
        batch_norm_scale=True,
    )


def test_inception_v3_arg_scope_is_slims():
    assert net_definition("inception_v3").arg_scope == ArgScope(
        weight_decay=0.00004,
        regularize_biases=False,
        batch_norm_decay=0.9997,
        batch_norm_epsilon=0.001,
        batch_norm_scale=False,
    )


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
