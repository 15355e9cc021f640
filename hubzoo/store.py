"""The module store: published archives and their manifests under one fsspec URL.

Layout, for a handle such as `google/imagenet/inception_v1/feature_vector/1`:

    HANDLE.tar.gz   the packed module
    HANDLE.json     its manifest; a version exists exactly when this file does
    HANDLE.lock     present while a publish of HANDLE runs (JSON: host, pid, token, since)

`Store.put` writes the archive under a temporary name, reads it back to verify its sha256 and
size, moves it into place and writes the manifest last, so a publish that dies half-way leaves
no visible version. Versions are immutable. Concurrent publishes of one handle are serialised by
the lock object, created with an exclusive write (`O_EXCL` on local disk, `If-None-Match: *` on
S3). A lock whose holder ran on this host and no longer runs is stale and is broken by the next
publish; any other lock stays until its publish ends or someone calls `Store.break_lock`.
(fsspec's memory:// filesystem checks exclusive creation non-atomically: fine for one writer.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import fsspec
from fsspec.implementations.local import LocalFileSystem

from hubzoo.errors import HubzooError
from hubzoo.paths import DEFAULT_STORE_DIR
from hubzoo.schema import load_schema

ARCHIVE_SUFFIX = ".tar.gz"
MANIFEST_SUFFIX = ".json"
LOCK_SUFFIX = ".lock"
PARTIAL_MARK = ".partial-"
MODULE_FORMATS = tuple(load_schema()["properties"]["format"]["enum"])
"""The formats a published module may have: those a record may state."""
CALLER_MANIFEST_KEYS = (
    "checkpoint_sha256",
    "format",
    "hubzoo_version",
    "record_digest",
    "smoke",
    "tensorflow_version",
)
"""Keys the publisher supplies; `put` adds handle, sha256, bytes and published_at."""

_HANDLE = re.compile(load_schema()["properties"]["handle"]["pattern"])
"""A handle as records state it: the record schema's pattern, the one definition of its form."""
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class PutResult:
    """The outcome of `Store.put`: `created` is False when the identical version already existed."""

    handle: str
    sha256: str
    bytes: int
    url: str
    created: bool


def is_handle(text: str) -> bool:
    """Whether `text` is a well-formed module handle: publisher/name.../version (1, 2, ...)."""
    return _HANDLE.fullmatch(text) is not None


def validate_handle(handle: str) -> str:
    """Return `handle` if well-formed, else raise HubzooError saying what a handle looks like."""
    if not isinstance(handle, str) or not is_handle(handle):
        raise HubzooError(
            f"invalid module handle {handle!r}: expected publisher/name/.../version, segments of "
            "lowercase [a-z0-9_.-] starting with a letter or digit, a version 1, 2, ..., e.g. "
            "google/imagenet/inception_v1/feature_vector/1"
        )
    return handle


def open_store(url: str | None = None, storage_options: dict[str, Any] | None = None) -> Store:
    """Open the store at an fsspec URL or local path (None: the repository's `store/` folder).

    S3 credentials and endpoints come from the environment as s3fs reads them, or from
    `storage_options` (passed to the fsspec filesystem, e.g. key, secret, client_kwargs).
    """
    target = str(DEFAULT_STORE_DIR) if url is None else url
    try:
        fs, root = fsspec.core.url_to_fs(target, **(storage_options or {}))
    except (ImportError, ValueError, TypeError) as error:
        raise HubzooError(f"cannot open store {target}: {error}") from error
    root = root.rstrip("/")
    if isinstance(fs, LocalFileSystem):
        try:
            fs.makedirs(root, exist_ok=True)
        except OSError as error:
            raise HubzooError(f"cannot open store {target}: {error}") from error
        return Store(fs, root, root)
    return Store(fs, root, fs.unstrip_protocol(root))


