"""The publish pipeline end to end: synthetic checkpoint -> store -> served -> hub.load by URL."""

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading

import numpy as np
import pytest

from hubzoo.errors import HubzooError
from hubzoo.paths import REGISTRY_DIR, REPO_ROOT
from hubzoo.progress import Progress
from hubzoo.registry import load_registry
from hubzoo.relock import relock
from hubzoo.serve import serve
from hubzoo.site.build import build_site
from hubzoo.store import open_store
from pipeline.publish import PublishOptions, check_network, publish
from tests.site.conftest import small_project

HANDLE = "google/imagenet/inception_v1/feature_vector/1"
PUBLISH = [sys.executable, str(REPO_ROOT / "scripts" / "publish.py")]


def run_publish(
    *args: str, timeout: float = 60, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*PUBLISH, *args], capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """inception_v1/feature_vector/1 published once from a synthetic checkpoint."""
    store_dir = tmp_path_factory.mktemp("store")
    options = PublishOptions(
        "inception_v1/feature_vector/1", synthetic=True, store_url=str(store_dir), build_site=False
    )
    summary = publish(options, Progress(quiet=True))
    return summary, open_store(str(store_dir))


@pytest.mark.slow
def test_publish_puts_a_verified_manifest_last(published):
    summary, store = published
    assert summary.created and summary.smoke_passed
    manifest = store.get_manifest(HANDLE).to_json()
    assert manifest["sha256"] == summary.sha256 and manifest["bytes"] == summary.bytes
    assert manifest["checkpoint_sha256"] == "synthetic"
    assert manifest["format"] == "hub"
    smoke = manifest["smoke"]
    assert smoke["passed"] is True and smoke["failures"] == []
    assert set(smoke["latency_ms_p50"]) == {"1", "8"}
    assert "CPU" in smoke["device_note"]
    with store.open_archive(HANDLE) as archive:
        packed = io.BytesIO(archive.read())
    with tarfile.open(fileobj=packed, mode="r:gz") as tar:
        names = tar.getnames()
        provenance = json.load(tar.extractfile("assets/hubzoo_provenance.json"))
    assert {"saved_model.pb", "tfhub_module.pb", "variables/variables.index"} <= set(names)
    assert provenance["synthetic"] is True


@pytest.mark.slow
def test_site_page_shows_the_published_artifact(published, tmp_path):
    summary, store = published
    site = tmp_path / "site"
    config = small_project(tmp_path / "project")
    build_site(site, store.url, config.parent / "registry", config)
    page = (site / "modules" / HANDLE / "index.html").read_text()
    assert summary.sha256 in page
    assert "SYNTHETIC" in page.upper()
    assert "smoke test" in page.lower() and "passed" in page.lower()
    catalog = json.loads((site / "catalog.json").read_text())
    entry = next(e for e in catalog["modules"] if e["handle"] == HANDLE)
    assert summary.sha256 in json.dumps(entry)


