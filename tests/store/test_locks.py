"""Publish locks: who holds them, when they are stale, and that no dead holder blocks forever."""

import json
import os
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from hubzoo.errors import HubzooError
from hubzoo.store import LockPolicy, Store
from tests.store.helpers import fake_archive, publisher_manifest, raw_fs

HANDLE = "google/imagenet/inception_v1/feature_vector/1"


def timestamp(seconds_ago: float = 0) -> str:
    moment = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_lock(store_env, content: bytes | dict) -> None:
    """Put a lock file for HANDLE into the store behind its back."""
    url, options, _ = store_env
    fs, key = raw_fs(f"{url}/{HANDLE}.lock", options)
    fs.makedirs(key.rsplit("/", 1)[0], exist_ok=True)
    fs.pipe_file(key, content if isinstance(content, bytes) else json.dumps(content).encode())


def holder(**overrides) -> dict:
    fields = {
        "host": "build-host-elsewhere",
        "pid": 4242,
        "pid_started": None,
        "token": "their-token",
        "since": timestamp(30),
        "refreshed": timestamp(5),
    }
    return {**fields, **overrides}


def lock_file_exists(store_env) -> bool:
    url, options, _ = store_env
    fs, key = raw_fs(f"{url}/{HANDLE}.lock", options)
    fs.invalidate_cache()
    return fs.exists(key)


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_fresh_lock_of_another_host_blocks_and_names_the_cli(store_env, tmp_path):
    _, _, store = store_env
    write_lock(store_env, holder())

    with pytest.raises(HubzooError) as refused:
        store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest())

    message = str(refused.value)
    assert "held by pid 4242 on build-host-elsewhere since " in message
    assert re.search(r", refreshed \d+ s ago;", message)
    assert "it is stale 10 min after its last refresh" in message
    assert message.endswith(f"run scripts/store.py --store {store.url} lock break {HANDLE}")
    assert "Store." not in message and "break_lock" not in message
    assert store.get_manifest(HANDLE) is None


def test_a_lock_of_another_host_not_refreshed_for_the_limit_is_broken(store_env, tmp_path):
    _, _, store = store_env
    write_lock(store_env, holder(refreshed=timestamp(601)))

    info = store.lock_info(HANDLE)
    assert info.stale_reason == "not refreshed for 10 min (the limit is 10 min)"
    assert store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest()).created
    assert not lock_file_exists(store_env)


def test_a_lock_whose_pid_now_runs_another_process_is_broken(store_env, tmp_path):
    _, _, store = store_env
    write_lock(store_env, holder(host=socket.gethostname(), pid=os.getpid(), pid_started="boot:1"))

    assert store.lock_info(HANDLE).stale_reason == (
        f"pid {os.getpid()} on this host now belongs to another process"
    )
    assert store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest()).created


def test_a_lock_whose_process_is_gone_is_broken(store_env, tmp_path):
    _, _, store = store_env
    pid = dead_pid()
    write_lock(store_env, holder(host=socket.gethostname(), pid=pid))

    assert store.lock_info(HANDLE).stale_reason == f"its process {pid} on this host is gone"
    assert store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest()).created


def test_a_lock_of_a_live_process_on_this_host_blocks(store_env, tmp_path):
    _, _, store = store_env
    with store.lock(HANDLE) as held:
        info = store.lock_info(HANDLE)
        assert (info.host, info.pid, info.stale_reason) == (socket.gethostname(), os.getpid(), None)
        with pytest.raises(HubzooError, match=f"held by pid {os.getpid()} on "):
            store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest())
        assert store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest(), lock=held)
    assert not lock_file_exists(store_env)


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'{"host": "x"}'])
def test_an_empty_or_unreadable_lock_blocks_only_for_its_grace_period(store_env, tmp_path, content):
    store = store_env[2]
    write_lock(store_env, content)

    with pytest.raises(HubzooError) as refused:
        store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest())
    assert "(empty or unreadable lock file, written " in str(refused.value)
    assert "it is stale 60 s after it was written" in str(refused.value)

    aged = Store(store._fs, store._root, store.url, LockPolicy(unreadable_grace_seconds=-1))
    assert aged.lock_info(HANDLE).stale_reason.startswith("the lock file is empty or unreadable")
    assert aged.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest()).created


def test_an_old_empty_lock_file_on_local_disk_is_broken(tmp_path):
    from hubzoo.store import open_store

    store = open_store(str(tmp_path / "store"))
    lock = tmp_path / "store" / f"{HANDLE}.lock"
    lock.parent.mkdir(parents=True)
    lock.write_bytes(b"")
    an_hour_ago = time.time() - 3600
    os.utime(lock, (an_hour_ago, an_hour_ago))

    assert store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest()).created
    assert not lock.exists()


def test_a_held_lock_is_refreshed_in_the_background(store_env):
    url, options, store = store_env
    fast = Store(store._fs, store._root, store.url, LockPolicy(refresh_seconds=0.05))
    fs, key = raw_fs(f"{url}/{HANDLE}.lock", options)
    with fast.lock(HANDLE):
        fs.invalidate_cache()
        record = json.loads(fs.cat_file(key))
        fs.pipe_file(key, json.dumps({**record, "refreshed": timestamp(3600)}).encode())
        assert fast.lock_info(HANDLE).age_seconds >= 3600
        deadline = time.monotonic() + 60
        while fast.lock_info(HANDLE).age_seconds >= 3600 and time.monotonic() < deadline:
            time.sleep(0.05)
        info = fast.lock_info(HANDLE)
        assert info.age_seconds < 3600 and info.stale_reason is None
        assert info.since == record["since"]


def test_a_lock_broken_during_a_publish_stops_it_before_the_manifest(store_env, tmp_path):
    _, _, store = store_env
    held = store.lock(HANDLE)
    try:
        broken = store.break_lock(HANDLE)
        assert broken.pid == os.getpid()
        with pytest.raises(HubzooError, match="its lock was lost while this publish ran"):
            store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest(), lock=held)
    finally:
        held.release()
    assert store.get_manifest(HANDLE) is None


def test_lock_info_and_break_lock(store_env):
    _, _, store = store_env
    assert store.lock_info(HANDLE) is None
    assert store.break_lock(HANDLE) is None
    write_lock(store_env, holder())

    info = store.lock_info(HANDLE)
    assert (info.host, info.pid, info.stale_reason) == ("build-host-elsewhere", 4242, None)
    assert info.url.endswith(f"{HANDLE}.lock")
    broken = store.break_lock(HANDLE)
    assert (broken.host, broken.pid, broken.since) == (info.host, info.pid, info.since)
    assert store.lock_info(HANDLE) is None
    assert not lock_file_exists(store_env)
