"""TF Lite deployments: float32 flatbuffers with a `default` signature, converted by TensorFlow,
checked without running, and run in LiteRT's interpreter, matching their TF modules."""

import dataclasses

import numpy as np
import pytest

from hubzoo.contract import LITE
from hubzoo.errors import HubzooError
from modules.export.tflite import MODEL_FILE, PROVENANCE_KEY, export, read_model
from modules.inspect import check_export, describe_module, diff_against
from modules.smoke import smoke_test
from tests.deploy.conftest import (
    CASES,
    MOBILENET,
    PARITY,
    SWEEP,
    free_as_minus_one,
    images_for,
    relative_error,
)

pytestmark = pytest.mark.slow


def interpreter(folder):
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=str(folder / MODEL_FILE))


@pytest.mark.parametrize("case", CASES + SWEEP)
def test_export_passes_the_check(deployments, case):
    folder = deployments.path(case, LITE)
    desc = describe_module(folder)
    assert desc.format == LITE
    assert diff_against(desc, case.spec, expected_format=LITE) == []
    assert sorted(path.name for path in folder.iterdir()) == [MODEL_FILE]
    names = [
        read_model(folder).Metadata(i).Name() for i in range(read_model(folder).MetadataLength())
    ]
    assert PROVENANCE_KEY.encode() in names


@pytest.mark.parametrize("case", CASES + SWEEP)
def test_runs_in_litert_and_matches_its_tensorflow_module(deployments, case):
    model = interpreter(deployments.path(case, LITE))
    assert model.get_signature_list() == {"default": {"inputs": ["images"], "outputs": ["default"]}}
    runner = model.get_signature_runner("default")
    (images_detail,) = runner.get_input_details().values()
    assert images_detail["dtype"] == np.float32
    assert images_detail["shape_signature"].tolist() == free_as_minus_one(case.spec.images_shape)
    output = runner(images=images_for(case))["default"]
    assert output.dtype == np.float32
    assert output.shape == (len(images_for(case)), case.spec.num_outputs)
    error = relative_error(output, deployments.parent_output(case))
    assert error <= PARITY, f"{case.id}: LiteRT differs from TensorFlow by {error:.2e}"


@pytest.mark.parametrize("case", CASES)
def test_the_smoke_test_passes_in_litert(deployments, case):
    report = smoke_test(deployments.path(case, LITE), case.spec, LITE)
    assert report.passed, report.failures
    assert report.device_note == "CPU, in LiteRT"
    assert set(report.latency_ms_p50) == {"1", "8"}


def test_a_deployment_refuses_the_gpu_in_one_line(deployments):
    with pytest.raises(
        HubzooError, match=r"^--device gpu: this deployment runs on the CPU in LiteRT$"
    ):
        smoke_test(deployments.path(MOBILENET, LITE), MOBILENET.spec, LITE, "gpu")


def test_a_variable_size_module_keeps_its_variable_size(deployments):
    from tests.deploy.conftest import record_case

    case = record_case("google/imagenet/inception_v2/feature_vector/3")
    folder = deployments.path(case, LITE)
    assert diff_against(describe_module(folder), case.spec, expected_format=LITE) == []
    runner = interpreter(folder).get_signature_runner("default")
    output = runner(images=np.random.default_rng(0).random((3, 256, 192, 3), dtype=np.float32))
    assert output["default"].shape == (3, 1024)


def test_same_record_and_weights_give_the_same_bytes(deployments, tmp_path):
    first = deployments.path(MOBILENET, LITE) / MODEL_FILE
    second = export(MOBILENET.spec, deployments.weights(MOBILENET.spec), tmp_path / "again")
    assert first.read_bytes() == (second / MODEL_FILE).read_bytes()


def test_the_check_compares_the_signature_with_the_record(deployments):
    spec = dataclasses.replace(MOBILENET.spec, num_outputs=1000, synthetic=False)
    with pytest.raises(HubzooError) as failed:
        check_export(deployments.path(MOBILENET, LITE), spec, LITE)
    message = str(failed.value)
    assert "output 'default': found float32 [?, 1001], expected float32 [?, 1000]" in message
    assert "provenance synthetic: found True, expected False" in message


def test_a_file_that_is_not_a_flatbuffer_is_one_line(tmp_path):
    (tmp_path / MODEL_FILE).write_bytes(b"\0" * 64)
    with pytest.raises(HubzooError) as failed:
        describe_module(tmp_path)
    assert "not a TF Lite flatbuffer" in str(failed.value) and "\n" not in str(failed.value)
