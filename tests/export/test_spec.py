"""ExportSpec derives input shapes and signature roles from the record's facts."""

import dataclasses

import pytest

from modules.export.spec import ExportSpec
from tests.export.conftest import SPECS


def test_fixed_size_images_shape():
    spec = SPECS["google/imagenet/inception_resnet_v2/feature_vector/1"]
    assert spec.images_shape == (None, 299, 299, 3)
    assert spec.num_classes is None
    assert spec.bn_hparams_signatures == ()


def test_variable_size_classification():
    spec = SPECS["google/imagenet/inception_v2/classification/3"]
    assert spec.images_shape == (None, None, None, 3)
    assert spec.num_classes == 1001
    assert spec.bn_hparams_signatures == ("image_classification_with_bn_hparams",)


def test_bn_hparams_signature_needs_a_momentum():
    spec = SPECS["google/imagenet/inception_v2/feature_vector/3"]
    with pytest.raises(ValueError, match="batch_norm_momentum"):
        dataclasses.replace(spec, batch_norm_momentum=None)


def test_unknown_task_is_rejected():
    with pytest.raises(ValueError, match="unsupported task"):
        ExportSpec(
            "a/b/1", "inception_v1", "text-embedding", 8, (1, 1), False, ("default",), None, True
        )
