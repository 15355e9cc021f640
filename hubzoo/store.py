"""The module store: published archives and their manifests under one fsspec URL.

Layout, for a handle such as `google/imagenet/inception_v1/feature_vector/1`:

    HANDLE.tar.gz   the packed module
    HANDLE.json     its manifest; a version exists exactly when this file does
    HANDLE.lock     present while a publish of HANDLE runs (JSON: host, pid, pid_started, token,
                    since, refreshed)

The layout is also what a static web server needs: a bucket or CDN serving the store's root at
BASE serves each module at BASE/HANDLE.tar.gz, the URL `tensorflow_hub.load` takes (it appends
`?tf-hub-format=compressed`, which a static server ignores). Archives go to S3 and GCS with
Content-Type `ARCHIVE_CONTENT_TYPE` and no Content-Encoding.

Publishing (`Store.put`) holds the lock, uploads the archive as `HANDLE.tar.gz.partial-TOKEN`,
reads it back to verify its sha256 and size, moves it into place and creates the manifest last
and exclusively (never over an existing one): a publish that dies half-way leaves no visible
version, and versions are immutable. Republishing the same bytes is a no-op, or a repair when
the stored archive no longer matches its manifest. Reading (`Store.open_archive`) verifies the
archive against its manifest (size and sha256, streaming) before handing out any byte.

Locks. A publish creates HANDLE.lock exclusively (a hard link on local disk, `If-None-Match: *`
on S3, `ifGenerationMatch=0` on GCS, after checking it is absent for stores that ignore such
conditions) and its holder refreshes it every minute (`LockPolicy`).
A lock is stale, and the next publish of HANDLE breaks it, when
  - it was not refreshed for 10 minutes: its holder died, on any host (hosts sharing a store
    need clocks that agree to well within that);
  - its holder ran on this host and that process is gone, or its pid now belongs to another
    process (the process start time differs);
  - it is empty or unreadable and was last written more than a minute ago.
Any other lock blocks publishes of HANDLE: `scripts/store.py lock show HANDLE` names its holder
(host, pid, age) and `scripts/store.py lock break HANDLE` removes it.

Failures of the storage itself (unreachable endpoint, missing folder or bucket, read-only or full
disk) are `StoreError`s of one line. Remote stores get short connect and read timeouts and every
call a deadline ($HUBZOO_STORE_TIMEOUT seconds, default 10, plus time for the bytes moved), so a
dead endpoint fails within seconds. (fsspec's memory:// checks exclusive creation
non-atomically: fine for one writer.)
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fsspec
from fsspec.asyn import AsyncFileSystem
from fsspec.implementations.local import LocalFileSystem

from hubzoo.errors import HubzooError
from hubzoo.files import CHUNK_BYTES, sha256_of_file
from hubzoo.handles import is_handle
from hubzoo.manifest import PUBLISHED_AT_FORMAT, BuildFacts, Manifest
from hubzoo.paths import DEFAULT_STORE_DIR

ARCHIVE_SUFFIX = ".tar.gz"
MANIFEST_SUFFIX = ".json"
LOCK_SUFFIX = ".lock"
PARTIAL_MARK = ".partial-"
STORE_CLI = "scripts/store.py"

ARCHIVE_CONTENT_TYPE = "application/gzip"
"""The Content-Type an archive is stored with in S3 and GCS, so that a bucket or CDN serving the
store statically hands it out as the gzip stream it is (never as a tar to compress, or with a
Content-Encoding a client would undo)."""

MAX_MANIFEST_BYTES = 1 << 20
"""A manifest larger than this is damaged (real ones are about 2 KB)."""
READ_CHUNK_BYTES = 8 * CHUNK_BYTES

TIMEOUT_VARIABLE = "HUBZOO_STORE_TIMEOUT"
"""Environment variable: the deadline in seconds of one call on a remote store (default 10)."""
CALL_SECONDS = 10.0
"""The default deadline of one call on a remote store (gcsfs alone retries for 30 s and more);
data transfers get this plus their size at 256 KB/s."""
MIN_TRANSFER_BYTES_PER_SECOND = 256 * 1024

S3_CONFIG = {
    "connect_timeout": 5,
    "read_timeout": 20,
    "retries": {"total_max_attempts": 2, "mode": "standard"},
}
"""botocore settings for s3:// stores unless storage_options give `config_kwargs`."""

_PROBE_NAME = ".hubzoo-probe-"
_STORAGE_LIBRARIES = {"aiobotocore", "aiohttp", "botocore", "gcsfs", "google", "requests", "s3fs"}


class StoreError(HubzooError):
    """The storage behind a store failed: unreachable, missing, read-only, full."""


class CorruptVersion(HubzooError):
    """A published version whose manifest or archive is damaged in the store."""


class UnknownVersion(HubzooError):
    """No such version is published in the store."""


@dataclass(frozen=True)
class LockPolicy:
    """When publish locks are refreshed and when they count as stale (see the module docstring)."""

    refresh_seconds: float = 60.0
    stale_seconds: float = 600.0
    unreadable_grace_seconds: float = 60.0


