"""The store on a local folder, on S3 (moto server on loopback, through s3fs) and memory://."""

import dataclasses
import json
import re
import threading

import pytest

from hubzoo.errors import HubzooError
from hubzoo.handles import is_handle
from hubzoo.manifest import Manifest
from hubzoo.paths import DEFAULT_STORE_DIR
from hubzoo.store import open_store
from tests.store.helpers import fake_archive, publisher_manifest, raw_fs

HANDLE = "google/imagenet/inception_v1/feature_vector/1"


def test_put_publishes_archive_and_manifest(store, tmp_path):
    artifact = fake_archive(tmp_path)

    result = store.put(HANDLE, artifact.path, publisher_manifest())

    assert result.created
    assert (result.handle, result.sha256, result.bytes) == (HANDLE, artifact.sha256, artifact.bytes)
    assert result.url == store.archive_url(HANDLE)
    assert result.url.endswith(f"{HANDLE}.tar.gz")
    manifest = store.get_manifest(HANDLE)
    assert manifest.to_json() == {
        **dataclasses.asdict(publisher_manifest()),
        "handle": HANDLE,
        "sha256": artifact.sha256,
        "bytes": artifact.bytes,
        "published_at": manifest.published_at,
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", manifest.published_at)
    with store.open_archive(HANDLE) as archive:
        assert archive.read() == artifact.path.read_bytes()
    assert store.list_manifests() == [manifest]


def test_store_layout_is_archive_beside_sorted_json_manifest(store_env, tmp_path):
    url, options, store = store_env
    store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest())
    fs, root = raw_fs(f"{url}/{HANDLE}", options)
    manifest_bytes = fs.cat_file(root + ".json")
    manifest = json.loads(manifest_bytes)
    assert manifest_bytes.decode() == json.dumps(manifest, sort_keys=True, indent=2) + "\n"
    assert sorted(p.rsplit("/", 1)[1] for p in fs.ls(root.rsplit("/", 1)[0], detail=False)) == [
        "1.json",
        "1.tar.gz",
    ]


def test_republishing_identical_bytes_is_a_no_op(store, tmp_path):
    artifact = fake_archive(tmp_path)
    store.put(HANDLE, artifact.path, publisher_manifest())
    before = store.get_manifest(HANDLE)

    again = store.put(HANDLE, artifact.path, publisher_manifest(smoke={"passed": "other"}))

    assert not again.created
    assert (again.sha256, again.bytes) == (artifact.sha256, artifact.bytes)
    assert store.get_manifest(HANDLE) == before


def test_republishing_different_bytes_is_refused(store, tmp_path):
    first = fake_archive(tmp_path)
    store.put(HANDLE, first.path, publisher_manifest())

    with pytest.raises(HubzooError) as refused:
        store.put(HANDLE, fake_archive(tmp_path, "changed").path, publisher_manifest())

    assert str(refused.value) == (
        f"{HANDLE}: version exists with sha256 {first.sha256}; versions are immutable; "
        "publish a new version"
    )
    with store.open_archive(HANDLE) as archive:
        assert archive.read() == first.path.read_bytes()
    assert store.put(
        HANDLE.replace("/1", "/2"), fake_archive(tmp_path, "changed").path, publisher_manifest()
    ).created


@pytest.mark.parametrize(
    "handle",
    [
        "",
        "google/1",
        "Google/imagenet/1",
        "google/imagenet/latest",
        "google/imagenet/01",
        "google/imagenet/0",
        "google/../imagenet/1",
        "google/imagenet/../1",
        "/google/imagenet/1",
        "google//imagenet/1",
        "google/imagenet/1/",
        "google/.hidden/1",
        "google/ima genet/1",
        "google/imagenet/-1",
    ],
)
def test_malformed_handles_are_refused(store, tmp_path, handle):
    assert not is_handle(handle)
    with pytest.raises(HubzooError, match="invalid module handle"):
        store.put(handle, fake_archive(tmp_path).path, publisher_manifest())
    with pytest.raises(HubzooError, match="invalid module handle"):
        store.get_manifest(handle)
    assert store.list_manifests() == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"format": "tf1"}, "format 'tf1' is not one of hub, saved_model_2"),
        ({"checkpoint_sha256": "abc"}, "checkpoint_sha256 must be a sha256"),
        ({"smoke": "ok"}, "smoke must be a mapping"),
    ],
)
def test_wrong_manifest_fields_are_refused(tmp_path, overrides, message):
    store = open_store(str(tmp_path / "store"))
    with pytest.raises(HubzooError, match=re.escape(message)):
        store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest(**overrides))
    assert store.get_manifest(HANDLE) is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sha256": "0" * 63}, "sha256 is not a sha256 hex digest"),
        ({"bytes": "1"}, "bytes must be a non-negative integer"),
        ({"handle": 7}, "handle must be a string"),
    ],
)
def test_wrong_manifest_files_are_refused_when_read(overrides, message):
    written = {
        **dataclasses.asdict(publisher_manifest()),
        "handle": HANDLE,
        "sha256": "0" * 64,
        "bytes": 1,
        "published_at": "2026-11-24T00:00:00Z",
    }
    assert Manifest.from_json(written, "m.json").to_json() == written
    with pytest.raises(HubzooError, match=re.escape(message)):
        Manifest.from_json({**written, **overrides}, "m.json")


