"""The smoke test passes a faithful module and names what is wrong with an unfaithful one."""

import dataclasses

import pytest

from hubzoo.errors import HubzooError
from hubzoo.registry import load_registry
from modules.smoke import pick_device, smoke_test
from pipeline.publish import export, synthetic_checkpoint


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    record = load_registry().find("inception_v1/feature_vector/1")
    prefix = synthetic_checkpoint(record.network, seed=0)
    return export(record, "hub", prefix, tmp_path_factory.mktemp("smoke"), synthetic=True)


@pytest.mark.slow
def test_faithful_module_passes_with_a_timed_report(exported):
    spec, module_dir = exported
    report = smoke_test(module_dir, spec, "hub", "cpu")
    assert report.passed, report.failures
    assert report.device == "/device:CPU:0"
    assert set(report.latency_ms_p50) == {"1", "8"}
    assert all(ms > 0 for ms in report.latency_ms_p50.values())
    assert report.images_per_second > 0
    assert any("training path" in check for check in report.checks)


@pytest.mark.slow
def test_wrong_output_width_and_missing_signature_are_failures(exported):
    spec, module_dir = exported
    wrong = dataclasses.replace(
        spec,
        num_outputs=999,
        signatures=(*spec.signatures, "image_feature_vector_with_bn_hparams"),
        batch_norm_momentum=0.99,
    )
    report = smoke_test(module_dir, wrong, "hub", "cpu")
    assert not report.passed
    assert any("expected float32[8, 999]" in failure for failure in report.failures)
    assert any(
        "no signature 'image_feature_vector_with_bn_hparams'" in failure
        for failure in report.failures
    )


def test_device_choice_follows_the_machine():
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        assert pick_device("gpu")[0] == pick_device("auto")[0] != "/device:CPU:0"
    else:
        with pytest.raises(HubzooError, match="sees no GPU"):
            pick_device("gpu")
        assert pick_device("auto")[1].startswith("CPU (no GPU visible")
    assert pick_device("cpu")[0] == "/device:CPU:0"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("query", "loads"),
    [
        ("inception_v1/feature_vector/1", [(), ("train",)]),  # TF1: two graphs
        ("mobilenet_v1_025_128/feature_vector/4", [()]),  # TF2: one object, training=True on it
    ],
)
def test_the_consumer_copy_is_loaded_once_per_graph(query, loads, tmp_path, monkeypatch):
    import tensorflow_hub as hub

    record = load_registry().find(query)
    prefix = synthetic_checkpoint(record.network, 0, record.hyperparameters)
    spec, module_dir = export(record, record.format, prefix, tmp_path, synthetic=True)
    seen, real_load = [], hub.load

    def counted_load(handle, tags=None, options=None):
        seen.append(tuple(tags or ()))
        return real_load(handle, tags=tags, options=options)

    monkeypatch.setattr(hub, "load", counted_load)
    report = smoke_test(module_dir, spec, record.format, "cpu")
    assert report.passed, report.failures
    assert seen == loads
    assert any("training path" in check for check in report.checks)