@dataclass(frozen=True)
class LockInfo:
    """What a publish lock says about its holder, and why it is stale (None: it is not)."""

    handle: str
    url: str
    host: str | None
    pid: int | None
    since: str | None
    age_seconds: float | None  # since its last refresh (or write, when unreadable)
    stale_reason: str | None

    def describe(self) -> str:
        """e.g. "held by pid 41 on build-3 since 2026-11-24T10:00:00Z, refreshed 12 s ago"."""
        age = "" if self.age_seconds is None else f", refreshed {_duration(self.age_seconds)} ago"
        if self.host is None:
            return f"empty or unreadable lock file{age.replace('refreshed', 'written')}"
        return f"held by pid {self.pid} on {self.host} since {self.since}{age}"


@dataclass(frozen=True)
class PutResult:
    """The outcome of `Store.put`: `created` is False when the identical version already existed;
    `repaired` says its stored archive was damaged and has been replaced by these bytes."""

    handle: str
    sha256: str
    bytes: int
    url: str
    created: bool
    repaired: bool = False


@dataclass(frozen=True)
class Problem:
    """One inconsistency found by `Store.verify` or `Store.fsck`."""

    subject: str  # a handle, or a file's name inside the store
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"


@dataclass
class CheckReport:
    """What `Store.verify` or `Store.fsck` found."""

    versions: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)  # fine, but worth knowing (live locks)


def validate_handle(handle: str) -> str:
    """Return `handle` if well-formed, else raise HubzooError saying what a handle looks like."""
    if not isinstance(handle, str) or not is_handle(handle):
        raise HubzooError(
            f"invalid module handle {handle!r}: expected publisher/name/.../version, segments of "
            "lowercase [a-z0-9_.-] starting with a letter or digit, a version 1, 2, ..., e.g. "
            "google/imagenet/inception_v1/feature_vector/1"
        )
    return handle


