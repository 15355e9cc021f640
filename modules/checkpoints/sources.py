"""Where a checkpoint comes from: fetch a TF-Slim tarball, cache and verify it, extract it safely.

Pure standard library (no TensorFlow), so it runs on any path of the project.

A checkpoint on disk is either a TF2-style prefix (`P.index` beside `P.data-NNNNN-of-MMMMM`
shards) or a single-file checkpoint as in the 2016 TF-Slim tarballs (`inception_v1.ckpt`); both
are what `tf.train.load_checkpoint(P)` reads.

Cache layout under `cache_dir`::

    <sha256>.tar.gz       a download whose sha256 matched the expected one
    <sha256>/             its extracted contents (a local tarball is extracted here too)
    url-<hash>.tar.gz     a download with no known sha256, keyed by a hash of its URL
    url-<hash>/           its extracted contents
    .<name>.*.part        a download in progress; renamed into place only once verified
    .<name>.*.extracting  an extraction in progress; renamed into place only once complete

A cache hit on a known sha256 touches no network; one on an unknown sha256 re-hashes the kept
download to report its digest. A fetch that fails leaves nothing of its own in the cache.

Limits (each a keyword argument of `fetch_checkpoint` and `resolve_checkpoint`, with the module
default below): a download may take `max_download_seconds` in all, headers included, wait
`timeout` for any one read, and bring `max_download_bytes`; an extraction may write
`max_extracted_bytes` in `max_members` members. The defaults leave room for the largest TF-Slim
checkpoint tarball: the slim README's biggest nets are VGG-16 and VGG-19 (138.4 and 143.7
million float32 weights: about 553 and 575 MB of checkpoint, and a tarball barely smaller, as
weights hardly compress); NASNet-A and PNASNet-5 large hold about 89 and 86 million, the zoo's
own inception_resnet_v2 56 million. 1 GiB is nearly twice the largest and far short of what a
gzip bomb or an endless body would fill a disk with; 30 minutes fetch 1 GiB at 600 KB/s.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import http.client
import os
import re
import shutil
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any, Literal

from hubzoo.errors import HubzooError
from hubzoo.files import (
    ArchiveLimits,
    extract_archive,
    sha256_of_file,
    staged_dir,
    staged_file,
    writing,
)
from hubzoo.progress import Progress
from hubzoo.units import format_bytes

DEFAULT_TIMEOUT_S = 30.0
"""Longest wait for the server to connect or to send anything."""
DEFAULT_MAX_DOWNLOAD_SECONDS = 1800.0
"""Longest a whole download may take, however the server trickles its bytes."""
DEFAULT_MAX_DOWNLOAD_BYTES = 1 << 30
"""Largest tarball downloaded."""
DEFAULT_MAX_EXTRACTED_BYTES = 1 << 30
"""Most bytes one tarball may extract to."""
DEFAULT_MAX_MEMBERS = 1000
"""Most members (files and folders) one tarball may hold; TF-Slim's hold at most a handful."""
URL_SCHEMES = ("http://", "https://", "file://")
TARBALL_SUFFIXES = (".tar.gz", ".tgz", ".tar")
CHUNK_BYTES = 1 << 20
LOCAL_CHECKPOINT_HINT = "Pass a local checkpoint with `--checkpoint PATH|URL` or use `--synthetic`."
# TensorFlow's table files (a V2 checkpoint's .index, a V1 single-file checkpoint) end in a
# 48-byte footer whose last 8 bytes are this magic number, little-endian.
TABLE_FOOTER_BYTES = 48
TABLE_MAGIC = (0xDB4775248B80FB57).to_bytes(8, "little")
DATA_SHARD = re.compile(r"\.data-(\d{5})-of-(\d{5})$")
MAX_LISTED = 20


@dataclass(frozen=True)
class CheckpointSource:
    """A record's checkpoint: the tarball's URL, the checkpoint prefix inside it, its sha256."""

    url: str
    member: str
    sha256: str | None


@dataclass(frozen=True)
class FetchLimits:
    """The bounds of one checkpoint fetch, as keyword arguments of `fetch_checkpoint` and
    `resolve_checkpoint` (the module docstring says why the defaults are what they are)."""

    timeout: float = DEFAULT_TIMEOUT_S  # longest wait for any one read, seconds
    max_download_seconds: float = DEFAULT_MAX_DOWNLOAD_SECONDS  # a whole download, seconds
    max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES  # the tarball
    max_extracted_bytes: int = DEFAULT_MAX_EXTRACTED_BYTES  # what one tarball may extract to
    max_members: int = DEFAULT_MAX_MEMBERS  # files and folders in one tarball


