"""Serve the built site and the store over HTTP on 127.0.0.1, the way tensorflow_hub expects.

Routes:
    /HANDLE?tf-hub-format=compressed   the archive (what `hub.load("http://.../HANDLE")` asks for)
    /HANDLE.tar.gz                     the archive, as a download
    /HANDLE.json                       its manifest, to verify the archive against
    /HANDLE                            redirect to the site's page for HANDLE, /modules/HANDLE/
    /DEPLOYMENT/FILE[?tfjs-format=file]  a file of a published deployment: what TF.js's
                                       `tf.loadGraphModel(URL, {fromTFHub: true})` asks for
                                       (`URL/model.json?tfjs-format=file`, then each weight shard
                                       beside it), or `model.tflite`
    /DEPLOYMENT?lite-format=tflite     a TF Lite deployment's model.tflite, as tfhub.dev served it
    anything else                      a file of the site (index.html for a folder)

A deployment's files are served from its archive, verified against its manifest and unpacked
once per server (into a scratch folder removed by `server_close`), with the version's immutable
headers and `Access-Control-Allow-Origin: *`, so a web page on another origin may load it.

An archive is served only once the store has verified it against its manifest (size, sha256),
with headers from those verified values: ETag (the sha256), `Repr-Digest: sha-256=:...:`,
Last-Modified (the publication time) and a Cache-Control for an immutable version. A single byte
range gets a 206 (416 when unsatisfiable); If-None-Match and If-Modified-Since get a 304.

A damaged version is a 500 and an unreachable store a 503; the log says why, the response never
shows the server's paths. Unknown modules get a plain-text 404, other unknown paths the site's
own 404.html. Each connection is dropped after `timeout` seconds of silence, at most
`max_connections` are served at once (others wait to be accepted), log lines escape control
characters, and request paths are decoded, split and checked before use: site files are
resolved (symlinks included) and served only if they lie inside the site folder.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import mimetypes
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from hubzoo.contract import FORMATS, LITE
from hubzoo.errors import HubzooError
from hubzoo.handles import deployment_handle, is_handle
from hubzoo.manifest import Manifest
from hubzoo.package import unpack_artifact
from hubzoo.render import PAGES_FOLDER as SITE_PAGES_FOLDER
from hubzoo.store import (
    ARCHIVE_SUFFIX,
    MANIFEST_SUFFIX,
    CorruptVersion,
    Store,
    StoreError,
    UnknownVersion,
)

LOOPBACK = "127.0.0.1"
ARCHIVE_CONTENT_TYPE = "application/gzip"
IMMUTABLE = "public, max-age=31536000, immutable"
"""Cache-Control of a published version's archive and manifest: they never change."""
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_CONNECTIONS = 128
"""At least one per weight shard of the largest TF.js deployment, plus its model.json (54 + 1
for Inception-ResNet V2): TF.js requests every shard at once and reads no body before every
response has begun, so a connection waiting for a free thread would stall the others' bodies."""
NOT_FOUND_PAGE = "404.html"
"""What mkdocs-material writes for unknown pages."""

_FORMAT_QUERY = "tf-hub-format"
_LITE_QUERY = "lite-format"
_CONTENT_TYPES = {".json": "application/json"}
_CHUNK = 1 << 20
_RANGE = re.compile(r"bytes=(\d{0,19})-(\d{0,19})")
_CONTROL_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}

log = logging.getLogger(__name__)


