"""What a stranger can hand an extraction, built small and fast: gzip bombs, sparse members,
oversized headers; and a small real filesystem to fill up."""

from __future__ import annotations

import functools
import gzip
import io
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BLOCK = tarfile.BLOCKSIZE
_ZEROS_PER_GZIP_MEMBER = 64 << 20


def plain_members(files: dict[str, bytes]) -> bytes:
    """Uncompressed tar blocks (no end-of-archive marker) holding `files` as regular members."""
    buffer = io.BytesIO()
    for name, data in files.items():
        info = tarfile.TarInfo(name)
        info.size = len(data)
        buffer.write(info.tobuf(tarfile.GNU_FORMAT))
        buffer.write(data + bytes(-len(data) % BLOCK))
    return buffer.getvalue()


def gzip_bomb(name: str, size: int, before: dict[str, bytes] | None = None) -> bytes:
    """A .tar.gz whose last member `name` declares and holds `size` zero bytes, in about a
    thousandth of that: gzip members of zeros, each compressed once, concatenated (one gzip
    stream to every reader)."""
    header = plain_members(before or {})
    info = tarfile.TarInfo(name)
    info.size = size
    header += info.tobuf(tarfile.GNU_FORMAT)
    zeros = size + (-size % BLOCK) + 2 * BLOCK  # the data, its padding, the end-of-archive blocks
    full, rest = divmod(zeros, _ZEROS_PER_GZIP_MEMBER)
    parts = [gzip.compress(header, mtime=0)] + [_gzip_zeros(_ZEROS_PER_GZIP_MEMBER)] * full
    return b"".join([*parts, _gzip_zeros(rest)])


@functools.cache
def _gzip_zeros(count: int) -> bytes:
    return gzip.compress(bytes(count), compresslevel=9, mtime=0)


def gnu_sparse_member(name: str, apparent_size: int, data: bytes = b"x") -> bytes:
    """The blocks of a GNU sparse member ('S'): `data` stored at the end of a hole, so that it
    stands for `apparent_size` bytes."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    header = bytearray(info.tobuf(tarfile.GNU_FORMAT))
    header[156:157] = tarfile.GNUTYPE_SPARSE
    number = tarfile.itn
    header[386:398] = number(apparent_size - len(data), 12, tarfile.GNU_FORMAT)  # offset
    header[398:410] = number(len(data), 12, tarfile.GNU_FORMAT)  # bytes stored
    header[483:495] = number(apparent_size, 12, tarfile.GNU_FORMAT)  # the file's real size
    header[148:156] = b"%06o\0 " % tarfile.calc_chksums(bytes(header))[0]
    return bytes(header) + data + bytes(-len(data) % BLOCK)


def tar_gz(*blocks: bytes) -> bytes:
    """A .tar.gz of raw member blocks, with the end-of-archive marker."""
    return gzip.compress(b"".join(blocks) + bytes(2 * BLOCK), compresslevel=9, mtime=0)


def pax_tar_gz(info: tarfile.TarInfo, data: bytes = b"") -> bytes:
    """A .tar.gz in pax format of one member, its pax headers as `info` sets them."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@contextmanager
def small_filesystem(path: Path, kib: int) -> Iterator[Path]:
    """A real tmpfs of `kib` KiB mounted at `path`, to fill up (the test is skipped where this
    process may not mount one: it needs root or CAP_SYS_ADMIN)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={kib}k,mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=True)


def listing(folder: Path) -> list[str]:
    """Every path under `folder`, hidden ones included, relative and sorted."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))
