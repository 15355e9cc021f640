"""Packaging: reproducible archives of allowed files only, and safe, bounded unpacking."""

import gzip
import io
import os
import re
import tarfile
from pathlib import Path

import pytest

from hubzoo.errors import HubzooError
from hubzoo.package import package_module, unpack_artifact
from tests.base.hostile import (
    gnu_sparse_member,
    gzip_bomb,
    listing,
    plain_members,
    small_filesystem,
    tar_gz,
)
from tests.store.helpers import FAKE_MODULE_FILES, write_module

DATA = "variables/variables.data-00000-of-00001"


def test_same_files_give_same_sha256_whatever_their_order_mtimes_and_modes(tmp_path):
    first = write_module(tmp_path / "first")
    second = write_module(tmp_path / "second", dict(reversed(list(FAKE_MODULE_FILES.items()))))
    os.utime(second / "saved_model.pb", (1_000_000, 1_000_000))
    os.chmod(second / "variables/variables.index", 0o600)

    a = package_module(first, tmp_path / "out/a.tar.gz")
    b = package_module(second, tmp_path / "out/b.tar.gz")

    assert a.sha256 == b.sha256
    assert a.bytes == b.bytes == a.path.stat().st_size
    assert a.path.read_bytes() == b.path.read_bytes()


def test_different_content_gives_different_sha256(tmp_path):
    a = package_module(write_module(tmp_path / "a"), tmp_path / "a.tar.gz")
    changed = {**FAKE_MODULE_FILES, "variables/variables.index": b"other index"}
    b = package_module(write_module(tmp_path / "b", changed), tmp_path / "b.tar.gz")
    assert a.sha256 != b.sha256


def test_archive_members_are_sorted_with_fixed_metadata_and_gzip_header(tmp_path):
    artifact = package_module(write_module(tmp_path / "m"), tmp_path / "m.tar.gz")
    raw = artifact.path.read_bytes()
    assert raw[:3] == b"\x1f\x8b\x08"
    assert raw[3] == 0, "no file name or other optional gzip header fields"
    assert raw[4:8] == b"\x00\x00\x00\x00", "gzip mtime is fixed"

    with tarfile.open(artifact.path) as tar:
        members = tar.getmembers()
    names = [member.name for member in members]
    assert names == sorted(names)
    assert set(names) == set(FAKE_MODULE_FILES) | {"assets", "variables"}
    for member in members:
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (
            0,
            0,
            0,
            "",
            "",
        )
        assert member.mode == (0o755 if member.isdir() else 0o644)


@pytest.mark.parametrize(
    "extra",
    ["notes.txt", "checkpoint", "variables/variables.data-0-of-1", "variables/other", "sub/x.pb"],
)
def test_files_a_module_may_not_hold_are_an_error_naming_them(tmp_path, extra):
    module = write_module(tmp_path / "m", {**FAKE_MODULE_FILES, extra: b"x"})
    out = tmp_path / "m.tar.gz"
    with pytest.raises(HubzooError, match=re.escape(extra)):
        package_module(module, out)
    assert not out.exists()
    assert list(tmp_path.glob("*.tar.gz*")) == []


def test_symlinks_in_the_module_are_an_error(tmp_path):
    module = write_module(tmp_path / "m")
    (module / "assets/link.txt").symlink_to(tmp_path / "elsewhere.txt")
    with pytest.raises(HubzooError, match=r"assets/link\.txt \(symlink\)"):
        package_module(module, tmp_path / "m.tar.gz")


def test_a_folder_without_a_graph_is_an_error(tmp_path):
    files = {k: v for k, v in FAKE_MODULE_FILES.items() if k != "saved_model.pb"}
    with pytest.raises(HubzooError, match=r"no saved_model\.pb"):
        package_module(write_module(tmp_path / "m", files), tmp_path / "m.tar.gz")


def test_packaging_replaces_the_output_atomically_and_leaves_no_temporary_files(tmp_path):
    out = tmp_path / "out" / "m.tar.gz"
    out.parent.mkdir()
    out.write_bytes(b"old")
    artifact = package_module(write_module(tmp_path / "m"), out)
    assert out.read_bytes() != b"old"
    assert [p.name for p in out.parent.iterdir()] == ["m.tar.gz"]
    assert artifact.path == out


def test_unpack_gives_back_the_module_files(tmp_path):
    artifact = package_module(write_module(tmp_path / "m"), tmp_path / "m.tar.gz")
    folder = unpack_artifact(artifact.path, tmp_path / "unpacked")
    assert folder == tmp_path / "unpacked"
    unpacked = {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }
    assert unpacked == FAKE_MODULE_FILES


