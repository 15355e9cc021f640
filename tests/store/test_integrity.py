"""Stored bytes are checked against their manifest when read, repaired by republishing, and
every inconsistency is found by `verify` and `fsck`."""

import json
import re

import pytest

from hubzoo.errors import HubzooError
from hubzoo.store import CorruptVersion, LockPolicy, Store
from tests.store.helpers import fake_archive, publisher_manifest, raw_fs

HANDLE = "google/imagenet/inception_v1/feature_vector/1"


def stored(store_env, name: str):
    """(filesystem, key) of `name` inside the store, to change it behind the store's back."""
    url, options, _ = store_env
    fs, key = raw_fs(f"{url}/{name}", options)
    fs.invalidate_cache()
    return fs, key


def flip_a_byte(store_env, handle: str = HANDLE) -> None:
    """Change one byte of the stored archive in place: same size, other sha256."""
    fs, key = stored(store_env, f"{handle}.tar.gz")
    data = bytearray(fs.cat_file(key))
    data[len(data) // 2] ^= 0xFF
    fs.pipe_file(key, bytes(data))


def test_reading_a_changed_archive_is_refused(store_env, tmp_path):
    _, _, store = store_env
    artifact = fake_archive(tmp_path)
    store.put(HANDLE, artifact.path, publisher_manifest())
    with store.open_archive(HANDLE) as archive:
        assert archive.read() == artifact.path.read_bytes()

    flip_a_byte(store_env)

    with pytest.raises(CorruptVersion) as refused:
        store.open_archive(HANDLE)
    assert str(refused.value).startswith(f"{HANDLE}: the stored archive has sha256 ")
    assert str(refused.value).endswith(f", its manifest says {artifact.sha256}")


@pytest.mark.parametrize("change", [b"", b"tail"])
def test_reading_an_archive_of_another_size_is_refused(store_env, tmp_path, change):
    _, _, store = store_env
    artifact = fake_archive(tmp_path)
    store.put(HANDLE, artifact.path, publisher_manifest())
    fs, key = stored(store_env, f"{HANDLE}.tar.gz")
    data = artifact.path.read_bytes()
    fs.pipe_file(key, data + change if change else data[:100])

    with pytest.raises(CorruptVersion) as refused:
        store.open_archive(HANDLE)
    size = len(data) + len(change) if change else 100
    assert str(refused.value) == (
        f"{HANDLE}: the stored archive is {size} bytes, its manifest says {artifact.bytes}"
    )


def test_a_missing_archive_is_a_damaged_version(store_env, tmp_path):
    _, _, store = store_env
    store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest())
    fs, key = stored(store_env, f"{HANDLE}.tar.gz")
    fs.rm_file(key)
    with pytest.raises(CorruptVersion, match="its archive is missing"):
        store.open_archive(HANDLE)


def test_a_manifest_naming_another_handle_is_a_damaged_version(store_env, tmp_path):
    _, _, store = store_env
    store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest())
    fs, key = stored(store_env, f"{HANDLE}.json")
    manifest = json.loads(fs.cat_file(key))
    fs.pipe_file(key, json.dumps({**manifest, "handle": "other/model/1"}).encode())
    with pytest.raises(CorruptVersion, match="is the manifest of 'other/model/1'"):
        store.get_manifest(HANDLE)


def test_republishing_identical_bytes_over_a_damaged_archive_repairs_it(store_env, tmp_path):
    _, _, store = store_env
    artifact = fake_archive(tmp_path)
    store.put(HANDLE, artifact.path, publisher_manifest())
    before = store.get_manifest(HANDLE)
    flip_a_byte(store_env)

    result = store.put(HANDLE, artifact.path, publisher_manifest())

    assert (result.created, result.repaired) == (False, True)
    assert store.get_manifest(HANDLE) == before
    with store.open_archive(HANDLE) as archive:
        assert archive.read() == artifact.path.read_bytes()
    again = store.put(HANDLE, artifact.path, publisher_manifest())
    assert (again.created, again.repaired) == (False, False)


def test_republishing_over_a_damaged_manifest_says_so(store_env, tmp_path):
    _, _, store = store_env
    artifact = fake_archive(tmp_path)
    store.put(HANDLE, artifact.path, publisher_manifest())
    fs, key = stored(store_env, f"{HANDLE}.json")
    manifest = json.loads(fs.cat_file(key))
    fs.pipe_file(key, json.dumps({**manifest, "bytes": manifest["bytes"] + 1}).encode())

    with pytest.raises(
        CorruptVersion, match=r"the manifest is damaged; see scripts/store\.py fsck"
    ):
        store.put(HANDLE, artifact.path, publisher_manifest())


def test_a_full_read_holds_its_last_chunk_until_the_sha256_matched(store_env, tmp_path):
    _, _, store = store_env
    artifact = fake_archive(tmp_path)
    store.put(HANDLE, artifact.path, publisher_manifest())
    archive = store.open_archive(HANDLE)
    flip_a_byte(store_env)  # after the check at opening, before the bytes are read

    received = b""
    with archive, pytest.raises(CorruptVersion, match="the stored archive has sha256"):
        for chunk in archive.chunks():
            received += chunk
    assert len(received) < artifact.bytes