def open_store(
    url: str | None = None,
    storage_options: dict[str, Any] | None = None,
    *,
    read_only: bool = False,
) -> Store:
    """Open the store at an fsspec URL or local path (None: the repository's `store/` folder).

    S3 credentials and endpoints come from the environment as s3fs reads them, or from
    `storage_options` (passed to the fsspec filesystem, e.g. key, secret, client_kwargs).
    A writing store creates its local folder; a `read_only` one never does: a local folder that
    was named and does not exist is a StoreError, the default one an empty store.
    """
    target = str(DEFAULT_STORE_DIR) if url is None else url
    try:
        fs, root = _filesystem(target, storage_options or {})
    except (ImportError, ValueError, TypeError) as error:
        raise HubzooError(f"cannot open store {target}: {error}") from error
    root = root.rstrip("/") or root
    if not isinstance(fs, LocalFileSystem):
        return Store(fs, root, fs.unstrip_protocol(root))
    if os.path.exists(root) and not os.path.isdir(root):
        raise StoreError(f"cannot open store {target}: it is a file, not a folder")
    if read_only:
        if url is not None and not os.path.isdir(root):
            raise StoreError(f"cannot open store {target}: no such folder")
    else:
        try:
            os.makedirs(root, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot open store {target}: {_describe(error)}") from None
    return Store(fs, root, root)


def _filesystem(target: str, options: dict[str, Any]) -> tuple[fsspec.AbstractFileSystem, str]:
    protocol = fsspec.core.split_protocol(target)[0]
    if protocol in ("gs", "gcs"):
        # gcsfs's default class first asks the storage-control gRPC API for the bucket's layout,
        # 60 s per attempt where that API is missing (emulators, proxies); the JSON API suffices.
        # gcsfs logs every failed request with a traceback; the store reports failures itself.
        logging.getLogger("gcsfs").setLevel(logging.CRITICAL)
        gcs: Any = importlib.import_module("gcsfs.core").GCSFileSystem(**options)
        return gcs, gcs._strip_protocol(target)
    if protocol in ("s3", "s3a"):
        options = {"config_kwargs": S3_CONFIG, **options}
    fs, root = fsspec.core.url_to_fs(target, **options)
    return fs, root


class Store:
    """Published module versions under one root of an fsspec filesystem."""

    def __init__(
        self,
        fs: fsspec.AbstractFileSystem,
        root: str,
        url: str,
        lock_policy: LockPolicy | None = None,
    ) -> None:
        self._fs = fs
        self._io = _Storage(fs)
        self._root = root
        self.url = url
        self.lock_policy = lock_policy or LockPolicy()
        self._verified: dict[str, tuple[object, str]] = {}

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    @property
    def cli_store_option(self) -> str:
        """` --store URL` for commands suggested in messages ("" for the default store)."""
        return "" if self.url == str(DEFAULT_STORE_DIR) else f" --store {self.url}"

    def archive_url(self, handle: str) -> str:
        """The fsspec URL of the handle's archive (it exists once the version is published)."""
        url: str = self._fs.unstrip_protocol(self._key(validate_handle(handle), ARCHIVE_SUFFIX))
        return url

    # Reading

    def check_access(self, write: bool) -> None:
        """StoreError unless the store can be listed (and, if `write`, written and cleaned)."""
        with self._errors("cannot be read"):
            self._io.find(self._root, maxdepth=1)
        if write:
            probe = f"{self._root}/{_PROBE_NAME}{uuid.uuid4().hex}"
            with self._errors("cannot be written"):
                self._io.create_exclusive(probe, b"probe\n")
                self._io.remove(probe)

    def get_manifest(self, handle: str) -> Manifest | None:
        """The manifest of a completely published version, or None; CorruptVersion if damaged."""
        key = self._key(validate_handle(handle), MANIFEST_SUFFIX)
        with self._errors(f"reading the manifest of {handle} failed"):
            raw = self._io.read_or_none(key, MAX_MANIFEST_BYTES + 1)
        return None if raw is None else self._parse_manifest(handle, key, raw)

    def open_archive(self, handle: str) -> VerifiedArchive:
        """The archive of a published version, verified against its manifest (size, sha256).

        Raises UnknownVersion if there is no such version, CorruptVersion if the archive is
        missing or does not match, StoreError if the storage fails.
        """
        manifest = self.get_manifest(handle)
        if manifest is None:
            raise UnknownVersion(f"no published module {handle} in store {self.url}")
        return self._open_verified(manifest, trust_earlier=True)

    def list_manifests(self) -> list[Manifest]:
        """The manifests of every completely published version, sorted by handle."""
        keys_by_handle = {}
        with self._errors("listing its versions failed"):
            names = self._names()
        for name in names:
            handle = name.removesuffix(MANIFEST_SUFFIX)
            if name.endswith(MANIFEST_SUFFIX) and is_handle(handle):
                keys_by_handle[handle] = f"{self._root}/{name}"
        with self._errors("reading its manifests failed"):
            contents = self._io.read_many(list(keys_by_handle.values()), MAX_MANIFEST_BYTES + 1)
        return [
            self._parse_manifest(handle, keys_by_handle[handle], contents[keys_by_handle[handle]])
            for handle in sorted(keys_by_handle)
            if keys_by_handle[handle] in contents
        ]

    # Publishing

    def lock(self, handle: str) -> PublishLock:
        """Take the publish lock of `handle` (breaking a stale one); HubzooError if it is held.

        The returned lock is refreshed in the background until released (use it as a context
        manager); `put(..., lock=...)` publishes under it.
        """
        key = self._key(validate_handle(handle), LOCK_SUFFIX)
        token, since = uuid.uuid4().hex, _utc_now()
        for _attempt in range(3):
            with self._errors(f"taking the lock of {handle} failed"):
                try:
                    self._io.create_exclusive(key, _lock_record(token, since))
                    return PublishLock(self, handle, key, token, since)
                except FileExistsError:
                    pass
                current = self._read_lock(handle)
                if current is None:
                    continue
                info, raw = current
                if info.stale_reason is not None:
                    self._io.remove_if_unchanged(key, raw)
                    continue
            raise HubzooError(
                f"cannot publish {handle}: another publish holds its lock {info.url} "
                f"({info.describe()}; {self._stale_rule(info)}); if that publish is dead, run "
                f"{STORE_CLI}{self.cli_store_option} lock break {handle}"
            )
        raise HubzooError(f"cannot publish {handle}: its lock keeps changing hands; retry")

    def put(
        self, handle: str, archive: Path, build: BuildFacts, lock: PublishLock | None = None
    ) -> PutResult:
        """Publish `archive` as version `handle` built as `build` says; see the module docstring.

        Publishes under `lock` when given (it must be this handle's, held), else takes the lock
        itself. Returns created=False when the version exists with the same bytes (repaired=True
        if its stored archive was damaged and has been replaced). Raises HubzooError when it
        exists with other bytes, when another publish holds the lock, or when a build fact has
        the wrong form; StoreError when the storage fails (nothing is left half-written).
        """
        validate_handle(handle)
        build.check(f"manifest for {handle}")
        sha256, size = _file_digest(Path(archive))
        existing = self.get_manifest(handle)
        if existing is not None and self._same_and_intact(existing, sha256, size):
            return PutResult(handle, sha256, size, self.archive_url(handle), created=False)
        if lock is not None and (lock.store is not self or lock.handle != handle):
            raise HubzooError(f"the lock given to publish {handle} is {lock.handle}'s")
        held = lock or self.lock(handle)
        try:
            held.ensure_held()
            existing = self.get_manifest(handle)
            if existing is not None:
                if self._same_and_intact(existing, sha256, size):
                    return PutResult(handle, sha256, size, self.archive_url(handle), created=False)
                self._upload_verified(handle, Path(archive), sha256, size, held)
                self._verified.pop(self._key(handle, ARCHIVE_SUFFIX), None)
                return PutResult(
                    handle, sha256, size, self.archive_url(handle), created=False, repaired=True
                )
            with self._errors(f"publishing {handle} failed"):
                self._remove_leftovers(handle, keep_archive=False)
            self._upload_verified(handle, Path(archive), sha256, size, held)
            held.ensure_held()
            self._write_manifest(handle, Manifest(handle, sha256, size, _utc_now(), build))
        finally:
            if lock is None:
                held.release()
        return PutResult(handle, sha256, size, self.archive_url(handle), created=True)

    # Locks

    def lock_info(self, handle: str) -> LockInfo | None:
        """The publish lock of `handle`, or None when there is none."""
        validate_handle(handle)
        with self._errors(f"reading the lock of {handle} failed"):
            current = self._read_lock(handle)
        return None if current is None else current[0]

    def break_lock(self, handle: str) -> LockInfo | None:
        """Remove the publish lock of `handle` whoever holds it; what it said, or None if none.

        Only for a lock whose publish is known to be dead (e.g. killed on another machine).
        """
        info = self.lock_info(handle)
        if info is not None:
            with self._errors(f"breaking the lock of {handle} failed"):
                self._io.remove(self._key(handle, LOCK_SUFFIX))
        return info

    # Checking

    def verify(self, handles: Sequence[str] | None = None) -> CheckReport:
        """Check published versions (all, or `handles`): each manifest parses and names its
        handle, and each archive is present with the manifest's size and sha256 (read whole)."""
        report = CheckReport()
        if handles is None:
            with self._errors("listing its versions failed"):
                names = self._names()
            handles = sorted(_handles_with(names, MANIFEST_SUFFIX))
        for handle in handles:
            validate_handle(handle)
            try:
                manifest = self.get_manifest(handle)
                if manifest is None:
                    report.problems.append(Problem(handle, "not published in this store"))
                    continue
                report.versions += 1
                self._open_verified(manifest, trust_earlier=False).close()
            except CorruptVersion as error:
                report.problems.append(Problem(handle, str(error)))
        return report

    def fsck(self, clean: bool = False) -> CheckReport:
        """`verify` every version, and report leftovers of interrupted publishes (`.partial-*`
        files, archives without a manifest) and stale locks; a live lock is a note.

        With `clean`, leftovers and stale locks are removed (each handle under its lock; a handle
        whose lock is held is left alone), and the report lists what was removed as notes.
        """
        report = self.verify()
        with self._errors("listing its files failed"):
            names = self._names()
        published = _handles_with(names, MANIFEST_SUFFIX)
        leftovers: dict[str, list[str]] = {}
        for name in names:
            if PARTIAL_MARK in name:
                handle = _strip_suffix(name.split(PARTIAL_MARK)[0])
                leftovers.setdefault(handle, []).append(name)
            elif (
                name.endswith(ARCHIVE_SUFFIX) and name.removesuffix(ARCHIVE_SUFFIX) not in published
            ):
                leftovers.setdefault(name.removesuffix(ARCHIVE_SUFFIX), []).append(name)
        locks = {handle: self.lock_info(handle) for handle in _handles_with(names, LOCK_SUFFIX)}
        for handle in sorted(set(leftovers) | set(locks)):
            info = locks.get(handle)
            if info is not None and info.stale_reason is None:
                report.notes.append(Problem(handle, f"publish in progress: lock {info.describe()}"))
                continue
            found = [] if info is None else [Problem(handle, f"stale lock: {info.stale_reason}")]
            for name in leftovers.get(handle, []):
                what = "archive without a manifest" if name.endswith(ARCHIVE_SUFFIX) else "file"
                found.append(Problem(name, f"{what} left by an interrupted publish of {handle}"))
            if clean and is_handle(handle) and self._clean(handle, handle in published):
                report.notes.extend(Problem(p.subject, f"removed {p.message}") for p in found)
            else:
                report.problems.extend(found)
        return report

    # Internals

    def _key(self, handle: str, suffix: str) -> str:
        return f"{self._root}/{handle}{suffix}"

    def _stale_rule(self, info: LockInfo) -> str:
        policy = self.lock_policy
        if info.host is None:
            return f"it is stale {_duration(policy.unreadable_grace_seconds)} after it was written"
        return f"it is stale {_duration(policy.stale_seconds)} after its last refresh"

    def _display(self, key: str) -> str:
        """How messages show a stored file: its path on local disk, else its URL."""
        return key if self._io.local else str(self._fs.unstrip_protocol(key))

    def _names(self) -> list[str]:
        """Every file under the root, relative to it."""
        return [path[len(self._root) + 1 :] for path in self._io.find(self._root)]

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn failures of the storage into one-line StoreErrors naming the store."""
        try:
            yield
        except HubzooError:
            raise
        except Exception as error:
            if not _is_storage_failure(error):
                raise
            raise StoreError(f"store {self.url}: {doing}: {_describe(error)}") from None

    def _parse_manifest(self, handle: str, key: str, raw: bytes) -> Manifest:
        where = self._display(key)
        if len(raw) > MAX_MANIFEST_BYTES:
            raise CorruptVersion(f"manifest {where} is larger than {MAX_MANIFEST_BYTES} bytes")
        try:
            manifest = Manifest.loads(raw, where)
        except HubzooError as error:
            raise CorruptVersion(str(error)) from None
        if manifest.handle != handle:
            raise CorruptVersion(f"manifest {where} is the manifest of {manifest.handle!r}")
        return manifest

    def _open_verified(self, manifest: Manifest, trust_earlier: bool) -> VerifiedArchive:
        """Open the archive of `manifest` and check its size and sha256, reading it whole unless
        `trust_earlier` and this store verified the very same object (same identity) before."""
        handle, key = manifest.handle, self._key(manifest.handle, ARCHIVE_SUFFIX)
        with self._errors(f"reading the archive of {handle} failed"):
            try:
                reader = self._io.open_reader(key)
            except FileNotFoundError:
                raise CorruptVersion(
                    f"{handle}: its archive is missing (the manifest is there)"
                ) from None
        archive = VerifiedArchive(manifest, reader, self)
        try:
            if reader.size != manifest.bytes:
                raise CorruptVersion(
                    f"{handle}: the stored archive is {reader.size} bytes, its manifest says "
                    f"{manifest.bytes}"
                )
            known = self._verified.get(key)
            if (
                not trust_earlier
                or reader.identity is None
                or known != (reader.identity, manifest.sha256)
            ):
                for _chunk in archive.chunks():
                    pass
                if reader.identity is not None:
                    self._verified[key] = (reader.identity, manifest.sha256)
        except BaseException:
            archive.close()
            raise
        return archive

    def _same_and_intact(self, existing: Manifest, sha256: str, size: int) -> bool:
        """True when `existing` is these bytes and its stored archive matches it; False when it is
        these bytes but its archive is damaged; HubzooError when it is other bytes."""
        handle = existing.handle
        if existing.sha256 != sha256:
            raise HubzooError(
                f"{handle}: version exists with sha256 {existing.sha256}; "
                "versions are immutable; publish a new version"
            )
        if existing.bytes != size:
            raise CorruptVersion(
                f"{handle}: its manifest says {existing.bytes} bytes for sha256 {sha256}, whose "
                f"bytes number {size}: the manifest is damaged; see {STORE_CLI} fsck"
            )
        try:
            self._open_verified(existing, trust_earlier=False).close()
        except CorruptVersion:
            return False
        return True

    def _read_lock(self, handle: str) -> tuple[LockInfo, bytes] | None:
        key = self._key(handle, LOCK_SUFFIX)
        found = self._io.read_with_mtime(key)
        if found is None:
            return None
        raw, modified = found
        return _lock_info(handle, self._display(key), raw, modified, self.lock_policy), raw

    def _read_lock_token(self, key: str) -> str | None:
        with self._errors("reading a lock failed"):
            raw = self._io.read_or_none(key, MAX_MANIFEST_BYTES)
        holder = _parse_lock(raw) if raw is not None else None
        return None if holder is None else holder["token"]

    def _refresh_lock(self, key: str, token: str, since: str) -> None:
        with self._errors("refreshing a lock failed"):
            self._io.replace(key, _lock_record(token, since))

    def _release_lock(self, key: str, token: str) -> None:
        if self._read_lock_token(key) == token:
            with self._errors("releasing a lock failed"), contextlib.suppress(FileNotFoundError):
                self._io.remove(key)

    def _remove_leftovers(self, handle: str, keep_archive: bool, lock_temps: bool = False) -> None:
        """Delete what interrupted publishes of `handle` left (never a manifest).

        A lock's temporary files (`HANDLE.lock.partial-*`, local disk) go only with `lock_temps`:
        other publishes create them for an instant while trying to take the lock."""
        archive = f"{handle}{ARCHIVE_SUFFIX}"
        suffixes = (ARCHIVE_SUFFIX, MANIFEST_SUFFIX, *([LOCK_SUFFIX] if lock_temps else []))
        prefixes = tuple(f"{handle}{suffix}{PARTIAL_MARK}" for suffix in suffixes)
        folder = self._key(handle, "").rsplit("/", 1)[0]
        names = [path[len(self._root) + 1 :] for path in self._io.list_or_empty(folder)]
        doomed = [n for n in names if n.startswith(prefixes) or (n == archive and not keep_archive)]
        for name in doomed:
            with contextlib.suppress(FileNotFoundError):
                self._io.remove(f"{self._root}/{name}")

    def _clean(self, handle: str, keep_archive: bool) -> bool:
        """Remove the leftovers of `handle` and its stale lock (by taking it); False if its lock
        is held."""
        try:
            lock = self.lock(handle)
        except StoreError:
            raise
        except HubzooError:
            return False
        with lock, self._errors(f"cleaning {handle} failed"):
            self._remove_leftovers(handle, keep_archive, lock_temps=True)
        return True

    def _upload_verified(
        self, handle: str, archive: Path, sha256: str, size: int, lock: PublishLock
    ) -> None:
        final_key = self._key(handle, ARCHIVE_SUFFIX)
        temp_key = final_key + PARTIAL_MARK + lock.token
        with self._errors(f"uploading {handle} failed"):
            try:
                self._io.upload(archive, temp_key, size, ARCHIVE_CONTENT_TYPE)
                reader = self._io.open_reader(temp_key)
                try:
                    stored_sha256, stored_size = _digest_of(reader)
                finally:
                    reader.close()
                if (stored_sha256, stored_size) != (sha256, size):
                    raise StoreError(
                        f"store {self.url}: uploaded {handle} reads back as {stored_size} bytes "
                        f"with sha256 {stored_sha256}, expected {size} bytes with sha256 {sha256}"
                    )
                lock.ensure_held()
                self._io.move(temp_key, final_key)
            except BaseException:
                with contextlib.suppress(Exception):
                    self._io.remove(temp_key)
                raise
            if self._io.size(final_key) != size:
                raise StoreError(f"store {self.url}: {handle} changed size while moving into place")

    def _write_manifest(self, handle: str, manifest: Manifest) -> None:
        with self._errors(f"writing the manifest of {handle} failed"):
            try:
                self._io.create_exclusive(self._key(handle, MANIFEST_SUFFIX), manifest.dumps())
            except FileExistsError:
                raise HubzooError(
                    f"cannot publish {handle}: another publish created it meanwhile; "
                    f"check it with {STORE_CLI}{self.cli_store_option} verify {handle}"
                ) from None


class PublishLock:
    """The held publish lock of one handle, refreshed in the background until released."""

    def __init__(self, store: Store, handle: str, key: str, token: str, since: str) -> None:
        self.store = store
        self.handle = handle
        self.token = token
        self._key = key
        self._since = since
        self._lost: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._keep_fresh, name=f"hubzoo-lock {handle}", daemon=True
        )
        self._thread.start()

    def __enter__(self) -> PublishLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def refresh(self) -> None:
        """Rewrite the lock with the current time, if it is still ours."""
        if self._lost is None and self.store._read_lock_token(self._key) != self.token:
            self._lost = "it was broken or taken over"
        if self._lost is None:
            self.store._refresh_lock(self._key, self.token, self._since)

    def ensure_held(self) -> None:
        """HubzooError unless the lock is still this publish's."""
        if self._lost is None and self.store._read_lock_token(self._key) != self.token:
            self._lost = "it was broken or taken over"
        if self._lost is not None:
            raise HubzooError(
                f"cannot publish {self.handle}: its lock was lost while this publish ran "
                f"({self._lost}); nothing more was written"
            )

    def release(self) -> None:
        """Stop refreshing and remove the lock if it is still ours."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        if self._lost is None:
            self.store._release_lock(self._key, self.token)

    def _keep_fresh(self) -> None:
        while not self._stop.wait(self.store.lock_policy.refresh_seconds):
            with contextlib.suppress(HubzooError):
                self.refresh()


class VerifiedArchive:
    """A published archive whose size and sha256 matched its manifest when it was opened.

    Reading it whole checks the sha256 again as it streams and holds its last chunk back until
    the check passes, so a reader never receives a complete archive that differs.
    """

    def __init__(self, manifest: Manifest, reader: _Reader, store: Store) -> None:
        self.manifest = manifest
        self._reader = reader
        self._store = store

    @property
    def size(self) -> int:
        """The archive's verified size in bytes."""
        return self.manifest.bytes

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes from `start` up to `end` (exclusive; None: the end), in chunks."""
        end = self.size if end is None else end
        digest = hashlib.sha256() if (start, end) == (0, self.size) else None
        pending = b""
        for offset in range(start, end, READ_CHUNK_BYTES):
            want = min(READ_CHUNK_BYTES, end - offset)
            with self._store._errors(f"reading the archive of {self.manifest.handle} failed"):
                data = self._reader.read(offset, want)
            if len(data) != want:
                self._mismatch("changed size while being read")
            if digest is not None:
                digest.update(data)
            if pending:
                yield pending
            pending = data
        if digest is not None and digest.hexdigest() != self.manifest.sha256:
            self._mismatch(
                f"has sha256 {digest.hexdigest()}, its manifest says {self.manifest.sha256}"
            )
        if pending:
            yield pending

    def read(self) -> bytes:
        """The whole archive, verified."""
        return b"".join(self.chunks())

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> VerifiedArchive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _mismatch(self, what: str) -> None:
        self._store._verified.pop(self._store._key(self.manifest.handle, ARCHIVE_SUFFIX), None)
        raise CorruptVersion(f"{self.manifest.handle}: the stored archive {what}")


class _Reader:
    """Positional reads of one stored object; `identity` changes whenever its content may have."""

    def __init__(
        self,
        size: int,
        identity: object,
        read: Callable[[int, int], bytes],
        close: Callable[[], None],
    ) -> None:
        self.size = size
        self.identity = identity
        self.read = read
        self.close = close


class _Storage:
    """The few operations the store needs, atomic where they must be, bounded in time remotely."""

    _IDENTITY_KEYS = ("ETag", "LastModified", "VersionId", "generation", "md5Hash", "created")

    def __init__(self, fs: fsspec.AbstractFileSystem) -> None:
        self.fs = fs
        self.local = isinstance(fs, LocalFileSystem)

    def call(self, name: str, *args: Any, seconds: float | None = None, **kwargs: Any) -> Any:
        """fs.NAME(*args, **kwargs), within `seconds` (default: `call_seconds()`) on an
        asynchronous (remote) filesystem."""
        if not isinstance(self.fs, AsyncFileSystem):
            return getattr(self.fs, name)(*args, **kwargs)
        seconds = call_seconds() if seconds is None else seconds
        try:
            return getattr(self.fs, name)(*args, timeout=seconds, **kwargs)
        except TimeoutError:
            raise TimeoutError(f"no answer within {seconds:.0f} s") from None

    def find(self, root: str, maxdepth: int | None = None) -> list[str]:
        self.fs.invalidate_cache()
        if self.local and not os.path.isdir(root):
            return []
        found: list[str] = self.call("find", root, maxdepth=maxdepth)
        return found

    def list_or_empty(self, folder: str) -> list[str]:
        try:
            return self.find(folder, maxdepth=1)
        except FileNotFoundError:
            return []

    def read_or_none(self, key: str, limit: int) -> bytes | None:
        try:
            if self.local:
                with open(key, "rb") as file:
                    return file.read(limit)
            self.fs.invalidate_cache()
            data: bytes = self.call("cat_file", key)  # a ranged read of an empty object fails
            return data[:limit]
        except (FileNotFoundError, NotADirectoryError):
            return None

    def read_many(self, keys: list[str], limit: int) -> dict[str, bytes]:
        """The first `limit` bytes of each of `keys` that exists (remotely, all at once)."""
        if self.local or not isinstance(self.fs, AsyncFileSystem) or not keys:
            found = {key: self.read_or_none(key, limit) for key in keys}
            return {key: data for key, data in found.items() if data is not None}
        self.fs.invalidate_cache()
        seconds = call_seconds() * (1 + len(keys) // 100)
        contents: dict[str, bytes] = self.call("cat", keys, on_error="omit", seconds=seconds)
        return {key: contents[key][:limit] for key in keys if key in contents}

    def read_with_mtime(self, key: str) -> tuple[bytes, float | None] | None:
        raw = self.read_or_none(key, MAX_MANIFEST_BYTES)
        if raw is None:
            return None
        try:
            info = os.stat(key) if self.local else self.call("info", key)
        except FileNotFoundError:
            return None
        return raw, info.st_mtime if isinstance(info, os.stat_result) else _modified(info)

    def size(self, key: str) -> int:
        if self.local:
            return os.stat(key).st_size
        self.fs.invalidate_cache()
        return int(self.call("info", key)["size"])

    def open_reader(self, key: str) -> _Reader:
        if self.local:
            descriptor = os.open(key, os.O_RDONLY)
            stat = os.fstat(descriptor)
            identity = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
            return _Reader(
                stat.st_size,
                identity,
                lambda offset, count: os.pread(descriptor, count, offset),
                lambda: os.close(descriptor),
            )
        self.fs.invalidate_cache()
        info = self.call("info", key)
        facts = tuple((name, str(info[name])) for name in self._IDENTITY_KEYS if name in info)
        return _Reader(
            int(info["size"]),
            (int(info["size"]), facts) if facts else None,
            lambda offset, count: self.call(
                "cat_file", key, start=offset, end=offset + count, seconds=_transfer_seconds(count)
            ),
            lambda: None,
        )

    def upload(self, source: Path, key: str, size: int, content_type: str | None = None) -> None:
        if self.local:
            os.makedirs(os.path.dirname(key), exist_ok=True)
        extra = {}
        if content_type is not None:
            protocols = (
                {self.fs.protocol} if isinstance(self.fs.protocol, str) else self.fs.protocol
            )
            if {"s3", "s3a"} & set(protocols):
                extra = {"ContentType": content_type}
            elif {"gs", "gcs"} & set(protocols):
                extra = {"content_type": content_type}
        self.call("put_file", str(source), key, seconds=_transfer_seconds(size), **extra)

    def create_exclusive(self, key: str, data: bytes) -> None:
        """Create `key` holding `data` at once; FileExistsError if it exists."""
        if not self.local:
            self.fs.invalidate_cache()
            if self.call("exists", key):  # for stores that ignore the create-only condition
                raise FileExistsError(key)
            self.call("pipe_file", key, data, mode="create")
            return
        temp = self._write_temp(key, data)
        try:
            os.link(temp, key)
        except FileExistsError:
            raise
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            with open(key, "xb") as file:  # no hard links here: exclusive, not atomic
                file.write(data)
        finally:
            os.unlink(temp)

    def replace(self, key: str, data: bytes) -> None:
        """Write `data` as `key`, replacing it at once."""
        if not self.local:
            self.call("pipe_file", key, data)
            return
        temp = self._write_temp(key, data)
        try:
            os.replace(temp, key)
        except BaseException:
            os.unlink(temp)
            raise

    def move(self, source: str, target: str) -> None:
        """Move `source` over `target` (an atomic rename locally; copy, then delete, remotely)."""
        if self.local:
            os.replace(source, target)
            return
        self.call("copy", source, target, seconds=_transfer_seconds(self.size(source)))
        self.remove(source)

    def remove(self, key: str) -> None:
        if self.local:
            os.unlink(key)
        else:
            self.call("rm_file", key)

    def remove_if_unchanged(self, key: str, seen: bytes) -> None:
        """Remove `key` if it still holds `seen` (a stale lock nobody took meanwhile)."""
        if self.read_or_none(key, MAX_MANIFEST_BYTES) == seen:
            with contextlib.suppress(FileNotFoundError):
                self.remove(key)

    @staticmethod
    def _write_temp(key: str, data: bytes) -> str:
        os.makedirs(os.path.dirname(key), exist_ok=True)
        temp = f"{key}{PARTIAL_MARK}{uuid.uuid4().hex}"
        try:
            descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        return temp


def call_seconds() -> float:
    """The deadline of one call on a remote store: $HUBZOO_STORE_TIMEOUT, else CALL_SECONDS."""
    value = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not value:
        return CALL_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise HubzooError(f"{TIMEOUT_VARIABLE} must be a positive number of seconds, not {value!r}")
    return seconds


def _transfer_seconds(size: int) -> float:
    return call_seconds() + size / MIN_TRANSFER_BYTES_PER_SECOND


def _digest_of(reader: _Reader) -> tuple[str, int]:
    digest = hashlib.sha256()
    for offset in range(0, reader.size, READ_CHUNK_BYTES):
        digest.update(reader.read(offset, min(READ_CHUNK_BYTES, reader.size - offset)))
    return digest.hexdigest(), reader.size


def _modified(info: dict[str, Any]) -> float | None:
    """The modification time (epoch seconds) in an fsspec info mapping, if it has one."""
    for name in ("mtime", "LastModified", "updated", "created"):
        value = info.get(name)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return None


def _is_storage_failure(error: Exception) -> bool:
    """True for what the storage raises when it fails (not for bugs in this code)."""
    if isinstance(error, OSError):
        return True
    return any(cls.__module__.split(".")[0] in _STORAGE_LIBRARIES for cls in type(error).__mro__)


def _describe(error: Exception) -> str:
    """One line saying what went wrong with the storage."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return "no space left on its disk"
    if isinstance(error, OSError) and error.errno == errno.EROFS:
        return "it is on a read-only file system"
    if isinstance(error, FileNotFoundError) and "bucket" in str(error).lower():
        return "its bucket does not exist"
    if isinstance(error, OSError) and error.strerror and error.filename:
        detail = f"{error.strerror}: {error.filename}"
    else:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else "(no message)"
    if isinstance(error, PermissionError | TimeoutError):
        return detail
    return f"{type(error).__name__}: {detail}"


def _file_digest(path: Path) -> tuple[str, int]:
    try:
        return sha256_of_file(path)
    except FileNotFoundError as error:
        raise HubzooError(f"archive {path} does not exist") from error


def _handles_with(names: Sequence[str], suffix: str) -> set[str]:
    return {
        name.removesuffix(suffix)
        for name in names
        if name.endswith(suffix) and is_handle(name.removesuffix(suffix))
    }


def _strip_suffix(name: str) -> str:
    for suffix in (ARCHIVE_SUFFIX, MANIFEST_SUFFIX, LOCK_SUFFIX):
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def _lock_record(token: str, since: str) -> bytes:
    holder = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "pid_started": _process_start(os.getpid()),
        "token": token,
        "since": since,
        "refreshed": _utc_now(),
    }
    return (json.dumps(holder, sort_keys=True) + "\n").encode()