class Store:
    """Published module versions under one root of an fsspec filesystem."""

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, url: str) -> None:
        self._fs = fs
        self._root = root
        self.url = url

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def archive_url(self, handle: str) -> str:
        """The fsspec URL of the handle's archive (it exists once the version is published)."""
        return self._fs.unstrip_protocol(self._key(validate_handle(handle), ARCHIVE_SUFFIX))

    def get_manifest(self, handle: str) -> dict | None:
        """The manifest of a completely published version, or None."""
        key = self._key(validate_handle(handle), MANIFEST_SUFFIX)
        self._fs.invalidate_cache()
        try:
            data = self._fs.cat_file(key)
        except FileNotFoundError:
            return None
        return _parse_manifest(data, self._fs.unstrip_protocol(key))

    def open_archive(self, handle: str) -> BinaryIO:
        """A binary file object reading the archive of a published version."""
        if self.get_manifest(handle) is None:
            raise HubzooError(f"no published module {handle} in store {self.url}")
        return self._fs.open(self._key(handle, ARCHIVE_SUFFIX), "rb")

    def list_manifests(self) -> list[dict]:
        """The manifests of every completely published version, sorted by handle."""
        self._fs.invalidate_cache()
        keys_by_handle = {}
        for path in self._fs.find(self._root):
            name = path[len(self._root) + 1 :]
            handle = name.removesuffix(MANIFEST_SUFFIX)
            if name.endswith(MANIFEST_SUFFIX) and is_handle(handle):
                keys_by_handle[handle] = path
        keys = [keys_by_handle[handle] for handle in sorted(keys_by_handle)]
        contents = self._fs.cat(keys) if keys else {}
        return [_parse_manifest(contents[key], self._fs.unstrip_protocol(key)) for key in keys]

    def put(self, handle: str, archive: Path, manifest: dict) -> PutResult:
        """Publish `archive` as version `handle` with `manifest`; see the module docstring.

        Returns created=False when the version exists with the same bytes. Raises HubzooError
        when it exists with other bytes, when another publish of it holds the lock, or when
        the manifest fields are missing or wrong.
        """
        validate_handle(handle)
        archive = Path(archive)
        sha256, size = _file_digest(archive)
        final_manifest = _completed_manifest(handle, manifest, sha256, size)
        try:
            existing = self.get_manifest(handle)
            if existing is not None:
                return self._existing_result(handle, existing, sha256)
            token = self._acquire_lock(handle)
            try:
                existing = self.get_manifest(handle)
                if existing is not None:
                    return self._existing_result(handle, existing, sha256)
                self._remove_leftovers(handle)
                self._upload_verified(handle, archive, sha256, size, token)
                final_manifest["published_at"] = _utc_now()
                self._write_manifest(handle, final_manifest, token)
            finally:
                self._release_lock(handle, token)
        except OSError as error:
            raise HubzooError(f"store {self.url}: publishing {handle} failed: {error}") from error
        return PutResult(handle, sha256, size, self.archive_url(handle), created=True)

    def break_lock(self, handle: str) -> bool:
        """Remove the publish lock of `handle` whoever holds it; True if there was one.

        Only for a lock whose publish is known to be dead (e.g. killed on another machine).
        """
        key = self._key(validate_handle(handle), LOCK_SUFFIX)
        try:
            self._fs.rm_file(key)
        except FileNotFoundError:
            return False
        return True

    def _key(self, handle: str, suffix: str) -> str:
        return f"{self._root}/{handle}{suffix}"

    def _existing_result(self, handle: str, existing: dict, sha256: str) -> PutResult:
        if existing.get("sha256") != sha256:
            raise HubzooError(
                f"{handle}: version exists with sha256 {existing.get('sha256')}; "
                "versions are immutable; publish a new version"
            )
        return PutResult(handle, sha256, existing["bytes"], self.archive_url(handle), created=False)

    def _acquire_lock(self, handle: str) -> str:
        key = self._key(handle, LOCK_SUFFIX)
        token = uuid.uuid4().hex
        holder = {"host": socket.gethostname(), "pid": os.getpid(), "since": _utc_now()}
        data = json.dumps({**holder, "token": token}, sort_keys=True).encode()
        self._fs.makedirs(key.rsplit("/", 1)[0], exist_ok=True)
        for attempt in range(3):
            try:
                with self._fs.open(key, "xb") as lock_file:
                    lock_file.write(data)
                return token
            except FileExistsError:
                current = self._read_lock(key)
                if current is None:
                    continue
                if attempt == 0 and _holder_is_dead(current):
                    self._remove_lock_if_token(key, current.get("token"))
                    continue
                raise HubzooError(
                    f"cannot publish {handle}: another publish holds the lock "
                    f"{self._fs.unstrip_protocol(key)} ({_describe_holder(current)}); "
                    "if that publish is dead, break the lock (Store.break_lock) and retry"
                ) from None
        raise HubzooError(f"cannot publish {handle}: its lock keeps changing hands; retry")

    def _read_lock(self, key: str) -> dict | None:
        """The lock's holder, None if the lock is gone, {} if it is unreadable."""
        self._fs.invalidate_cache()
        try:
            data = self._fs.cat_file(key)
        except FileNotFoundError:
            return None
        try:
            holder = json.loads(data)
        except ValueError:
            return {}
        return holder if isinstance(holder, dict) else {}

    def _remove_lock_if_token(self, key: str, token: str | None) -> None:
        current = self._read_lock(key)
        if current is not None and token is not None and current.get("token") == token:
            with contextlib.suppress(FileNotFoundError):
                self._fs.rm_file(key)

    def _release_lock(self, handle: str, token: str) -> None:
        self._remove_lock_if_token(self._key(handle, LOCK_SUFFIX), token)

    def _remove_leftovers(self, handle: str) -> None:
        """Delete what earlier, interrupted publishes of `handle` left (never a manifest)."""
        archive_key = self._key(handle, ARCHIVE_SUFFIX)
        partials = self._fs.glob(archive_key + PARTIAL_MARK + "*") + self._fs.glob(
            self._key(handle, MANIFEST_SUFFIX) + PARTIAL_MARK + "*"
        )
        if self._fs.exists(archive_key):
            partials.append(archive_key)
        for key in partials:
            self._fs.rm_file(key)

    def _upload_verified(
        self, handle: str, archive: Path, sha256: str, size: int, token: str
    ) -> None:
        final_key = self._key(handle, ARCHIVE_SUFFIX)
        temp_key = final_key + PARTIAL_MARK + token
        self._fs.put_file(str(archive), temp_key)
        with self._fs.open(temp_key, "rb") as uploaded:
            stored_sha256, stored_size = _stream_digest(uploaded)
        if (stored_sha256, stored_size) != (sha256, size):
            self._fs.rm_file(temp_key)
            raise HubzooError(
                f"store {self.url}: uploaded {handle} reads back as {stored_size} bytes with "
                f"sha256 {stored_sha256}, expected {size} bytes with sha256 {sha256}"
            )
        self._fs.mv(temp_key, final_key)
        self._fs.invalidate_cache()
        if self._fs.size(final_key) != size:
            raise HubzooError(f"store {self.url}: {handle} changed size while moving into place")

    def _write_manifest(self, handle: str, manifest: dict, token: str) -> None:
        final_key = self._key(handle, MANIFEST_SUFFIX)
        temp_key = final_key + PARTIAL_MARK + token
        data = (json.dumps(manifest, sort_keys=True, indent=2) + "\n").encode()
        self._fs.pipe_file(temp_key, data)
        self._fs.mv(temp_key, final_key)


