"""ExportSpec derives input shapes and signature roles from the record's facts."""

import dataclasses

import pytest

from hubzoo.registry import load_registry
from pipeline.publish import export_spec
from tests.export.conftest import SPECS


def test_fixed_size_images_shape():
    spec = SPECS["google/imagenet/inception_resnet_v2/feature_vector/1"]
    assert spec.images_shape == (None, 299, 299, 3)
    assert spec.num_classes is None
    assert spec.bn_hparams_signatures == ()
    assert spec.feature_signatures == ()


def test_variable_size_classification():
    spec = SPECS["google/imagenet/inception_v2/classification/3"]
    assert spec.images_shape == (None, None, None, 3)
    assert spec.num_classes == 1001
    assert spec.bn_hparams_signatures == (
        "image_classification_with_bn_hparams",
        "image_feature_vector_with_bn_hparams",
    )


def test_a_classifier_serves_feature_vectors_at_the_feature_width():
    spec = SPECS["google/imagenet/inception_v2/classification/3"]
    assert spec.feature_signatures == (
        "image_feature_vector",
        "image_feature_vector_with_bn_hparams",
    )
    assert spec.signature_width("image_classification") == 1001
    assert spec.signature_width("image_feature_vector") == 1024
    with pytest.raises(ValueError, match="needs num_features"):
        dataclasses.replace(spec, num_features=None)


def test_the_input_mapping_and_hyperparameters_come_from_the_record():
    registry = load_registry()
    record = registry.modules["google/imagenet/mobilenet_v2_035_96/feature_vector/4"]
    spec = export_spec(record, synthetic=True)
    assert spec.net == "mobilenet_v2"
    assert dict(spec.hyperparameters) == {"depth_multiplier": 0.35}
    assert spec.input_mapping is record.preprocessing
    assert (spec.input_mapping.scale, spec.input_mapping.offset) == (2.0, (-1.0, -1.0, -1.0))
    assert spec.signatures == ("default", "image_feature_vector")


def test_bn_hparams_signature_needs_a_momentum():
    spec = SPECS["google/imagenet/inception_v2/feature_vector/3"]
    with pytest.raises(ValueError, match="batch_norm_momentum"):
        dataclasses.replace(spec, batch_norm_momentum=None)


def test_unknown_task_is_rejected():
    spec = SPECS["google/imagenet/inception_v1/feature_vector/1"]
    with pytest.raises(ValueError, match="unsupported task"):
        dataclasses.replace(spec, task="text-embedding")


def test_a_signature_of_another_task_is_rejected():
    spec = SPECS["google/imagenet/inception_v1/feature_vector/1"]
    with pytest.raises(ValueError, match="do not belong"):
        dataclasses.replace(spec, signatures=("default", "image_classification"))