def _parse_lock(raw: bytes) -> dict[str, Any] | None:
    """The holder a lock file names, or None when it is empty, unreadable or incomplete."""
    try:
        holder = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(holder, dict):
        return None
    forms = {"host": str, "pid": int, "token": str, "since": str, "refreshed": str}
    if any(not isinstance(holder.get(key), form) for key, form in forms.items()):
        return None
    try:
        for key in ("since", "refreshed"):
            datetime.strptime(holder[key], PUBLISHED_AT_FORMAT)
    except ValueError:
        return None
    return holder


def _lock_info(
    handle: str, url: str, raw: bytes, modified: float | None, policy: LockPolicy
) -> LockInfo:
    now = time.time()
    holder = _parse_lock(raw)
    reason: str | None = None
    if holder is None:
        written = None if modified is None else max(0.0, now - modified)
        if written is None:
            reason = "the lock file is empty or unreadable"
        elif written > policy.unreadable_grace_seconds:
            reason = f"the lock file is empty or unreadable and {_duration(written)} old"
        return LockInfo(handle, url, None, None, None, written, reason)
    refreshed = datetime.strptime(holder["refreshed"], PUBLISHED_AT_FORMAT).replace(tzinfo=UTC)
    age = max(0.0, now - refreshed.timestamp())
    pid, host = holder["pid"], holder["host"]
    if host == socket.gethostname():
        started = _process_start(pid)
        if not _process_exists(pid):
            reason = f"its process {pid} on this host is gone"
        elif holder.get("pid_started") and started and holder["pid_started"] != started:
            reason = f"pid {pid} on this host now belongs to another process"
    if reason is None and age > policy.stale_seconds:
        reason = (
            f"not refreshed for {_duration(age)} (the limit is {_duration(policy.stale_seconds)})"
        )
    return LockInfo(handle, url, host, pid, holder["since"], age, reason)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _process_start(pid: int) -> str | None:
    """When process `pid` started ("BOOT_ID:TICKS" from /proc), None where /proc cannot say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    return f"{boot}:{stat.rsplit(')', 1)[1].split()[19]}"


def _duration(seconds: float) -> str:
    """e.g. "42 s", "17 min", "5 h", "327 days"."""
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size:.0f} {unit}"
    return f"{seconds:.0f} s"


def _utc_now() -> str:
    return datetime.now(UTC).strftime(PUBLISHED_AT_FORMAT)
