"""scripts/store.py: verify, fsck, lock show and lock break, as a user runs them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hubzoo.paths import REPO_ROOT
from hubzoo.store import open_store
from tests.store.helpers import fake_archive, publisher_manifest
from tests.store.servers import BUCKET, S3_KEYS

SCRIPT = REPO_ROOT / "scripts" / "store.py"
HANDLE = "google/imagenet/inception_v1/feature_vector/1"


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def store_dir(tmp_path) -> Path:
    """A local store with two versions of which one is damaged, and leftovers."""
    root = tmp_path / "store"
    store = open_store(str(root))
    store.put(HANDLE, fake_archive(tmp_path, "a").path, publisher_manifest())
    store.put("test/damaged/1", fake_archive(tmp_path, "b").path, publisher_manifest())
    archive = root / "test/damaged/1.tar.gz"
    archive.write_bytes(archive.read_bytes()[:-1] + b"!")
    (root / f"{HANDLE}.tar.gz.partial-0123").write_bytes(b"half")
    return root


def test_verify_reports_each_damaged_version_and_exits_1(store_dir):
    done = run("--store", str(store_dir), "verify")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("test/damaged/1: test/damaged/1: the stored archive has sha256 ")
    assert lines[-1] == "verified 2 versions: 1 problem"
    good = run("--store", str(store_dir), "verify", HANDLE)
    assert (good.returncode, good.stdout) == (0, "verified 1 version: no problems\n")


def test_fsck_finds_leftovers_and_clean_removes_them(store_dir):
    done = run("--store", str(store_dir), "fsck")
    assert done.returncode == 1
    assert f"{HANDLE}.tar.gz.partial-0123: file left by an interrupted publish" in done.stdout
    assert done.stdout.endswith("checked 2 versions: 2 problems\n")

    cleaned = run("--store", str(store_dir), "fsck", "--clean")
    assert cleaned.returncode == 1, "the damaged archive is not a leftover: it stays a problem"
    assert f"note: {HANDLE}.tar.gz.partial-0123: removed file left by" in cleaned.stdout
    assert not (store_dir / f"{HANDLE}.tar.gz.partial-0123").exists()
    assert cleaned.stdout.endswith("checked 2 versions: 1 problem\n")


def test_lock_show_and_break_name_the_holder(store_dir):
    lock = store_dir / "test/locked/1.lock"
    lock.parent.mkdir(parents=True)
    holder = {
        "host": "build-7",
        "pid": 31337,
        "token": "t",
        "since": "2026-01-01T00:00:00Z",
        "refreshed": "2026-01-01T00:00:00Z",
    }
    lock.write_text(json.dumps(holder))

    shown = run("--store", str(store_dir), "lock", "show", "test/locked/1")
    assert shown.returncode == 0
    assert shown.stdout.startswith(
        "test/locked/1: locked (held by pid 31337 on build-7 since 2026-01-01T00:00:00Z, refreshed "
    )
    assert "; stale: not refreshed for " in shown.stdout
    assert shown.stdout.endswith(f"; {lock})\n")

    broken = run("--store", str(store_dir), "lock", "break", "test/locked/1")
    assert broken.returncode == 0
    assert broken.stdout.startswith("test/locked/1: broke the lock (held by pid 31337 on build-7")
    assert not lock.exists()
    again = run("--store", str(store_dir), "lock", "show", "test/locked/1")
    assert again.stdout == "test/locked/1: no lock\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lock", "show", "Not/A/Handle"], "store: invalid module handle 'Not/A/Handle'"),
        (["verify", "bad handle"], "store: invalid module handle 'bad handle'"),
    ],
)
def test_bad_handles_are_one_line(store_dir, args, message):
    done = run("--store", str(store_dir), *args)
    assert done.returncode == 2
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1


def test_a_missing_store_is_one_line_and_is_not_created(tmp_path):
    done = run("--store", str(tmp_path / "none"), "fsck")
    assert (done.returncode, done.stderr) == (
        2,
        f"store: cannot open store {tmp_path / 'none'}: no such folder\n",
    )
    assert not (tmp_path / "none").exists()


def test_the_cli_works_on_s3_from_the_environment(s3_options, tmp_path):
    url = f"s3://{BUCKET}/cli"
    open_store(url, storage_options=s3_options).put(
        HANDLE, fake_archive(tmp_path).path, publisher_manifest()
    )
    env = {
        "AWS_ENDPOINT_URL": s3_options["client_kwargs"]["endpoint_url"],
        "AWS_ACCESS_KEY_ID": S3_KEYS["key"],
        "AWS_SECRET_ACCESS_KEY": S3_KEYS["secret"],
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = run("--store", url, "verify", env=env)
    assert (done.returncode, done.stdout) == (0, "verified 1 version: no problems\n"), done.stderr


def test_help_tells_the_lock_rules():
    done = run("--help")
    assert done.returncode == 0
    for words in (
        "verify",
        "fsck",
        "--clean",
        "lock",
        "not refreshed for 600 s",
        "older than 60 s",
    ):
        assert words in done.stdout.replace("\n", " ")
