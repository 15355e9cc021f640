"""The consumer helper downloads a module by URL, verifies it against its manifest and caches it:
against the real server, a plain static host of the store's layout, and file:// URLs."""

import functools
import http.server
import io
import json
import logging
import re
import shutil
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest

from hubzoo.consumer import FetchLimits, fetch_module
from hubzoo.errors import HubzooError
from hubzoo.paths import REPO_ROOT
from hubzoo.store import open_store
from tests.serve.conftest import HANDLE
from tests.store.helpers import FAKE_MODULE_FILES, fake_archive, publisher_manifest

SCRIPT = REPO_ROOT / "scripts" / "fetch_module.py"


def module_files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


@pytest.fixture
def static_host(tmp_path):
    """A copy of a store with HANDLE, served by Python's plain static file server."""
    root = tmp_path / "static"
    store = open_store(str(root))
    artifact = fake_archive(tmp_path, noise=3000)
    store.put(HANDLE, artifact.path, publisher_manifest())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}", artifact
    server.shutdown()
    server.server_close()
    thread.join()


def test_fetch_from_the_server_verifies_unpacks_and_caches(served, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="hubzoo.serve")
    cache = tmp_path / "cache"

    folder = fetch_module(f"{served.base_url}/{HANDLE}", cache)

    assert folder == cache / served.artifact.sha256
    assert module_files(folder) == FAKE_MODULE_FILES
    assert [path.name for path in cache.iterdir()] == [served.artifact.sha256]
    assert caplog.text.count(f"GET /{HANDLE}.tar.gz") == 1

    assert fetch_module(f"{served.base_url}/{HANDLE}/", cache) == folder
    assert caplog.text.count(f"GET /{HANDLE}.json") == 2
    assert caplog.text.count(f"GET /{HANDLE}.tar.gz") == 1, "the cached module is not fetched"


def test_fetch_works_against_a_static_host_and_file_urls(static_host, tmp_path):
    root, base, artifact = static_host
    from_http = fetch_module(f"{base}/{HANDLE}", tmp_path / "a")
    from_file = fetch_module(f"file://{root}/{HANDLE}.tar.gz", tmp_path / "b")
    assert from_http.name == from_file.name == artifact.sha256
    assert module_files(from_http) == module_files(from_file)


def edit(root: Path, name: str, change) -> None:
    path = root / name
    path.write_bytes(change(path.read_bytes()))


def manifest_with(**fields):
    return lambda raw: json.dumps({**json.loads(raw), **fields}).encode()


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        (
            f"{HANDLE}.tar.gz",
            lambda data: data[:-1] + bytes([data[-1] ^ 1]),
            f"/{HANDLE}.tar.gz: sha256 ",
        ),
        (f"{HANDLE}.tar.gz", lambda data: data + b"x", "the server sends "),
        (f"{HANDLE}.json", manifest_with(bytes=10), "the server sends "),
        (
            f"{HANDLE}.json",
            manifest_with(handle="test/other/1"),
            "is the manifest of 'test/other/1'",
        ),
        (f"{HANDLE}.json", manifest_with(sha256="0" * 63), "sha256 is not a sha256 hex digest"),
        (f"{HANDLE}.json", lambda raw: b"{" * 10, "is not valid JSON"),
        (f"{HANDLE}.json", lambda raw: b" " * (2 << 20), "is larger than 1.0 MB"),
    ],
)
def test_a_module_that_does_not_match_its_manifest_is_refused_and_not_cached(
    static_host, tmp_path, name, change, message
):
    root, base, _ = static_host
    edit(root, name, change)
    with pytest.raises(HubzooError) as refused:
        fetch_module(f"{base}/{HANDLE}", tmp_path / "cache")
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "cache").exists() or list((tmp_path / "cache").iterdir()) == []


def test_an_unsafe_archive_is_refused_even_with_a_matching_manifest(static_host, tmp_path):
    root, base, _ = static_host
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w:gz") as tar:
        member = tarfile.TarInfo("../../escaped.txt")
        member.size = 4
        tar.addfile(member, io.BytesIO(b"evil"))
    store = open_store(str(tmp_path / "evil-store"))
    (tmp_path / "evil.tar.gz").write_bytes(evil.getvalue())
    store.put(HANDLE, tmp_path / "evil.tar.gz", publisher_manifest())
    shutil.copy(tmp_path / "evil-store" / f"{HANDLE}.tar.gz", root / f"{HANDLE}.tar.gz")
    shutil.copy(tmp_path / "evil-store" / f"{HANDLE}.json", root / f"{HANDLE}.json")

    with pytest.raises(HubzooError, match=re.escape("unsafe member '../../escaped.txt'")):
        fetch_module(f"{base}/{HANDLE}", tmp_path / "cache" / "modules")
    assert list((tmp_path / "cache" / "modules").iterdir()) == []
    assert (
        not (tmp_path / "escaped.txt").exists()
        and not (tmp_path / "cache" / "escaped.txt").exists()
    )


def test_a_manifest_too_large_for_the_limits_is_refused_before_downloading(static_host, tmp_path):
    _, base, artifact = static_host
    with pytest.raises(HubzooError, match="more than the 1000 B allowed"):
        fetch_module(f"{base}/{HANDLE}", tmp_path / "cache", FetchLimits(max_bytes=1000))
    assert list((tmp_path / "cache").glob("*")) == []
    assert artifact.bytes > 1000


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/a/b/1", "is not a module URL"),
        ("http://127.0.0.1:9/a/b/1", "cannot reach http://127.0.0.1:9/a/b/1.json: "),
        ("http://127.0.0.1:{port}/test/none/1", "/test/none/1.json: HTTP 404 Not Found"),
        ("http://127.0.0.1:{port}/test/none/1?x=1", "is not a module URL"),
    ],
)
def test_bad_urls_are_one_line(served, tmp_path, url, message):
    with pytest.raises(HubzooError) as refused:
        fetch_module(url.format(port=served.port), tmp_path / "cache")
    assert message in str(refused.value)


def test_a_server_that_stops_sending_times_out(tmp_path):
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(60)
    port = listener.getsockname()[1]

    def answer_then_stall() -> None:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        connection.recv(65536)
        connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n{")
        stop.wait(30)
        connection.close()

    stop = threading.Event()
    thread = threading.Thread(target=answer_then_stall, daemon=True)
    thread.start()
    try:
        with pytest.raises(HubzooError, match=re.escape("/a/b/1.json: no data for 1 s")):
            fetch_module(f"http://127.0.0.1:{port}/a/b/1", tmp_path, FetchLimits(read_timeout=1))
    finally:
        stop.set()
        listener.close()
        thread.join()


def test_the_cli_prints_the_folder_or_one_line(served, tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), f"{served.base_url}/{HANDLE}", "--cache", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (0, f"{tmp_path / served.artifact.sha256}\n")
    failed = subprocess.run(
        [sys.executable, str(SCRIPT), f"{served.base_url}/test/none/1", "--cache", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode == 1
    assert failed.stderr == (
        f"fetch_module: {served.base_url}/test/none/1.json: HTTP 404 Not Found\n"
    )
