"""Everything downstream of a record, for the registry's modules: publish from a synthetic
checkpoint through the real pipeline (export in the record's format, export check, package,
smoke test, upload), `hub.load` by URL from the zoo's server, and the record's page's python
blocks run in their client against that URL. Output widths are measured on the artifact (its
outputs and, for a classifier, its logits weights) and compared with the record's.

The CI subset (one record per family, see corpus.py) runs by default; every other publishable
record runs with `-m sweep`.
"""

import numpy as np
import pytest

from hubzoo.contract import CLASSIFICATION, HUB, MOMENTUM_INPUT
from hubzoo.record import ModuleRecord
from pipeline.publish import export_spec
from tests.downstream.corpus import ci_records, sweep_records
from tests.downstream.page_worker import HEAD_CLASSES
from tests.downstream.pages import page_job, page_kind
from tests.export.legacy_client_check import BATCH_SIZE, PAGE_MOMENTUM, hubzoo_test_images


def _params(records, marks=()) -> list:
    return [pytest.param(record, id=record.handle, marks=marks) for record in records]


def _widths(record: ModuleRecord) -> dict[str, int]:
    """The record's output width per signature (features for feature signatures)."""
    spec = export_spec(record, synthetic=True)
    return {name: spec.signature_width(name) for name in record.signatures}


def _load_by_url(record: ModuleRecord, url: str) -> tuple[dict[str, tuple], np.ndarray, list]:
    """hub.load(url) in this process (TensorFlow 2, tensorflow_hub 0.16): the `default` output
    shape of every signature it serves (and of `__call__` for saved_model_2), the module's
    output on the page clients' images, and its variables."""
    import tensorflow as tf
    import tensorflow_hub as hub

    loaded = hub.load(url)
    images = tf.constant(hubzoo_test_images(*record.image_size))
    shapes = {}
    for name, function in loaded.signatures.items():
        extra = {}
        if MOMENTUM_INPUT in function.structured_input_signature[1]:
            extra[MOMENTUM_INPUT] = tf.constant(0.997)
        shapes[name] = tuple(function(images=images, **extra)["default"].shape)
    if record.format == HUB:
        output = loaded.signatures["default"](images=images)["default"]
    else:
        output = loaded(images)
        shapes["__call__"] = tuple(output.shape)
        shapes["__call__ training"] = tuple(loaded(images, training=True).shape)
    return shapes, output.numpy(), list(loaded.variables)


HEAD_SCOPES = ("logits", "final_layer/fc")
"""Where TF-Slim nets keep their classification weights (NASNet/PNASNet: final_layer/FC)."""


def _logits_kernel_shape(variables: list) -> tuple[int, int] | None:
    """(inputs, classes) of the artifact's classification weights, if it has a head."""
    kernels = [
        v
        for v in variables
        if any(scope in v.name.lower() for scope in HEAD_SCOPES) and len(v.shape) in (2, 4)
    ]  # [1, 1, F, C] or [F, C]
    if not kernels:
        return None
    assert len(kernels) == 1, [v.name for v in kernels]
    return tuple(kernels[0].shape[-2:])


def check_downstream(record: ModuleRecord, zoo, page_clients) -> None:
    # Publish: export, export check, package, smoke test, upload (each raises on failure).
    summary = zoo.publish(record)
    assert summary.created and summary.smoke_passed and summary.synthetic
    manifest = zoo.store.get_manifest(record.handle)
    assert manifest is not None and manifest.sha256 == summary.sha256
    assert manifest.build.format == record.format and manifest.synthetic

    # hub.load by URL: every signature the record names is served with the record's width.
    url = zoo.url(record.handle)
    shapes, output, variables = _load_by_url(record, url)
    widths = _widths(record)
    for name, width in widths.items():
        if record.format == HUB or name in shapes:
            assert shapes.get(name) == (BATCH_SIZE, width), (name, shapes)
    if record.format != HUB:
        assert shapes["__call__"] == shapes["__call__ training"] == (BATCH_SIZE, record.num_outputs)
    assert output.shape == (BATCH_SIZE, record.num_outputs)
    assert np.all(np.isfinite(output))
    kernel = _logits_kernel_shape(variables)
    if record.task == CLASSIFICATION:
        assert kernel == (record.num_features, record.num_classes)
    else:
        assert kernel is None, "a feature vector module carries no classification head"

    # The page's python blocks, in the page's client, against the zoo's URL.
    result = page_clients(page_kind(record)).run(page_job(record, url))
    assert "error" not in result, result.get("error")
    scale = max(1.0, float(np.abs(output).max()))
    if page_kind(record) == "tf1":
        assert result["expected_image_size"] == list(record.image_size)
        assert {tuple(s) for s in result["feature_shapes"]} == {(BATCH_SIZE, record.num_outputs)}
        first = result["first_features"]
        np.testing.assert_allclose(first, output, rtol=1e-3, atol=1e-4 * scale)
        assert result["train_update_ops"] > 0 and result["moving_mean_change"] > 0
        assert result["weight_change"] > 0
        if record.batch_norm_momentum is not None:  # the page's fine-tuning block sets 0.997
            assert len(result["feature_shapes"]) == 2
            expected = (1 - PAGE_MOMENTUM) / (1 - record.batch_norm_momentum)
            assert result["momentum_ratio_to_default"] == pytest.approx(expected, rel=1e-3)
    else:
        assert result["input_size"] == list(record.image_size)
        assert result["layer_shape"] == [BATCH_SIZE, record.num_outputs]
        head = HEAD_CLASSES if record.task != CLASSIFICATION else record.num_outputs
        assert result["model_shape"] == [BATCH_SIZE, head]
        np.testing.assert_allclose(result["layer_output"], output, rtol=1e-3, atol=1e-4 * scale)
        assert result["tuned_shapes"] == [[BATCH_SIZE, record.num_outputs]] * len(
            result["tuned_shapes"]
        )
        if record.batch_norm_momentum is not None:
            assert result["tuned_shapes"], "the page's fine-tuning snippet made no KerasLayer"


@pytest.mark.slow
@pytest.mark.parametrize("record", _params(ci_records()))
def test_downstream(record, zoo, page_clients):
    check_downstream(record, zoo, page_clients)


@pytest.mark.sweep
@pytest.mark.parametrize("record", _params(sweep_records()))
def test_downstream_sweep(record, zoo, page_clients):
    check_downstream(record, zoo, page_clients)
