"""Our MobileNets V1 / V2 / V3 against Keras Applications' on the same seeded checkpoints.

The checkpoint holds seeded values under our layout's TF-Slim names (with the 1001-class head),
written with TensorFlow's SaveV2 op; our net reads it with modules.checkpoints.reading, Keras'
twin (keras_mobilenet_mapping, which says where Keras' architecture differs and how that is
handled) through tf.train.load_checkpoint. Both see the same inputs in [-1, 1] (tests.nets.helpers'
images: color ramps that differ per image, plus noise; the features of i.i.d. noise images,
global means, hardly differ between images). Every TF-Slim end point, the features and the logits are compared at the variant's TF-Hub input size and at one
other: 96 for V1 (Keras' V1 pads like SAME only on multiples of 32), the odd size + 1 for V2 and
V3 (SAME padding is asymmetric on odd maps). The normal run covers each net and width once
(CI_VARIANTS), the sweep every TF-Hub variant.
"""

import math
import zlib
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from modules.checkpoints.reading import read_checkpoint
from modules.nets import SlimNet, create_net
from tests.nets.helpers import images as varied_images
from tests.nets.mobilenet_variants import CI_VARIANTS, SWEEP_VARIANTS, VARIANTS, Variant
from tests.parity import keras_mobilenet_mapping as mapping
from tests.parity.conftest import CHECKPOINT_SEED, assert_close
from tests.parity.seeded_weights import seeded_value

V1_OTHER_SIZE = 96

# He-scaling gains of 1x1 conv weights: 2 before a ReLU-like activation, else these.
_LINEAR_GAINS = {"/squeeze_excite/Conv_1/": 1.0, "/Logits/": 1.0, "/project/": 1.0}
_V2_PROJECT_GAIN = 0.5


def other_size(variant: Variant) -> int:
    return V1_OTHER_SIZE if variant.net == "mobilenet_v1" else variant.size + 1


def mobilenet_seeded_value(name: str, shape, seed: int) -> np.ndarray:
    """Seeded values that keep a MobileNet's activations varied and input-dependent to its last
    layer without driving it into the regime where float32 round-off grows block after block.

    Weights are He-scaled: gain 2 for convs followed by ReLU6, ReLU or hard-swish (depthwise
    filters over kh * kw inputs), gain 1 for the linear 1x1 convs (squeeze-excite gate, logits,
    projections), 0.5 for V2's projections (its residual stream, 10 of 17 blocks, grows with
    gain 1: at width 1.4 two implementations then part by 1.4e-5 of an end point's scale, over
    assert_close's 1e-5 floor); gamma and moving_variance in [0.8, 1.25]; beta, moving_mean and
    biases as seeded_weights makes them (normal, sigma 0.1). With seeded_weights' own rule
    (depthwise gain 1) V1 and V3 lose the input: two images give the same features."""
    kind = name.rsplit("/", 1)[-1]
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    if kind in ("gamma", "moving_variance"):
        return rng.uniform(0.8, 1.25, shape).astype(np.float32)
    if kind == "depthwise_weights":
        return rng.normal(0.0, math.sqrt(2.0 / (shape[0] * shape[1])), shape).astype(np.float32)
    if kind == "weights":
        gain = next((g for layer, g in _LINEAR_GAINS.items() if layer in name), 2.0)
        if name.startswith("MobilenetV2/") and "/project/" in name:
            gain = _V2_PROJECT_GAIN
        return rng.normal(0.0, math.sqrt(gain / math.prod(shape[:-1])), shape).astype(np.float32)
    return seeded_value(name, shape, seed)


def write_name_based_checkpoint(prefix: Path, values: dict[str, np.ndarray]) -> Path:
    """A TF1-style checkpoint (variable name -> tensor), as tf.compat.v1.train.Saver writes."""
    names = list(values)
    tf.raw_ops.SaveV2(
        prefix=str(prefix),
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.constant(values[name]) for name in names],
    )
    return prefix


@pytest.fixture(scope="module")
def seeded_net(tmp_path_factory) -> Callable[[Variant], tuple[SlimNet, Path]]:
    """``seeded_net(variant)``: (our classifier with the seeded checkpoint's weights, the
    checkpoint), written and built once per net and width."""
    built: dict[tuple[str, float], tuple[SlimNet, Path]] = {}

    def get(variant: Variant) -> tuple[SlimNet, Path]:
        key = (variant.net, variant.depth_multiplier)
        if key not in built:
            net = create_net(variant.net, mapping.NUM_CLASSES, **variant.hyperparameters)
            values = {
                name: mobilenet_seeded_value(name, shape, CHECKPOINT_SEED)
                for name, shape in net.layout().items()
            }
            folder = tmp_path_factory.mktemp(f"{variant.net}_{variant.depth_multiplier}")
            prefix = write_name_based_checkpoint(folder / "model.ckpt", values)
            net.assign(read_checkpoint(prefix, net.layout()).values)
            built[key] = (net, prefix)
        return built[key]

    return get


