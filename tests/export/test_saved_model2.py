"""saved_model_2 exports are reusable SavedModels: hub.load and hub.KerasLayer run and fine-tune them."""

import dataclasses

import numpy as np
import pytest

from hubzoo.contract import SAVED_MODEL_2 as SAVED_MODEL_2_FORMAT
from modules.export.saved_model2 import export as export_saved_model2
from modules.inspect import describe_module, diff_against
from tests.export.conftest import HANDLES, SAVED_MODEL_2, SMALL_HANDLE, SPECS, images_for

pytestmark = pytest.mark.slow

BN_HANDLE = "google/imagenet/inception_v2/feature_vector/3"


@pytest.mark.parametrize("handle", HANDLES)
def test_export_passes_the_check_and_calls_compute_the_net(exports, handle):
    import tensorflow_hub as hub

    spec = SPECS[handle]
    path = exports.path(handle, SAVED_MODEL_2)
    desc = describe_module(path)
    assert diff_against(desc, spec, expected_format=SAVED_MODEL_2_FORMAT) == []
    assert desc.variable_bytes <= 1.01 * 4 * desc.num_values

    module = hub.load(str(path))
    reference = exports.reference_output(handle)
    np.testing.assert_allclose(module(images_for(handle)).numpy(), reference, atol=1e-5, rtol=1e-5)
    signature = module.signatures[spec.signatures[1]](images=images_for(handle))
    assert set(signature) == exports.signature_output_keys(handle)
    np.testing.assert_allclose(signature["default"].numpy(), reference, atol=1e-5, rtol=1e-5)
    assert len(module.variables) == len(desc.checkpoint_names)
    assert {v.name for v in module.trainable_variables} < {v.name for v in module.variables}
    assert module.regularization_losses[0]().numpy() > 0


def test_keras_layer_honours_the_momentum_argument(exports):
    import tensorflow_hub as hub

    path = str(exports.path(BN_HANDLE, SAVED_MODEL_2))
    images = images_for(BN_HANDLE)
    custom = hub.KerasLayer(path, trainable=True, arguments=dict(batch_norm_momentum=0.997))
    default = hub.KerasLayer(path, trainable=True)  # the record's momentum, 0.99
    moved = []
    for layer in (custom, default):
        moving_mean = next(w for w in layer.non_trainable_weights if "moving_mean" in w.name)
        before = moving_mean.numpy()
        layer(images, training=True)
        moved.append(moving_mean.numpy() - before)
    significant = np.abs(moved[1]) > 1e-3 * np.abs(moved[1]).max()
    ratio = np.median(moved[0][significant] / moved[1][significant])
    assert ratio == pytest.approx((1 - 0.997) / (1 - 0.99), rel=1e-3)


def test_keras_layer_fine_tunes(exports):
    import tensorflow_hub as hub
    import tf_keras

    path = str(exports.path(BN_HANDLE, SAVED_MODEL_2))
    layer = hub.KerasLayer(path, trainable=True, arguments=dict(batch_norm_momentum=0.997))
    model = tf_keras.Sequential(
        [tf_keras.Input(shape=(None, None, 3)), layer, tf_keras.layers.Dense(3)]
    )
    model.compile(
        optimizer=tf_keras.optimizers.SGD(0.1),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    assert len(model.losses) == 1 and float(model.losses[0]) > 0  # weight decay
    weight, moving_mean = layer.trainable_weights[0], layer.non_trainable_weights[0]
    before = weight.numpy(), moving_mean.numpy()
    model.train_on_batch(images_for(BN_HANDLE)[:, :96, :128], np.array([0, 2]))
    assert not np.allclose(weight.numpy(), before[0])
    assert not np.allclose(moving_mean.numpy(), before[1])


def test_same_record_and_weights_give_identical_variables_and_signatures(exports, tmp_path):
    first = exports.path(SMALL_HANDLE, SAVED_MODEL_2)
    second = export_saved_model2(
        SPECS[SMALL_HANDLE], exports.weights(SMALL_HANDLE), tmp_path / "again"
    )
    for relative in ("variables/variables.index", "variables/variables.data-00000-of-00001"):
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative
    described = [dataclasses.replace(describe_module(p), path="") for p in (first, second)]
    assert described[0] == described[1]
