"""The export check reads modules without running them and pinpoints every difference."""

import dataclasses
import shutil

import pytest
from tensorflow.core.protobuf import saved_model_pb2

from hubzoo.contract import HUB as HUB_FORMAT
from hubzoo.contract import SAVED_MODEL_2 as SAVED_MODEL_2_FORMAT
from hubzoo.errors import HubzooError
from modules.export import hub_protos
from modules.inspect import (
    check_export,
    describe_module,
    diff_against,
    format_description,
)
from tests.export.conftest import HUB, SAVED_MODEL_2, SMALL_HANDLE, SPECS

pytestmark = pytest.mark.slow

SPEC = SPECS[SMALL_HANDLE]


@pytest.fixture
def tampered(exports, tmp_path):
    """A copy of the small TF1 Hub export and a function that edits its SavedModel proto."""
    module = tmp_path / "module"
    shutil.copytree(exports.path(SMALL_HANDLE, HUB), module)

    def edit(change):
        saved_model = saved_model_pb2.SavedModel.FromString(
            (module / "saved_model.pb").read_bytes()
        )
        graphs = {tuple(g.meta_info_def.tags): g for g in saved_model.meta_graphs}
        change(graphs)
        (module / "saved_model.pb").write_bytes(saved_model.SerializeToString())
        return diff_against(describe_module(module), SPEC, expected_format=HUB_FORMAT)

    return edit


def test_description_of_a_tf1_hub_module(exports):
    text = format_description(describe_module(exports.path(SMALL_HANDLE, HUB)))
    for line in (
        "format: hub",
        "provenance: handle=google/imagenet/inception_v1/feature_vector/1, "
        "net=inception_v1, synthetic=True",
        "variables: 228 tensors, 5,607,184 values, 22,428,736 bytes (1.0000 x 4 bytes per value)",
        "expected image size: 224 x 224",
        "graph variant tags={}:",
        'graph variant tags={"train"}:',
        "  signature image_feature_vector:",
        "    input images: float32 [?, 224, 224, 3]",
        "    output default: float32 [?, 1024]",
        "    output InceptionV1/Mixed_4c: float32 [?, 14, 14, 512]",
    ):
        assert line in text.splitlines(), line


def test_description_of_a_saved_model_2(exports):
    desc = describe_module(exports.path(SMALL_HANDLE, SAVED_MODEL_2))
    text = format_description(desc).splitlines()
    assert "format: saved_model_2" in text
    assert "  input images: float32 [?, 224, 224, 3]" in text
    assert "  input training: bool [] = False" in text
    assert "  output output_0: float32 [?, 1024]" in text
    assert desc.image_size == (224, 224)


def test_missing_signature(tampered):
    def drop(graphs):
        del graphs[("train",)].signature_def["image_feature_vector"]

    assert tampered(drop) == ["tags={\"train\"}: signature 'image_feature_vector': missing"]


def test_wrong_output_shape(tampered):
    def narrow(graphs):
        graphs[()].signature_def["default"].outputs["default"].tensor_shape.dim[1].size = 1000

    assert tampered(narrow) == [
        "tags={}: signature 'default' output 'default': "
        "found float32 [?, 1000], expected float32 [?, 1024]"
    ]


def test_wrong_attached_image_size(tampered):
    def resize(graphs):
        attachments = graphs[()].collection_def[hub_protos.ATTACHMENTS_COLLECTION].bytes_list
        attachments.value[0] = hub_protos.encode_module_attachment(
            hub_protos.IMAGE_MODULE_INFO_KEY, hub_protos.encode_image_module_info(299, 299)
        )

    assert tampered(resize) == ["tags={}: image size: found 299 x 299, expected 224 x 224"]


def test_missing_train_graph(tampered):
    def drop_train(graphs):
        graphs[("train",)].meta_info_def.tags[:] = ["serve"]

    problems = tampered(drop_train)
    assert (
        problems[0] == 'tag sets: found tags={}, tags={"serve"}, expected tags={}, tags={"train"}'
    )


def test_saved_model_2_against_a_record_with_another_size_and_momentum(exports):
    desc = describe_module(exports.path(SMALL_HANDLE, SAVED_MODEL_2))
    other = dataclasses.replace(SPEC, image_size=(299, 299), synthetic=False)
    assert diff_against(desc, other) == [
        "provenance synthetic: found True, expected False",
        "__call__ input 'images': found float32 [?, 224, 224, 3], "
        "expected float32 [?, 299, 299, 3]",
        "saved_model_2: signature 'default' input 'images': found float32 [?, 224, 224, 3], "
        "expected float32 [?, 299, 299, 3]",
        "saved_model_2: signature 'image_feature_vector' input 'images': "
        "found float32 [?, 224, 224, 3], expected float32 [?, 299, 299, 3]",
    ]


def test_wrong_format_is_reported_alone(exports):
    desc = describe_module(exports.path(SMALL_HANDLE, SAVED_MODEL_2))
    assert diff_against(desc, SPEC, expected_format=HUB_FORMAT) == [
        "format: found saved_model_2, expected hub"
    ]


def test_check_export_raises_with_the_diff(exports):
    with pytest.raises(HubzooError) as raised:
        check_export(exports.path(SMALL_HANDLE, HUB), SPEC, SAVED_MODEL_2_FORMAT)
    assert str(raised.value) == (
        f"{SMALL_HANDLE}: the saved_model_2 export does not match its record:\n"
        "  format: found hub, expected saved_model_2"
    )


def test_a_folder_without_a_module(tmp_path):
    with pytest.raises(HubzooError, match="no saved_model"):
        describe_module(tmp_path)