def test_missing_manifest_fields_are_named():
    manifest = {**dataclasses.asdict(publisher_manifest()), "handle": HANDLE}
    del manifest["record_digest"], manifest["smoke"]
    with pytest.raises(
        HubzooError, match="lacks sha256, bytes, published_at, record_digest, smoke"
    ):
        Manifest.from_json(manifest, "m.json")


def test_unknown_versions_are_absent(store):
    assert store.get_manifest(HANDLE) is None
    assert store.list_manifests() == []
    with pytest.raises(HubzooError, match=f"no published module {HANDLE} in store"):
        store.open_archive(HANDLE)


def test_leftovers_of_an_interrupted_publish_are_invisible_and_cleaned_up(store_env, tmp_path):
    url, options, store = store_env
    artifact = fake_archive(tmp_path)
    fs, key = raw_fs(f"{url}/{HANDLE}.tar.gz", options)
    fs.makedirs(key.rsplit("/", 1)[0], exist_ok=True)
    fs.pipe_file(key, b"half an archive")
    fs.pipe_file(key + ".partial-0123", b"half")
    fs.pipe_file(key.removesuffix(".tar.gz") + ".json.partial-0123", b"{")

    assert store.get_manifest(HANDLE) is None
    assert store.list_manifests() == []

    assert store.put(HANDLE, artifact.path, publisher_manifest()).created
    fs.invalidate_cache()
    assert sorted(p.rsplit("/", 1)[1] for p in fs.ls(key.rsplit("/", 1)[0], detail=False)) == [
        "1.json",
        "1.tar.gz",
    ]
    with store.open_archive(HANDLE) as archive:
        assert archive.read() == artifact.path.read_bytes()


def test_list_manifests_returns_every_published_version_sorted(store, tmp_path):
    handles = ["z/model/1", "a/model/10", "a/model/2", "a/deeper/name/3"]
    for index, handle in enumerate(handles):
        store.put(handle, fake_archive(tmp_path, str(index)).path, publisher_manifest())
    assert [m.handle for m in store.list_manifests()] == sorted(handles)


def test_concurrent_publishes_of_one_handle_have_one_winner(shared_store, tmp_path):
    _, _, store = shared_store
    archives = [fake_archive(tmp_path, str(index)).path for index in range(4)]
    barrier = threading.Barrier(len(archives))
    outcomes: dict[int, object] = {}

    def publish(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = store.put(HANDLE, archives[index], publisher_manifest())
        except HubzooError as error:
            outcomes[index] = error

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(len(archives))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [i for i, outcome in outcomes.items() if not isinstance(outcome, HubzooError)]
    assert len(winners) == 1
    for index, outcome in outcomes.items():
        if index != winners[0]:
            assert re.search("another publish holds its lock|versions are immutable", str(outcome))
    manifest = store.get_manifest(HANDLE)
    assert manifest.sha256 == outcomes[winners[0]].sha256
    with store.open_archive(HANDLE) as archive:
        assert archive.read() == archives[winners[0]].read_bytes()


def test_open_store_defaults_to_the_repository_store_folder():
    assert open_store().url == str(DEFAULT_STORE_DIR)


def test_open_store_accepts_file_urls_and_refuses_unknown_protocols(tmp_path):
    assert open_store(f"file://{tmp_path}/s").url == f"{tmp_path}/s"
    with pytest.raises(HubzooError, match="cannot open store nosuchfs://x"):
        open_store("nosuchfs://x")


def test_open_store_on_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(HubzooError, match="cannot open store"):
        open_store(str(tmp_path / "file"))