def _completed_manifest(handle: str, manifest: dict, sha256: str, size: int) -> dict:
    """The caller's manifest checked and completed with handle, sha256 and bytes."""
    missing = [key for key in CALLER_MANIFEST_KEYS if key not in manifest]
    if missing:
        raise HubzooError(f"manifest for {handle} lacks {', '.join(missing)}")
    if manifest["format"] not in MODULE_FORMATS:
        raise HubzooError(
            f"manifest for {handle}: format {manifest['format']!r} is not one of "
            f"{', '.join(MODULE_FORMATS)}"
        )
    checkpoint = manifest["checkpoint_sha256"]
    if checkpoint != "synthetic" and not (
        isinstance(checkpoint, str) and _SHA256.fullmatch(checkpoint)
    ):
        raise HubzooError(
            f"manifest for {handle}: checkpoint_sha256 must be a sha256 hex digest or "
            f"'synthetic', not {checkpoint!r}"
        )
    if not isinstance(manifest["smoke"], dict):
        raise HubzooError(f"manifest for {handle}: smoke must be a mapping (the smoke report)")
    derived = {"handle": handle, "sha256": sha256, "bytes": size}
    for key, value in derived.items():
        if key in manifest and manifest[key] != value:
            raise HubzooError(
                f"manifest for {handle}: {key} is {manifest[key]!r} but the archive gives {value!r}"
            )
    completed = {**manifest, **derived}
    completed.pop("published_at", None)
    try:
        json.dumps(completed)
    except (TypeError, ValueError) as error:
        raise HubzooError(f"manifest for {handle} is not JSON-serialisable: {error}") from error
    return completed


def _parse_manifest(data: bytes, where: str) -> dict:
    try:
        manifest = json.loads(data)
    except ValueError as error:
        raise HubzooError(f"manifest {where} is not valid JSON: {error}") from error
    if not isinstance(manifest, dict):
        raise HubzooError(f"manifest {where} is not a JSON object")
    return manifest


def _file_digest(path: Path) -> tuple[str, int]:
    try:
        with open(path, "rb") as file:
            return _stream_digest(file)
    except FileNotFoundError as error:
        raise HubzooError(f"archive {path} does not exist") from error


def _stream_digest(file: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := file.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _holder_is_dead(holder: dict) -> bool:
    """True only when the holder ran on this host and its process no longer exists."""
    pid = holder.get("pid")
    if holder.get("host") != socket.gethostname() or not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _describe_holder(holder: dict) -> str:
    if not holder:
        return "holder unknown"
    return f"held by pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')}"


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
