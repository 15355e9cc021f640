"""Our nets against tf_slim's, run in the legacy venv on the same checkpoint.

tf_slim writes the checkpoint (seeded random values under its own variable names, for everything
a TF-Slim training run holds), our nets read it through modules.checkpoints.reading, and both
sides see the same seeded images at the default size and at another size (see SLIM_SIZES). Every
end point tf_slim's classification net returns is compared with ours, then the features and the
logits: our end points are keyed by TF-Slim's names without the net's scope; tf_slim's ResNet
`<scope>/logits` and `predictions` ([N, 1, 1, classes]) are our `Logits` and `Predictions`
([N, classes]), and inception_v3's `PreLogits` ([N, 1, 1, 2048]) is our feature vector.
"""

from collections.abc import Callable

import numpy as np
import pytest
import tensorflow as tf

from modules.checkpoints.reading import read_checkpoint
from modules.checkpoints.synthetic import NUM_CLASSES, synthetic_layout
from modules.nets import SlimNet, create_net
from tests.parity.conftest import (
    HEADLESS,
    LARGEST_ERRORS,
    NORMAL_RUN,
    SLIM_SIZES,
    TRAINING_RUNS,
    SlimReference,
    assert_close,
    relative_error,
)


def _parameters(cases: dict[tuple[str, int], bool]) -> list:
    """(net, size) -> whether a normal run compares it, as slow pytest params, the others
    marked sweep."""
    return [
        pytest.param(*case, marks=[pytest.mark.slow] + ([] if normal else [pytest.mark.sweep]))
        for case, normal in cases.items()
    ]


SLIM_CASES = _parameters(
    {
        (net_name, size): (net_name, size) in NORMAL_RUN
        for net_name in SLIM_SIZES
        for size in SLIM_SIZES[net_name]
    }
)
SLIM_NETS = [
    pytest.param(
        net_name,
        marks=[pytest.mark.slow]
        + ([] if any(net == net_name for net, _ in NORMAL_RUN) else [pytest.mark.sweep]),
    )
    for net_name in SLIM_SIZES
]


@pytest.fixture(scope="module")
def our_slim_nets(
    slim_reference: Callable[..., SlimReference],
) -> Callable[[str], tuple[SlimNet, SlimNet]]:
    """``our_slim_nets(net_name)``: our net without and with its head, with the weights of
    tf_slim's checkpoint; the last pair built is kept."""
    built: dict[str, tuple[SlimNet, SlimNet]] = {}

    def get(net_name: str) -> tuple[SlimNet, SlimNet]:
        if net_name not in built:
            built.clear()
            checkpoint = slim_reference(net_name).checkpoint
            pair = create_net(net_name), create_net(net_name, NUM_CLASSES)
            for net in pair:
                net.assign(read_checkpoint(checkpoint, net.layout()).values)
            built[net_name] = pair
        return built[net_name]

    return get


def _our_key(name: str, scope: str) -> str | None:
    """The key of our end point for tf_slim's end point `name`; None for PreLogits (our
    feature vector)."""
    if name == "PreLogits":
        return None
    key = name.removeprefix(f"{scope}/")
    return {"logits": "Logits", "predictions": "Predictions"}.get(key, key)


@pytest.mark.parametrize(("net_name", "size"), SLIM_CASES)
def test_every_end_point_features_and_logits_match_tf_slim(
    net_name, size, slim_reference, our_slim_nets
):
    _compare(net_name, size, False, slim_reference, our_slim_nets)


@pytest.mark.parametrize(("net_name", "size"), _parameters(TRAINING_RUNS))
def test_training_mode_batch_norm_matches_tf_slim(net_name, size, slim_reference, our_slim_nets):
    _compare(net_name, size, True, slim_reference, our_slim_nets)


def _compare(net_name, size, training, slim_reference, our_slim_nets):
    """tf_slim's end points, features and logits against ours, at `size`, with batch norm in
    training mode or not (training: with momentum 1, our net leaves its moving averages alone)."""
    reference = slim_reference(net_name, size, training)
    expected = reference.outputs.pop((size, training))
    inputs = reference.images[size] * 2.0 - 1.0
    feature_net, classifier = our_slim_nets(net_name)
    mode = {"training": training, "batch_norm_momentum": 1.0}
    features, end_points = feature_net(inputs, **mode)
    head = (net_name, size) not in HEADLESS
    if head:
        _, end_points = classifier(inputs, **mode)
    slim_names = [name for name in expected if name != "features"]
    keys = {name: _our_key(name, classifier.scope) for name in slim_names}
    ours = {
        name: features.numpy() if key is None else end_points[key].numpy()
        for name, key in keys.items()
    }
    ours["features"] = features.numpy()

    # Batch norm with batch statistics leaves every channel of a batch of 2 about as large.
    floor = 0.01 if training else 0.1
    assert np.std(expected["features"]) > floor, "degenerate reference features"
    assert not np.allclose(expected["features"][0], expected["features"][1], atol=1e-3)
    # tf_slim's end points and ours are the same set (and the head is there when built).
    assert set(keys.values()) - {None} == set(end_points)
    assert ("Logits" in end_points) == head
    worst = (0.0, "")
    # Earliest first, so a failure names the first layer where the implementations part.
    for name in [*slim_names, "features"]:
        value = ours[name]
        if value.ndim == 2 and expected[name].shape[1:3] == (1, 1):
            value = value[:, None, None, :]  # tf_slim's unsqueezed [N, 1, 1, C]
        assert_close(value, expected[name], f"{net_name} {size} {name}")
        worst = max(worst, (relative_error(value, expected[name]), name))
    LARGEST_ERRORS[net_name, size, "training" if training else "inference"] = worst


@pytest.mark.parametrize("net_name", SLIM_NETS)
def test_tf_slim_checkpoint_has_exactly_our_training_layout(net_name, slim_reference):
    checkpoint = slim_reference(net_name).checkpoint
    written = {name: tuple(shape) for name, shape in tf.train.list_variables(str(checkpoint))}
    assert written == synthetic_layout(net_name)
