"""Fetching a checkpoint tarball over real HTTP into the cache, and every way that can fail."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest

from hubzoo.errors import HubzooError
from hubzoo.progress import Progress
from modules.checkpoints.sources import CheckpointSource, fetch_checkpoint, resolve_checkpoint

from .conftest import FileServer, build_tarball, fake_checkpoint_files

QUIET = Progress(quiet=True)
HINT = "--checkpoint PATH|URL"


def serve(server: FileServer, path: str, body: bytes) -> str:
    server.routes[path] = body
    return server.url(path)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cache_entries(cache: Path) -> list[str]:
    return sorted(path.name for path in cache.iterdir()) if cache.exists() else []


@pytest.fixture(scope="module")
def tarball() -> bytes:
    return build_tarball(fake_checkpoint_files("inception_v1.ckpt"))


def test_fetch_verifies_extracts_and_then_hits_the_cache_without_network(
    http_server: FileServer, tarball: bytes, tmp_path: Path
) -> None:
    url = serve(http_server, "/ok/inception_v1.tar.gz", tarball)
    source = CheckpointSource(url=url, member="inception_v1.ckpt", sha256=sha256(tarball).upper())

    first = fetch_checkpoint(source, tmp_path, QUIET)
    second = fetch_checkpoint(source, tmp_path, QUIET)

    assert first == second
    assert first.verified
    assert first.sha256 == sha256(tarball)
    assert first.prefix == tmp_path / sha256(tarball) / "inception_v1.ckpt"
    assert Path(f"{first.prefix}.index").read_bytes().startswith(b"index of weights")
    assert http_server.requests["/ok/inception_v1.tar.gz"] == 1
    assert cache_entries(tmp_path) == sorted([sha256(tarball), sha256(tarball) + ".tar.gz"])


def test_sha256_mismatch_is_an_error_and_keeps_nothing(
    http_server: FileServer, tarball: bytes, tmp_path: Path
) -> None:
    url = serve(http_server, "/mismatch/inception_v1.tar.gz", tarball)
    wrong = "0" * 64

    with pytest.raises(HubzooError) as raised:
        fetch_checkpoint(CheckpointSource(url, "inception_v1.ckpt", wrong), tmp_path, QUIET)

    message = str(raised.value)
    assert url in message
    assert f"expected {wrong}" in message
    assert f"got {sha256(tarball)}" in message
    assert cache_entries(tmp_path) == []


def test_unknown_sha256_downloads_warns_and_reports_the_digest(
    http_server: FileServer, tarball: bytes, tmp_path: Path
) -> None:
    url = serve(http_server, "/unknown/inception_v1.tar.gz", tarball)
    log = io.StringIO()

    fetched = fetch_checkpoint(
        CheckpointSource(url, "inception_v1.ckpt", None), tmp_path, Progress(stream=log)
    )
    again = fetch_checkpoint(CheckpointSource(url, "inception_v1.ckpt", None), tmp_path, QUIET)

    assert not fetched.verified
    assert fetched.sha256 == sha256(tarball) == again.sha256
    note = f"note: no sha256 is known for {url}, so it was not verified; its sha256 is "
    assert note + sha256(tarball) in log.getvalue()
    assert http_server.requests["/unknown/inception_v1.tar.gz"] == 1
    assert [name for name in cache_entries(tmp_path) if name.endswith(".tar.gz")] == [
        fetched.prefix.parent.name + ".tar.gz"
    ]
    assert fetched.prefix.parent.name.startswith("url-")


def test_download_progress_on_a_non_tty_is_a_few_plain_lines(
    http_server: FileServer, tmp_path: Path
) -> None:
    files = fake_checkpoint_files("inception_v1.ckpt", payload=bytes(range(256)) * 40_000)
    tarball = build_tarball(files, mode="w")
    url = serve(http_server, "/progress/inception_v1.tar", tarball)
    log = io.StringIO()

    fetch_checkpoint(
        CheckpointSource(url, "inception_v1.ckpt", sha256(tarball)), tmp_path, Progress(stream=log)
    )

    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert lines[0] == "download inception_v1.tar: started (19.5 MB)"
    percents = [int(line.split(":")[1].split("%")[0]) for line in lines[1:4]]
    assert [percent // 5 * 5 for percent in percents] == [25, 50, 75]  # 1 MB chunks of 19.5 MB
    assert lines[4].startswith("download inception_v1.tar: 19.5 MB in ")
    assert lines[5] == "extract " + sha256(tarball) + ".tar ..."
    assert lines[6].startswith(f"extract {sha256(tarball)}.tar: done in ")
    assert len(lines) == 7


def test_unreachable_source_names_the_url_and_how_to_go_on(
    closed_port: int, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{closed_port}/inception_v1.tar.gz"

    with pytest.raises(HubzooError) as raised:
        fetch_checkpoint(CheckpointSource(url, "inception_v1.ckpt", None), tmp_path, QUIET)

    message = str(raised.value)
    assert message.startswith(f"cannot fetch checkpoint {url}: ")
    assert "refused" in message
    assert HINT in message and "--synthetic" in message
    assert cache_entries(tmp_path) == []


@pytest.mark.parametrize(
    ("path", "reason"), [("/missing.tar.gz", "HTTP 404"), ("/status500", "HTTP 500")]
)
def test_http_errors_name_the_status_and_url(
    http_server: FileServer, tmp_path: Path, path: str, reason: str
) -> None:
    url = http_server.url(path)

    with pytest.raises(
        HubzooError, match=re.escape(f"cannot fetch checkpoint {url}: {reason}")
    ) as raised:
        fetch_checkpoint(CheckpointSource(url, "inception_v1.ckpt", None), tmp_path, QUIET)

    assert HINT in str(raised.value)
    assert cache_entries(tmp_path) == []


def test_a_server_that_never_answers_times_out(http_server: FileServer, tmp_path: Path) -> None:
    url = http_server.url("/hang.tar.gz")

    with pytest.raises(HubzooError, match="timed out") as raised:
        fetch_checkpoint(CheckpointSource(url, "x.ckpt", None), tmp_path, QUIET, timeout=0.3)

    assert url in str(raised.value)
    assert cache_entries(tmp_path) == []


def test_a_download_cut_short_leaves_nothing_that_looks_complete(
    http_server: FileServer, tmp_path: Path
) -> None:
    url = http_server.url("/cut-short.tar.gz")

    with pytest.raises(HubzooError, match=r"ended after 13 of 100000 bytes") as raised:
        fetch_checkpoint(CheckpointSource(url, "x.ckpt", None), tmp_path, QUIET)

    assert url in str(raised.value)
    assert cache_entries(tmp_path) == []


@pytest.mark.parametrize(
    "body",
    [b"this is not a tarball at all" * 20, "truncated"],
    ids=["not-gzip", "truncated-gzip"],
)
def test_a_corrupt_tarball_is_an_error_and_is_not_kept(
    http_server: FileServer, tarball: bytes, tmp_path: Path, body: bytes | str
) -> None:
    data = tarball[: len(tarball) // 2] if body == "truncated" else body
    url = serve(http_server, f"/corrupt-{len(data)}/inception_v1.tar.gz", data)

    with pytest.raises(HubzooError, match=re.escape(f"corrupt tarball {url}")):
        fetch_checkpoint(CheckpointSource(url, "inception_v1.ckpt", sha256(data)), tmp_path, QUIET)

    assert cache_entries(tmp_path) == []


def test_a_missing_member_lists_the_checkpoints_that_are_there(
    http_server: FileServer, tmp_path: Path
) -> None:
    files = fake_checkpoint_files("a/first.ckpt") | fake_checkpoint_files("second.ckpt")
    url = serve(http_server, "/two/checkpoints.tgz", build_tarball(files))

    with pytest.raises(HubzooError) as raised:
        fetch_checkpoint(CheckpointSource(url, "inception_v1.ckpt", None), tmp_path, QUIET)

    assert str(raised.value) == (
        f"no checkpoint 'inception_v1.ckpt' in {url}; "
        "it holds the checkpoints a/first.ckpt, second.ckpt"
    )


def test_a_url_given_as_checkpoint_location_is_fetched(
    http_server: FileServer, tarball: bytes, tmp_path: Path
) -> None:
    url = serve(http_server, "/resolve/inception_v1.tar.gz", tarball)

    fetched = resolve_checkpoint(url, tmp_path, sha256=sha256(tarball), progress=QUIET)

    assert fetched.prefix.name == "inception_v1.ckpt"
    assert fetched.verified


def test_a_file_url_of_a_tarball_is_fetched(tarball: bytes, tmp_path: Path) -> None:
    archive = tmp_path / "served" / "inception_v1.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(tarball)

    fetched = resolve_checkpoint(
        archive.as_uri(), tmp_path / "cache", member="inception_v1.ckpt", progress=QUIET
    )

    assert fetched.prefix.parent.parent == tmp_path / "cache"
    assert fetched.sha256 == sha256(tarball)
    assert not fetched.verified
    assert archive.read_bytes() == tarball


def test_a_file_url_that_does_not_exist_is_unreachable(tmp_path: Path) -> None:
    url = (tmp_path / "nowhere.tar.gz").as_uri()

    with pytest.raises(HubzooError, match="No such file") as raised:
        resolve_checkpoint(url, tmp_path / "cache", progress=QUIET)

    assert url in str(raised.value) and HINT in str(raised.value)


def test_other_url_schemes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(HubzooError, match=r"unsupported checkpoint URL s3://bucket/x\.tar\.gz"):
        resolve_checkpoint("s3://bucket/x.tar.gz", tmp_path, progress=QUIET)


def test_a_malformed_sha256_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HubzooError, match="not a sha256 digest"):
        fetch_checkpoint(
            CheckpointSource("http://127.0.0.1:1/x.tar.gz", "x", "abc"), tmp_path, QUIET
        )
