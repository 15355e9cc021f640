"""The NASNet family against independent references, on checkpoints of seeded values.

NASNet-A (mobile and large) against Keras Applications' NASNetMobile / NASNetLarge (weights=None),
loaded through the TF-Slim-name mapping in keras_nasnet_mapping.py, with Keras' reduction-cell
pools made TF-Slim's (the one place Keras deviates; `test_keras_own_pools_differ_only_near_the
_border` shows what that changes). Every end point both have (the stem, every cell), the features
and the logits, at the default size and at 299 (odd feature maps: asymmetric SAME padding, odd
sizes into the factorized reductions).

TF-Slim itself (run in the legacy venv) is the reference for all three nets through committed
golden data (data/nasnet_golden.json, written by nasnet_slim_reference.py on the same seeded
checkpoint and images): end-point statistics and sampled values at the smallest input size,
at 99 and at the default size. PNASNet-5 has no Keras twin; the golden data is its reference, and
the cell machinery it shares with NASNet (separable stacks, factorized reduction, "prev"
matching, pools, drop-path-free inference, the head) is the one checked against Keras above.
"""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from modules.nets import SlimNet, create_net
from tests.parity import keras_nasnet_mapping
from tests.parity.conftest import (
    CHECKPOINT_SEED,
    LARGEST_ERRORS,
    assert_close,
    parity_images,
    relative_error,
)
from tests.parity.nasnet_weights import seeded_weights

GOLDEN = json.loads((Path(__file__).parent / "data" / "nasnet_golden.json").read_text())
NUM_CLASSES = 1001
# (net, size) compared with Keras in CI; NASNet Large's second size only in the sweep.
KERAS_CASES = [
    ("nasnet_mobile", 224),
    ("nasnet_mobile", 299),
    pytest.param("nasnet_large", 331, marks=pytest.mark.slow),
    pytest.param("nasnet_large", 299, marks=[pytest.mark.slow, pytest.mark.sweep]),
]
GOLDEN_CASES = [
    pytest.param(
        net_name,
        int(size),
        marks=[pytest.mark.sweep] if net_name == "nasnet_large" else [],
        id=f"{net_name}-{size}",
    )
    for net_name, sizes in GOLDEN["nets"].items()
    for size in sizes
]


def seeded_checkpoint_values(net_name: str) -> dict[str, np.ndarray]:
    """The seeded values of the net with its 1001-class head (the golden data's checkpoint)."""
    return seeded_weights(create_net(net_name, NUM_CLASSES).layout().items(), GOLDEN["seed"])


@pytest.fixture(scope="module")
def our_net():
    """`our_net(name)`: our net with its head and the seeded values, built once per module."""
    nets: dict[str, SlimNet] = {}

    def get(net_name: str) -> SlimNet:
        if net_name not in nets:
            net = create_net(net_name, NUM_CLASSES)
            net.assign(seeded_checkpoint_values(net_name))
            nets[net_name] = net
        return nets[net_name]

    return get


@pytest.fixture(scope="module")
def keras_nasnet():
    """`keras_nasnet(name, size)`: Keras' NASNet at `size` (weights=None), built once per module."""
    models: dict[tuple[str, int], keras.Model] = {}

    def get(net_name: str, size: int) -> keras.Model:
        if (net_name, size) not in models:
            models[net_name, size] = keras_nasnet_mapping.build_keras_nasnet(
                net_name, size, NUM_CLASSES
            )
        return models[net_name, size]

    return get


def keras_reference(model: keras.Model, net_name: str, tf_slim_pools: bool = True):
    """Keras' NASNet with the seeded values: images -> {end point: value} for every end point it
    shares with TF-Slim, plus the logits."""
    num_cells = create_net(net_name).definition.num_cells
    keras_nasnet_mapping.assign_slim_weights(model, seeded_checkpoint_values(net_name), num_cells)
    model = keras_nasnet_mapping.end_point_model(model, num_cells)
    if tf_slim_pools:
        model = keras_nasnet_mapping.tf_slim_pooling(model)
    return lambda images: {name: value.numpy() for name, value in model([images]).items()}


def test_seed_matches_the_other_parity_checks():
    assert GOLDEN["seed"] == CHECKPOINT_SEED


