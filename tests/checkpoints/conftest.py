"""Fixtures for checkpoint-source tests: a real HTTP server on loopback (well-behaved and
hostile routes) and small real tarballs."""

from __future__ import annotations

import io
import select
import socket
import tarfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# A TensorFlow table file (checkpoint .index, single-file checkpoint) ends in this 48-byte footer.
TABLE_FOOTER = bytes(40) + (0xDB4775248B80FB57).to_bytes(8, "little")
# How long and how much a hostile route sends if its client never leaves, and its pace.
HOSTILE_ROUTE_S = 60.0
HOSTILE_ROUTE_BYTES = 64 << 20
TRICKLE_INTERVAL_S = 0.05


def write_fake_checkpoint(prefix: Path, payload: bytes = b"weights", shards: int = 1) -> Path:
    """Write `prefix.index` (with a table footer) and its data shards; return `prefix`."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    prefix.with_name(prefix.name + ".index").write_bytes(b"index of " + payload + TABLE_FOOTER)
    for shard in range(shards):
        name = f"{prefix.name}.data-{shard:05d}-of-{shards:05d}"
        prefix.with_name(name).write_bytes(payload + bytes([shard]))
    return prefix


def fake_checkpoint_files(
    name: str = "model.ckpt", payload: bytes = b"weights"
) -> dict[str, bytes]:
    """The files of a one-shard fake checkpoint with prefix `name`, as tarball members."""
    return {
        f"{name}.index": b"index of " + payload + TABLE_FOOTER,
        f"{name}.data-00000-of-00001": payload + b"\0",
    }


def build_tarball(
    files: dict[str, bytes], extra: tuple[tarfile.TarInfo, ...] = (), mode: str = "w:gz"
) -> bytes:
    """A tarball in memory: `files` as regular members, then the header-only `extra` members."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_500_000_000
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return buffer.getvalue()


@dataclass
class FileServer:
    """A real HTTP server on 127.0.0.1 serving `routes`; counts the requests per path."""

    port: int
    routes: dict[str, bytes] = field(default_factory=dict)
    requests: Counter = field(default_factory=Counter)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        state = self.server.state
        state.requests[self.path] += 1
        if self.path == "/status500":
            self.send_error(500, "Internal Server Error")
        elif self.path == "/hang.tar.gz":
            time.sleep(3)
        elif self.path == "/cut-short.tar.gz":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"only a little")
            self.close_connection = True
        elif self.path.startswith("/trickle/"):  # one byte at a time, never all of them
            self._start_body(length=1_000_000)
            self._keep_writing(b"x", TRICKLE_INTERVAL_S)
        elif self.path.startswith("/stall/"):  # headers, then silence
            self._start_body(length=1_000)
            select.select([self.connection], [], [], HOSTILE_ROUTE_S)
        elif self.path.startswith("/slow-headers/"):  # a header that never ends
            self.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
            self._keep_writing(b"x", TRICKLE_INTERVAL_S)
        elif self.path.startswith("/endless/"):  # no Content-Length, bytes without end
            self._start_body(length=None)
            self._keep_writing(bytes(1 << 16), 0)
        elif self.path.startswith("/huge/"):  # declares 1.5 GB and would send them
            self._start_body(length=1_500_000_000)
            self._keep_writing(bytes(1 << 16), 0)
        elif self.path in state.routes:
            body = state.routes[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404, "Not Found")

    def _start_body(self, length: int | None) -> None:
        self.send_response(200)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _keep_writing(self, data: bytes, interval: float) -> None:
        """Send `data` every `interval` seconds until the client leaves (or the route's time or
        bytes run out, so that a client without limits cannot fill the disk)."""
        deadline = time.monotonic() + HOSTILE_ROUTE_S
        sent = 0
        try:
            while time.monotonic() < deadline and sent < HOSTILE_ROUTE_BYTES:
                sent += self.wfile.write(data)
                time.sleep(interval)
        except OSError:
            pass  # the client left
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: FileServer


@pytest.fixture(scope="session")
def http_server() -> Iterator[FileServer]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = FileServer(port=server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.state
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