@pytest.mark.slow
def test_the_site_snippets_url_and_the_handle_load_with_tensorflow_hub(
    published, tmp_path, monkeypatch
):
    import tensorflow as tf
    import tensorflow_hub as hub

    _, store = published
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "hub-cache"))
    server = serve(store, None, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        site = tmp_path / "site"
        config = small_project(tmp_path / "project")
        build_site(site, store.url, config.parent / "registry", config, zoo_url=base)
        page = (site / "modules" / HANDLE / "index.html").read_text()
        snippet_urls = set(re.findall(r"http://127\.0\.0\.1:\d+/[\w./-]+\.tar\.gz", page))
        assert snippet_urls == {f"{base}/{HANDLE}.tar.gz"}
        images = tf.constant(np.random.default_rng(0).random((2, 224, 224, 3), dtype=np.float32))
        features = [
            hub.load(url).signatures["image_feature_vector"](images=images)["default"]
            for url in (*snippet_urls, f"{base}/{HANDLE}")
        ]
    finally:
        server.shutdown()
        server.server_close()
    for output in features:
        assert output.shape == (2, 1024)
        assert np.all(np.isfinite(output.numpy()))


@pytest.mark.slow
def test_republishing_identical_bytes_is_a_no_op(published):
    summary, store = published
    again = publish(
        PublishOptions(HANDLE, synthetic=True, store_url=store.url, build_site=False),
        Progress(quiet=True),
    )
    assert again.sha256 == summary.sha256, "the same record and checkpoint must give the same bytes"
    assert again.created is False
    assert [m.handle for m in store.list_manifests()] == [HANDLE]


@pytest.mark.slow
def test_dry_run_uploads_nothing(tmp_path):
    done = run_publish(
        "inception_v1/feature_vector/1", "--synthetic", "--dry-run", "--store", str(tmp_path / "s"),
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "dry run: not uploaded" in done.stdout
    assert "SYNTHETIC" in done.stdout
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").rglob("*.json"))


def test_other_format_only_in_a_dry_run(tmp_path):
    done = run_publish(
        "inception_v1/feature_vector/1", "--synthetic", "--format", "saved_model_2",
        "--store", str(tmp_path / "s"),
    )  # fmt: skip
    assert done.returncode == 1
    assert "published as 'hub'" in done.stderr and "--dry-run" in done.stderr


@pytest.mark.slow
def test_dry_run_of_the_other_format_exports_checks_and_smoke_tests_it():
    summary = publish(
        PublishOptions(HANDLE, synthetic=True, dry_run=True, format="saved_model_2"),
        Progress(quiet=True),
    )
    assert summary.format == "saved_model_2"
    assert summary.smoke_passed and summary.sha256 and not summary.store_url


@pytest.mark.slow
def test_a_synthetic_checkpoint_given_by_path_is_marked_synthetic(tmp_path):
    prefix = tmp_path / "ckpt" / "model.ckpt"
    made = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "make_checkpoint.py"), "inception_v1",
         str(prefix), "--seed", "3"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    summary = publish(
        PublishOptions(
            HANDLE, checkpoint=str(prefix), store_url=str(tmp_path / "s"), build_site=False
        ),
        Progress(quiet=True),
    )
    assert summary.synthetic
    assert (
        open_store(str(tmp_path / "s")).get_manifest(HANDLE).build.checkpoint_sha256 == "synthetic"
    )


def test_unknown_handle_lists_candidates():
    done = run_publish("inception_v7/feature_vector/1", "--synthetic", "--dry-run")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "no module 'inception_v7/feature_vector/1'" in done.stderr
    assert "google/imagenet/inception_v1/feature_vector/1" in done.stderr


def test_ambiguous_handle_lists_matches():
    done = run_publish("feature_vector/1", "--synthetic", "--dry-run")
    assert done.returncode == 1
    assert "ambiguous" in done.stderr
    assert "google/imagenet/inception_resnet_v2/feature_vector/1" in done.stderr


def test_gpu_without_gpu_is_a_clear_error():
    no_gpu = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    done = run_publish(
        "inception_v1/feature_vector/1", "--synthetic", "--dry-run", "--device", "gpu", env=no_gpu
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "--device gpu: TensorFlow sees no GPU" in done.stderr


def test_unreachable_checkpoint_suggests_local_or_synthetic(tmp_path):
    registry = tmp_path / "registry"
    shutil.copytree(REGISTRY_DIR, registry)
    zoo_facts = registry / "zoo_facts" / "inception_v1.yaml"
    closed_port_url = "http://127.0.0.1:9/inception_v1_2016_08_28.tar.gz"
    zoo_facts.write_text(
        zoo_facts.read_text().replace(
            "http://download.tensorflow.org/models/inception_v1_2016_08_28.tar.gz", closed_port_url
        )
    )
    relocked = relock(open_store(str(tmp_path / "store")), ["*/inception_v1/*"], registry)
    assert HANDLE in relocked.written and not relocked.refused
    options = PublishOptions(HANDLE, dry_run=True, registry_dir=registry)
    with pytest.raises(HubzooError) as raised:
        publish(options, Progress(quiet=True))
    message = str(raised.value)
    assert closed_port_url in message
    assert "--checkpoint" in message and "--synthetic" in message


def test_help_describes_every_option():
    done = run_publish("--help")
    assert done.returncode == 0
    for option in ("--checkpoint", "--synthetic", "--dry-run", "--format", "--store", "--device"):
        assert option in done.stdout


@pytest.mark.parametrize(
    ("handle", "message"),
    [
        (
            "amoebanet_a_n18_f448/feature_vector/1",
            "its record names no network (network: null in registry/zoo_facts/"
            "amoebanet_a_n18_f448.yaml)",
        ),
        (
            "resnet_v1_50/feature_vector/5",
            "its record names no public checkpoint to download; publish with --synthetic",
        ),
        ("mobilenet_v1_025_128/quantops/feature_vector/3", "a quantops graph"),
    ],
)
def test_a_module_the_zoo_cannot_build_is_one_clear_line(handle, message):
    done = run_publish(handle, "--dry-run")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], done.stderr


def test_a_network_modules_nets_lacks_is_named_before_any_work():
    record = load_registry().find("mobilenet_v2_035_96/feature_vector/4")
    with pytest.raises(HubzooError, match="unknown network 'no_such_net'; known networks: "):
        check_network("no_such_net", record)
