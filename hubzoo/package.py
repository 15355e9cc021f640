"""Pack a module folder into a reproducible .tar.gz, and unpack such an archive safely.

The archive holds only what a SavedModel or a TF1 Hub module may hold (`ALLOWED_MODULE_FILES`),
or, for a deployment, the files of its format (`DEPLOYMENT_FILES`: a TF.js graph model's
`model.json` and weight shards, a TF Lite flatbuffer).
Members are sorted, with fixed mtimes, owners and modes, inside a gzip stream with a fixed
header, so the same files always give the same sha256. The weight shards (float32 values, which
LZ77 matching barely shrinks) are Huffman-coded only, about 4 x faster than deflate level 6 and
as small; everything else (graphs, assets, tar headers) gets level 6 (`_DeflateSegments`).

Unpacking goes through `hubzoo.files.extract_archive`, within `MAX_UNPACKED_BYTES` and
`MAX_MEMBERS` unless told otherwise: a module holds the feature-extractor weights of a TF-Slim
checkpoint (the largest, VGG-19's, about 575 MB) and a few graph and asset files.
"""

from __future__ import annotations

import os
import re
import struct
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from hubzoo.contract import FORMATS, LITE, TFJS
from hubzoo.errors import HubzooError
from hubzoo.files import (
    ArchiveLimits,
    HashingWriter,
    extract_archive,
    staged_dir,
    staged_file,
    writing,
)

ALLOWED_MODULE_FILES = (
    "saved_model.pb",
    "saved_model.pbtxt",
    "fingerprint.pb",
    "tfhub_module.pb",
    "variables/variables.index",
    "variables/variables.data-NNNNN-of-NNNNN",
    "assets/**",
    "assets.extra/**",
)
"""What a module folder may hold (TF 2.21's `tf.saved_model.save` also writes fingerprint.pb)."""

_ALLOWED_FILE = re.compile(
    r"saved_model\.pb|saved_model\.pbtxt|fingerprint\.pb|tfhub_module\.pb"
    r"|variables/variables\.index|variables/variables\.data-\d{5}-of-\d{5}"
    r"|assets/.+|assets\.extra/.+"
)
_ALLOWED_DIR = re.compile(r"variables|assets(/.+)?|assets\.extra(/.+)?")
_GRAPH_FILES = ("saved_model.pb", "saved_model.pbtxt")
_WEIGHT_SHARD = re.compile(r"variables/variables\.data-\d{5}-of-\d{5}")

DEPLOYMENT_FILES = {
    TFJS: re.compile(r"model\.json|group\d+-shard\d+of\d+\.bin"),
    LITE: re.compile(r"model\.tflite"),
}
"""What a deployment's folder may hold, by format: flat, no folders."""

_MTIME = 0
_GZIP_LEVEL = 6
_GZIP_HEADER = b"\x1f\x8b\x08\x00" + struct.pack("<I", _MTIME) + b"\x00\xff"
"""Deflate, no flags (no file name), mtime 0, no extra flags, unknown OS: as gzip.GzipFile
writes it with filename="" and mtime=0."""

MAX_UNPACKED_BYTES = 1 << 30
"""Most bytes one module archive may unpack to."""
MAX_MEMBERS = 1000
"""Most members (files and folders) one module archive may hold."""


@dataclass(frozen=True)
class PackagedArtifact:
    """A packed module archive and its content digest."""

    path: Path
    sha256: str
    bytes: int


def package_module(
    module_dir: Path, out_file: Path, artifact_format: str | None = None
) -> PackagedArtifact:
    """Pack `module_dir` into `out_file` (written atomically) and return its sha256 and size.

    Raises HubzooError when the folder holds anything outside `ALLOWED_MODULE_FILES` (a
    deployment format's `DEPLOYMENT_FILES`), or no graph (no main file).
    """
    module_dir = Path(module_dir)
    out_file = Path(out_file)
    dirs, files = _members(module_dir, artifact_format)
    with staged_file(out_file, suffix=".tmp") as staging, open(staging, "wb") as raw:
        hashing = HashingWriter(raw)
        gz = _DeflateSegments(hashing)
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            for name in sorted(dirs + files):
                gz.use(zlib.Z_HUFFMAN_ONLY if _WEIGHT_SHARD.fullmatch(name) else None)
                _add_member(tar, module_dir, name, is_dir=name in dirs)
        gz.close()
        raw.flush()
        os.fsync(raw.fileno())
    return PackagedArtifact(path=out_file, sha256=hashing.sha256.hexdigest(), bytes=hashing.size)


class _DeflateSegments:
    """A write-only gzip stream made of raw deflate segments, each with its own strategy.

    Each segment ends on a full flush (byte-aligned, no reference to earlier data), so together
    they form one valid deflate stream, followed by the gzip trailer (CRC-32, size). The same
    writes with the same `use` calls always give the same bytes.
    """

    def __init__(self, out: HashingWriter) -> None:
        self._out = out
        self._strategy = zlib.Z_DEFAULT_STRATEGY
        self._deflate = self._compressor()
        self._crc = 0
        self._size = 0
        out.write(_GZIP_HEADER)

    def _compressor(self) -> zlib._Compress:
        return zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS, 8, self._strategy)

    def use(self, strategy: int | None) -> None:
        """Compress what is written next with `strategy` (None: the default one)."""
        strategy = zlib.Z_DEFAULT_STRATEGY if strategy is None else strategy
        if strategy != self._strategy:
            self._out.write(self._deflate.flush(zlib.Z_FULL_FLUSH))
            self._strategy = strategy
            self._deflate = self._compressor()

    def write(self, data: bytes) -> int:
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._out.write(self._deflate.compress(data))
        return len(data)

    def tell(self) -> int:
        """Uncompressed bytes written so far (tarfile asks)."""
        return self._size

    def close(self) -> None:
        """End the deflate stream and write the gzip trailer."""
        self._out.write(self._deflate.flush(zlib.Z_FINISH))
        self._out.write(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))


