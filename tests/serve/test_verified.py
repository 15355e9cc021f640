"""The server sends verified bytes with headers from verified values, over every kind of store."""

import base64
import hashlib
import http.client
import json
import logging
from email.utils import parsedate_to_datetime

import pytest

from hubzoo.serve import IMMUTABLE, serve
from hubzoo.store import open_store
from tests.serve.conftest import running
from tests.store.helpers import fake_archive, publisher_manifest, raw_fs
from tests.store.servers import BUCKET, start_gcs_emulator, start_moto

HANDLE = "test/fake/feature_vector/1"


def get(port: int, path: str, method: str = "GET", headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


@pytest.fixture
def published(served_store, tmp_path):
    """served_store with HANDLE published (an archive of about 5 KB)."""
    artifact = fake_archive(tmp_path, noise=5000)
    served_store.store.put(HANDLE, artifact.path, publisher_manifest())
    return served_store, artifact


def rewrite(served_store, name: str, change) -> None:
    """Replace stored file `name` by change(its bytes), behind the store's back."""
    fs, key = raw_fs(f"{served_store.url}/{name}", served_store.options)
    fs.invalidate_cache()
    fs.pipe_file(key, change(fs.cat_file(key)))


def rewrite_manifest(served_store, **fields) -> None:
    def change(raw: bytes) -> bytes:
        manifest = {**json.loads(raw), **fields}
        return json.dumps({k: v for k, v in manifest.items() if v is not None}).encode()

    rewrite(served_store, f"{HANDLE}.json", change)


@pytest.mark.parametrize("path", [f"/{HANDLE}.tar.gz", f"/{HANDLE}?tf-hub-format=compressed"])
def test_archive_headers_come_from_verified_values(published, path):
    served, artifact = published
    manifest = served.store.get_manifest(HANDLE)

    response = get(served.port, path)

    assert response.status == 200
    assert response.body == artifact.path.read_bytes()
    digest = base64.b64encode(hashlib.sha256(response.body).digest()).decode()
    assert response.getheader("Repr-Digest") == f"sha-256=:{digest}:"
    assert response.getheader("ETag") == f'"{artifact.sha256}"'
    assert response.getheader("Content-Length") == str(artifact.bytes)
    assert response.getheader("Cache-Control") == IMMUTABLE == "public, max-age=31536000, immutable"
    assert response.getheader("Accept-Ranges") == "bytes"
    modified = parsedate_to_datetime(response.getheader("Last-Modified"))
    assert modified == manifest.published_time


def test_the_manifest_is_served_beside_the_archive(published):
    served, artifact = published
    response = get(served.port, f"/{HANDLE}.json")
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/json"
    assert response.getheader("Cache-Control") == IMMUTABLE
    assert json.loads(response.body) == served.store.get_manifest(HANDLE).to_json()
    assert json.loads(response.body)["sha256"] == artifact.sha256
    missing = get(served.port, "/test/fake/feature_vector/2.json")
    assert (missing.status, missing.body) == (
        404,
        b"no published module test/fake/feature_vector/2\n",
    )


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_bytes_changed_in_place_are_refused_and_logged(published, method, caplog):
    served, artifact = published
    assert get(served.port, f"/{HANDLE}.tar.gz").status == 200  # verified once, then changed
    rewrite(
        served, f"{HANDLE}.tar.gz", lambda data: data[:100] + bytes([data[100] ^ 1]) + data[101:]
    )
    caplog.set_level(logging.ERROR, logger="hubzoo.serve")

    response = get(served.port, f"/{HANDLE}.tar.gz", method)

    assert response.status == 500
    assert response.getheader("ETag") is None and response.getheader("Repr-Digest") is None
    assert response.body == (
        b"refusing to serve a damaged version; the server's log says why\n"
        if method == "GET"
        else b""
    )
    assert (
        f"refusing to serve a damaged version: {HANDLE}: the stored archive has sha256"
        in caplog.text
    )
    assert f"its manifest says {artifact.sha256}" in caplog.text


def test_a_manifest_claiming_fewer_bytes_gives_no_short_body(published):
    served, artifact = published
    rewrite_manifest(served, bytes=artifact.bytes - 1000)
    response = get(served.port, f"/{HANDLE}.tar.gz")
    assert response.status == 500
    assert response.body == b"refusing to serve a damaged version; the server's log says why\n"


@pytest.mark.parametrize(
    "fields",
    [
        {"bytes": "295\r\nX-Injected: yes"},
        {"sha256": "ab\r\nX-Injected: yes"},
        {"published_at": "2026-11-24T00:00:00Z\r\nX-Injected: yes"},
        {"sha256": None},
        {"bytes": None},
        {"published_at": None},
    ],
)
def test_bad_manifest_fields_are_a_500_and_reach_no_header(published, fields, caplog):
    served, _ = published
    rewrite_manifest(served, **fields)
    caplog.set_level(logging.ERROR, logger="hubzoo.serve")
    for path in [f"/{HANDLE}.tar.gz", f"/{HANDLE}?tf-hub-format=compressed", f"/{HANDLE}.json"]:
        response = get(served.port, path)
        assert response.status == 500
        assert response.getheader("X-Injected") is None
        assert response.body == b"refusing to serve a damaged version; the server's log says why\n"
    assert "\r" not in caplog.text


@pytest.mark.parametrize(
    ("requested", "status", "content_range", "part"),
    [
        ("bytes=0-9", 206, "bytes 0-9/{size}", slice(0, 10)),
        ("bytes=100-", 206, "bytes 100-{last}/{size}", slice(100, None)),
        ("bytes=-10", 206, "bytes {tail}-{last}/{size}", slice(-10, None)),
        ("bytes=10-999999", 206, "bytes 10-{last}/{size}", slice(10, None)),
        ("bytes=0-0", 206, "bytes 0-0/{size}", slice(0, 1)),
        ("bytes=99999999-", 416, "bytes */{size}", None),
        ("bytes=-0", 416, "bytes */{size}", None),
        ("bytes=0-1,5-6", 200, None, slice(None)),
        ("bytes=9-1", 200, None, slice(None)),
        ("items=0-9", 200, None, slice(None)),
        ("bytes=" + "9" * 5000 + "-", 200, None, slice(None)),
    ],
)
def test_range_requests(published, requested, status, content_range, part):
    served, artifact = published
    data, size = artifact.path.read_bytes(), artifact.bytes
    response = get(served.port, f"/{HANDLE}.tar.gz", headers={"Range": requested})
    assert response.status == status
    expected_range = content_range and content_range.format(
        size=size, last=size - 1, tail=size - 10
    )
    assert response.getheader("Content-Range") == expected_range
    if part is not None:
        assert response.body == data[part]
        assert response.getheader("Content-Length") == str(len(data[part]))
        assert response.getheader("ETag") == f'"{artifact.sha256}"'


def test_if_range_with_another_validator_gets_the_whole_archive(published):
    served, artifact = published
    matching = {"Range": "bytes=0-9", "If-Range": f'"{artifact.sha256}"'}
    assert get(served.port, f"/{HANDLE}.tar.gz", headers=matching).status == 206
    other = {"Range": "bytes=0-9", "If-Range": '"' + "0" * 64 + '"'}
    response = get(served.port, f"/{HANDLE}.tar.gz", headers=other)
    assert (response.status, response.body) == (200, artifact.path.read_bytes())


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"If-None-Match": '"{sha256}"'}, 304),
        ({"If-None-Match": 'W/"{sha256}", "x"'}, 304),
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": '"other"'}, 200),
        ({"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}, 304),
        ({"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}, 200),
        ({"If-Modified-Since": "not a date"}, 200),
    ],
)
def test_conditional_requests(published, headers, status):
    served, artifact = published
    filled = {name: value.format(sha256=artifact.sha256) for name, value in headers.items()}
    response = get(served.port, f"/{HANDLE}.tar.gz", headers=filled)
    assert response.status == status
    if status == 304:
        assert response.body == b""
        assert response.getheader("ETag") == f'"{artifact.sha256}"'


def test_an_unreachable_s3_store_is_a_503(tmp_path, caplog):
    moto, options = start_moto()
    store = open_store(f"s3://{BUCKET}/gone", storage_options=options)
    moto.stop()
    caplog.set_level(logging.ERROR, logger="hubzoo.serve")
    with running(store, None) as port:
        response = get(port, f"/{HANDLE}?tf-hub-format=compressed")
    assert response.status == 503
    assert response.body == b"the store is unavailable; the server's log says why\n"
    assert "the store is unavailable: store s3://hubzoo-test/gone: " in caplog.text
    assert "Could not connect to the endpoint URL" in caplog.text


def test_an_unreachable_gcs_store_is_a_503(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("HUBZOO_STORE_TIMEOUT", "2")
    emulator, options = start_gcs_emulator()
    store = open_store(f"gs://{BUCKET}/gone", storage_options=options)
    emulator.stop()
    caplog.set_level(logging.ERROR, logger="hubzoo.serve")
    with running(store, None) as port:
        response = get(port, f"/{HANDLE}.tar.gz")
    assert response.status == 503
    assert "store gs://hubzoo-test/gone: reading the manifest of " in caplog.text
    assert "no answer within 2 s" in caplog.text


def test_serving_binds_loopback_only(tmp_path):
    server = serve(open_store(str(tmp_path / "s")), None, 0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()
