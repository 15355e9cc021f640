"""Download a published module by URL, verify it against its manifest, cache it, return its folder.

A module URL such as http://127.0.0.1:8000/google/imagenet/inception_v1/feature_vector/1 names,
in the store's layout, URL.json (the manifest) and URL.tar.gz (the archive), so any static host
of a store serves it (scripts/serve.py, a bucket's web endpoint, a folder as a file:// URL). The
archive is streamed to a temporary file and must have the manifest's size and sha256 before it is
unpacked (`hubzoo.package.unpack_artifact`); the module folder is cached under that sha256 and
renamed into place only when whole, so a cached folder is always a complete, verified module.
Downloads are bounded: seconds of silence, total seconds and bytes (`FetchLimits`).
`modules.consumer.load` hands the folder to `tensorflow_hub.load`.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from types import TracebackType
from typing import Protocol
from urllib.parse import urlsplit

from hubzoo.errors import HubzooError
from hubzoo.files import CHUNK_BYTES
from hubzoo.handles import is_handle
from hubzoo.manifest import Manifest
from hubzoo.package import unpack_artifact
from hubzoo.units import format_bytes

CACHE_VARIABLE = "HUBZOO_MODULE_CACHE"
"""Environment variable naming the module cache (default: ~/.cache/hubzoo/modules)."""
ARCHIVE_SUFFIX = ".tar.gz"
MANIFEST_SUFFIX = ".json"
MAX_MANIFEST_BYTES = 1 << 20
SCHEMES = ("http", "https", "file")


class _Response(Protocol):
    """What urllib's responses (HTTP and file://) offer the download."""

    headers: Message

    def read1(self, size: int) -> bytes: ...

    def __enter__(self) -> _Response: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@dataclass(frozen=True)
class FetchLimits:
    """Bounds of one download: a stranger's server can make none of them larger."""

    read_timeout: float = 30.0  # seconds without a byte
    max_seconds: float = 3600.0  # the whole archive
    max_bytes: int = 8 << 30  # the archive's size, whatever its manifest claims


def default_cache_dir() -> Path:
    """$HUBZOO_MODULE_CACHE, else $XDG_CACHE_HOME/hubzoo/modules, else ~/.cache/hubzoo/modules."""
    named = os.environ.get(CACHE_VARIABLE)
    if named:
        return Path(named)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hubzoo" / "modules"


