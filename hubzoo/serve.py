"""Serve the built site and the store over HTTP on 127.0.0.1, the way tensorflow_hub expects.

Routes:
    /HANDLE?tf-hub-format=compressed   the archive (what `hub.load("http://.../HANDLE")` asks for)
    /HANDLE.tar.gz                     the archive, as a download
    /HANDLE                            redirect to the site's page for HANDLE, /modules/HANDLE/
    anything else                      a file of the site (index.html for a folder)

Unknown handles get a plain-text 404. Paths are decoded, split and checked before use, and site
files are resolved (symlinks included) and served only if they lie inside the site folder.
"""

from __future__ import annotations

import logging
import mimetypes
import shutil
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote

from hubzoo.errors import HubzooError
from hubzoo.handles import is_handle
from hubzoo.render import PAGES_FOLDER as SITE_PAGES_FOLDER
from hubzoo.store import ARCHIVE_SUFFIX, Store

LOOPBACK = "127.0.0.1"
ARCHIVE_CONTENT_TYPE = "application/gzip"
_FORMAT_QUERY = "tf-hub-format"
_CHUNK = 1 << 20

log = logging.getLogger(__name__)


def serve(store: Store, site_dir: Path | None, port: int = 8000) -> ThreadingHTTPServer:
    """Bind a server for `store` and `site_dir` (None: store only) to 127.0.0.1:`port`.

    Port 0 picks a free port (see `server.server_address`). The caller runs `serve_forever()`.
    """
    site_root = None if site_dir is None else Path(site_dir).resolve()
    handler = type("HubzooRequestHandler", (_Handler,), {"store": store, "site_root": site_root})
    try:
        return ThreadingHTTPServer((LOOPBACK, port), handler)
    except OSError as error:
        raise HubzooError(f"cannot listen on {LOOPBACK}:{port}: {error.strerror}") from error


class _Handler(BaseHTTPRequestHandler):
    store: Store
    site_root: Path | None
    server_version = "hubzoo"

    def do_GET(self) -> None:
        self._route_quietly(send_body=True)

    def do_HEAD(self) -> None:
        self._route_quietly(send_body=False)

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def _route_quietly(self, send_body: bool) -> None:
        try:
            self._route(send_body)
        except ConnectionError as error:
            log.info("%s went away: %s", self.address_string(), error)
        except (HubzooError, OSError) as error:
            log.error("%s: %s", self.path, error)
            self._send_text(HTTPStatus.INTERNAL_SERVER_ERROR, f"error: {error}", send_body)

    def _route(self, send_body: bool) -> None:
        raw_path, _, query = self.path.partition("#")[0].partition("?")
        segments = _safe_segments(raw_path)
        if segments is None:
            self._send_text(HTTPStatus.BAD_REQUEST, f"invalid path {raw_path}", send_body)
            return
        path = "/".join(segments)
        formats = parse_qs(query).get(_FORMAT_QUERY)
        if path.endswith(ARCHIVE_SUFFIX) and is_handle(path.removesuffix(ARCHIVE_SUFFIX)):
            self._send_archive(path.removesuffix(ARCHIVE_SUFFIX), send_body)
        elif formats is not None:
            if formats != ["compressed"]:
                message = f"only {_FORMAT_QUERY}=compressed is served, not {','.join(formats)}"
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
        manifest = self.store.get_manifest(handle)
        if manifest is None:
            message = f"no published module {handle} in store {self.store.url}"
            self._send_text(HTTPStatus.NOT_FOUND, message, send_body)
            return
        with self.store.open_archive(handle) as archive:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", ARCHIVE_CONTENT_TYPE)
            self.send_header("Content-Length", str(manifest.bytes))
            self.send_header("ETag", f'"{manifest.sha256}"')
            filename = handle.replace("/", "_") + ARCHIVE_SUFFIX
            self.send_header("Content-Disposition", f'attachment; filename="{filename}"')
            self.end_headers()
            if send_body:
                shutil.copyfileobj(archive, self.wfile, _CHUNK)

    def _redirect_to_page(self, handle: str, send_body: bool) -> None:
        page = self._site_file([SITE_PAGES_FOLDER, *handle.split("/"), "index.html"])
        if page is not None:
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", f"/{SITE_PAGES_FOLDER}/{handle}/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.store.get_manifest(handle) is not None:
            message = f"no page for {handle} in the site; its archive is at /{handle}.tar.gz"
            self._send_text(HTTPStatus.NOT_FOUND, message, send_body)
        else:
            message = f"no published module {handle} in store {self.store.url}"
            self._send_text(HTTPStatus.NOT_FOUND, message, send_body)

    def _send_site_file(self, segments: list[str], ends_with_slash: bool, send_body: bool) -> None:
        folder = self._site_file(segments, want_dir=True)
        if folder is not None and not ends_with_slash:
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", "/" + "/".join([*segments, ""]))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        target = self._site_file([*segments, "index.html"] if folder else segments)
        if target is None:
            self._send_text(HTTPStatus.NOT_FOUND, "not found", send_body)
            return
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        with open(target, "rb") as file:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(target.stat().st_size))
            self.end_headers()
            if send_body:
                shutil.copyfileobj(file, self.wfile, _CHUNK)

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
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


def _safe_segments(raw_path: str) -> list[str] | None:
    """The decoded path's segments, or None if it could reach outside a served folder."""
    path = unquote(raw_path)
    if not path.startswith("/") or "\\" in path or "\x00" in path:
        return None
    segments = [segment for segment in path.split("/") if segment not in ("", ".")]
    if ".." in segments:
        return None
    return segments
