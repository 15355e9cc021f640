"""TF1 Hub format exports load in TensorFlow 2.21 + tensorflow_hub 0.16.1 and match the net."""

import dataclasses

import numpy as np
import pytest

from hubzoo.contract import HUB as HUB_FORMAT
from hubzoo.errors import HubzooError
from modules.export.saved_model2 import export as export_saved_model2
from modules.export.tf1_hub import export as export_tf1_hub
from modules.inspect import describe_module, diff_against
from tests.export.conftest import HANDLES, HUB, SMALL_HANDLE, SPECS, images_for

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("handle", HANDLES)
def test_export_passes_the_check_and_every_signature_computes_the_net(exports, handle):
    import tensorflow_hub as hub

    spec = SPECS[handle]
    path = exports.path(handle, HUB)
    desc = describe_module(path)
    assert diff_against(desc, spec, expected_format=HUB_FORMAT) == []
    assert [variant.tags for variant in desc.variants] == [(), ("train",)]
    assert desc.image_size == spec.image_size
    assert desc.variable_bytes <= 1.01 * 4 * desc.num_values
    train = desc.variant({"train"})
    assert dict(train.collection_sizes)["update_ops"] > 0
    assert dict(train.collection_sizes)["regularization_losses"] > 0

    module = hub.load(str(path))
    assert sorted(module.signatures) == sorted(spec.signatures)
    for name in spec.signatures:
        inputs = {"images": images_for(handle)}
        if name in spec.bn_hparams_signatures:
            inputs["batch_norm_momentum"] = np.float32(0.5)  # inference graph: no effect
        outputs = module.signatures[name](**inputs)
        assert outputs["default"].shape == (2, spec.signature_width(name))
        reference = exports.reference_output(handle, name)
        np.testing.assert_allclose(outputs["default"].numpy(), reference, atol=1e-5, rtol=1e-5)
        assert set(outputs) == exports.signature_output_keys(handle)


@pytest.mark.parametrize("handle", [SMALL_HANDLE, "google/imagenet/inception_v2/classification/3"])
def test_keras_layer_with_signature_and_output_key(exports, handle):
    import tensorflow_hub as hub

    spec = SPECS[handle]
    layer = hub.KerasLayer(
        str(exports.path(handle, HUB)), signature=spec.signatures[1], output_key="default"
    )
    np.testing.assert_allclose(
        layer(images_for(handle)).numpy(), exports.reference_output(handle), atol=1e-5, rtol=1e-5
    )


def test_train_graph_uses_batch_statistics(exports):
    import tensorflow_hub as hub

    path = str(exports.path(SMALL_HANDLE, HUB))
    images = images_for(SMALL_HANDLE)
    inference = hub.load(path).signatures["default"](images=images)["default"].numpy()
    training = hub.load(path, tags={"train"}).signatures["default"](images=images)["default"]
    assert training.shape == inference.shape
    assert not np.allclose(training.numpy(), inference, atol=1e-3)


def test_same_record_and_weights_give_identical_files(exports, tmp_path):
    first = exports.path(SMALL_HANDLE, HUB)
    second = export_tf1_hub(SPECS[SMALL_HANDLE], exports.weights(SMALL_HANDLE), tmp_path / "again")
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert "saved_model.pb" in {str(f) for f in files}
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative


def test_weights_that_do_not_fit_are_refused(exports, tmp_path):
    weights = dict(exports.weights(SMALL_HANDLE))
    del weights["InceptionV1/Conv2d_1a_7x7/weights"]
    weights["InceptionV1/Mixed_5c/Branch_0/Conv2d_0a_1x1/weights"] = np.zeros((1, 1, 3, 3))
    weights["SomethingElse/weights"] = np.zeros(1)  # ignored, like a checkpoint's extras
    with pytest.raises(HubzooError, match=r"missing 1 weights.*Conv2d_1a_7x7.*shape"):
        export_tf1_hub(SPECS[SMALL_HANDLE], weights, tmp_path / "module")
    assert not (tmp_path / "module").exists()
    assert list(tmp_path.iterdir()) == []


def test_record_disagreeing_with_the_net_is_refused(exports, tmp_path):
    spec = dataclasses.replace(SPECS[SMALL_HANDLE], num_outputs=2048)
    with pytest.raises(HubzooError, match="1024 features, the record says 2048"):
        export_tf1_hub(spec, exports.weights(SMALL_HANDLE), tmp_path / "module")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("export", [export_tf1_hub, export_saved_model2])
def test_exporters_refuse_a_non_empty_folder_before_any_work(exports, tmp_path, export):
    (tmp_path / "module").mkdir()
    (tmp_path / "module" / "saved_model.pb").write_bytes(b"someone else's")
    with pytest.raises(HubzooError, match="not empty"):
        export(SPECS[SMALL_HANDLE], {}, tmp_path / "module")
    assert (tmp_path / "module" / "saved_model.pb").read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["module"]
