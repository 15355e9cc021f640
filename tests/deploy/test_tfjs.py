"""TF.js deployments: converted by the TF.js converter, checked, and run by TF.js in Node, loaded
by URL from a loopback HTTP server the way a web page loads them, matching their TF modules."""

import base64
import json
import shutil

import numpy as np
import pytest

from hubzoo.contract import TFJS
from hubzoo.errors import HubzooError
from hubzoo.toolchains import TFJS_VENV_VARIABLE
from modules.export.tfjs import MODEL_JSON, export
from modules.inspect import check_export, describe_module, diff_against
from modules.smoke import smoke_test
from modules.tfjs_node import FolderServer, NodeGraphModel
from tests.deploy.conftest import (
    CASES,
    MOBILENET,
    PARITY,
    SWEEP,
    Case,
    free_as_minus_one,
    images_for,
    relative_error,
)

pytestmark = pytest.mark.slow


def tfhub_url_path(handle: str) -> str:
    """Where tfhub.dev served a module's TF.js deployment, as the corpus's pages load it:
    google/imagenet/NAME/TASK/V -> google/tfjs-model/imagenet/NAME/TASK/V/default/1."""
    publisher, rest = handle.split("/", 1)
    return f"{publisher}/tfjs-model/{rest}/default/1"


def check_in_node(deployments, case: Case, backend: str = "wasm") -> float:
    """Load the deployment by URL in Node, check what it requested and what it computes; returns
    the error relative to the parent module on the same images."""
    folder = deployments.path(case, TFJS)
    shards = sorted(path.name for path in folder.glob("group1-shard*of*.bin"))
    with FolderServer(folder, tfhub_url_path(case.spec.handle)) as server:
        with NodeGraphModel(server.url, backend) as model:
            assert model.facts["backend"] == backend
            assert model.facts["tfjs"] == "4.22.0"
            assert [tensor["name"] for tensor in model.facts["inputs"]] == ["images"]
            assert model.facts["inputs"][0]["shape"] == free_as_minus_one(case.spec.images_shape)
            assert len(model.facts["outputs"]) == 1
            assert model.facts["metadata"]["hubzoo_provenance"] == case.spec.provenance
            output, milliseconds = model.predict(images_for(case))
        prefix = "/" + tfhub_url_path(case.spec.handle)
        assert server.requests[0] == (f"{prefix}/model.json?tfjs-format=file", 200)
        assert sorted(server.requests[1:]) == [
            (f"{prefix}/{shard}?tfjs-format=file", 200) for shard in shards
        ]
    assert milliseconds > 0
    assert output.shape == (len(images_for(case)), case.spec.num_outputs)
    return relative_error(output, deployments.parent_output(case))


@pytest.mark.parametrize("case", CASES + SWEEP)
def test_export_passes_the_check(deployments, case):
    folder = deployments.path(case, TFJS)
    desc = describe_module(folder)
    assert desc.format == TFJS
    assert diff_against(desc, case.spec, expected_format=TFJS) == []
    assert desc.variable_bytes == 4 * desc.num_values  # float32 (and int32 constants) only
    model = json.loads((folder / MODEL_JSON).read_text())
    assert model["format"] == "graph-model"
    assert model["convertedBy"] == "TensorFlow.js Converter v4.22.0"
    assert list(model["signature"]["outputs"]) == ["default"]


@pytest.mark.parametrize("case", CASES + SWEEP)
def test_loads_by_url_in_node_and_matches_its_tensorflow_module(deployments, case):
    error = check_in_node(deployments, case)
    assert error <= PARITY, f"{case.id}: TF.js (wasm) differs from TensorFlow by {error:.2e}"


def test_the_plain_javascript_backend_matches_too(deployments):
    error = check_in_node(deployments, MOBILENET, backend="cpu")
    assert error <= PARITY, f"TF.js (cpu) differs from TensorFlow by {error:.2e}"


@pytest.mark.parametrize("case", CASES)
def test_the_smoke_test_passes_in_node(deployments, case):
    report = smoke_test(deployments.path(case, TFJS), case.spec, TFJS)
    assert report.passed, report.failures
    assert report.device_note == "CPU, in TensorFlow.js"
    assert set(report.latency_ms_p50) == {"1", "8"}
    assert not any("training" in check for check in report.checks)


