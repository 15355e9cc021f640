"""The dev server's deployment routes, on a store holding a packed deployment folder: files by
path (with TF.js's `?tfjs-format=file`), a TF Lite model by `?lite-format=tflite`, only after the
archive is verified, with the version's immutable headers."""

import urllib.error
import urllib.request

import pytest

from hubzoo.contract import LITE, TFJS
from hubzoo.errors import HubzooError
from hubzoo.manifest import SYNTHETIC, BuildFacts
from hubzoo.package import package_module, unpack_artifact
from hubzoo.store import open_store
from tests.serve.conftest import running

TFJS_HANDLE = "google/imagenet/toy/feature_vector/1/default/tfjs/1"
LITE_HANDLE = "google/imagenet/toy/feature_vector/1/default/lite/1"
MODEL_JSON = b'{"format": "graph-model"}'
SHARD = bytes(range(256)) * 64
TFLITE = b"\x1c\x00\x00\x00TFL3" + bytes(100)


def build(artifact_format: str) -> BuildFacts:
    return BuildFacts(artifact_format, "0" * 64, SYNTHETIC, "test", "none", {})


@pytest.fixture
def store(tmp_path):
    store = open_store(str(tmp_path / "store"))
    tfjs = tmp_path / "tfjs"
    tfjs.mkdir()
    (tfjs / "model.json").write_bytes(MODEL_JSON)
    (tfjs / "group1-shard1of1.bin").write_bytes(SHARD)
    lite = tmp_path / "lite"
    lite.mkdir()
    (lite / "model.tflite").write_bytes(TFLITE)
    for handle, folder, kind in ((TFJS_HANDLE, tfjs, TFJS), (LITE_HANDLE, lite, LITE)):
        archive = package_module(folder, tmp_path / f"{kind}.tar.gz", kind)
        store.put(handle, archive.path, build(kind))
    return store


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_tfjs_files_are_served_as_tfjs_asks_for_them(store):
    with running(store, None) as port:
        base = f"http://127.0.0.1:{port}/{TFJS_HANDLE}"
        status, headers, body = get(f"{base}/model.json?tfjs-format=file")
        assert (status, body) == (200, MODEL_JSON)
        assert headers["Content-Type"] == "application/json"
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert "immutable" in headers["Cache-Control"]
        assert get(f"{base}/group1-shard1of1.bin?tfjs-format=file")[::2] == (200, SHARD)
        assert get(f"{base}/group1-shard1of1.bin", {"Range": "bytes=10-19"})[::2] == (
            206,
            SHARD[10:20],
        )
        etag = headers["ETag"]
        assert get(f"{base}/model.json", {"If-None-Match": etag})[0] == 304
        assert get(f"{base}/model.tflite")[0] == 404
        assert get(f"{base}?lite-format=tflite")[0] == 404


def test_a_lite_model_is_served_by_query_and_by_path(store):
    with running(store, None) as port:
        base = f"http://127.0.0.1:{port}/{LITE_HANDLE}"
        assert get(f"{base}?lite-format=tflite")[::2] == (200, TFLITE)
        assert get(f"{base}/model.tflite")[::2] == (200, TFLITE)
        assert get(f"{base}?lite-format=other")[0] == 400
        assert get(f"http://127.0.0.1:{port}/{LITE_HANDLE[:-1]}9?lite-format=tflite")[0] == 404


def test_a_damaged_deployment_is_not_served(store, tmp_path):
    archive = tmp_path / "store" / f"{TFJS_HANDLE}.tar.gz"
    data = bytearray(archive.read_bytes())
    data[-20] ^= 0xFF
    archive.write_bytes(bytes(data))
    with running(store, None) as port:
        status, _, body = get(f"http://127.0.0.1:{port}/{TFJS_HANDLE}/model.json?tfjs-format=file")
    assert status == 500 and MODEL_JSON not in body


def test_a_deployment_folder_holds_only_its_format_files(tmp_path):
    folder = tmp_path / "tfjs"
    folder.mkdir()
    (folder / "model.json").write_bytes(MODEL_JSON)
    (folder / "notes.txt").write_text("no")
    with pytest.raises(HubzooError, match=r"may not hold: notes\.txt"):
        package_module(folder, tmp_path / "a.tar.gz", TFJS)
    (folder / "notes.txt").unlink()
    archive = package_module(folder, tmp_path / "a.tar.gz", TFJS)
    with pytest.raises(HubzooError, match="is not a lite deployment file"):
        unpack_artifact(archive.path, tmp_path / "out", artifact_format=LITE)
    assert (
        unpack_artifact(archive.path, tmp_path / "ok", artifact_format=TFJS) / "model.json"
    ).read_bytes() == MODEL_JSON