@pytest.mark.slow
@pytest.mark.parametrize("net_name", ["nasnet_mobile", "nasnet_large"])
def test_mapping_pairs_every_variable_with_one_keras_weight(net_name, keras_nasnet):
    definition = create_net(net_name).definition
    model = keras_nasnet(net_name, definition.default_image_size)
    layout = create_net(net_name, NUM_CLASSES).layout()

    mapping = keras_nasnet_mapping.slim_to_keras(model, layout, definition.num_cells)

    assert set(mapping) == set(layout)
    assert len(set(mapping.values())) == sum(len(layer.weights) for layer in model.layers)
    assert mapping["cell_stem_0/comb_iter_0/right/separable_7x7_1/depthwise_weights"] == (
        "separable_conv_1_reduction_right1_stem_1",
        "depthwise_kernel",
    )
    assert mapping["cell_0/path2_conv/weights"] == ("adjust_conv_2_0", "kernel")
    assert mapping["final_layer/FC/biases"] == ("predictions", "bias")
    wrong = dict(layout)
    wrong["cell_1/comb_iter_1/left/separable_5x5_2/depthwise_weights"] = (3, 3, 1, 1)
    with pytest.raises(ValueError, match="cell_1/comb_iter_1/left/separable_5x5_2"):
        keras_nasnet_mapping.slim_to_keras(model, wrong, definition.num_cells)


@pytest.mark.slow
@pytest.mark.parametrize(("net_name", "size"), KERAS_CASES)
def test_every_end_point_features_and_logits_match_keras(net_name, size, our_net, keras_nasnet):
    images = parity_images(size) * 2.0 - 1.0
    expected = keras_reference(keras_nasnet(net_name, size), net_name)(images)
    logits, end_points = our_net(net_name)(images)

    assert np.std(expected["global_pool"]) > 0.1, "degenerate reference features"
    assert not np.allclose(expected["global_pool"][0], expected["global_pool"][1], atol=1e-3)
    assert set(expected) <= set(end_points)
    worst = (0.0, "")
    for name in expected:  # earliest first: a failure names the first cell where they part
        assert_close(end_points[name].numpy(), expected[name], f"{net_name} {size} {name}")
        worst = max(worst, (relative_error(end_points[name].numpy(), expected[name]), name))
    assert_close(logits.numpy(), expected["Logits"], f"{net_name} {size} logits")
    LARGEST_ERRORS[net_name, size, "keras"] = max(
        worst, (relative_error(logits.numpy(), expected["Logits"]), "logits")
    )


@pytest.mark.slow
def test_keras_own_pools_differ_only_near_the_border(our_net, keras_nasnet):
    """Keras' zero-padded VALID pools in reduction cells change only pixels near the border at
    the stem (whose two cells are reduction cells), then everything downstream."""
    size = 224
    images = parity_images(size) * 2.0 - 1.0
    keras_own = keras_reference(keras_nasnet("nasnet_mobile", size), "nasnet_mobile", False)
    keras_outputs = keras_own(images)
    _, end_points = our_net("nasnet_mobile")(images)
    ours, theirs = end_points["Stem"].numpy(), keras_outputs["Stem"]

    margin = 6
    inside = (slice(None), slice(margin, -margin), slice(margin, -margin))
    assert_close(ours[inside], theirs[inside], "nasnet_mobile Stem, away from the border")
    assert np.abs(ours - theirs).max() > 1e-2 * np.abs(theirs).max()
    assert not np.allclose(end_points["global_pool"].numpy(), keras_outputs["global_pool"])


@pytest.mark.slow
@pytest.mark.parametrize(("net_name", "size"), GOLDEN_CASES)
def test_end_points_match_tf_slim_golden_data(net_name, size, our_net):
    golden = GOLDEN["nets"][net_name][str(size)]
    logits, end_points = our_net(net_name)(parity_images(size) * 2.0 - 1.0)

    assert set(golden) == set(end_points)
    assert golden["global_pool"]["std"] > 0.1, "degenerate reference features"
    worst = (0.0, "")
    for name, expected in golden.items():
        value = end_points[name].numpy().astype(np.float64)
        what = f"{net_name} {size} {name}"
        assert list(value.shape) == expected["shape"], what
        flat = value.ravel()
        sampled = flat[expected["indices"]]
        error = relative_error(sampled, expected["values"], largest=expected["max_abs"])
        worst = max(worst, (error, name))
        # assert_close's semantics, with the floor from the whole tensor's largest magnitude.
        atol = 1e-5 * expected["max_abs"]
        np.testing.assert_allclose(sampled, expected["values"], rtol=1e-4, atol=atol, err_msg=what)
        np.testing.assert_allclose(
            flat.mean(), expected["mean"], rtol=1e-4, atol=atol, err_msg=what
        )
        np.testing.assert_allclose(flat.std(), expected["std"], rtol=1e-4, err_msg=what)
        np.testing.assert_allclose(np.abs(flat).max(), expected["max_abs"], rtol=1e-4, err_msg=what)
    np.testing.assert_array_equal(logits.numpy(), end_points["Logits"].numpy())
    LARGEST_ERRORS[net_name, size, "golden"] = worst
