"""Extracting any archive: regular files and folders only, within its limits, one clear line for
every failure, nothing but what the limits allow ever written."""

from __future__ import annotations

import io
import re
import shutil
import stat
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubzoo.errors import HubzooError
from hubzoo.files import ArchiveLimits, extract_archive, staged_dir, writing
from tests.base.hostile import (
    gnu_sparse_member,
    gzip_bomb,
    listing,
    pax_tar_gz,
    plain_members,
    small_filesystem,
    tar_gz,
)

LIMITS = ArchiveLimits(max_bytes=1 << 20, max_members=100)
ORIGIN = "tarball T"


def extract(tmp_path: Path, data: bytes, limits: ArchiveLimits = LIMITS) -> list[str]:
    """Extract the .tar.gz `data` as callers do: into a staged folder, tmp_path/out."""
    tmp_path.mkdir(exist_ok=True)
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(data)
    with staged_dir(tmp_path / "out") as work:
        return extract_archive(archive, work, ORIGIN, limits)


def refused(tmp_path: Path, data: bytes, limits: ArchiveLimits = LIMITS) -> str:
    """The one-line message `data` is refused with; nothing may be left but the archive."""
    with pytest.raises(HubzooError) as raised:
        extract(tmp_path, data, limits)
    assert listing(tmp_path) == ["a.tar.gz"]
    assert "\n" not in str(raised.value)
    return str(raised.value)


def test_regular_files_and_folders_are_extracted_without_special_permissions(tmp_path):
    folder = tarfile.TarInfo("nested")
    folder.type, folder.mode = tarfile.DIRTYPE, 0o7777
    data = tar_gz(folder.tobuf(tarfile.GNU_FORMAT), plain_members({"nested/a": b"a", "b": b""}))

    assert extract(tmp_path, data) == ["nested/a", "b"]

    into = tmp_path / "out"
    assert (into / "nested" / "a").read_bytes() == b"a"
    for path in (into / "nested", into / "nested" / "a", into / "b"):
        assert not path.stat().st_mode & (stat.S_ISUID | stat.S_ISGID | stat.S_IWGRP | stat.S_IWOTH)


def test_a_gzip_bomb_is_refused_by_its_declared_size_before_a_byte_is_written(tmp_path):
    bomb = tmp_path / "bomb.tar.gz"
    bomb.write_bytes(gzip_bomb("weights", 2_100_000_000))
    assert bomb.stat().st_size < 2_100_000  # 2 MB that would extract to 2.1 GB
    (tmp_path / "into").mkdir()

    with pytest.raises(HubzooError) as raised:
        extract_archive(bomb, tmp_path / "into", ORIGIN, LIMITS)

    assert listing(tmp_path / "into") == []
    assert str(raised.value) == (
        "tarball T extracts to more than 1.0 MB, the limit for one extraction: member "
        "'weights' declares 2.0 GB after 0 B already extracted"
    )


def test_the_size_limit_counts_every_member_and_admits_exactly_the_limit(tmp_path):
    quarter = bytes(256 << 10)
    four = {f"part{i}": quarter for i in range(4)}
    assert extract(tmp_path / "fits", tar_gz(plain_members(four))) == list(four)

    message = refused(tmp_path / "over", tar_gz(plain_members({**four, "one more": b"x"})))

    assert message.endswith("member 'one more' declares 1 B after 1.0 MB already extracted")


def test_more_members_than_the_limit_are_refused_and_exactly_the_limit_admitted(tmp_path):
    hundred = {f"f{i:03d}": b"" for i in range(100)}
    assert len(extract(tmp_path / "fits", tar_gz(plain_members(hundred)))) == 100

    message = refused(tmp_path / "over", tar_gz(plain_members({**hundred, "f100": b""})))

    assert message == "tarball T has more than 100 members, the limit for one extraction"


def sparse_pax_member() -> bytes:
    info = tarfile.TarInfo("weights")
    info.pax_headers = {
        "GNU.sparse.map": "2099999999,1",
        "GNU.sparse.size": "2100000000",
        "GNU.sparse.name": "weights",
    }
    return pax_tar_gz(info, b"x")


@pytest.mark.parametrize(
    "data",
    [lambda: tar_gz(gnu_sparse_member("weights", 2_100_000_000)), sparse_pax_member],
    ids=["gnu", "pax"],
)
def test_sparse_members_are_refused_however_small_they_are_stored(tmp_path, data):
    archive = data()
    assert len(archive) < 300

    message = refused(tmp_path, archive, ArchiveLimits(max_bytes=1 << 40, max_members=100))

    assert message == (
        "unsafe member 'weights' in tarball T: sparse file (its holes would be written out in "
        "full; only plain files are extracted)"
    )