def test_unpack_accepts_dot_slash_member_names(tmp_path):
    archive = _tar(tmp_path, [("./", None), ("./saved_model.pb", b"g"), ("./assets/a", b"a")])
    folder = unpack_artifact(archive, tmp_path / "out")
    assert (folder / "saved_model.pb").read_bytes() == b"g"
    assert (folder / "assets/a").read_bytes() == b"a"


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("../evil.pb", "unsafe member"),
        ("assets/../../evil.pb", "unsafe member"),
        ("/tmp/evil.pb", "unsafe member"),
        ("notes.txt", "not a module file"),
        ("symlink", "link or special file"),
        ("hardlink", "link or special file"),
        ("device", "link or special file"),
        ("duplicate", "appears twice"),
    ],
)
def test_unpack_refuses_unsafe_or_foreign_members(tmp_path, member, message):
    members = [("saved_model.pb", b"g")]
    if member == "symlink":
        members.append(("assets/link", ("type", tarfile.SYMTYPE)))
    elif member == "hardlink":
        members.append(("assets/link", ("type", tarfile.LNKTYPE)))
    elif member == "device":
        members.append(("assets/dev", ("type", tarfile.CHRTYPE)))
    elif member == "duplicate":
        members.append(("saved_model.pb", b"h"))
    else:
        members.append((member, b"bad"))
    archive = _tar(tmp_path, members)
    dest = tmp_path / "deep" / "dest"

    with pytest.raises(HubzooError, match=message):
        unpack_artifact(archive, dest)
    assert listing(tmp_path) == ["a.tar.gz", "deep"]


def test_unpack_refuses_a_non_empty_destination_and_a_corrupt_archive(tmp_path):
    artifact = package_module(write_module(tmp_path / "m"), tmp_path / "m.tar.gz")
    with pytest.raises(HubzooError, match="already exists and is not empty"):
        unpack_artifact(artifact.path, tmp_path / "m")
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(artifact.path.read_bytes()[:100])
    with pytest.raises(HubzooError, match=f"^corrupt module archive {re.escape(str(broken))}: "):
        unpack_artifact(broken, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_refused_archive_leaves_an_empty_destination_as_it_was(tmp_path):
    """Seen: unpack_artifact left its destination half-filled when it refused an archive."""
    archive = _tar(tmp_path, [("saved_model.pb", b"g"), ("assets/a", b"a"), ("notes.txt", b"x")])
    dest = tmp_path / "dest"
    dest.mkdir()

    with pytest.raises(HubzooError, match=r"member 'notes\.txt' is not a module file"):
        unpack_artifact(archive, dest)

    assert listing(tmp_path) == ["a.tar.gz", "dest"]


def test_a_sparse_member_is_refused_however_small_it_is_stored(tmp_path):
    """Seen: a GNU sparse member of 185 bytes was written as 2.1 GB."""
    archive = tmp_path / "sparse.tar.gz"
    archive.write_bytes(
        tar_gz(
            plain_members({"saved_model.pb": b"graph"}),
            gnu_sparse_member(DATA, 2_100_000_000),
        )
    )
    assert archive.stat().st_size < 200

    with pytest.raises(HubzooError) as raised:
        unpack_artifact(archive, tmp_path / "out")

    assert str(raised.value).startswith(
        f"unsafe member {DATA!r} in module archive {archive}: sparse file"
    )
    assert listing(tmp_path) == ["sparse.tar.gz"]


def test_a_gzip_bomb_is_refused_by_the_default_size_limit_before_it_is_written(tmp_path):
    archive = tmp_path / "bomb.tar.gz"
    archive.write_bytes(gzip_bomb(DATA, 2_100_000_000, before={"saved_model.pb": b"graph"}))

    with pytest.raises(HubzooError) as raised:
        unpack_artifact(archive, tmp_path / "out")

    assert str(raised.value) == (
        f"module archive {archive} extracts to more than 1.0 GB, the limit for one extraction: "
        f"member {DATA!r} declares 2.0 GB after 5 B already extracted"
    )
    assert listing(tmp_path) == ["bomb.tar.gz"]


def test_the_size_and_member_limits_can_be_set(tmp_path):
    artifact = package_module(write_module(tmp_path / "m"), tmp_path / "m.tar.gz")
    size = sum(len(data) for data in FAKE_MODULE_FILES.values())
    members = len(FAKE_MODULE_FILES) + 2  # and the folders assets/ and variables/

    unpack_artifact(artifact.path, tmp_path / "fits", max_bytes=size, max_members=members)
    with pytest.raises(HubzooError, match="extracts to more than"):
        unpack_artifact(artifact.path, tmp_path / "big", max_bytes=size - 1)
    with pytest.raises(HubzooError, match=f"has more than {members - 1} members"):
        unpack_artifact(artifact.path, tmp_path / "many", max_members=members - 1)

    assert not (tmp_path / "big").exists() and not (tmp_path / "many").exists()


@pytest.fixture
def small_disk(tmp_path):
    with small_filesystem(tmp_path / "small-disk", kib=256) as disk:
        yield disk


def test_a_full_disk_is_one_line_naming_the_file_and_leaves_nothing(tmp_path, small_disk):
    files = {**FAKE_MODULE_FILES, DATA: bytes(1 << 20)}
    artifact = package_module(write_module(tmp_path / "m", files), tmp_path / "m.tar.gz")
    dest = small_disk / "module"

    with pytest.raises(HubzooError) as raised:
        unpack_artifact(artifact.path, dest)

    assert str(raised.value) == (
        f"cannot write {DATA} (extracting module archive {artifact.path} into {small_disk}): "
        "No space left on device"
    )
    assert listing(small_disk) == []


def _tar(tmp_path: Path, members: list[tuple[str, object]]) -> Path:
    """A .tar.gz of members: bytes -> file, None -> folder, ("type", T) -> an entry of type T."""
    archive = tmp_path / "a.tar.gz"
    with gzip.open(archive, "wb") as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            if isinstance(content, bytes):
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
                continue
            info.type = tarfile.DIRTYPE if content is None else content[1]
            if info.type in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = "/etc/passwd"
            tar.addfile(info)
    return archive
