"""TF Lite metadata deployments: TF Lite Metadata and the packed labels, as the registry states
them, read back by tflite-support's MetadataDisplayer and run by its Task Library (in the TF Lite
Support venv), matching LiteRT's interpreter; a default deployment carries none; the export check
tells them apart. The smallest MobileNet V3, one classifier and one feature vector (the `sweep`
marker: every metadata deployment of the corpus)."""

import dataclasses
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from hubzoo.contract import LITE
from hubzoo.errors import HubzooError
from hubzoo.labels import LABELS_FOLDER, read_labels
from hubzoo.paths import REGISTRY_DIR
from hubzoo.toolchains import require_tflite_support
from modules.export.tflite import MODEL_FILE, export, metadata_entry, read_model
from modules.export.tflite_metadata import METADATA_KEY, normalization, packed_files
from modules.inspect import check_export, describe_module, diff_against
from pipeline.deployments import deployment_spec, lite_metadata_facts
from tests.deploy.conftest import registry, relative_error

pytestmark = pytest.mark.slow

PARENTS = "google/imagenet/mobilenet_v3_small_075_224"
CLASSIFIER = f"{PARENTS}/classification/5/metadata/lite/1"
EMBEDDER = f"{PARENTS}/feature_vector/5/metadata/lite/1"
DEFAULT = f"{PARENTS}/classification/5/default/lite/1"
PROBE = Path(__file__).with_name("tflite_support_probe.py")
TOLERANCE = 1e-5
"""Largest difference allowed between the Task Library's and LiteRT's outputs (two TF Lite
runtimes), relative to the largest magnitude of LiteRT's: seen 2e-7 to 5e-7 on the small
MobileNet V3s, 1e-6 to 2.2e-6 on the large ones (synthetic weights)."""


@cache
def spec_of(handle: str):
    deployment = registry().deployments[handle]
    parent = registry().modules[deployment.parent]
    facts = lite_metadata_facts(registry(), deployment, parent)
    return deployment_spec(deployment, parent, synthetic=True, lite_metadata=facts)


METADATA_CASES = [pytest.param(CLASSIFIER, id="classifier"), pytest.param(EMBEDDER, id="embedder")]
"""The normal run's metadata deployments: the smallest MobileNet V3's."""
METADATA_SWEEP = [
    pytest.param(handle, id=handle.removeprefix("google/imagenet/"), marks=pytest.mark.sweep)
    for handle, deployment in sorted(registry().deployments.items())
    if deployment.carries_metadata and handle not in (CLASSIFIER, EMBEDDER)
]
"""Every other metadata deployment of the corpus (all MobileNet V3 at 224 x 224)."""


@pytest.fixture(scope="module")
def exported(deployments, tmp_path_factory):
    """handle -> the deployment's exported folder (the session's synthetic weights), exported
    on first use."""
    root = tmp_path_factory.mktemp("lite-metadata")

    @cache
    def folder(handle: str) -> Path:
        spec = spec_of(handle)
        return export(spec, deployments.weights(spec), root / handle)

    return folder


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    """One seeded uint8 RGB image at the model's size, saved for the probe."""
    pixels = np.random.default_rng(7).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    path = tmp_path_factory.mktemp("image") / "image.npy"
    np.save(path, pixels)
    return path


def probe(folder: Path, image: Path, task: str, out_dir: Path) -> dict:
    """What tflite-support finds in the model at `folder` (see tflite_support_probe.py)."""
    venv = require_tflite_support()
    out = out_dir / "found.json"
    venv.run_python(PROBE, str(folder / MODEL_FILE), str(image), task, str(out), timeout=300)
    return json.loads(out.read_text())


