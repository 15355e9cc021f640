"""Fetching and extracting a checkpoint within limits (time, bytes, members), against hostile
servers and archives and a full disk: one clear line, and nothing left in the cache."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubzoo.errors import HubzooError
from hubzoo.progress import Progress, ProgressBar
from modules.checkpoints.sources import CheckpointSource, fetch_checkpoint, resolve_checkpoint
from tests.base.hostile import gnu_sparse_member, gzip_bomb, listing, small_filesystem, tar_gz

from .conftest import FileServer, build_tarball, fake_checkpoint_files

QUIET = Progress(quiet=True)
HINT = "Pass a local checkpoint with `--checkpoint PATH|URL` or use `--synthetic`."


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def serve(server: FileServer, path: str, body: bytes) -> str:
    server.routes[path] = body
    return server.url(path)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_filesystem(tmp_path / "small-disk", kib=512) as disk:
        yield disk


@pytest.mark.parametrize("route", ["trickle", "stall", "slow-headers"])
def test_a_slow_server_is_cut_at_the_download_time_limit_whatever_the_read_timeout(
    http_server: FileServer, tmp_path: Path, route: str
) -> None:
    """Seen: one byte every 20 s was still being read after 75 s (each read within its timeout)."""
    url = http_server.url(f"/{route}/inception_v1.tar.gz")

    with pytest.raises(HubzooError) as raised:
        fetch_checkpoint(
            CheckpointSource(url, "x.ckpt", None), tmp_path, QUIET, max_download_seconds=0.5
        )

    assert re.fullmatch(
        re.escape(f"cannot fetch checkpoint {url}: the download took longer than its limit of ")
        + r"0\.5 s \(\d+ B received\)\. "
        + re.escape(HINT),
        str(raised.value),
    )
    assert listing(tmp_path) == []


def test_an_endless_body_is_cut_at_the_download_size_limit(
    http_server: FileServer, tmp_path: Path
) -> None:
    """Seen: a 1.5 GB endless body was accepted."""
    url = http_server.url("/endless/inception_v1.tar.gz")

    with pytest.raises(HubzooError) as raised:
        fetch_checkpoint(
            CheckpointSource(url, "x.ckpt", None), tmp_path, QUIET, max_download_bytes=1 << 20
        )

    assert str(raised.value) == (
        f"cannot fetch checkpoint {url}: it sent more than the 1.0 MB download limit. {HINT}"
    )
    assert listing(tmp_path) == []


def test_a_body_declared_larger_than_the_default_limit_is_refused_unread(
    http_server: FileServer, tmp_path: Path
) -> None:
    url = http_server.url("/huge/inception_v1.tar.gz")

    with pytest.raises(HubzooError) as raised:
        fetch_checkpoint(CheckpointSource(url, "x.ckpt", None), tmp_path, QUIET)

    assert str(raised.value) == (
        f"cannot fetch checkpoint {url}: it is 1.4 GB, more than the 1.0 GB download limit. {HINT}"
    )
    assert listing(tmp_path) == []


def test_a_gzip_bomb_is_refused_by_default_and_nothing_stays_in_the_cache(
    http_server: FileServer, tmp_path: Path
) -> None:
    """Seen: a 2 MB gzip bomb extracted 2.1 GB, which stayed in the cache after the error."""
    bomb = gzip_bomb("inception_v1.ckpt", 2_100_000_000)
    url = serve(http_server, "/bomb/inception_v1.tar.gz", bomb)

    with pytest.raises(HubzooError) as raised:
        fetch_checkpoint(CheckpointSource(url, "inception_v1.ckpt", sha256(bomb)), tmp_path, QUIET)

    assert str(raised.value) == (
        f"tarball {url} extracts to more than 1.0 GB, the limit for one extraction: member "
        "'inception_v1.ckpt' declares 2.0 GB after 0 B already extracted"
    )
    assert listing(tmp_path) == []


def test_a_bomb_spread_over_members_is_cut_at_the_extracted_size_limit(
    http_server: FileServer, tmp_path: Path
) -> None:
    files = fake_checkpoint_files("model.ckpt") | {f"pad{i}": bytes(512 << 10) for i in range(4)}
    url = serve(http_server, "/spread/model.tar.gz", build_tarball(files))

    with pytest.raises(HubzooError, match=r"extracts to more than 1\.0 MB.*'pad1' declares"):
        fetch_checkpoint(
            CheckpointSource(url, "model.ckpt", None),
            tmp_path,
            QUIET,
            max_extracted_bytes=1 << 20,
        )

    assert listing(tmp_path) == []


def test_too_many_members_are_refused_by_default_and_by_choice(
    http_server: FileServer, tmp_path: Path
) -> None:
    many = fake_checkpoint_files("model.ckpt") | {f"f{i:04d}": b"" for i in range(999)}
    url = serve(http_server, "/many/model.tar.gz", build_tarball(many))
    few = serve(http_server, "/few/model.tar.gz", build_tarball(fake_checkpoint_files()))

    with pytest.raises(HubzooError) as by_default:
        fetch_checkpoint(CheckpointSource(url, "model.ckpt", None), tmp_path, QUIET)
    with pytest.raises(HubzooError) as by_choice:
        fetch_checkpoint(CheckpointSource(few, "model.ckpt", None), tmp_path, QUIET, max_members=1)

    assert str(by_default.value) == (
        f"tarball {url} has more than 1,000 members, the limit for one extraction"
    )
    assert str(by_choice.value) == (
        f"tarball {few} has more than 1 members, the limit for one extraction"
    )
    assert listing(tmp_path) == []


def test_a_sparse_member_is_refused_and_nothing_is_extracted(tmp_path: Path) -> None:
    archive = tmp_path / "in" / "sparse.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(tar_gz(gnu_sparse_member("model.ckpt.data-00000-of-00001", 2 << 30)))

    with pytest.raises(HubzooError, match=r"sparse file") as raised:
        resolve_checkpoint(str(archive), tmp_path / "cache", progress=QUIET)

    assert str(raised.value).startswith(
        f"unsafe member 'model.ckpt.data-00000-of-00001' in tarball {archive}: sparse file"
    )
    assert listing(tmp_path / "cache") == []


def test_a_tarball_without_the_checkpoint_leaves_nothing_in_the_cache(
    http_server: FileServer, tmp_path: Path
) -> None:
    tarball = build_tarball({"README": b"no checkpoint here"})
    url = serve(http_server, "/empty/model.tar.gz", tarball)

    with pytest.raises(HubzooError, match=r"no checkpoint 'model\.ckpt'"):
        fetch_checkpoint(CheckpointSource(url, "model.ckpt", sha256(tarball)), tmp_path, QUIET)

    assert listing(tmp_path) == []


class _InterruptedBar(ProgressBar):
    def update(self, count: int) -> None:
        raise KeyboardInterrupt


class _InterruptedProgress(Progress):
    """Ctrl-C in the middle of a download: the first chunk's progress update raises it."""

    def bar(self, total_bytes: int | None, label: str) -> ProgressBar:
        return _InterruptedBar(None, total_bytes, label)