@pytest.mark.parametrize(
    ("member", "header"),
    [
        ("comment", "pax header"),
        ("name", "GNU long-name header"),
    ],
)
def test_oversized_headers_are_refused_before_tarfile_reads_them_into_memory(
    tmp_path, member, header
):
    if member == "comment":
        info = tarfile.TarInfo("weights")
        info.pax_headers = {"comment": "x" * (2 << 20)}
        data = pax_tar_gz(info)
    else:
        data = tar_gz(plain_members({"x" * (2 << 20): b""}))

    message = refused(tmp_path, data)

    assert re.fullmatch(
        rf"unsafe member '[^']+' in tarball T: {header} of 2\.0 MB, more than 1\.0 MB", message
    )


@pytest.mark.parametrize(
    ("names", "reason"),
    [
        (["a", "a"], "member 'a' appears twice"),
        (["a", "a/b"], "member 'a/b' lies inside the file 'a'"),
        (["a/b", "a"], "member 'a' appears twice"),
    ],
)
def test_a_name_used_twice_is_refused(tmp_path, names, reason):
    data = tar_gz(*(plain_members({name: b"x"}) for name in names))

    with pytest.raises(HubzooError, match=f"^tarball T: {re.escape(reason)}$"):
        extract(tmp_path, data)


def test_a_folder_listed_twice_is_fine(tmp_path):
    folder = tarfile.TarInfo("d")
    folder.type = tarfile.DIRTYPE
    header = folder.tobuf(tarfile.GNU_FORMAT)

    assert extract(tmp_path, tar_gz(header, plain_members({"d/x": b"x"}), header)) == ["d/x"]


def test_a_corrupt_or_missing_archive_is_one_line(tmp_path):
    good = tar_gz(plain_members({"a": bytes(range(256)) * 100}))

    truncated = refused(tmp_path / "truncated", good[: len(good) // 2])
    not_gzip = refused(tmp_path / "not-gzip", b"plain text, not a tarball" * 10)
    with pytest.raises(HubzooError) as missing:
        extract_archive(tmp_path / "nowhere.tar.gz", tmp_path, ORIGIN, LIMITS)

    assert truncated.startswith("corrupt tarball T: ")
    assert not_gzip.startswith("corrupt tarball T: ")
    assert truncated.endswith("(truncated, damaged or not a tar archive)")
    assert str(missing.value) == "tarball T does not exist"


@pytest.fixture
def small_disk(tmp_path):
    with small_filesystem(tmp_path / "small-disk", kib=256) as disk:
        yield disk


def test_a_full_disk_is_one_line_naming_the_member_and_leaves_nothing(tmp_path, small_disk):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(tar_gz(plain_members({"small": b"s", "weights.bin": bytes(1 << 20)})))

    with pytest.raises(HubzooError) as raised, staged_dir(small_disk / "out") as work:
        extract_archive(archive, work, ORIGIN, ArchiveLimits(max_bytes=1 << 30, max_members=10))

    assert str(raised.value) == (
        f"cannot write weights.bin (extracting tarball T into {small_disk}): "
        "No space left on device"
    )
    assert listing(small_disk) == []


def test_writing_turns_an_os_error_into_one_line():
    with (
        pytest.raises(HubzooError, match=r"^cannot write the thing: No space left on device$"),
        writing("the thing"),
        open("/dev/full", "wb", buffering=0) as full,
    ):
        full.write(b"x")


def _pax_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in {"d/a.index": b"x" * 700, "d/b": b"y" * 10, "c": b""}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        folder = tarfile.TarInfo("folder")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
    return buffer.getvalue()


PAX_TAR = _pax_tar()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    changes=st.lists(
        st.tuples(st.integers(0, len(PAX_TAR) - 1), st.integers(0, 255)), min_size=1, max_size=8
    ),
    keep=st.integers(0, len(PAX_TAR)),
)
def test_a_damaged_archive_extracts_or_is_one_line_and_leaves_nothing(tmp_path, changes, keep):
    data = bytearray(PAX_TAR)
    for position, value in changes:
        data[position] = value
    archive = tmp_path / "a.tar"
    archive.write_bytes(bytes(data[:keep]))
    try:
        with staged_dir(tmp_path / "out") as work:
            extract_archive(archive, work, ORIGIN, LIMITS, mode="r:")
    except HubzooError as error:
        assert "\n" not in str(error)
        assert listing(tmp_path) == ["a.tar"]
    shutil.rmtree(tmp_path / "out", ignore_errors=True)