def keras_reference(variant: Variant, size: int, checkpoint: Path, end_points) -> keras.Model:
    """Keras' twin at ``size`` with the checkpoint's weights, returning logits, features and
    the end points."""
    model = mapping.build_keras(variant.net, variant.depth_multiplier, size)
    reader = tf.train.load_checkpoint(str(checkpoint))
    weights = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
    mapping.assign_slim_weights(variant.net, model, weights)
    return mapping.end_point_model(variant.net, model, end_points)


def compare_with_keras(variant: Variant, seeded_net) -> float:
    """Asserts every end point, the features and the logits match Keras' at both sizes; returns
    the largest |ours - Keras| / max |Keras| seen."""
    net, checkpoint = seeded_net(variant)
    worst = 0.0
    for size in (variant.size, other_size(variant)):
        images = varied_images(size, batch=2, seed=size)
        logits, end_points = net(images)
        names = [name for name in end_points if name not in ("Logits", "Predictions")]
        expected = keras_reference(variant, size, checkpoint, names)(images)
        expected = {name: value.numpy() for name, value in expected.items()}
        ours = {name: end_points[name].numpy() for name in names}
        ours["features"] = tf.reduce_mean(end_points[names[-1]], axis=[1, 2]).numpy()
        ours["logits"] = logits.numpy()

        assert ours["features"].shape == (len(images), variant.num_features)
        assert np.std(expected["features"]) > 0.05, "degenerate reference features"
        assert not np.allclose(expected["features"][0], expected["features"][1], atol=1e-3)
        for name in [*names, "features", "logits"]:  # earliest first
            assert_close(ours[name], expected[name], f"{variant.name} at {size}: {name}")
            scale = float(np.abs(expected[name]).max())
            worst = max(worst, float(np.abs(ours[name] - expected[name]).max()) / scale)
    print(f"{variant.name}: largest |ours - keras| / max|keras| = {worst:.2e}")
    return worst


@pytest.mark.slow
@pytest.mark.parametrize("name", CI_VARIANTS)
def test_mobilenet_matches_keras(name, seeded_net):
    compare_with_keras(VARIANTS[name], seeded_net)


@pytest.mark.slow
@pytest.mark.sweep
@pytest.mark.parametrize("name", SWEEP_VARIANTS)
def test_every_tfhub_mobilenet_matches_keras(name, seeded_net):
    compare_with_keras(VARIANTS[name], seeded_net)


@pytest.mark.slow
@pytest.mark.parametrize("net_name", sorted(mapping.ROOTS))
def test_mapping_pairs_every_variable_with_one_keras_weight(net_name):
    depth_multiplier = 0.75
    layout = create_net(net_name, mapping.NUM_CLASSES, depth_multiplier=depth_multiplier).layout()
    model = mapping.build_keras(net_name, depth_multiplier, 224)

    pairs = mapping.slim_to_keras(net_name, model, layout)

    assert set(pairs) == set(layout)
    assert len(set(pairs.values())) == len(pairs)
    keras_weights = sum(len(layer.weights) for layer in model.layers)
    assert keras_weights == len(layout)


def test_mapping_rejects_a_layout_with_a_wrong_shape():
    layout = dict(create_net("mobilenet_v2", mapping.NUM_CLASSES).layout())
    name = "MobilenetV2/expanded_conv_3/expand/weights"
    layout[name] = (1, 1, 24, 150)
    model = mapping.build_keras("mobilenet_v2", 1.0, 96)
    with pytest.raises(ValueError, match="expanded_conv_3/expand/weights"):
        mapping.slim_to_keras("mobilenet_v2", model, layout)


@pytest.mark.slow
def test_keras_mobilenet_v1_parts_from_same_padding_off_multiples_of_32():
    """Keras' V1 pads (0, 1) before its stride-2 depthwise convs: at 200x200 its last map is
    6x6 where TF-Slim's SAME padding (ours) gives 7x7."""
    model = mapping.build_keras("mobilenet_v1", 0.25, 200)
    net = create_net("mobilenet_v1", depth_multiplier=0.25)

    _, end_points = net(np.zeros((1, 200, 200, 3), np.float32))

    assert model.get_layer("conv_pw_13_relu").output.shape[1:3] == (6, 6)
    assert mapping.keras_v1_last_grid(200) == 6
    assert end_points["Conv2d_13_pointwise"].shape[1:3] == (7, 7)
    assert mapping.keras_v1_last_grid(224) == 7
