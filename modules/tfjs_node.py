"""TF.js in Node: a graph model loaded by URL from a loopback HTTP server, as a web page loads it.

`FolderServer` serves a folder under a URL path on 127.0.0.1 and records every request;
`NodeGraphModel` starts `tfjs/run_graph_model.js`, which calls
`tf.loadGraphModel(url, {fromTFHub: true})` (so it requests `URL/model.json?tfjs-format=file`,
then each weight shard with the same query) and then runs predict requests sent over its stdin.
"""

from __future__ import annotations

import functools
import http.server
import io
import json
import struct
import subprocess
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Any, BinaryIO, Self

import numpy as np

from hubzoo.errors import HubzooError
from hubzoo.toolchains import NODE_RUNNER, TFJS_DIR, NodePackages

DEFAULT_BACKEND = "wasm"
"""TF.js's WebAssembly backend: a pure npm package that runs here (SIMD, one thread in Node),
15-27 x faster than the plain JavaScript "cpu" backend on inception_v1; tfjs-node's native
backend cannot be installed on these machines."""
BACKENDS = ("wasm", "cpu")


class _FolderHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the server's folder under its URL path (query strings ignored); records each
    request on the server instead of logging it to stderr."""

    server: FolderServer

    def send_head(self) -> io.BytesIO | BinaryIO | None:
        prefix = self.server.path_prefix
        if not self.path.startswith(prefix + "/"):
            self.send_error(404, "not served here")
            return None
        return super().send_head()

    def translate_path(self, path: str) -> str:
        return super().translate_path(path[len(self.server.path_prefix) :])

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.server.requests.append((self.path, int(code)))

    def log_message(self, format: str, *args: Any) -> None:
        """Nothing goes to stderr."""


class _ClosedOnExit:
    """A `with` block ends by calling the object's `close()`."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class FolderServer(_ClosedOnExit, http.server.ThreadingHTTPServer):
    """A plain static HTTP server on 127.0.0.1 (a free port) for one folder, at `url`."""

    def __init__(self, folder: Path, path_prefix: str = "") -> None:
        self.folder = Path(folder)
        self.path_prefix = "/" + path_prefix.strip("/") if path_prefix.strip("/") else ""
        self.requests: list[tuple[str, int]] = []
        """(path with query, HTTP status) of every request answered, in order."""
        handler = functools.partial(_FolderHandler, directory=str(self.folder))
        super().__init__(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The folder's URL, without a trailing slash."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}{self.path_prefix}"

    def close(self) -> None:
        """Stop serving and free the port."""
        self.shutdown()
        self.server_close()


class NodeGraphModel(_ClosedOnExit):
    """A TF.js graph model loaded by URL in a Node process of its own; `predict` runs it."""

    def __init__(self, url: str, backend: str = DEFAULT_BACKEND) -> None:
        if backend not in BACKENDS:
            raise HubzooError(
                f"TF.js backend must be one of {', '.join(BACKENDS)}, not {backend!r}"
            )
        node = NodePackages().require()
        self.url = url
        self.process = subprocess.Popen(
            [str(node), str(NODE_RUNNER), url, backend],
            cwd=TFJS_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._stderr_tail: list[bytes] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        facts, _ = self._read_frame(f"loading {url}")
        self.facts: dict[str, Any] = facts
        """What TF.js reports of the loaded model: tfjs, node, backend, threads, inputs, outputs,
        metadata (the model's userDefinedMetadata)."""

    def predict(self, images: np.ndarray) -> tuple[np.ndarray, float]:
        """The model's one output for float32 `images`, and the milliseconds TF.js took."""
        images = np.ascontiguousarray(images, dtype="<f4")
        self._write_frame({"shape": list(images.shape)}, images.tobytes())
        header, payload = self._read_frame(f"predict on {list(images.shape)}")
        output = np.frombuffer(payload, dtype="<f4").reshape(header["shape"])
        return output.astype(np.float32), float(header["ms"])

    def close(self) -> None:
        """End the Node process."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _write_frame(self, header: dict[str, Any], payload: bytes) -> None:
        data = json.dumps({**header, "bytes": len(payload)}).encode()
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(struct.pack("<I", len(data)) + data + payload)
            stdin.flush()
        except BrokenPipeError:
            raise self._failure("sending images") from None

    def _read_frame(self, doing: str) -> tuple[dict[str, Any], bytes]:
        stdout = self.process.stdout
        assert stdout is not None
        length = _read_exactly(stdout, 4)
        if len(length) < 4:
            raise self._failure(doing)
        header = json.loads(_read_exactly(stdout, struct.unpack("<I", length)[0]))
        if "error" in header:
            raise HubzooError(f"TF.js in Node, {doing}: {header['error']}")
        return header, _read_exactly(stdout, header["bytes"])

    def _failure(self, doing: str) -> HubzooError:
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        stderr = b"".join(self._stderr_tail).decode(errors="replace").strip().splitlines()
        last = stderr[-1] if stderr else "no output"
        return HubzooError(
            f"TF.js in Node stopped (status {self.process.returncode}) while {doing}: {last}"
        )

    def _drain_stderr(self) -> None:
        stderr = self.process.stderr
        assert stderr is not None
        for line in stderr:
            self._stderr_tail = [*self._stderr_tail[-19:], line]


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    """`size` bytes from `stream`, or fewer only at its end."""
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
