"""File safety, done one way everywhere: streaming sha256, write-to-temp-then-rename, OS errors
as one clear line, and bounded, checked extraction of tar archives.

Whatever writes a file or folder that others may read (a download, an extraction, an export, a
package) writes it under a temporary name beside its destination and renames it into place only
once it is complete, so a crash leaves either nothing or the old content, never half a file.

Every archive hubzoo extracts (a checkpoint tarball, a module archive) goes through
`extract_archive`: regular files and folders only, each member's name checked, and the member
count and the bytes written capped by `ArchiveLimits`, against each member's declared size before
it is written and against the bytes actually written while it is.
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal

from hubzoo.errors import HubzooError
from hubzoo.units import format_bytes

CHUNK_BYTES = 1 << 20
MAX_HEADER_BYTES = 1 << 20
"""The largest pax or GNU long-name header accepted (tarfile reads them whole into memory)."""

_ONLY_REGULAR = "(a link or special file: only regular files and folders are extracted)"
_SPARSE = "sparse file (its holes would be written out in full; only plain files are extracted)"
_HEADER_KINDS = {
    tarfile.XHDTYPE: "pax header",
    tarfile.XGLTYPE: "global pax header",
    tarfile.SOLARIS_XHDTYPE: "pax header",
    tarfile.GNUTYPE_LONGNAME: "GNU long-name header",
    tarfile.GNUTYPE_LONGLINK: "GNU long-link header",
}
_CORRUPT = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError)


def sha256_of_stream(stream: BinaryIO) -> tuple[str, int]:
    """(hex sha256, byte count) of what `stream` yields until its end, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def sha256_of_file(path: Path) -> tuple[str, int]:
    """(hex sha256, byte count) of the file at `path`."""
    with open(path, "rb") as stream:
        return sha256_of_stream(stream)


class HashingWriter:
    """A write-only file object that hashes and counts the bytes it passes on to `raw`."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


@contextmanager
def staged_file(destination: Path, suffix: str = ".part") -> Iterator[Path]:
    """Yield a temporary path beside `destination`; on success it replaces `destination`.

    On any exception the temporary file is removed and `destination` is left as it was.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=suffix, dir=destination.parent
    )
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o644)
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def staged_dir(destination: Path, suffix: str = ".partial") -> Iterator[Path]:
    """Yield an empty temporary folder beside `destination`; on success it becomes `destination`.

    `destination` must not exist, or be an empty folder (HubzooError otherwise). On any exception
    the temporary folder and everything in it are removed.
    """
    destination = Path(destination)
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise HubzooError(
            f"{destination} already exists and is not empty; refusing to overwrite it"
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=suffix, dir=destination.parent)
    )
    staging.chmod(0o755)
    try:
        yield staging
        if destination.exists():
            destination.rmdir()
        staging.rename(destination)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def os_error_reason(error: OSError) -> str:
    """An OSError's reason without its errno or file name: "No space left on device"."""
    return error.strerror or str(error) or type(error).__name__


@contextmanager
def writing(what: str) -> Iterator[None]:
    """Turn an OSError raised inside into HubzooError "cannot write WHAT: REASON".

    Wrap only writes (and the reads converted to HubzooError already), so that a full disk, a
    read-only folder or a quota is one clear line naming what was being written.
    """
    try:
        yield
    except OSError as error:
        raise HubzooError(f"cannot write {what}: {os_error_reason(error)}") from None


@dataclass(frozen=True)
class ArchiveLimits:
    """What extracting one archive may write: bytes in all, and members (folders included)."""

    max_bytes: int
    max_members: int


def extract_archive(
    archive: Path,
    into: Path,
    origin: str,
    limits: ArchiveLimits,
    mode: Literal["r:gz", "r:", "r:*"] = "r:*",
    refuse: Callable[[tarfile.TarInfo, str], str | None] | None = None,
) -> list[str]:
    """Extract the regular files and folders of the tar `archive` into the empty folder `into`;
    return the extracted files' names (normalised, relative, with `/`).

    `origin` names the archive in messages ("tarball URL"). Each member passes
    `checked_member_name`, then `refuse(member, name)`, which gives the reason why the caller
    does not accept it, or None. Raises HubzooError for an unsafe, duplicated, corrupt or
    over-limit member, and for any OS error while reading the archive or writing a member.
    Extract into a `staged_dir`: what was written before an error is then removed with it.
    """
    files: set[str] = set()
    folders: set[str] = set()
    extracted: list[str] = []
    written = 0
    with _open_tar(archive, origin, mode) as tar:
        for count, member in enumerate(_members(tar, archive, origin), start=1):
            if count > limits.max_members:
                raise HubzooError(
                    f"{origin} has more than {limits.max_members:,} members, the limit for "
                    "one extraction"
                )
            name = checked_member_name(member, origin)
            reason = refuse(member, name) if refuse is not None else None
            if reason is not None:
                raise HubzooError(f"{origin}: member {member.name!r} {reason}")
            if not name:
                continue
            _check_new_name(name, member.isdir(), files, folders, origin)
            target = into.joinpath(*name.split("/"))
            what = f"{name} (extracting {origin} into {into.parent})"
            if member.isdir():
                with writing(what):
                    target.mkdir(mode=0o755, parents=True, exist_ok=True)
                continue
            if member.size > limits.max_bytes - written:
                raise HubzooError(
                    f"{origin} extracts to more than {format_bytes(limits.max_bytes)}, the limit "
                    f"for one extraction: member {name!r} declares {format_bytes(member.size)} "
                    f"after {format_bytes(written)} already extracted"
                )
            written += _extract_file(tar, member, target, archive, origin, what)
            extracted.append(name)
    return extracted


