"""A publish killed after uploading its archive but before its manifest leaves no version."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hubzoo.errors import HubzooError
from tests.store.helpers import fake_archive, publisher_manifest, raw_fs

HANDLE = "google/imagenet/inception_v1/feature_vector/1"
CHILD = Path(__file__).with_name("publish_child.py")


def test_killed_publish_leaves_no_visible_version_and_the_next_publish_succeeds(
    shared_store, tmp_path
):
    url, options, store = shared_store
    killed = fake_archive(tmp_path, "killed")
    job = {
        "url": url,
        "storage_options": options,
        "handle": HANDLE,
        "archive": str(killed.path),
        "manifest": dataclasses.asdict(publisher_manifest()),
    }
    child = subprocess.Popen(
        [sys.executable, str(CHILD), json.dumps(job)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "PAUSED"
        fs, archive_key = raw_fs(f"{url}/{HANDLE}.tar.gz", options)
        assert fs.cat_file(archive_key) == killed.path.read_bytes(), "archive is in place"
        assert store.get_manifest(HANDLE) is None
        assert store.list_manifests() == []
        with pytest.raises(HubzooError, match="no published module"):
            store.open_archive(HANDLE)

        rival = fake_archive(tmp_path, "rival")
        with pytest.raises(HubzooError) as refused:
            store.put(HANDLE, rival.path, publisher_manifest())
        message = str(refused.value)
        assert f"cannot publish {HANDLE}: another publish holds its lock" in message
        assert f"{HANDLE}.lock" in message
        assert f"held by pid {child.pid} on " in message
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()

    assert store.get_manifest(HANDLE) is None
    result = store.put(HANDLE, rival.path, publisher_manifest())
    assert result.created
    assert store.get_manifest(HANDLE).sha256 == rival.sha256
    with store.open_archive(HANDLE) as archive:
        assert archive.read() == rival.path.read_bytes()
    fs.invalidate_cache()
    assert sorted(
        p.rsplit("/", 1)[1] for p in fs.ls(archive_key.rsplit("/", 1)[0], detail=False)
    ) == [
        "1.json",
        "1.tar.gz",
    ]
