"""`scripts/publish.py` on corpus records, as a user runs it: the synthetic publishes the README
names work end to end; records the zoo cannot build (quantops graphs, AmoebaNet) and records
without a public checkpoint (ResNet V1) fail in one line that says what is missing, before any
work and without touching the store."""

import subprocess
import sys

import pytest

from hubzoo.errors import HubzooError
from hubzoo.paths import REPO_ROOT
from hubzoo.progress import Progress
from hubzoo.store import open_store
from pipeline.publish import PublishOptions, publish
from tests.downstream.corpus import publishable_records, unpublishable_records

PUBLISH = [sys.executable, str(REPO_ROOT / "scripts" / "publish.py")]


def run_publish(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*PUBLISH, *args], capture_output=True, text=True, timeout=timeout)


def _error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.mark.slow
@pytest.mark.parametrize(
    "query",
    [
        "mobilenet_v2_100_224/classification/4",
        pytest.param("resnet_v2_50/feature_vector/4", marks=pytest.mark.sweep),
    ],
)
def test_synthetic_publish_from_the_command_line(query, tmp_path):
    store_dir = tmp_path / "store"
    done = run_publish(query, "--synthetic", "--store", str(store_dir), "--no-site", timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    handle = f"google/imagenet/{query}"
    assert f"handle:     {handle}" in done.stdout
    assert "SYNTHETIC" in done.stdout and "result:     published" in done.stdout
    manifest = open_store(str(store_dir)).get_manifest(handle)
    assert manifest is not None and manifest.synthetic
    assert manifest.to_json()["smoke"]["passed"] is True
    assert manifest.sha256 in done.stdout


def test_the_corpus_splits_into_publishable_and_named_unpublishable_records():
    unpublishable = unpublishable_records()
    assert len(publishable_records()) > 400
    assert {r.family for r in unpublishable} == {"amoebanet_a_n18_f448", "mobilenet_v1"}
    assert all(r.quantized for r in unpublishable if r.family == "mobilenet_v1")


@pytest.mark.parametrize("record", unpublishable_records(), ids=lambda record: record.handle)
def test_unbuildable_records_fail_in_one_line_before_any_work(record, tmp_path):
    store_dir = tmp_path / "store"
    options = PublishOptions(record.handle, synthetic=True, store_url=str(store_dir))
    with pytest.raises(HubzooError) as raised:
        publish(options, Progress(quiet=True))
    message = str(raised.value)
    assert "\n" not in message and message.startswith(record.handle)
    if record.quantized:
        assert "quantops" in message and record.parent and message.endswith(record.parent)
    else:
        assert "names no network" in message and "modules/nets" in message
    assert not store_dir.exists()


@pytest.mark.parametrize(
    ("query", "missing"),
    [
        ("mobilenet_v1_025_128/quantops/feature_vector/3", "a quantops graph"),
        ("amoebanet_a_n18_f448/classification/1", "names no network"),
        ("resnet_v1_50/feature_vector/4", "names no public checkpoint"),
    ],
)
def test_command_line_says_what_is_missing_in_one_line(query, missing, tmp_path):
    done = run_publish(query, "--store", str(tmp_path / "store"))
    assert done.returncode == 1
    (line,) = _error_lines(done.stderr)
    assert missing in line and f"google/imagenet/{query}" in line
    assert not (tmp_path / "store").exists()