def checked_member_name(member: tarfile.TarInfo, origin: str) -> str:
    """The member's normalised relative name ("" for the archive's top folder).

    Raises HubzooError for what no extraction may write: absolute names, drive letters, `..`
    components, backslashes or NUL bytes in names, links, devices, fifos and other special files,
    and sparse files (whose few stored bytes may stand for gigabytes).
    """
    raw = member.name
    unsafe = f"unsafe member {raw!r} in {origin}"
    if raw.startswith(("/", "\\")) or (len(raw) > 1 and raw[1] == ":" and raw[0].isalpha()):
        raise HubzooError(f"{unsafe}: absolute path")
    if "\\" in raw or "\x00" in raw:
        raise HubzooError(f"{unsafe}: backslash or NUL in the name")
    parts = PurePosixPath(raw).parts
    if ".." in parts:
        raise HubzooError(f"{unsafe}: '..' leads out of the extraction folder")
    if member.issym():
        raise HubzooError(f"{unsafe}: symbolic link to {member.linkname!r} {_ONLY_REGULAR}")
    if member.islnk():
        raise HubzooError(f"{unsafe}: hard link to {member.linkname!r} {_ONLY_REGULAR}")
    if member.issparse():
        raise HubzooError(f"{unsafe}: {_SPARSE}")
    if not (member.isreg() or member.isdir()):
        kinds = {tarfile.CHRTYPE: "character device", tarfile.BLKTYPE: "block device"}
        kind = kinds.get(member.type, "fifo" if member.isfifo() else "special file")
        raise HubzooError(f"{unsafe}: {kind} {_ONLY_REGULAR}")
    return "/".join(part for part in parts if part != ".")


class _RefusedHeader(Exception):
    """A member refused from its header block alone, before tarfile reads or expands it."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(name, reason)
        self.name = name
        self.reason = reason


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses what tarfile would otherwise read into memory or expand while it parses headers:
    GNU sparse members (with their unbounded chains of sparse-map blocks) and pax or long-name
    headers larger than MAX_HEADER_BYTES."""

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> _BoundedTarInfo:
        info = super().frombuf(buf, encoding, errors)
        if info.type == tarfile.GNUTYPE_SPARSE:
            raise _RefusedHeader(info.name, _SPARSE)
        kind = _HEADER_KINDS.get(info.type)
        if kind is not None and info.size > MAX_HEADER_BYTES:
            raise _RefusedHeader(
                info.name,
                f"{kind} of {format_bytes(info.size)}, more than {format_bytes(MAX_HEADER_BYTES)}",
            )
        return info


@contextmanager
def _reading(archive: Path, origin: str) -> Iterator[None]:
    """Turn what reading `archive` can raise into HubzooError naming `origin`."""
    try:
        yield
    except _RefusedHeader as refused:
        raise HubzooError(f"unsafe member {refused.name!r} in {origin}: {refused.reason}") from None
    except _CORRUPT as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise HubzooError(
            f"corrupt {origin}: {reason} (truncated, damaged or not a tar archive)"
        ) from None
    except FileNotFoundError:
        raise HubzooError(f"{origin} does not exist") from None
    except OSError as error:
        raise HubzooError(f"cannot read {origin}: {os_error_reason(error)}") from None


def _open_tar(archive: Path, origin: str, mode: Literal["r:gz", "r:", "r:*"]) -> tarfile.TarFile:
    with _reading(archive, origin):
        return tarfile.open(archive, mode, tarinfo=_BoundedTarInfo)


def _members(tar: tarfile.TarFile, archive: Path, origin: str) -> Iterator[tarfile.TarInfo]:
    while True:
        with _reading(archive, origin):
            member = tar.next()
        if member is None:
            return
        yield member


def _check_new_name(
    name: str, is_dir: bool, files: set[str], folders: set[str], origin: str
) -> None:
    """Refuse a member that repeats a file's name, a file where a folder is, and any member
    below a file; then record `name` (and its parent folders)."""
    parts = name.split("/")
    parents = ["/".join(parts[:depth]) for depth in range(1, len(parts))]
    for parent in parents:
        if parent in files:
            raise HubzooError(f"{origin}: member {name!r} lies inside the file {parent!r}")
    if name in files or (not is_dir and name in folders):
        raise HubzooError(f"{origin}: member {name!r} appears twice")
    folders.update(parents)
    (folders if is_dir else files).add(name)


def _extract_file(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    target: Path,
    archive: Path,
    origin: str,
    what: str,
) -> int:
    """Write `member` to the new file `target`; return the bytes written, which never exceed
    the member's declared size whatever its data holds."""
    with _reading(archive, origin):
        source = tar.extractfile(member)
    assert source is not None, "a regular member always has a file object"
    written = 0
    with source, writing(what):
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        with open(target, "xb", opener=_new_file_opener) as out:
            while True:
                with _reading(archive, origin):
                    chunk = source.read(min(CHUNK_BYTES, member.size - written))
                if not chunk:
                    return written
                out.write(chunk)
                written += len(chunk)


def _new_file_opener(path: str, flags: int) -> int:
    """Open new files as rw-r--r-- at most, whatever the archive says (umask still applies)."""
    return os.open(path, flags, 0o644)