def serve(
    store: Store,
    site_dir: Path | None,
    port: int = 8000,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> ThreadingHTTPServer:
    """Bind a server for `store` and `site_dir` (None: store only) to 127.0.0.1:`port`.

    Port 0 picks a free port (see `server.server_address`). The caller runs `serve_forever()`.
    """
    site_root = None if site_dir is None else Path(site_dir).resolve()
    scratch = Path(tempfile.mkdtemp(prefix="hubzoo-serve-"))
    attributes = {
        "store": store,
        "site_root": site_root,
        "timeout": timeout,
        "deployments": _DeploymentFiles(store, scratch),
    }
    handler = type("HubzooRequestHandler", (_Handler,), attributes)
    try:
        return _BoundedServer((LOOPBACK, port), handler, max_connections, scratch)
    except OSError as error:
        shutil.rmtree(scratch, ignore_errors=True)
        raise HubzooError(f"cannot listen on {LOOPBACK}:{port}: {error.strerror}") from error


class _DeploymentFiles:
    """Published deployments unpacked into a scratch folder, each once, after verification."""

    def __init__(self, store: Store, scratch: Path) -> None:
        self.store = store
        self.scratch = scratch
        self._lock = threading.Lock()

    def file(self, handle: str, name: str) -> tuple[Manifest, Path | None] | None:
        """The manifest of deployment `handle` and its file `name` (None if it has no such
        file); None when no deployment `handle` is published."""
        manifest = self.store.get_manifest(handle)
        if manifest is None or not FORMATS[manifest.build.format].deployment:
            return None
        folder = self.scratch / manifest.sha256
        with self._lock:
            if not folder.is_dir():
                self._unpack(handle, manifest, folder)
        path = folder / name
        return manifest, path if path.is_file() and not path.is_symlink() else None

    def _unpack(self, handle: str, manifest: Manifest, folder: Path) -> None:
        archive_path = self.scratch / f"{manifest.sha256}.tar.gz"
        try:
            with self.store.open_archive(handle) as archive, open(archive_path, "wb") as out:
                for chunk in archive.chunks():
                    out.write(chunk)
            unpack_artifact(archive_path, folder, artifact_format=manifest.build.format)
        finally:
            archive_path.unlink(missing_ok=True)


class _BoundedServer(ThreadingHTTPServer):
    """A thread per connection, at most `max_connections` at once; further connections wait in
    the listen queue until a thread is free."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], handler: Any, max_connections: int, scratch: Path
    ) -> None:
        self._slots = threading.BoundedSemaphore(max_connections)
        self._closing = threading.Event()
        self._scratch = scratch
        super().__init__(address, handler)

    def server_close(self) -> None:
        super().server_close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def process_request(self, request: Any, client_address: Any) -> None:
        while not self._slots.acquire(timeout=0.1):
            if self._closing.is_set():
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except Exception:
            # The thread did not start, so it will not release its slot. (A KeyboardInterrupt
            # may land after the thread started: it passes through, and the thread releases.)
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def shutdown(self) -> None:
        self._closing.set()
        super().shutdown()


class _Unsatisfiable(Exception):
    """The requested byte range lies outside the representation."""


class _Handler(BaseHTTPRequestHandler):
    store: Store
    site_root: Path | None
    deployments: _DeploymentFiles
    server_version = "hubzoo"

    def do_GET(self) -> None:
        self._route_quietly(send_body=True)

    def do_HEAD(self) -> None:
        self._route_quietly(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), escape_for_log(format % args))

    def _route_quietly(self, send_body: bool) -> None:
        self._responded = False
        try:
            self._route(send_body)
        except (ConnectionError, TimeoutError) as error:
            log.info("%s went away: %s", self.address_string(), error)
            self.close_connection = True
        except CorruptVersion as error:
            self._fail(
                HTTPStatus.INTERNAL_SERVER_ERROR, "refusing to serve a damaged version", error
            )
        except StoreError as error:
            self._fail(HTTPStatus.SERVICE_UNAVAILABLE, "the store is unavailable", error)
        except (HubzooError, OSError) as error:
            self._fail(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error", error)

    def _fail(self, status: HTTPStatus, summary: str, error: Exception) -> None:
        """Log the details; answer with `summary` alone (or drop the connection mid-response)."""
        path = escape_for_log(self.path)
        log.error("%s %s: %s: %s", self.address_string(), path, summary, escape_for_log(str(error)))
        if self._responded:
            self.close_connection = True
            return
        self._send_text(status, f"{summary}; the server's log says why", send_body=True)

    def _route(self, send_body: bool) -> None:
        raw_path, _, query = self.path.partition("#")[0].partition("?")
        segments = _safe_segments(raw_path)
        if segments is None:
            self._send_text(HTTPStatus.BAD_REQUEST, "invalid path", send_body)
            return
        path = "/".join(segments)
        queries = parse_qs(query)
        formats = queries.get(_FORMAT_QUERY)
        parent = "/".join(segments[:-1])
        if path.endswith(ARCHIVE_SUFFIX) and is_handle(path.removesuffix(ARCHIVE_SUFFIX)):
            self._send_archive(path.removesuffix(ARCHIVE_SUFFIX), send_body)
        elif path.endswith(MANIFEST_SUFFIX) and is_handle(path.removesuffix(MANIFEST_SUFFIX)):
            self._send_manifest(path.removesuffix(MANIFEST_SUFFIX), send_body)
        elif _LITE_QUERY in queries and is_handle(path):
            if queries[_LITE_QUERY] != ["tflite"]:
                message = f"only {_LITE_QUERY}=tflite is served"
                self._send_text(HTTPStatus.BAD_REQUEST, message, send_body)
            elif not self._send_deployment_file(path, FORMATS[LITE].main_file, send_body):
                self._send_text(HTTPStatus.NOT_FOUND, f"no published deployment {path}", send_body)
        elif (
            deployment_handle(parent) is not None
            and is_handle(parent)
            and self._send_deployment_file(parent, segments[-1], send_body)
        ):
            pass
        elif formats is not None:
            if formats != ["compressed"]:
                message = f"only {_FORMAT_QUERY}=compressed is served"
                self._send_text(HTTPStatus.BAD_REQUEST, message, send_body)
            elif not is_handle(path):
                self._send_text(HTTPStatus.NOT_FOUND, f"{path} is not a module handle", send_body)
            else:
                self._send_archive(path, send_body)
        elif is_handle(path) and not raw_path.endswith("/"):
            self._redirect_to_page(path, send_body)
        else:
            self._send_site_file(segments, raw_path.endswith("/"), send_body)

    def _send_archive(self, handle: str, send_body: bool) -> None:
        try:
            archive = self.store.open_archive(handle)
        except UnknownVersion:
            self._send_text(HTTPStatus.NOT_FOUND, f"no published module {handle}", send_body)
            return
        with archive:
            manifest = archive.manifest
            digest = base64.b64encode(bytes.fromhex(manifest.sha256)).decode()
            headers = {
                "ETag": f'"{manifest.sha256}"',
                "Repr-Digest": f"sha-256=:{digest}:",
                **_immutable_headers(manifest),
                "Content-Disposition": (
                    f'attachment; filename="{handle.replace("/", "_")}{ARCHIVE_SUFFIX}"'
                ),
            }
            self._send_representation(
                ARCHIVE_CONTENT_TYPE, archive.size, archive.chunks, headers, send_body
            )

    def _send_deployment_file(self, handle: str, name: str, send_body: bool) -> bool:
        """Send file `name` of deployment `handle` (a 404 if it has none); False when no
        deployment `handle` is published, and nothing was sent."""
        found = self.deployments.file(handle, name)
        if found is None:
            return False
        manifest, path = found
        if path is None:
            self._send_text(HTTPStatus.NOT_FOUND, f"{handle} has no file {name}", send_body)
            return True
        headers = {
            "ETag": f'"{manifest.sha256}/{name}"',
            **_immutable_headers(manifest),
            "Access-Control-Allow-Origin": "*",
        }
        content_type = _CONTENT_TYPES.get(path.suffix, "application/octet-stream")
        with open(path, "rb") as file:

            def chunks(start: int, end: int) -> Iterator[bytes]:
                file.seek(start)
                while start < end and (chunk := file.read(min(_CHUNK, end - start))):
                    start += len(chunk)
                    yield chunk

            size = path.stat().st_size
            self._send_representation(content_type, size, chunks, headers, send_body)
        return True

    def _send_manifest(self, handle: str, send_body: bool) -> None:
        manifest = self.store.get_manifest(handle)
        if manifest is None:
            self._send_text(HTTPStatus.NOT_FOUND, f"no published module {handle}", send_body)
            return
        body = manifest.dumps()

        def chunks(start: int, end: int) -> Iterator[bytes]:
            yield body[start:end]

        headers = {"ETag": f'"{hashlib.sha256(body).hexdigest()}"', **_immutable_headers(manifest)}
        self._send_representation("application/json", len(body), chunks, headers, send_body)

    def _send_representation(
        self,
        content_type: str,
        size: int,
        chunks: Callable[[int, int], Iterator[bytes]],
        headers: dict[str, str],
        send_body: bool,
    ) -> None:
        """200 with the whole body, 206 with one range, 304 or 416, as the request asks."""
        if self._not_modified(headers):
            self._start(HTTPStatus.NOT_MODIFIED, headers)
            self.end_headers()
            return
        try:
            byte_range = self._requested_range(size, headers)
        except _Unsatisfiable:
            message = f"bytes {self.headers.get('Range')} not satisfiable".encode()
            self._start(
                HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, {"Content-Range": f"bytes */{size}"}
            )
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            if send_body:
                self.wfile.write(message)
            return
        start, end = byte_range or (0, size)
        status = HTTPStatus.OK if byte_range is None else HTTPStatus.PARTIAL_CONTENT
        if byte_range is not None:
            headers = {**headers, "Content-Range": f"bytes {start}-{end - 1}/{size}"}
        self._start(status, headers)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(end - start))
        self.end_headers()
        if send_body:
            for chunk in chunks(start, end):
                self.wfile.write(chunk)

    def _start(self, status: HTTPStatus, headers: dict[str, str]) -> None:
        self._responded = True
        self.send_response(status)
        self.send_header("Accept-Ranges", "bytes")
        for name, value in headers.items():
            self.send_header(name, value)

    def _not_modified(self, headers: dict[str, str]) -> bool:
        """True when the request's If-None-Match (else If-Modified-Since) says the client's copy
        is current."""
        etag = headers.get("ETag")
        wanted = self.headers.get("If-None-Match")
        if wanted is not None:
            tags = [tag.strip().removeprefix("W/") for tag in wanted.split(",")]
            return etag is not None and ("*" in tags or etag in tags)
        since = _parse_http_date(self.headers.get("If-Modified-Since"))
        modified = _parse_http_date(headers.get("Last-Modified"))
        return since is not None and modified is not None and modified <= since

    def _requested_range(self, size: int, headers: dict[str, str]) -> tuple[int, int] | None:
        """The single byte range asked for, as (start, end exclusive); None for the whole body
        (no Range, an invalid or multiple one, or an If-Range that no longer matches)."""
        requested = self.headers.get("Range")
        if requested is None:
            return None
        if_range = self.headers.get("If-Range")
        if if_range is not None and if_range not in (
            headers.get("ETag"),
            headers.get("Last-Modified"),
        ):
            return None
        match = _RANGE.fullmatch(requested.strip())
        if match is None or match.group(1) == match.group(2) == "":
            return None
        first, last = match.groups()
        if first == "":
            if int(last) == 0:
                raise _Unsatisfiable
            return max(0, size - int(last)), size
        if last != "" and int(last) < int(first):
            return None
        if int(first) >= size:
            raise _Unsatisfiable
        return int(first), size if last == "" else min(int(last) + 1, size)

    def _redirect_to_page(self, handle: str, send_body: bool) -> None:
        page = self._site_file([SITE_PAGES_FOLDER, *handle.split("/"), "index.html"])
        if page is not None:
            self._start(HTTPStatus.FOUND, {"Location": f"/{SITE_PAGES_FOLDER}/{handle}/"})
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.store.get_manifest(handle) is not None:
            message = f"no page for {handle} in the site; its archive is at /{handle}.tar.gz"
            self._send_text(HTTPStatus.NOT_FOUND, message, send_body)
        else:
            self._send_not_found(f"no published module {handle}", send_body)

    def _send_site_file(self, segments: list[str], ends_with_slash: bool, send_body: bool) -> None:
        folder = self._site_file(segments, want_dir=True)
        if folder is not None and not ends_with_slash:
            self._start(HTTPStatus.MOVED_PERMANENTLY, {"Location": "/" + "/".join([*segments, ""])})
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        target = self._site_file([*segments, "index.html"] if folder else segments)
        if target is None:
            self._send_not_found("not found", send_body)
            return
        self._send_file(HTTPStatus.OK, target, send_body)

    def _send_file(self, status: HTTPStatus, target: Path, send_body: bool) -> None:
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        with open(target, "rb") as file:
            size = target.stat().st_size
            if status != HTTPStatus.OK:
                self._start(status, {})
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                if send_body:
                    self.wfile.write(file.read(size))
                return

            def chunks(start: int, end: int) -> Iterator[bytes]:
                file.seek(start)
                while start < end and (chunk := file.read(min(_CHUNK, end - start))):
                    start += len(chunk)
                    yield chunk

            self._send_representation(content_type, size, chunks, {}, send_body)

    def _send_not_found(self, message: str, send_body: bool) -> None:
        """The site's 404 page, or `message` as plain text when the site has none."""
        page = self._site_file([NOT_FOUND_PAGE])
        if page is None:
            self._send_text(HTTPStatus.NOT_FOUND, message, send_body)
        else:
            self._send_file(HTTPStatus.NOT_FOUND, page, send_body)

    def _site_file(self, segments: list[str], want_dir: bool = False) -> Path | None:
        """The resolved site path for `segments` if it lies inside the site and has the kind."""
        if self.site_root is None:
            return None
        resolved = self.site_root.joinpath(*segments).resolve()
        if not resolved.is_relative_to(self.site_root):
            return None
        found = resolved.is_dir() if want_dir else resolved.is_file()
        return resolved if found else None

    def _send_text(self, status: HTTPStatus, message: str, send_body: bool) -> None:
        body = (message + "\n").encode()
        self._start(status, {})
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


def escape_for_log(text: str) -> str:
    """`text` with control characters (terminal escape codes, CR, LF) shown as \\xNN."""
    return text.translate(_CONTROL_ESCAPES)


def _immutable_headers(manifest: Manifest) -> dict[str, str]:
    return {
        "Last-Modified": format_datetime(manifest.published_time, usegmt=True),
        "Cache-Control": IMMUTABLE,
    }


def _parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else None


def _safe_segments(raw_path: str) -> list[str] | None:
    """The decoded path's segments, or None if it could reach outside a served folder."""
    path = unquote(raw_path)
    if not path.startswith("/") or "\\" in path or "\x00" in path:
        return None
    segments = [segment for segment in path.split("/") if segment not in ("", ".")]
    if ".." in segments:
        return None
    return segments
