"""Publish checks the store before any export: reachable and writable, the version free or
possibly identical, the lock taken (and held to the end)."""

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from hubzoo.errors import HubzooError
from hubzoo.paths import REPO_ROOT
from hubzoo.progress import Progress
from hubzoo.registry import load_registry
from hubzoo.store import open_store
from pipeline.publish import PublishOptions, check_store
from tests.store.helpers import fake_archive, publisher_manifest

HANDLE = "google/imagenet/inception_v1/feature_vector/1"
PUBLISH = [sys.executable, str(REPO_ROOT / "scripts" / "publish.py")]


def publish(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*PUBLISH, *args], capture_output=True, text=True, timeout=120)


def assert_failed_before_export(done: subprocess.CompletedProcess) -> str:
    """The error line of a publish that stopped at the store check."""
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "check store: failed after" in done.stderr
    stages = [line.split(" ...")[0] for line in done.stderr.splitlines() if line.endswith(" ...")]
    assert stages == ["validate record", "check store"]
    last = done.stderr.splitlines()[-1]
    assert last.startswith("error: ")
    return last


def test_a_held_lock_fails_the_publish_before_any_export(tmp_path):
    store_dir = tmp_path / "store"
    lock = store_dir / f"{HANDLE}.lock"
    lock.parent.mkdir(parents=True)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    holder = {"host": "ci-7", "pid": 99, "token": "t", "since": now, "refreshed": now}
    lock.write_text(json.dumps(holder))

    line = assert_failed_before_export(
        publish("inception_v1/feature_vector/1", "--synthetic", "--store", str(store_dir))
    )

    assert "another publish holds its lock" in line and "held by pid 99 on ci-7" in line
    assert line.endswith(f"run scripts/store.py --store {store_dir} lock break {HANDLE}")


def test_a_version_published_in_another_format_fails_before_any_export(tmp_path):
    store_dir = tmp_path / "store"
    store = open_store(str(store_dir))
    other = fake_archive(tmp_path)
    store.put(HANDLE, other.path, publisher_manifest(format="saved_model_2"))

    line = assert_failed_before_export(
        publish("inception_v1/feature_vector/1", "--synthetic", "--store", str(store_dir))
    )

    assert line == (
        f"error: {HANDLE} is already published in {store_dir} (as saved_model_2, this publish "
        f"exports hub, sha256 {other.sha256}); versions are immutable: publish a new version"
    )
    assert store.lock_info(HANDLE) is None


def test_a_version_built_from_trained_weights_is_not_overwritten_by_a_synthetic_build(tmp_path):
    store = open_store(str(tmp_path / "store"))
    store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest(checkpoint_sha256="ab" * 32))
    record = load_registry().find(HANDLE)
    options = PublishOptions(HANDLE, synthetic=True, store_url=store.url)
    with pytest.raises(
        HubzooError, match="from a trained checkpoint, this publish uses a synthetic"
    ):
        check_store(options, record, "hub", Progress(quiet=True))


def test_the_check_holds_the_lock_and_notes_a_possibly_identical_version(tmp_path, capsys):
    store = open_store(str(tmp_path / "store"))
    store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest())
    record = load_registry().find(HANDLE)
    options = PublishOptions(HANDLE, synthetic=True, store_url=store.url)

    checked, lock = check_store(options, record, "hub", Progress(stream=sys.stderr))

    with lock:
        assert checked.url == store.url
        assert store.lock_info(HANDLE).stale_reason is None
        with pytest.raises(HubzooError, match="another publish holds its lock"):
            check_store(options, record, "hub", Progress(quiet=True))
    assert store.lock_info(HANDLE) is None
    assert "succeeds only if it builds identical bytes" in capsys.readouterr().err


def test_the_check_leaves_nothing_in_the_store(tmp_path):
    store_dir = tmp_path / "store"
    record = load_registry().find(HANDLE)
    options = PublishOptions(HANDLE, synthetic=True, store_url=str(store_dir))
    _, lock = check_store(options, record, "hub", Progress(quiet=True))
    lock.release()
    assert [path for path in store_dir.rglob("*") if path.is_file()] == []


def test_the_summary_says_when_a_damaged_archive_was_repaired():
    from pipeline.publish import PublishSummary

    summary = PublishSummary(HANDLE, "hub", True, sha256="ab" * 32, store_url="s", repaired=True)
    assert summary.lines()[-1].startswith(
        "result:     repaired: the stored archive was damaged and is replaced by these bytes"
    )
    assert "already published" not in "\n".join(summary.lines())