def litert_output(folder: Path, image: Path) -> np.ndarray:
    """LiteRT's `default` output on the image scaled to [0, 1], as the module's input wants."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(folder / MODEL_FILE)).get_signature_runner("default")
    images = np.load(image).astype(np.float32)[None] / 255.0
    return runner(images=images)["default"][0]


def test_the_facts_come_from_the_registry():
    classifier, embedder = spec_of(CLASSIFIER).lite_metadata, spec_of(EMBEDDER).lite_metadata
    parent = registry().modules[registry().deployments[CLASSIFIER].parent]
    assert classifier.name == parent.display_name == "MobileNet V3 small (depth multiplier 0.75)"
    assert classifier.author == "Google" and classifier.license is None
    assert classifier.input_range == parent.input_range == (0, 1)
    assert classifier.labels_file == "ImageNetLabels.txt"
    assert classifier.labels == read_labels(parent.labels_url).labels
    assert len(classifier.labels) == 1001
    assert classifier.labels[:3] == ("background", "tench", "goldfish")
    assert classifier.labels[-1] == "toilet tissue"
    assert embedder.labels_file is None and embedder.labels == ()
    assert spec_of(DEFAULT).lite_metadata is None


@pytest.mark.parametrize("handle", METADATA_CASES + METADATA_SWEEP)
def test_metadata_displayer_reads_what_the_record_says(exported, image, tmp_path, handle):
    spec = spec_of(handle)
    assert spec.image_size == (224, 224)
    facts = spec.lite_metadata
    found = probe(exported(handle), image, "none", tmp_path)
    meta = found["metadata"]
    assert (meta["name"], meta["description"], meta["version"], meta["author"]) == (
        facts.name,
        f"TF Lite deployment of {registry().deployments[handle].parent}.",
        "1",
        "Google",
    )
    assert "license" not in meta  # the record states none
    assert meta["min_parser_version"] == found["minimum_parser_version"] == "1.0.0"
    (subgraph,) = meta["subgraph_metadata"]
    (image_md,) = subgraph["input_tensor_metadata"]
    assert image_md["content"]["content_properties_type"] == "ImageProperties"
    properties = image_md["content"]["content_properties"]
    assert properties == {"color_space": "RGB", "default_size": {"width": 224, "height": 224}}
    (unit,) = image_md["process_units"]
    assert unit == {
        "options_type": "NormalizationOptions",
        "options": {"mean": [0.0], "std": [255.0]},
    }
    assert image_md["stats"] == {"max": [1.0], "min": [0.0]}  # [0, 255] / 255: the record's [0, 1]
    (output_md,) = subgraph["output_tensor_metadata"]
    assert output_md["description"] == facts.output_description
    assert output_md["content"]["content_properties_type"] == "FeatureProperties"
    if facts.labels_file is None:
        assert output_md["name"] == "features" and "associated_files" not in output_md
        assert found["packed_files"] == []
        return
    assert output_md["name"] == "logits"
    assert output_md["associated_files"] == [
        {
            "name": "ImageNetLabels.txt",
            "description": "Labels for categories that the model can recognize.",
            "type": "TENSOR_AXIS_LABELS",
        }
    ]
    assert found["packed_files"] == ["ImageNetLabels.txt"]
    committed = (REGISTRY_DIR / LABELS_FOLDER / "ImageNetLabels.txt").read_bytes()
    assert (tmp_path / "ImageNetLabels.txt").read_bytes() == committed


@pytest.mark.parametrize("handle", METADATA_CASES + METADATA_SWEEP)
def test_the_task_library_runs_it_as_litert_does(exported, image, tmp_path, handle):
    """A classifier: ImageClassifier's top 5 are LiteRT's, named by our labels file; a feature
    vector: ImageEmbedder's embedding is LiteRT's."""
    spec = spec_of(handle)
    expected = litert_output(exported(handle), image)
    assert expected.shape == (spec.num_outputs,)
    labels = spec.lite_metadata.labels
    if not labels:
        embedding = np.array(probe(exported(handle), image, "embedder", tmp_path)["embedding"])
        assert embedding.shape == expected.shape
        assert relative_error(embedding, expected) <= TOLERANCE
        return
    found = probe(exported(handle), image, "classifier", tmp_path)
    top = np.argsort(-expected)[:5]
    assert [c["index"] for c in found["categories"]] == top.tolist()
    assert [c["name"] for c in found["categories"]] == [labels[i] for i in top]
    scores = np.array([c["score"] for c in found["categories"]])
    assert np.max(np.abs(scores - expected[top])) / np.max(np.abs(expected)) <= TOLERANCE


def test_metadata_leaves_litert_s_output_unchanged(exported, image):
    """Same weights: the classifier with metadata computes exactly what the default one does."""
    with_metadata = litert_output(exported(CLASSIFIER), image)
    assert np.array_equal(with_metadata, litert_output(exported(DEFAULT), image))


def test_a_default_deployment_carries_no_metadata(exported, image, tmp_path):
    folder = exported(DEFAULT)
    assert metadata_entry(read_model(folder), METADATA_KEY) is None
    assert packed_files((folder / MODEL_FILE).read_bytes()) == {}
    assert "does not have metadata" in probe(folder, image, "none", tmp_path)["refused"]


@pytest.mark.parametrize("handle", [CLASSIFIER, EMBEDDER, DEFAULT])
def test_the_check_passes_each_against_its_record(exported, handle):
    desc = describe_module(exported(handle))
    assert diff_against(desc, spec_of(handle), expected_format=LITE) == []
    assert desc.provenance["handle"] == handle


def test_the_check_reports_missing_or_unexpected_metadata(exported):
    metadata_spec = dataclasses.replace(spec_of(CLASSIFIER), handle=DEFAULT)
    with pytest.raises(HubzooError, match=r"no TF Lite Metadata \(TFLITE_METADATA\), which a"):
        check_export(exported(DEFAULT), metadata_spec, LITE)
    default_spec = dataclasses.replace(spec_of(DEFAULT), handle=CLASSIFIER)
    with pytest.raises(HubzooError, match=r"Metadata \(TFLITE_METADATA\) found; the record is no"):
        check_export(exported(CLASSIFIER), default_spec, LITE)


def test_the_check_reports_a_wrong_labels_count_and_other_facts(exported):
    spec = spec_of(CLASSIFIER)
    facts = dataclasses.replace(spec.lite_metadata, version="2")
    wider = dataclasses.replace(spec, num_outputs=1000, lite_metadata=facts)
    problems = diff_against(describe_module(exported(CLASSIFIER)), wider, expected_format=LITE)
    assert "labels file ImageNetLabels.txt: 1001 labels, the output has 1000 classes" in problems
    assert "TF Lite Metadata version: found '1', expected '2'" in problems


def test_inspect_module_checks_a_folder_against_a_deployment_handle(exported):
    script = Path(__file__).parents[2] / "scripts" / "inspect_module.py"

    def inspect(handle: str, against: str) -> subprocess.CompletedProcess:
        command = [sys.executable, str(script), str(exported(handle)), "--against", against]
        return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)

    matching = inspect(CLASSIFIER, "mobilenet_v3_small_075_224/classification/5/metadata/lite/1")
    assert matching.returncode == 0, matching.stderr
    assert matching.stdout.rstrip().endswith(f"matches {CLASSIFIER}")
    default = inspect(DEFAULT, CLASSIFIER)
    assert default.returncode == 1
    assert "no TF Lite Metadata (TFLITE_METADATA), which a metadata deployment carries" in (
        default.stdout
    )


def test_a_metadata_deployment_gives_the_same_bytes_again(exported, deployments, tmp_path):
    spec = spec_of(CLASSIFIER)
    again = export(spec, deployments.weights(spec), tmp_path / "again")
    assert (again / MODEL_FILE).read_bytes() == (exported(CLASSIFIER) / MODEL_FILE).read_bytes()


def test_labels_the_registry_lacks_or_that_miscount_stop_in_one_line(tmp_path):
    deployment = registry().deployments[CLASSIFIER]
    parent = registry().modules[deployment.parent]
    with pytest.raises(HubzooError, match=r"no copy of https://\S+/ImageNetLabels.txt in the reg"):
        lite_metadata_facts(registry(), deployment, parent, tmp_path)
    (tmp_path / LABELS_FOLDER).mkdir()
    (tmp_path / LABELS_FOLDER / "ImageNetLabels.txt").write_text("background\ntench\n")
    with pytest.raises(HubzooError, match=r"ImageNetLabels.txt has 2 labels, the record says 1001"):
        lite_metadata_facts(registry(), deployment, parent, tmp_path)


@pytest.mark.parametrize(
    ("input_range", "mean_std"), [((0, 1), (0.0, 255.0)), ((-1, 1), (127.5, 127.5))]
)
def test_the_normalization_maps_pixels_onto_the_input_range(input_range, mean_std):
    mean, std = normalization(input_range)
    assert (mean, std) == mean_std
    assert ((0 - mean) / std, (255 - mean) / std) == input_range
