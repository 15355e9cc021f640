"""Our inception_v1 / inception_v2 against tf_slim's, run in the legacy venv on the same checkpoint.

tf_slim writes the checkpoint (seeded random values under its own variable names), our nets read
it through modules.checkpoints.reading, and both sides see the same seeded images at the default
size and at 299 (odd feature-map sizes, so SAME padding is asymmetric in places).
"""

from collections.abc import Callable

import numpy as np
import pytest
import tensorflow as tf

from modules.checkpoints.reading import read_checkpoint
from modules.nets import SlimNet, create_net
from tests.parity.conftest import SLIM_END_POINTS, SLIM_SIZES, SlimReference, assert_close

SLIM_CASES = [(net_name, size) for net_name, sizes in SLIM_SIZES.items() for size in sizes]


@pytest.fixture(scope="module")
def our_slim_net(slim_reference: Callable[[str], SlimReference]) -> Callable[[str], SlimNet]:
    """``our_slim_net(net_name)``: our net with the weights of tf_slim's checkpoint, built once."""
    nets: dict[str, SlimNet] = {}

    def get(net_name: str) -> SlimNet:
        if net_name not in nets:
            net = create_net(net_name)
            net.assign(read_checkpoint(slim_reference(net_name).checkpoint, net.layout()).values)
            nets[net_name] = net
        return nets[net_name]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("net_name", SLIM_SIZES)
def test_tf_slim_checkpoint_has_exactly_our_layout(net_name, slim_reference):
    checkpoint = slim_reference(net_name).checkpoint
    written = {name: tuple(shape) for name, shape in tf.train.list_variables(str(checkpoint))}
    assert written == create_net(net_name).layout()


@pytest.mark.slow
@pytest.mark.parametrize(("net_name", "size"), SLIM_CASES)
def test_features_and_end_points_match_tf_slim(net_name, size, slim_reference, our_slim_net):
    reference = slim_reference(net_name)
    expected = reference.outputs[size]
    features, end_points = our_slim_net(net_name)(reference.images[size] * 2.0 - 1.0)

    assert np.std(expected["features"]) > 0.1, "degenerate reference features"
    assert not np.allclose(expected["features"][0], expected["features"][1], atol=1e-3)
    # Earliest first, so a failure names the first layer where the implementations part.
    for name in SLIM_END_POINTS:
        assert_close(end_points[name].numpy(), expected[name], f"{net_name} {size} {name}")
    assert_close(features.numpy(), expected["features"], f"{net_name} {size} features")
