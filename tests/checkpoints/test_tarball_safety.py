"""Extraction refuses every tarball member that could write outside its folder or is not a file."""

from __future__ import annotations

import hashlib
import io
import re
import stat
import tarfile
from pathlib import Path

import pytest

from hubzoo.errors import HubzooError
from hubzoo.progress import Progress
from modules.checkpoints.sources import CheckpointSource, fetch_checkpoint, resolve_checkpoint

from .conftest import FileServer, build_tarball, fake_checkpoint_files

QUIET = Progress(quiet=True)


def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.devmajor, info.devminor = 1, 3
    return info


def evil_file(name: str) -> tarfile.TarInfo:
    """A regular member (empty) whose name tries to leave the extraction folder."""
    return member(name)


UNSAFE = {
    "parent": (evil_file("../evil.txt"), "'..' leads out of the extraction folder"),
    "nested-parent": (evil_file("sub/../../evil.txt"), "'..' leads out of the extraction folder"),
    "symlink-out": (
        member("link", tarfile.SYMTYPE, "/etc/passwd"),
        "symbolic link to '/etc/passwd'",
    ),
    "symlink-in": (
        member("link", tarfile.SYMTYPE, "model.ckpt.index"),
        "symbolic link to 'model.ckpt.index'",
    ),
    "hardlink": (
        member("hard", tarfile.LNKTYPE, "model.ckpt.index"),
        "hard link to 'model.ckpt.index'",
    ),
    "char-device": (member("null", tarfile.CHRTYPE), "character device"),
    "block-device": (member("disk", tarfile.BLKTYPE), "block device"),
    "fifo": (member("pipe", tarfile.FIFOTYPE), "fifo"),
}


def unsafe_tarball(tmp_path: Path, bad: tarfile.TarInfo) -> Path:
    """A .tar.gz with a good checkpoint first, then `bad`, written under tmp_path/in."""
    archive = tmp_path / "in" / "unsafe.tar.gz"
    archive.parent.mkdir(exist_ok=True)
    archive.write_bytes(build_tarball(fake_checkpoint_files(), extra=(bad,)))
    return archive


def assert_nothing_extracted(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert not cache.exists() or list(cache.iterdir()) == []
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "in" / "evil.txt").exists()


@pytest.mark.parametrize(("bad", "reason"), UNSAFE.values(), ids=UNSAFE.keys())
def test_unsafe_member_is_refused_by_name(
    tmp_path: Path, bad: tarfile.TarInfo, reason: str
) -> None:
    archive = unsafe_tarball(tmp_path, bad)

    with pytest.raises(HubzooError) as raised:
        resolve_checkpoint(str(archive), tmp_path / "cache", progress=QUIET)

    assert str(raised.value).startswith(f"unsafe member {bad.name!r} in tarball {archive}: ")
    assert reason in str(raised.value)
    assert_nothing_extracted(tmp_path)
    assert archive.exists()


def test_absolute_member_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "evil.txt"
    archive = unsafe_tarball(tmp_path, evil_file(str(target)))
    with tarfile.open(archive) as tar:
        assert str(target) in tar.getnames()

    with pytest.raises(HubzooError, match=re.escape(f"unsafe member {str(target)!r}")) as raised:
        resolve_checkpoint(str(archive), tmp_path / "cache", progress=QUIET)

    assert str(raised.value).endswith(": absolute path")
    assert_nothing_extracted(tmp_path)


def test_an_unsafe_download_is_not_kept(http_server: FileServer, tmp_path: Path) -> None:
    data = build_tarball(fake_checkpoint_files(), extra=(evil_file("../evil.txt"),))
    http_server.routes["/unsafe/model.tar.gz"] = data
    source = CheckpointSource(
        http_server.url("/unsafe/model.tar.gz"), "model.ckpt", hashlib.sha256(data).hexdigest()
    )

    with pytest.raises(HubzooError, match=r"unsafe member '\.\./evil\.txt'"):
        fetch_checkpoint(source, tmp_path / "cache", QUIET)

    assert_nothing_extracted(tmp_path)


def test_folders_are_extracted_and_special_permission_bits_dropped(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        folder = member("nested", tarfile.DIRTYPE)
        folder.mode = 0o755
        tar.addfile(folder)
        for name, data in fake_checkpoint_files("nested/model.ckpt").items():
            info = member(name)
            info.size, info.mode = len(data), 0o6777
            tar.addfile(info, io.BytesIO(data))
    archive = tmp_path / "nested.tar.gz"
    archive.write_bytes(buffer.getvalue())

    fetched = resolve_checkpoint(str(archive), tmp_path / "cache", progress=QUIET)

    assert fetched.prefix == tmp_path / "cache" / fetched.sha256 / "nested" / "model.ckpt"
    mode = Path(f"{fetched.prefix}.index").stat().st_mode
    assert not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_IWOTH | stat.S_IWGRP)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [fetched.sha256]
