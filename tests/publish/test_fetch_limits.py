"""publish.py's checkpoint download limits reach the fetch: a tarball over --max-download-size
stops the publish with one line, and the flags refuse values that are not sizes or durations."""

import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hubzoo.paths import REPO_ROOT
from hubzoo.units import parse_bytes

PUBLISH = [sys.executable, str(REPO_ROOT / "scripts" / "publish.py")]
TARBALL_BYTES = 64 * 1024


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tarball_url(tmp_path: Path) -> Iterator[str]:
    """A 64 KiB file served on loopback as a checkpoint tarball."""
    (tmp_path / "inception_v1.tar.gz").write_bytes(b"\x1f\x8b" + bytes(TARBALL_BYTES - 2))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/inception_v1.tar.gz"
    finally:
        server.shutdown()
        server.server_close()


def publish(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*PUBLISH, *args], capture_output=True, text=True, timeout=180)


def test_a_tarball_over_the_download_size_limit_stops_the_publish_in_one_line(tarball_url):
    done = publish(
        "inception_v1/feature_vector/1", "--checkpoint", tarball_url, "--dry-run",
        "--max-download-size", "16K",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1, done.stderr
    assert "16.0 KB" in errors[0], errors[0]


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--max-download-size", "lots"), ("--max-extracted-size", "-1"), ("--download-timeout", "0")],
)
def test_limit_flags_refuse_what_is_not_a_limit(flag, value):
    done = publish("inception_v1/feature_vector/1", "--dry-run", flag, value)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert flag in done.stderr.splitlines()[-1]


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("1000", 1000),
        ("512K", 512 << 10),
        ("300M", 300 << 20),
        ("1.5GiB", 3 << 29),
        ("2gb", 2 << 30),
    ],
)
def test_byte_counts_read_as_written(text, count):
    assert parse_bytes(text) == count


@pytest.mark.parametrize("text", ["", "G", "x", "-1", "nan", "inf", "1Q"])
def test_what_is_not_a_byte_count_is_refused(text):
    with pytest.raises(ValueError, match="is not a byte count"):
        parse_bytes(text)