def fetch_module(
    url: str, cache_dir: Path | None = None, limits: FetchLimits | None = None
) -> Path:
    """The folder of the module at `url`, downloaded and verified unless already cached.

    Raises HubzooError, in one line, for a URL that is not a module's, an unreachable or slow
    server, a manifest of the wrong form or for another module, an archive that differs from its
    manifest or is no safe module archive, and a cache that cannot be written; nothing is left in
    the cache then.
    """
    limits = limits or FetchLimits()
    base = module_url(url)
    manifest = fetch_manifest(base, limits)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder = cache / manifest.sha256
    if folder.is_dir():
        return folder
    if manifest.bytes > limits.max_bytes:
        raise HubzooError(
            f"{base}: its archive is {format_bytes(manifest.bytes)}, more than the "
            f"{format_bytes(limits.max_bytes)} allowed"
        )
    try:
        cache.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".fetch-", dir=cache))
    except OSError as error:
        raise HubzooError(f"cannot write the module cache {cache}: {_reason(error)}") from None
    try:
        archive = work / f"module{ARCHIVE_SUFFIX}"
        _download_verified(base + ARCHIVE_SUFFIX, archive, manifest, limits)
        unpack_artifact(archive, work / "module", artifact_format=manifest.build.format)
        _move_into_place(work / "module", folder)
    except OSError as error:
        raise HubzooError(f"cannot write the module cache {cache}: {_reason(error)}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


def module_url(url: str) -> str:
    """`url` without a trailing slash or a .tar.gz/.json suffix; HubzooError if it cannot be a
    module's URL."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or parts.query or parts.fragment:
        raise HubzooError(
            f"{url!r} is not a module URL: expected http(s)://HOST/HANDLE or file:///PATH/HANDLE, "
            "without a query"
        )
    base = url.rstrip("/")
    for suffix in (ARCHIVE_SUFFIX, MANIFEST_SUFFIX):
        base = base.removesuffix(suffix)
    return base


def fetch_manifest(base: str, limits: FetchLimits) -> Manifest:
    """The manifest at `base`.json, checked for its form and for naming the module at `base`."""
    url = base + MANIFEST_SUFFIX
    deadline = time.monotonic() + limits.max_seconds
    raw = b""
    with _open(url, limits) as response:
        while chunk := _read(response, url, MAX_MANIFEST_BYTES + 1 - len(raw), limits, deadline):
            raw += chunk
            if len(raw) > MAX_MANIFEST_BYTES:
                raise HubzooError(f"{url} is larger than {format_bytes(MAX_MANIFEST_BYTES)}")
    manifest = Manifest.loads(raw, url)
    path = urlsplit(base).path
    if not is_handle(manifest.handle) or not path.endswith("/" + manifest.handle):
        raise HubzooError(f"{url} is the manifest of {manifest.handle!r}, not of the module {base}")
    return manifest


def _download_verified(url: str, target: Path, manifest: Manifest, limits: FetchLimits) -> None:
    """Stream `url` into `target`, checking the size and sha256 `manifest` gives."""
    deadline = time.monotonic() + limits.max_seconds
    digest, size = hashlib.sha256(), 0
    with _open(url, limits) as response, open(target, "wb") as out:
        announced = response.headers.get("Content-Length")
        if announced is not None and announced.strip() != str(manifest.bytes):
            raise HubzooError(
                f"{url}: the server sends {announced.strip()} bytes, its manifest says "
                f"{manifest.bytes}; nothing was cached"
            )
        want = manifest.bytes + 1  # one byte more than the manifest says shows a longer body
        while chunk := _read(response, url, min(CHUNK_BYTES, want - size), limits, deadline):
            size += len(chunk)
            if size > manifest.bytes:
                raise HubzooError(
                    f"{url}: more than the {manifest.bytes} bytes its manifest says; "
                    "nothing was cached"
                )
            digest.update(chunk)
            out.write(chunk)
    if size != manifest.bytes:
        raise HubzooError(
            f"{url}: {size} bytes, its manifest says {manifest.bytes}; nothing was cached"
        )
    if digest.hexdigest() != manifest.sha256:
        raise HubzooError(
            f"{url}: sha256 {digest.hexdigest()}, its manifest says {manifest.sha256}; "
            "nothing was cached"
        )


def _open(url: str, limits: FetchLimits) -> _Response:
    request = urllib.request.Request(url, headers={"User-Agent": "hubzoo-consumer"})
    try:
        response: _Response = urllib.request.urlopen(request, timeout=limits.read_timeout)
    except urllib.error.HTTPError as error:
        error.close()
        raise HubzooError(f"{url}: HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        reason = error.reason
        raise HubzooError(f"cannot reach {url}: {_reason(reason)}") from None
    except TimeoutError:
        raise HubzooError(f"{url}: no answer within {limits.read_timeout:.0f} s") from None
    except (OSError, ValueError) as error:
        raise HubzooError(f"cannot reach {url}: {_reason(error)}") from None
    return response


def _read(response: _Response, url: str, count: int, limits: FetchLimits, deadline: float) -> bytes:
    """What arrives next (at most `count` bytes; b"" at the end), within the limits."""
    if time.monotonic() > deadline:
        raise HubzooError(
            f"{url}: not downloaded within {limits.max_seconds:.0f} s; nothing was cached"
        )
    try:
        return response.read1(count) if count > 0 else b""
    except TimeoutError:
        raise HubzooError(f"{url}: no data for {limits.read_timeout:.0f} s") from None
    except (OSError, ValueError, http.client.HTTPException) as error:
        raise HubzooError(f"{url}: the download broke off: {_reason(error)}") from None


def _move_into_place(module: Path, folder: Path) -> None:
    """Rename the complete `module` folder to `folder`, unless another fetch got there first."""
    try:
        module.rename(folder)
    except OSError as error:
        if error.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not folder.is_dir():
            raise


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.errno == errno.ENOSPC:
        return "no space left on its disk"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__