def test_an_interrupted_download_leaves_nothing(http_server: FileServer, tmp_path: Path) -> None:
    url = serve(http_server, "/interrupted/model.tar.gz", build_tarball(fake_checkpoint_files()))

    with pytest.raises(KeyboardInterrupt):
        fetch_checkpoint(
            CheckpointSource(url, "model.ckpt", None), tmp_path, _InterruptedProgress()
        )

    assert listing(tmp_path) == []


def test_a_full_disk_while_downloading_is_one_line_naming_the_file(
    http_server: FileServer, small_disk: Path
) -> None:
    noise = random.Random(10).randbytes(1 << 20)  # does not compress: 1 MB on a 512 KB disk
    tarball = build_tarball({**fake_checkpoint_files("model.ckpt"), "noise": noise})
    url = serve(http_server, "/full-download/model.tar.gz", tarball)
    cache = small_disk / "cache"

    with pytest.raises(HubzooError) as raised:
        fetch_checkpoint(CheckpointSource(url, "model.ckpt", sha256(tarball)), cache, QUIET)

    assert str(raised.value) == (
        f"cannot write {cache / sha256(tarball)}.tar.gz (downloading {url}): "
        "No space left on device"
    )
    assert listing(cache) == []


@pytest.mark.parametrize("given_as", ["url", "local tarball"])
def test_a_full_disk_while_extracting_is_one_line_naming_the_member(
    http_server: FileServer, small_disk: Path, tmp_path: Path, given_as: str
) -> None:
    """Seen: a full disk during extraction was "internal error ... exit 3"."""
    files = fake_checkpoint_files("model.ckpt")
    files["model.ckpt.data-00000-of-00001"] = bytes(1 << 20)  # 1 MB in 1 KB of tarball
    tarball = build_tarball(files)
    local = tmp_path / "model.tar.gz"
    local.write_bytes(tarball)
    location = serve(http_server, "/full-extract/model.tar.gz", tarball)
    if given_as == "local tarball":
        location = str(local)
    cache = small_disk / "cache"

    with pytest.raises(HubzooError) as raised:
        resolve_checkpoint(location, cache, sha256=sha256(tarball), progress=QUIET)

    assert str(raised.value) == (
        f"cannot write model.ckpt.data-00000-of-00001 (extracting tarball {location} into "
        f"{cache}): No space left on device"
    )
    assert listing(cache) == []


@pytest.mark.parametrize(
    ("limit", "what"),
    [
        ("timeout", "the read timeout"),
        ("max_download_seconds", "the download time limit"),
        ("max_download_bytes", "the download size limit"),
        ("max_extracted_bytes", "the extracted size limit"),
        ("max_members", "the member limit"),
    ],
)
def test_limits_must_be_positive(tmp_path: Path, limit: str, what: str) -> None:
    with pytest.raises(HubzooError, match=f"^{what} must be a positive number, not 0$"):
        resolve_checkpoint("http://127.0.0.1:1/x.tar.gz", tmp_path, progress=QUIET, **{limit: 0})
