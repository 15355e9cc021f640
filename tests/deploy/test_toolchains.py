"""What deployments need outside .venv: the pinned converter venv, TF.js's npm packages and Node,
and the plain server TF.js loads models from; and the contract's deployment formats."""

import json
import urllib.error
import urllib.request

import pytest

from hubzoo.contract import FORMATS, LITE, MODULE_FORMATS, TFJS
from hubzoo.documents import definition
from hubzoo.errors import HubzooError
from hubzoo.toolchains import (
    TFJS_DIR,
    NodePackages,
    require_tfjs_converter,
    require_tflite_support,
    tfjs_converter_venv,
    tflite_support_venv,
)
from modules.tfjs_node import FolderServer
from tests.pins import pinned_requirements


def test_the_converter_requirements_pin_every_package():
    pins = pinned_requirements(tfjs_converter_venv().requirements)
    assert pins["tensorflowjs"] == "4.22.0"
    assert pins["tensorflow"] == "2.19.0"  # tensorflow_decision_forests 1.12 pins it
    assert pins["ydf"] == "0.11.0"  # built for the protobuf 5 runtime beside it
    assert pins["protobuf"].startswith("5.")
    assert {"jax", "jaxlib", "tensorflow-decision-forests", "tensorflow-hub"} <= set(pins)


def test_the_converter_venv_is_current():
    venv = require_tfjs_converter()
    assert venv.is_current()
    assert (venv.path / "bin" / "tensorflowjs_converter").is_file()


def test_the_tflite_support_requirements_pin_every_package():
    pins = pinned_requirements(tflite_support_venv().requirements)
    assert pins["tflite-support"] == "0.4.4"
    assert pins["protobuf"].startswith("3.")  # tflite-support 0.4.4 wants protobuf<4
    assert {"absl-py", "flatbuffers", "numpy", "pybind11", "sounddevice"} <= set(pins)


def test_the_tflite_support_venv_is_current():
    venv = require_tflite_support()
    assert venv.is_current()
    code = "from tflite_support.task import vision; print(vision.ImageClassifier.__name__)"
    assert venv.run_python(code).stdout == "ImageClassifier\n"


def test_a_missing_tflite_support_venv_is_one_line_saying_how_to_create_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HUBZOO_TFLITE_SUPPORT_VENV", str(tmp_path / "absent"))
    with pytest.raises(HubzooError) as failed:
        require_tflite_support()
    message = str(failed.value)
    assert "\n" not in message and "the TF Lite Support venv" in message
    assert message.endswith(
        "is missing; create it with: python3.11 scripts/dev.py setup "
        "(or point HUBZOO_TFLITE_SUPPORT_VENV at one)"
    )


def test_the_npm_lock_pins_tfjs_and_its_wasm_backend():
    lock = json.loads((TFJS_DIR / "package-lock.json").read_text())
    packages = lock["packages"]
    assert packages["node_modules/@tensorflow/tfjs"]["version"] == "4.22.0"
    assert packages["node_modules/@tensorflow/tfjs-backend-wasm"]["version"] == "4.22.0"
    assert "node_modules/@tensorflow/tfjs-node" not in packages  # downloads a native library
    assert NodePackages().require().name == "node"


def test_missing_npm_packages_are_one_line_saying_how_to_install_them(tmp_path):
    (tmp_path / "package-lock.json").write_text("{}")
    with pytest.raises(HubzooError) as failed:
        NodePackages(tmp_path).require()
    message = str(failed.value)
    assert "\n" not in message
    assert message.endswith("are missing; install them with: python3.11 scripts/dev.py setup")


def test_the_folder_server_serves_under_its_path_and_records_requests(tmp_path):
    (tmp_path / "model.json").write_text('{"format": "graph-model"}')
    with FolderServer(tmp_path, "google/tfjs-model/x/1") as server:
        with urllib.request.urlopen(f"{server.url}/model.json?tfjs-format=file") as response:
            assert json.loads(response.read()) == {"format": "graph-model"}
        for missing in (f"{server.url}/absent.bin", server.url.rsplit("/", 1)[0] + "/model.json"):
            with pytest.raises(urllib.error.HTTPError, match="404"):
                urllib.request.urlopen(missing)
    assert server.requests == [
        ("/google/tfjs-model/x/1/model.json?tfjs-format=file", 200),
        ("/google/tfjs-model/x/1/absent.bin", 404),
        ("/google/tfjs-model/x/model.json", 404),
    ]


def test_deployments_are_formats_a_module_record_cannot_state():
    assert MODULE_FORMATS == ("hub", "saved_model_2")
    assert definition("module_facts")["properties"]["format"]["enum"] == list(MODULE_FORMATS)
    for name in (TFJS, LITE):
        deployment = FORMATS[name]
        assert deployment.deployment and not deployment.tf1_graphs
        assert deployment.served_signatures(("default", "image_classification")) == ("default",)
    assert FORMATS[TFJS].main_file == "model.json" and FORMATS[LITE].main_file == "model.tflite"