def test_same_record_and_weights_give_the_same_bytes(deployments, tmp_path):
    first = deployments.path(MOBILENET, TFJS)
    second = export(MOBILENET.spec, deployments.weights(MOBILENET.spec), tmp_path / "again")
    names = sorted(path.name for path in first.iterdir())
    assert names == sorted(path.name for path in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_the_check_names_broken_shards_and_strangers(deployments, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(deployments.path(MOBILENET, TFJS), broken)
    shards = sorted(broken.glob("group1-shard*of*.bin"))
    shards[0].write_bytes(shards[0].read_bytes()[:-4])
    shards[-1].unlink()
    (broken / "notes.txt").write_text("not part of the model")
    problems = diff_against(describe_module(broken), MOBILENET.spec, expected_format=TFJS)
    assert f"shard {shards[-1].name}: missing" in problems
    assert any(problem.startswith("weights group 0: shards hold") for problem in problems)
    assert "file notes.txt: not named by model.json" in problems


def test_the_check_names_fused_operations_tfjs_cannot_run(deployments, tmp_path):
    """What grappler's oneDNN remapper writes for MobileNet V3's hard-swish when it is on."""
    broken = tmp_path / "broken"
    shutil.copytree(deployments.path(MOBILENET, TFJS), broken)
    model = json.loads((broken / MODEL_JSON).read_text())
    fused = [base64.b64encode(op).decode() for op in (b"BiasAdd", b"_FusedHardSwish")]
    node = next(node for node in model["modelTopology"]["node"] if node["op"] == "_FusedConv2D")
    node["attr"]["fused_ops"] = {"list": {"s": fused}}
    (broken / MODEL_JSON).write_text(json.dumps(model))
    problems = diff_against(describe_module(broken), MOBILENET.spec, expected_format=TFJS)
    assert problems == [f"node {node['name']}: fuses _FusedHardSwish, which TF.js cannot run"]


def test_the_check_compares_the_signature_with_the_record(deployments):
    import dataclasses

    spec = dataclasses.replace(MOBILENET.spec, num_outputs=1000, image_size=(192, 192))
    with pytest.raises(HubzooError) as failed:
        check_export(deployments.path(MOBILENET, TFJS), spec, TFJS)
    message = str(failed.value)
    assert "input 'images': found float32 [?, 224, 224, 3], expected float32 [?, 192, 192, 3]" in (
        message
    )
    assert "output 'default': found float32 [?, 1001], expected float32 [?, 1000]" in message


def test_unreadable_model_json_is_one_line(tmp_path):
    (tmp_path / MODEL_JSON).write_text("{not json")
    with pytest.raises(HubzooError) as failed:
        describe_module(tmp_path)
    assert "model.json: not JSON" in str(failed.value) and "\n" not in str(failed.value)


def test_a_missing_converter_venv_is_one_line_saying_how_to_create_it(monkeypatch, tmp_path):
    monkeypatch.setenv(TFJS_VENV_VARIABLE, str(tmp_path / "no-venv"))
    with pytest.raises(HubzooError) as failed:
        export(MOBILENET.spec, {}, tmp_path / "out")
    message = str(failed.value)
    assert "\n" not in message
    assert "the TF.js converter venv" in message and "is missing" in message
    assert "python3.11 scripts/dev.py setup" in message
    assert not (tmp_path / "out").exists()


def test_a_model_that_will_not_load_is_one_line(tmp_path):
    with FolderServer(tmp_path, "nothing/here") as server, pytest.raises(HubzooError) as failed:
        NodeGraphModel(server.url)
    message = str(failed.value)
    assert message.startswith(f"TF.js in Node, loading {server.url}: ")
    assert "\n" not in message
    assert server.requests == [("/nothing/here/model.json?tfjs-format=file", 404)]


def test_predict_answers_each_batch_in_order(deployments):
    folder = deployments.path(MOBILENET, TFJS)
    images = images_for(MOBILENET)
    with FolderServer(folder) as server, NodeGraphModel(server.url) as model:
        outputs = [model.predict(batch)[0] for batch in (images[:1], images, images[1:])]
    assert [output.shape[0] for output in outputs] == [1, 2, 1]
    np.testing.assert_allclose(np.concatenate([outputs[0], outputs[2]]), outputs[1], rtol=1e-5)