def unpack_artifact(
    archive: Path,
    dest: Path,
    *,
    max_bytes: int = MAX_UNPACKED_BYTES,
    max_members: int = MAX_MEMBERS,
    artifact_format: str | None = None,
) -> Path:
    """Extract a module archive (a deployment's, given its `artifact_format`) into `dest` (absent
    or empty) and return the module folder.

    Only regular files and folders at allowed module paths are accepted, within `max_bytes` and
    `max_members`: absolute names, `..`, links, devices, sparse files, unexpected files, a limit
    hit or a write error (a full disk) raise HubzooError. `dest` appears only once complete;
    on any failure it is left as it was, and nothing is written outside it.
    """
    archive = Path(archive)
    dest = Path(dest)
    limits = ArchiveLimits(max_bytes=max_bytes, max_members=max_members)
    origin = f"module archive {archive}"
    with writing(str(dest)), staged_dir(dest, suffix=".unpacking") as work:
        if artifact_format in DEPLOYMENT_FILES:
            allowed = DEPLOYMENT_FILES[artifact_format]
            main_file = FORMATS[artifact_format].main_file

            def refuse(member: tarfile.TarInfo, name: str) -> str | None:
                foreign = member.isdir() or allowed.fullmatch(name) is None
                return f"is not a {artifact_format} deployment file" if foreign else None

            names = extract_archive(archive, work, origin, limits, mode="r:gz", refuse=refuse)
            if main_file not in names:
                raise HubzooError(f"{archive} holds no {main_file}")
            return dest
        names = extract_archive(archive, work, origin, limits, mode="r:gz", refuse=_foreign_member)
        if not any(name in names for name in _GRAPH_FILES):
            raise HubzooError(f"{archive} holds no saved_model.pb or saved_model.pbtxt")
    return dest


def _members(folder: Path, artifact_format: str | None) -> tuple[list[str], list[str]]:
    """The folder's directories and files to pack, checked for the format."""
    if artifact_format not in DEPLOYMENT_FILES:
        return _module_members(folder)
    if not folder.is_dir():
        raise HubzooError(f"deployment folder {folder} does not exist")
    allowed = DEPLOYMENT_FILES[artifact_format]
    paths = sorted(folder.iterdir())
    offending = [
        path.name
        for path in paths
        if path.is_symlink() or not path.is_file() or allowed.fullmatch(path.name) is None
    ]
    if offending:
        raise HubzooError(
            f"{folder} holds files a {artifact_format} deployment may not hold: "
            f"{', '.join(offending)}"
        )
    main_file = FORMATS[artifact_format].main_file
    if not (folder / main_file).is_file():
        raise HubzooError(f"{folder} holds no {main_file}")
    return [], [path.name for path in paths]


def _module_members(module_dir: Path) -> tuple[list[str], list[str]]:
    """The folder's directories and files as POSIX paths relative to it, after checking them."""
    if not module_dir.is_dir():
        raise HubzooError(f"module folder {module_dir} does not exist")
    dirs: list[str] = []
    files: list[str] = []
    offending: list[str] = []
    for path in sorted(module_dir.rglob("*")):
        name = path.relative_to(module_dir).as_posix()
        if path.is_symlink():
            offending.append(f"{name} (symlink)")
        elif path.is_dir():
            (dirs if _ALLOWED_DIR.fullmatch(name) else offending).append(name + "/")
        elif path.is_file():
            (files if _ALLOWED_FILE.fullmatch(name) else offending).append(name)
        else:
            offending.append(f"{name} (not a regular file)")
    if offending:
        raise HubzooError(
            f"{module_dir} holds files a module may not hold: {', '.join(offending)} "
            f"(allowed: {', '.join(ALLOWED_MODULE_FILES)})"
        )
    if not any(name in files for name in _GRAPH_FILES):
        raise HubzooError(f"{module_dir} holds no saved_model.pb or saved_model.pbtxt")
    return [name.rstrip("/") for name in dirs], files


def _add_member(tar: tarfile.TarFile, module_dir: Path, name: str, is_dir: bool) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = _MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if is_dir:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
        return
    path = module_dir / name
    info.mode = 0o644
    info.size = path.stat().st_size
    with open(path, "rb") as source:
        tar.addfile(info, source)


def _foreign_member(member: tarfile.TarInfo, name: str) -> str | None:
    """Why an archive member is refused: it is at no path a module may hold; None if allowed."""
    if member.isdir():
        allowed = not name or _ALLOWED_DIR.fullmatch(name) is not None
    else:
        allowed = _ALLOWED_FILE.fullmatch(name) is not None
    return None if allowed else "is not a module file"
