"""Deployments published as artifacts: `scripts/publish.py DEPLOYMENT --synthetic` builds each
from its parent's record, puts it in the store beside modules (checksummed, immutable), and the
dev server serves it so that TF.js in Node loads it by URL as a browser does (fromTFHub: true) and
LiteRT runs the model file it downloads, both matching the parent module run by TensorFlow.

The normal run publishes one small TF.js deployment per family (but Inception-ResNet V2, too heavy)
and two small TF Lite deployments (one with TF Lite Metadata and its packed labels); the `sweep`
marker publishes every other deployment of the corpus whose network hubzoo builds.
"""

import dataclasses
import logging
import re
import urllib.request
from collections import defaultdict
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from hubzoo.contract import DEFAULT_OUTPUT, DEFAULT_SIGNATURE, IMAGES_INPUT, LITE, TFJS
from hubzoo.errors import HubzooError
from hubzoo.labels import LABELS_FOLDER
from hubzoo.paths import REGISTRY_DIR
from hubzoo.progress import Progress
from hubzoo.record import Deployment
from hubzoo.store import open_store
from pipeline.deployments import (
    PARITY,
    buildable_parent,
    export_format,
    parent_output,
    parity_images,
    read_weights,
    relative_error,
)
from pipeline.publish import PublishOptions, export_spec, publish, synthetic_checkpoint
from tests.deploy.conftest import registry
from tests.downstream.corpus import CI_COST_LIMIT, cost
from tests.serve.conftest import running

TFJS_CI = "google/imagenet/mobilenet_v2_035_96/feature_vector/3/default/tfjs/1"
LITE_CI = "google/imagenet/mobilenet_v3_large_075_224/feature_vector/5/default/lite/1"
"""Its page states 1024 features where the model has its parent's 1280 (stated_num_features)."""
LITE_METADATA_CI = "google/imagenet/mobilenet_v3_small_075_224/classification/5/metadata/lite/1"
QUANTOPS = "google/imagenet/mobilenet_v1_025_128/quantops/classification/1"
AMOEBANET = "google/imagenet/amoebanet_a_n18_f448/classification/1"
REQUEST_LINE = re.compile(r'"GET (\S+) HTTP/1\.1" (\d+)')


@cache
def buildable_deployments() -> tuple[Deployment, ...]:
    """Every corpus deployment whose parent hubzoo can build, in handle order."""
    zoo = registry()
    buildable = []
    for _, deployment in sorted(zoo.deployments.items()):
        try:
            buildable_parent(zoo, deployment)
        except HubzooError:
            continue
        buildable.append(deployment)
    return tuple(buildable)


@cache
def tfjs_per_family() -> tuple[str, ...]:
    """Besides TFJS_CI's family, each family's cheapest TF.js deployment (by its parent's cost,
    as the downstream tests pick their CI records), where that cost is at most CI_COST_LIMIT."""
    zoo = registry()
    modules = zoo.modules
    by_family: dict[str, list[Deployment]] = defaultdict(list)
    for deployment in buildable_deployments():
        if deployment.kind == TFJS:
            by_family[modules[deployment.parent].family].append(deployment)
    ci_family = modules[zoo.deployments[TFJS_CI].parent].family
    picks = []
    for family, deployments in sorted(by_family.items()):
        pick = min(deployments, key=lambda d: (cost(modules[d.parent]), d.handle))
        if family != ci_family and cost(modules[pick.parent]) <= CI_COST_LIMIT:
            picks.append(pick.handle)
    return tuple(picks)


def sweep_handles() -> list[str]:
    """Every corpus deployment whose parent hubzoo can build, beyond the normal run's."""
    normal = {TFJS_CI, LITE_CI, LITE_METADATA_CI, *tfjs_per_family()}
    return [d.handle for d in buildable_deployments() if d.handle not in normal]


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("deployment-store")


@pytest.fixture(scope="module")
def base_url(store_dir):
    with running(open_store(str(store_dir)), None) as port:
        yield f"http://127.0.0.1:{port}"