def test_verify_reports_every_damaged_version(store_env, tmp_path):
    _, _, store = store_env
    handles = [f"test/model{index}/1" for index in range(6)]
    for index, handle in enumerate(handles):
        store.put(handle, fake_archive(tmp_path, str(index)).path, publisher_manifest())
    fs, manifest_0 = stored(store_env, f"{handles[0]}.json")
    fs.pipe_file(manifest_0, b"{not json")
    fs.rm_file(stored(store_env, f"{handles[1]}.tar.gz")[1])
    archive_2 = stored(store_env, f"{handles[2]}.tar.gz")[1]
    fs.pipe_file(archive_2, fs.cat_file(archive_2) + b"more")
    flip_a_byte(store_env, handles[3])
    fs, manifest_4 = stored(store_env, f"{handles[4]}.json")
    fs.pipe_file(manifest_4, json.dumps({"handle": handles[4]}).encode())

    report = store.verify()

    assert report.versions == 6 - 2  # two manifests do not parse
    problems = {problem.subject: problem.message for problem in report.problems}
    assert sorted(problems) == handles[:5]
    assert "is not valid JSON" in problems[handles[0]]
    assert problems[handles[1]] == f"{handles[1]}: its archive is missing (the manifest is there)"
    assert "the stored archive is " in problems[handles[2]]
    assert "the stored archive has sha256" in problems[handles[3]]
    assert "lacks sha256, bytes, published_at" in problems[handles[4]]
    assert store.verify([handles[5]]).problems == []
    missing = store.verify(["test/absent/1"]).problems
    assert [str(problem) for problem in missing] == ["test/absent/1: not published in this store"]


def test_fsck_reports_leftovers_and_stale_locks_and_clean_removes_them(store_env, tmp_path):
    store = store_env[2]
    store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest())
    fs, partial = stored(store_env, f"{HANDLE}.tar.gz.partial-dead")
    fs.pipe_file(partial, b"half")
    orphan = stored(store_env, "test/orphan/1.tar.gz")[1]
    fs.makedirs(orphan.rsplit("/", 1)[0], exist_ok=True)
    fs.pipe_file(orphan, b"an archive whose manifest was never written")
    stale = {"host": "gone", "pid": 7, "token": "t", "since": "2020-01-01T00:00:00Z"}
    fs.pipe_file(
        stored(store_env, "test/orphan/1.lock")[1],
        json.dumps({**stale, "refreshed": stale["since"]}).encode(),
    )
    live = store.lock("test/busy/1")
    try:
        fs.pipe_file(stored(store_env, "test/busy/1.tar.gz.partial-live")[1], b"uploading")

        report = store.fsck()

        assert report.versions == 1
        problems = sorted(map(str, report.problems))
        assert problems[:2] == [
            f"{HANDLE}.tar.gz.partial-dead: file left by an interrupted publish of {HANDLE}",
            "test/orphan/1.tar.gz: archive without a manifest left by an interrupted publish "
            "of test/orphan/1",
        ]
        assert problems[2].startswith("test/orphan/1: stale lock: not refreshed for ")
        assert len(problems) == 3
        assert [note.subject for note in report.notes] == ["test/busy/1"]
        assert report.notes[0].message.startswith("publish in progress: lock held by pid ")

        cleaned = store.fsck(clean=True)

        assert cleaned.problems == []
        assert sorted(note.message.split(":")[0] for note in cleaned.notes) == [
            "publish in progress",
            "removed archive without a manifest left by an interrupted publish of test/orphan/1",
            f"removed file left by an interrupted publish of {HANDLE}",
            "removed stale lock",
        ]
        assert store.fsck().problems == []
        fs.invalidate_cache()
        assert fs.exists(stored(store_env, "test/busy/1.tar.gz.partial-live")[1])
        assert store.lock_info("test/orphan/1") is None
    finally:
        live.release()
    assert store.verify().problems == []


def test_a_stale_unreadable_lock_is_a_problem_for_fsck(store_env):
    _, _, store = store_env
    fs, key = stored(store_env, f"{HANDLE}.lock")
    fs.makedirs(key.rsplit("/", 1)[0], exist_ok=True)
    fs.pipe_file(key, b"")
    aged = Store(store._fs, store._root, store.url, LockPolicy(unreadable_grace_seconds=-1))
    problems = [str(problem) for problem in aged.fsck().problems]
    assert len(problems) == 1
    assert re.fullmatch(
        f"{HANDLE}: stale lock: the lock file is empty or unreadable and \\d+ s old", problems[0]
    )


def test_unknown_versions_cannot_be_opened(store):
    with pytest.raises(HubzooError, match="no published module"):
        store.open_archive(HANDLE)
