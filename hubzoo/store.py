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
import json
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import fsspec
from fsspec.implementations.local import LocalFileSystem

from hubzoo.errors import HubzooError
from hubzoo.files import sha256_of_file, sha256_of_stream
from hubzoo.handles import is_handle
from hubzoo.manifest import BuildFacts, Manifest
from hubzoo.paths import DEFAULT_STORE_DIR

ARCHIVE_SUFFIX = ".tar.gz"
MANIFEST_SUFFIX = ".json"
LOCK_SUFFIX = ".lock"
PARTIAL_MARK = ".partial-"


@dataclass(frozen=True)
class PutResult:
    """The outcome of `Store.put`: `created` is False when the identical version already existed."""

    handle: str
    sha256: str
    bytes: int
    url: str
    created: bool


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
        url: str = self._fs.unstrip_protocol(self._key(validate_handle(handle), ARCHIVE_SUFFIX))
        return url

    def get_manifest(self, handle: str) -> Manifest | None:
        """The manifest of a completely published version, or None."""
        key = self._key(validate_handle(handle), MANIFEST_SUFFIX)
        self._fs.invalidate_cache()
        try:
            data = self._fs.cat_file(key)
        except FileNotFoundError:
            return None
        return Manifest.loads(data, self._fs.unstrip_protocol(key))

    def open_archive(self, handle: str) -> BinaryIO:
        """A binary file object reading the archive of a published version."""
        if self.get_manifest(handle) is None:
            raise HubzooError(f"no published module {handle} in store {self.url}")
        archive: BinaryIO = self._fs.open(self._key(handle, ARCHIVE_SUFFIX), "rb")
        return archive

    def list_manifests(self) -> list[Manifest]:
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
        return [Manifest.loads(contents[key], self._fs.unstrip_protocol(key)) for key in keys]

    def put(self, handle: str, archive: Path, build: BuildFacts) -> PutResult:
        """Publish `archive` as version `handle` built as `build` says; see the module docstring.

        Returns created=False when the version exists with the same bytes. Raises HubzooError
        when it exists with other bytes, when another publish of it holds the lock, or when
        a build fact has the wrong form.
        """
        validate_handle(handle)
        build.check(f"manifest for {handle}")
        archive = Path(archive)
        sha256, size = _file_digest(archive)
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
                manifest = Manifest(handle, sha256, size, _utc_now(), build)
                self._write_manifest(handle, manifest, token)
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

    def _existing_result(self, handle: str, existing: Manifest, sha256: str) -> PutResult:
        if existing.sha256 != sha256:
            raise HubzooError(
                f"{handle}: version exists with sha256 {existing.sha256}; "
                "versions are immutable; publish a new version"
            )
        return PutResult(handle, sha256, existing.bytes, self.archive_url(handle), created=False)

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

    def _read_lock(self, key: str) -> dict[str, Any] | None:
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
            stored_sha256, stored_size = sha256_of_stream(uploaded)
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

    def _write_manifest(self, handle: str, manifest: Manifest, token: str) -> None:
        final_key = self._key(handle, MANIFEST_SUFFIX)
        temp_key = final_key + PARTIAL_MARK + token
        self._fs.pipe_file(temp_key, manifest.dumps())
        self._fs.mv(temp_key, final_key)


def _file_digest(path: Path) -> tuple[str, int]:
    try:
        return sha256_of_file(path)
    except FileNotFoundError as error:
        raise HubzooError(f"archive {path} does not exist") from error


def _holder_is_dead(holder: dict[str, Any]) -> bool:
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


def _describe_holder(holder: dict[str, Any]) -> str:
    if not holder:
        return "holder unknown"
    return f"held by pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')}"


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
