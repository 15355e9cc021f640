"""File safety, done one way everywhere: streaming sha256, write-to-temp-then-rename, and the
checks every extracted archive member passes.

Whatever writes a file or folder that others may read (a download, an extraction, an export, a
package) writes it under a temporary name beside its destination and renames it into place only
once it is complete, so a crash leaves either nothing or the old content, never half a file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from hubzoo.errors import HubzooError

CHUNK_BYTES = 1 << 20
_ONLY_REGULAR = "(a link or special file: only regular files and folders are extracted)"


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


def checked_member_name(member: tarfile.TarInfo, origin: str) -> str:
    """The member's normalised relative name ("" for the archive's top folder).

    Raises HubzooError for what no extraction may write: absolute names, drive letters, `..`
    components, backslashes or NUL bytes in names, links, devices, fifos and other special files.
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
    if not (member.isreg() or member.isdir()):
        kinds = {tarfile.CHRTYPE: "character device", tarfile.BLKTYPE: "block device"}
        kind = kinds.get(member.type, "fifo" if member.isfifo() else "special file")
        raise HubzooError(f"{unsafe}: {kind} {_ONLY_REGULAR}")
    return "/".join(part for part in parts if part != ".")