@dataclass(frozen=True)
class _DownloadLimits:
    timeout: float
    max_seconds: float
    max_bytes: int


@dataclass(frozen=True)
class FetchedCheckpoint:
    """A checkpoint ready for `tf.train.load_checkpoint(prefix)`.

    `sha256` is the digest of the tarball it came from, or for a local checkpoint prefix or
    folder, `checkpoint_digest(prefix)`. `verified` is True iff it matched an expected sha256.
    """

    prefix: Path
    sha256: str
    verified: bool


def fetch_checkpoint(
    source: CheckpointSource,
    cache_dir: Path,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    *,
    max_download_seconds: float = DEFAULT_MAX_DOWNLOAD_SECONDS,
    max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
    max_extracted_bytes: int = DEFAULT_MAX_EXTRACTED_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> FetchedCheckpoint:
    """Download `source` into `cache_dir` (unless cached), verify, extract, locate its member.

    `progress` defaults to a reporter on stderr; the limits are the module's (see its docstring).
    Raises HubzooError when the URL cannot be reached, a limit is hit, the sha256 does not match,
    the tarball is corrupt or unsafe, the member is absent, or the cache cannot be written.
    """
    return _fetch_url(
        source.url,
        Path(cache_dir).absolute(),
        source.member,
        source.sha256,
        progress or Progress(),
        _download_limits(timeout, max_download_seconds, max_download_bytes),
        _archive_limits(max_extracted_bytes, max_members),
    )


def resolve_checkpoint(
    location: str,
    cache_dir: Path,
    member: str | None = None,
    sha256: str | None = None,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    *,
    max_download_seconds: float = DEFAULT_MAX_DOWNLOAD_SECONDS,
    max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
    max_extracted_bytes: int = DEFAULT_MAX_EXTRACTED_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> FetchedCheckpoint:
    """Resolve a user's `--checkpoint` value to a checkpoint on disk.

    `location` is a checkpoint prefix (or its `.index` file), a folder holding one checkpoint,
    a `.tar.gz`/`.tgz`/`.tar` file, or an http(s):// or file:// URL of a tarball. `member`
    picks a checkpoint inside a tarball or folder (needed only when it holds several).
    `sha256`, when given, is the expected digest of the tarball, or for a prefix or folder, the
    expected `checkpoint_digest`. Local files are never modified or deleted. The limits are
    those of `fetch_checkpoint`; a local tarball is held to the extraction limits.
    """
    progress = progress or Progress()
    download = _download_limits(timeout, max_download_seconds, max_download_bytes)
    extraction = _archive_limits(max_extracted_bytes, max_members)
    if "://" in location:
        if not location.startswith(URL_SCHEMES):
            raise HubzooError(
                f"unsupported checkpoint URL {location}: use http://, https:// or file://"
            )
        cache = Path(cache_dir).absolute()
        return _fetch_url(location, cache, member, sha256, progress, download, extraction)
    path = Path(location).expanduser().absolute()
    if path.name.endswith(".index") and path.is_file():
        path = path.with_name(path.name.removesuffix(".index"))
    if path.is_file() and path.name.endswith(TARBALL_SUFFIXES):
        cache = Path(cache_dir).absolute()
        return _resolve_local_tarball(path, cache, member, sha256, progress, extraction)
    if path.is_dir():
        prefix = _locate(path, member, str(path), recursive=False)
    elif _checkpoint_files(path) is not None:
        prefix = path
    else:
        raise HubzooError(
            f"no checkpoint at {location}: expected a checkpoint prefix with "
            f"{path.name}.index beside it, a folder holding one checkpoint, a .tar.gz/.tgz/.tar "
            "file, or an http(s):// or file:// URL of a tarball"
        )
    digest = checkpoint_digest(prefix)
    expected = _normalise_sha256(sha256)
    if expected is not None and digest != expected:
        raise HubzooError(
            f"sha256 mismatch for checkpoint {prefix}: expected {expected}, got {digest}"
        )
    return FetchedCheckpoint(prefix, digest, expected is not None)


def checkpoint_digest(prefix: Path) -> str:
    """A sha256 of a checkpoint's files that does not depend on where it lives or its name.

    It hashes the lines `<suffix>\\0<sha256 of the file>\\n`, sorted by suffix, one per file of
    the checkpoint, the suffix being the file name after the prefix's name (`.index`,
    `.data-00000-of-00001`; empty for a single-file checkpoint).
    """
    files = _checkpoint_files(Path(prefix))
    if files is None:
        raise HubzooError(f"no checkpoint at {prefix}")
    lines = sorted(
        f"{file.name.removeprefix(Path(prefix).name)}\0{_sha256_hex(file)}\n" for file in files
    )
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _fetch_url(
    url: str,
    cache_dir: Path,
    member: str | None,
    sha256: str | None,
    progress: Progress,
    download: _DownloadLimits,
    extraction: ArchiveLimits,
) -> FetchedCheckpoint:
    expected = _normalise_sha256(sha256)
    key = expected or "url-" + hashlib.sha256(url.encode()).hexdigest()[:32]
    with writing(f"the checkpoint cache {cache_dir}"):
        cache_dir.mkdir(parents=True, exist_ok=True)
    archive = cache_dir / (key + _archive_suffix(url))
    extracted = cache_dir / key
    if expected is not None and extracted.is_dir():
        return FetchedCheckpoint(_locate(extracted, member, url, recursive=True), expected, True)
    fresh: list[Path] = []  # what this call puts in the cache, removed again if it fails
    try:
        if archive.is_file():
            digest = expected or _sha256_hex(archive)
        else:
            digest = _download(url, archive, expected, progress, download)
            fresh.append(archive)
            _remove(extracted)
        if expected is None:
            progress.note(
                f"no sha256 is known for {url}, so it was not verified; its sha256 is {digest}"
            )
        if not extracted.is_dir():
            fresh += [archive, extracted]  # a kept tarball that fails to extract is no use either
            _extract_tarball(archive, extracted, url, progress, extraction)
        prefix = _locate(extracted, member, url, recursive=True)
    except BaseException:
        for path in fresh:
            _remove(path)
        raise
    return FetchedCheckpoint(prefix, digest, expected is not None)


def _resolve_local_tarball(
    path: Path,
    cache_dir: Path,
    member: str | None,
    sha256: str | None,
    progress: Progress,
    extraction: ArchiveLimits,
) -> FetchedCheckpoint:
    expected = _normalise_sha256(sha256)
    digest = _sha256_hex(path)
    if expected is not None and digest != expected:
        raise HubzooError(f"sha256 mismatch for {path}: expected {expected}, got {digest}")
    with writing(f"the checkpoint cache {cache_dir}"):
        cache_dir.mkdir(parents=True, exist_ok=True)
    extracted = cache_dir / digest
    fresh = not extracted.is_dir()
    if fresh:
        _extract_tarball(path, extracted, str(path), progress, extraction)
    try:
        prefix = _locate(extracted, member, str(path), recursive=True)
    except BaseException:
        if fresh:
            _remove(extracted)
        raise
    return FetchedCheckpoint(prefix, digest, expected is not None)


def _download(
    url: str, target: Path, expected: str | None, progress: Progress, limits: _DownloadLimits
) -> str:
    """Stream `url` into a temporary file beside `target`; rename it there once verified.

    The whole download, headers included, ends after `limits.max_seconds` (a `_Deadline` shuts
    its sockets down) and after `limits.max_bytes`, whatever the server declares or sends.
    """
    hasher = hashlib.sha256()
    with _Deadline(limits.max_seconds) as deadline:
        response = _open(url, limits.timeout, deadline)
        with response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if total is not None and total > limits.max_bytes:
                raise _unreachable(
                    url,
                    f"it is {format_bytes(total)}, more than the {format_bytes(limits.max_bytes)}"
                    " download limit",
                )
            label = f"download {urllib.parse.urlparse(url).path.rsplit('/', 1)[-1] or url}"
            with (
                writing(f"{target} (downloading {url})"),
                staged_file(target) as part,
                open(part, "wb") as out,
                progress.bar(total, label) as bar,
            ):
                while chunk := _read_chunk(response, url, deadline):
                    if bar.done + len(chunk) > limits.max_bytes:
                        raise _unreachable(
                            url,
                            f"it sent more than the {format_bytes(limits.max_bytes)} download "
                            "limit",
                        )
                    hasher.update(chunk)
                    out.write(chunk)
                    bar.update(len(chunk))
                if deadline.expired:
                    raise _too_slow(url, deadline, bar.done)
                if total is not None and bar.done < total:
                    raise _unreachable(url, f"download ended after {bar.done} of {total} bytes")
                digest = hasher.hexdigest()
                if expected is not None and digest != expected:
                    raise HubzooError(
                        f"sha256 mismatch for {url}: expected {expected}, got {digest}; "
                        "the download was not kept"
                    )
    return digest


def _open(url: str, timeout: float, deadline: _Deadline) -> Any:
    """The response to GET `url`, its connections watched by `deadline`."""
    opener = urllib.request.build_opener(
        _WatchedHTTPHandler(deadline), _WatchedHTTPSHandler(deadline)
    )
    try:
        return opener.open(url, timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        raise _unreachable(url, f"HTTP {error.code} {error.reason}") from None
    except (OSError, ValueError, http.client.HTTPException) as error:
        if deadline.expired:
            raise _too_slow(url, deadline, 0) from None
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        raise _unreachable(url, str(reason) or type(error).__name__) from None


def _read_chunk(response: Any, url: str, deadline: _Deadline) -> bytes:
    """The next chunk of the body; b"" at its end, or once the deadline has cut it."""
    try:
        chunk: bytes = response.read(CHUNK_BYTES)
    except (OSError, http.client.HTTPException) as error:
        if deadline.expired:
            return b""
        raise _unreachable(url, f"download interrupted: {error}") from None
    return chunk


def _unreachable(url: str, reason: str) -> HubzooError:
    return HubzooError(f"cannot fetch checkpoint {url}: {reason}. {LOCAL_CHECKPOINT_HINT}")


def _too_slow(url: str, deadline: _Deadline, received: int) -> HubzooError:
    return _unreachable(
        url,
        f"the download took longer than its limit of {deadline.seconds:g} s "
        f"({format_bytes(received)} received)",
    )


class _Deadline:
    """Ends a download `seconds` after it starts, whatever the server does: when the time is up
    it shuts down every socket the download opened, which wakes any read blocked on one."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        """Shut `sock` down when the time is up (at once if it is up already)."""
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut_down(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut_down(sock)


def _shut_down(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing left to wake
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _WatchedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection whose socket its download's `_Deadline` watches from the moment it
    connects (for HTTPS, before the TLS handshake)."""

    deadline: _Deadline

    def connect(self) -> None:
        super().connect()
        self.deadline.watch(self.sock)


class _WatchedHTTPSConnection(http.client.HTTPSConnection, _WatchedHTTPConnection):
    """HTTPS over a watched connection: HTTPSConnection.connect calls the watched one first."""


class _Watching(urllib.request.AbstractHTTPHandler):
    """Opens its connections as watched ones."""

    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def do_open(
        self, http_class: Any, req: urllib.request.Request, **http_conn_args: Any
    ) -> http.client.HTTPResponse:
        watched = {
            http.client.HTTPSConnection: _WatchedHTTPSConnection,
            http.client.HTTPConnection: _WatchedHTTPConnection,
        }[http_class]

        def connection(*args: Any, **kwargs: Any) -> http.client.HTTPConnection:
            made = watched(*args, **kwargs)
            made.deadline = self.deadline
            return made

        return super().do_open(connection, req, **http_conn_args)


class _WatchedHTTPHandler(_Watching, urllib.request.HTTPHandler):
    pass


class _WatchedHTTPSHandler(_Watching, urllib.request.HTTPSHandler):
    pass


def _extract_tarball(
    archive: Path, target: Path, origin: str, progress: Progress, limits: ArchiveLimits
) -> None:
    """Extract the regular files and folders of `archive` into `target` within `limits`
    (`hubzoo.files.extract_archive`); `target` appears only once extraction is complete."""
    with (
        writing(str(target)),
        staged_dir(target, suffix=".extracting") as work,
        progress.stage(f"extract {archive.name}"),
    ):
        extract_archive(archive, work, f"tarball {origin}", limits, _read_mode(archive))


def _read_mode(archive: Path) -> Literal["r:gz", "r:", "r:*"]:
    """Gzip for .tar.gz/.tgz, none for .tar, detected otherwise (so errors say what is wrong)."""
    if archive.name.endswith((".tar.gz", ".tgz")):
        return "r:gz"
    return "r:" if archive.name.endswith(".tar") else "r:*"


def _locate(root: Path, member: str | None, origin: str, recursive: bool) -> Path:
    """The checkpoint `member` under `root`, or its only checkpoint when `member` is None."""
    if member:
        relative = PurePosixPath(member)
        if relative.is_absolute() or ".." in relative.parts:
            raise HubzooError(f"checkpoint member {member!r} must be a relative path")
        prefix = root / relative
        if _checkpoint_files(prefix) is not None:
            return prefix
        raise HubzooError(
            f"no checkpoint {member!r} in {origin}; it holds {_describe_contents(root, recursive)}"
        )
    found = _find_checkpoints(root, recursive)
    if len(found) == 1:
        return found[0]
    if not found:
        raise HubzooError(
            f"no checkpoint in {origin}; it holds {_describe_contents(root, recursive)}"
        )
    names = ", ".join(str(prefix.relative_to(root)) for prefix in found)
    raise HubzooError(f"{origin} holds several checkpoints ({names}); name the one to use")


def _describe_contents(root: Path, recursive: bool) -> str:
    found = _find_checkpoints(root, recursive)
    if found:
        return "the checkpoints " + ", ".join(str(p.relative_to(root)) for p in found)
    files = sorted(str(p.relative_to(root)) for p in _files_under(root, recursive))
    if not files:
        return "no files"
    more = f" and {len(files) - MAX_LISTED} more" if len(files) > MAX_LISTED else ""
    return "no checkpoint, only the files " + ", ".join(files[:MAX_LISTED]) + more


def _find_checkpoints(root: Path, recursive: bool) -> list[Path]:
    prefixes = set()
    for file in _files_under(root, recursive):
        if file.name.endswith(".index"):
            prefixes.add(file.with_name(file.name.removesuffix(".index")))
        elif not DATA_SHARD.search(file.name) and _is_table_file(file):
            prefixes.add(file)
    return sorted(prefix for prefix in prefixes if _checkpoint_files(prefix) is not None)


def _files_under(root: Path, recursive: bool) -> list[Path]:
    candidates = root.rglob("*") if recursive else root.iterdir()
    return [path for path in candidates if path.is_file()]


def _checkpoint_files(prefix: Path) -> list[Path] | None:
    """The files of the checkpoint at `prefix`; None if there is none; HubzooError if damaged."""
    index = prefix.with_name(prefix.name + ".index")
    if index.is_file():
        if not _is_table_file(index):
            raise HubzooError(
                f"corrupt checkpoint {prefix}: {index.name} is not a TensorFlow index file"
                " (truncated or damaged)"
            )
        return [index, *_data_shards(prefix)]
    if prefix.is_file() and _is_table_file(prefix):
        return [prefix]
    return None


def _data_shards(prefix: Path) -> list[Path]:
    shards = sorted(prefix.parent.glob(glob.escape(prefix.name) + ".data-*-of-*"))
    counts = {int(m.group(2)) for s in shards if (m := DATA_SHARD.search(s.name))}
    if len(counts) != 1:
        raise HubzooError(
            f"corrupt checkpoint {prefix}: expected {prefix.name}.data-NNNNN-of-MMMMM files "
            f"beside {prefix.name}.index, found {', '.join(s.name for s in shards) or 'none'}"
        )
    count = counts.pop()
    wanted = [prefix.with_name(f"{prefix.name}.data-{i:05d}-of-{count:05d}") for i in range(count)]
    missing = [path.name for path in wanted if not path.is_file()]
    if missing:
        raise HubzooError(f"incomplete checkpoint {prefix}: missing {', '.join(missing)}")
    return wanted


def _is_table_file(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            if file.tell() < TABLE_FOOTER_BYTES:
                return False
            file.seek(-len(TABLE_MAGIC), os.SEEK_END)
            return file.read() == TABLE_MAGIC
    except OSError:
        return False


def _sha256_hex(path: Path) -> str:
    return sha256_of_file(path)[0]


def _normalise_sha256(value: str | None) -> str | None:
    if value is None:
        return None
    digest = value.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise HubzooError(f"not a sha256 digest (64 hex digits): {value!r}")
    return digest


def _archive_suffix(url: str) -> str:
    path = urllib.parse.urlparse(url).path
    return next((suffix for suffix in TARBALL_SUFFIXES if path.endswith(suffix)), ".tarball")


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _download_limits(timeout: float, max_seconds: float, max_bytes: int) -> _DownloadLimits:
    _require_positive("the read timeout", timeout)
    _require_positive("the download time limit", max_seconds)
    _require_positive("the download size limit", max_bytes)
    return _DownloadLimits(timeout, max_seconds, max_bytes)


def _archive_limits(max_bytes: int, max_members: int) -> ArchiveLimits:
    _require_positive("the extracted size limit", max_bytes)
    _require_positive("the member limit", max_members)
    return ArchiveLimits(max_bytes, max_members)


def _require_positive(what: str, value: float) -> None:
    if not value > 0:
        raise HubzooError(f"{what} must be a positive number, not {value}")
