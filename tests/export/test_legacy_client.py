"""The legacy client (TF 2.14, tensorflow_hub 0.15 `hub.Module`) runs every TF1 Hub export,
through the python blocks of the module's page where it has one."""

import json
from pathlib import Path

import numpy as np
import pytest

from devtools.legacy_venv import run_legacy_python
from hubzoo.paths import REPO_ROOT
from tests.export import legacy_client_check
from tests.export.conftest import HANDLES, HUB, SMALL_HANDLE, SPECS
from tests.export.page_snippets import page_text, runnable_blocks

pytestmark = pytest.mark.slow

BN_PAGE_HANDLE = "google/imagenet/inception_v2/feature_vector/3"


def _page_blocks(handle: str, module: Path) -> list[str] | None:
    try:
        return runnable_blocks(page_text(handle), module)
    except FileNotFoundError:
        return None


@pytest.fixture(scope="session")
def legacy_results(exports, tmp_path_factory):
    """Every TF1 Hub export run in one legacy process (TensorFlow is imported once)."""
    folder = tmp_path_factory.mktemp("legacy")
    jobs = [
        {
            "label": handle,
            "output": "logits" if SPECS[handle].num_classes else "features",
            "module": str(exports.path(handle, HUB)),
            "blocks": _page_blocks(handle, exports.path(handle, HUB)),
        }
        for handle in HANDLES
    ]
    (folder / "jobs.json").write_text(json.dumps(jobs))
    script = Path(legacy_client_check.__file__)
    run_legacy_python(script, str(folder / "jobs.json"), str(folder / "results.json"), timeout=900)
    return {result["label"]: result for result in json.loads((folder / "results.json").read_text())}


def test_seed_pages_have_runnable_blocks(exports):
    for handle in ("google/imagenet/inception_v1/feature_vector/1", BN_PAGE_HANDLE):
        blocks = _page_blocks(handle, exports.path(handle, HUB))
        assert blocks and str(exports.path(handle, HUB)) in blocks[0]


@pytest.mark.parametrize("handle", HANDLES)
def test_legacy_client_runs_the_module(legacy_results, exports, handle):
    spec, result = SPECS[handle], legacy_results[handle]
    assert result["expected_image_size"] == list(spec.image_size)
    assert {tuple(shape) for shape in result["feature_shapes"]} == {(2, spec.num_outputs)}
    np.testing.assert_allclose(
        result["first_features"], exports.reference_output(handle), atol=1e-4, rtol=1e-4
    )
    assert result["regularization_losses"] > 0
    assert result["train_update_ops"] > 0
    assert result["moving_mean_change"] > 0
    assert result["moving_mean_reset_error"] == 0
    assert result["weight_change"] > 0
    if spec.bn_hparams_signatures:
        assert len(result["feature_shapes"]) == 2  # the page's fine-tuning block ran too
        expected = (1 - legacy_client_check.PAGE_MOMENTUM) / (1 - spec.batch_norm_momentum)
        assert result["momentum_ratio_to_default"] == pytest.approx(expected, rel=1e-3)
    else:
        assert "momentum_ratio_to_default" not in result


def test_same_module_as_tensorflow_hub_015_exporter(exports, tmp_path):
    """hub 0.15's exporter, run on the same net and weights, writes the same graphs and files
    (the TensorFlow versions recorded in the meta graphs aside)."""
    from tensorflow.core.protobuf import saved_model_pb2

    spec, ours = SPECS[SMALL_HANDLE], exports.path(SMALL_HANDLE, HUB)
    theirs = tmp_path / "hub015"
    job = spec.exporter_job(str(ours / "variables" / "variables"), str(theirs))
    (tmp_path / "jobs.json").write_text(json.dumps([job]))
    exporter = REPO_ROOT / "benchmarks" / "hub015_exporter.py"
    run_legacy_python(
        exporter,
        str(tmp_path / "jobs.json"),
        str(tmp_path / "times.json"),
        "1",
        env={"PYTHONPATH": str(REPO_ROOT)},
    )

    files = (
        "tfhub_module.pb",
        "variables/variables.index",
        "variables/variables.data-00000-of-00001",
    )
    for relative in files:
        assert (ours / relative).read_bytes() == (theirs / relative).read_bytes(), relative
    graphs = [
        {
            tuple(graph.meta_info_def.tags): graph
            for graph in saved_model_pb2.SavedModel.FromString(
                (folder / "saved_model.pb").read_bytes()
            ).meta_graphs
        }
        for folder in (ours, theirs)
    ]
    assert graphs[0].keys() == graphs[1].keys() == {(), ("train",)}
    for tags, graph in graphs[0].items():
        reference = graphs[1][tags]
        assert list(graph.graph_def.node) == list(reference.graph_def.node), tags
        assert dict(graph.signature_def) == dict(reference.signature_def), tags
        assert dict(graph.collection_def) == dict(reference.collection_def), tags