def publish_synthetic(handle: str, store_dir: Path):
    options = PublishOptions(handle, synthetic=True, store_url=str(store_dir), build_site=False)
    return publish(options, Progress(quiet=True))


def expected_output(handle: str, tmp_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The parity images and what the parent module (exported in its format from the same
    synthetic checkpoint, loaded by tensorflow_hub) computes on them."""
    zoo = registry()
    parent = zoo.modules[zoo.deployments[handle].parent]
    spec = export_spec(parent, synthetic=True)
    assert parent.network is not None
    prefix = synthetic_checkpoint(parent.network, 0, parent.hyperparameters)
    folder = export_format(spec, parent.format, read_weights(spec, prefix), tmp_path / "parent")
    images = parity_images(spec)
    return images, parent_output(folder, images)


def check_published(handle: str, store_dir: Path) -> None:
    """Publish `handle` and check its summary and manifest."""
    zoo = registry()
    deployment = zoo.deployments[handle]
    summary = publish_synthetic(handle, store_dir)
    assert summary.created and summary.smoke_passed and summary.synthetic
    assert summary.parity_error is not None and summary.parity_error <= PARITY
    manifest = open_store(str(store_dir)).get_manifest(handle)
    assert manifest is not None
    assert (manifest.sha256, manifest.bytes) == (summary.sha256, summary.bytes)
    assert manifest.build.format == deployment.kind
    assert manifest.build.record_digest == deployment.digest
    assert manifest.synthetic
    assert any(check.startswith("parity with ") for check in manifest.build.smoke["checks"])


def check_tfjs_by_url(handle: str, base_url: str, tmp_path: Path, caplog) -> float:
    """Load the published TF.js deployment by URL in Node; returns its error to the parent."""
    from modules.tfjs_node import NodeGraphModel

    zoo = registry()
    deployment = zoo.deployments[handle]
    width = zoo.modules[deployment.parent].num_outputs
    images, expected = expected_output(handle, tmp_path)
    with (
        caplog.at_level(logging.INFO, logger="hubzoo.serve"),
        NodeGraphModel(f"{base_url}/{handle}") as model,
    ):
        assert model.facts["metadata"]["hubzoo_provenance"]["handle"] == handle
        assert [tensor["name"] for tensor in model.facts["inputs"]] == [IMAGES_INPUT]
        output, _ = model.predict(images)
    requests = [REQUEST_LINE.search(record.getMessage()) for record in caplog.records]
    seen = [(match.group(1), match.group(2)) for match in requests if match]
    assert seen[0] == (f"/{handle}/model.json?tfjs-format=file", "200")
    shards = seen[1:]
    assert shards and all(
        re.fullmatch(rf"/{handle}/group1-shard\d+of\d+\.bin\?tfjs-format=file", path)
        and status == "200"
        for path, status in shards
    )
    assert output.shape == (len(images), width)
    error = relative_error(output, expected)
    assert error <= PARITY
    return error


def check_lite_by_url(handle: str, base_url: str, tmp_path: Path) -> float:
    """Download the published TF Lite model by URL and run it in LiteRT; returns its error."""
    from ai_edge_litert.interpreter import Interpreter

    with urllib.request.urlopen(f"{base_url}/{handle}?lite-format=tflite") as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        model = response.read()
    with urllib.request.urlopen(f"{base_url}/{handle}/model.tflite") as response:
        assert response.read() == model
    images, expected = expected_output(handle, tmp_path)
    runner = Interpreter(model_content=model).get_signature_runner(DEFAULT_SIGNATURE)
    output = runner(**{IMAGES_INPUT: images})[DEFAULT_OUTPUT]
    error = relative_error(output, expected)
    assert error <= PARITY
    return error


@pytest.mark.slow
def test_a_tfjs_deployment_publishes_and_loads_by_url_in_node(
    store_dir, base_url, tmp_path, caplog
):
    check_published(TFJS_CI, store_dir)
    check_tfjs_by_url(TFJS_CI, base_url, tmp_path, caplog)
    again = publish_synthetic(TFJS_CI, store_dir)  # the converter's output is reproducible
    assert not again.created and not again.repaired


@pytest.mark.slow
@pytest.mark.parametrize("handle", tfjs_per_family())
def test_one_tfjs_deployment_per_family_loads_by_url_in_node(
    handle, store_dir, base_url, tmp_path, caplog
):
    check_published(handle, store_dir)
    print(f"{handle}: relative error {check_tfjs_by_url(handle, base_url, tmp_path, caplog):.2e}")


@pytest.mark.slow
def test_a_lite_deployment_publishes_and_loads_by_url_in_litert(store_dir, base_url, tmp_path):
    check_published(LITE_CI, store_dir)
    check_lite_by_url(LITE_CI, base_url, tmp_path)


@pytest.mark.slow
def test_a_lite_metadata_deployment_publishes_with_its_metadata_and_labels(
    store_dir, base_url, tmp_path
):
    from ai_edge_litert import schema_py_generated as schema

    from modules.export.tflite import metadata_entry
    from modules.export.tflite_metadata import (
        METADATA_KEY,
        TENSOR_AXIS_LABELS,
        packed_files,
        read_metadata,
    )

    check_published(LITE_METADATA_CI, store_dir)
    check_lite_by_url(LITE_METADATA_CI, base_url, tmp_path)
    with urllib.request.urlopen(f"{base_url}/{LITE_METADATA_CI}/model.tflite") as response:
        model = response.read()
    labels = (REGISTRY_DIR / LABELS_FOLDER / "ImageNetLabels.txt").read_bytes()
    assert packed_files(model) == {"ImageNetLabels.txt": labels}
    metadata = read_metadata(metadata_entry(schema.Model.GetRootAs(model, 0), METADATA_KEY))
    (output,) = metadata.outputs
    assert output.associated_files == (("ImageNetLabels.txt", TENSOR_AXIS_LABELS),)


@pytest.mark.slow
@pytest.mark.sweep
@pytest.mark.parametrize("handle", sweep_handles())
def test_every_buildable_deployment_publishes_and_loads_by_url(
    handle, store_dir, base_url, tmp_path, caplog
):
    check_published(handle, store_dir)
    if handle.split("/")[-2] == TFJS:
        error = check_tfjs_by_url(handle, base_url, tmp_path, caplog)
    else:
        assert handle.split("/")[-2] == LITE
        error = check_lite_by_url(handle, base_url, tmp_path)
    print(f"{handle}: relative error {error:.2e}")


@pytest.mark.parametrize(("parent", "reason"), [(QUANTOPS, "quantops"), (AMOEBANET, "no network")])
def test_a_deployment_of_a_module_hubzoo_cannot_build_fails_in_one_line(parent, reason):
    zoo = registry()
    model = zoo.deployments[TFJS_CI]
    deployment = dataclasses.replace(model, handle=f"{parent}/default/tfjs/1", parent=parent)
    with pytest.raises(HubzooError) as raised:
        buildable_parent(zoo, deployment)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{deployment.handle} cannot be published")
    assert reason in message.replace("names no network", "no network")


def test_a_deployment_publishes_only_in_its_own_format(tmp_path):
    options = PublishOptions(TFJS_CI, synthetic=True, format="hub", store_url=str(tmp_path))
    with pytest.raises(HubzooError, match="is a tfjs deployment; --format hub"):
        publish(options, Progress(quiet=True))
    assert not list(tmp_path.iterdir())


def test_an_unknown_deployment_is_named(tmp_path):
    options = PublishOptions("inception_v1/feature_vector/1/default/lite/9", synthetic=True)
    with pytest.raises(HubzooError, match="no deployment 'inception_v1/feature_vector/1/default"):
        publish(dataclasses.replace(options, store_url=str(tmp_path)), Progress(quiet=True))
