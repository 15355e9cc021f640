"""Every store failure is one clear line and a non-zero exit, within a bounded time: unreachable
S3 and GCS endpoints, read-only and full disks, missing store folders."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hubzoo.errors import HubzooError
from hubzoo.paths import REPO_ROOT
from hubzoo.store import StoreError, open_store
from tests.store.helpers import fake_archive, publisher_manifest
from tests.store.servers import BUCKET, S3_KEYS, start_gcs_emulator, start_moto

HANDLE = "google/imagenet/inception_v1/feature_vector/1"
SCRIPTS = REPO_ROOT / "scripts"
BOUND_SECONDS = 60
"""The subprocess timeout: each command must have given up well before."""


@pytest.fixture(scope="module")
def dead_s3() -> dict:
    """Storage options and environment for S3 on a moto server that was started, then stopped."""
    server, options = start_moto()
    server.stop()
    endpoint = options["client_kwargs"]["endpoint_url"]
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": S3_KEYS["key"],
        "AWS_SECRET_ACCESS_KEY": S3_KEYS["secret"],
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return {"url": f"s3://{BUCKET}/dead", "options": options, "env": env}


@pytest.fixture(scope="module")
def dead_gcs() -> dict:
    """The same for a GCS emulator that was started, then stopped (deadline: 1 s per call)."""
    server, options = start_gcs_emulator()
    server.stop()
    env = {"STORAGE_EMULATOR_HOST": options["endpoint_url"], "HUBZOO_STORE_TIMEOUT": "1"}
    return {"url": f"gs://{BUCKET}/dead", "options": options, "env": env}


def run(script: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        timeout=BOUND_SECONDS,
        env={**os.environ, **(env or {})},
    )


def assert_one_line(done: subprocess.CompletedProcess, *fragments: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    for fragment in fragments:
        assert fragment in done.stderr


@pytest.mark.parametrize("kind", ["dead_s3", "dead_gcs"])
def test_every_store_call_on_a_dead_endpoint_is_a_store_error(request, kind, tmp_path, monkeypatch):
    dead = request.getfixturevalue(kind)
    monkeypatch.setenv("HUBZOO_STORE_TIMEOUT", "1")
    store = open_store(dead["url"], storage_options=dead["options"])
    calls = {
        "listing its versions failed": store.list_manifests,
        "reading the manifest of": lambda: store.get_manifest(HANDLE),
        "cannot be read": lambda: store.check_access(write=False),
        "taking the lock of": lambda: store.lock(HANDLE),
        "publishing": lambda: store.put(HANDLE, fake_archive(tmp_path).path, publisher_manifest()),
    }
    for doing, call in calls.items():
        with pytest.raises(StoreError) as failed:
            call()
        message = str(failed.value)
        assert message.startswith(f"store {dead['url']}: ")
        assert "\n" not in message
        if doing != "publishing":
            assert doing in message
        assert "no answer within 1 s" in message or (
            kind == "dead_s3" and "Could not connect to the endpoint URL" in message
        ), message  # S3's client retries a refused connection: the deadline may come first


@pytest.mark.parametrize("kind", ["dead_s3", "dead_gcs"])
@pytest.mark.parametrize(
    ("script", "args", "prefix"),
    [
        ("build_site.py", ["--site-dir", "{tmp}/site"], "error: store "),
        ("serve.py", ["--port", "0", "--site", "{tmp}"], "serve: store "),
        ("store.py", ["verify"], "store: store "),
        (
            "publish.py",
            ["inception_v1/feature_vector/1", "--synthetic", "--no-site"],
            "error: store ",
        ),
    ],
)
def test_commands_on_a_dead_endpoint_fail_in_one_line(
    request, kind, script, args, prefix, tmp_path
):
    dead = request.getfixturevalue(kind)
    filled = [arg.format(tmp=tmp_path) for arg in args]
    done = run(script, *filled, "--store", dead["url"], env=dead["env"])
    if script == "publish.py":
        stages = [line for line in done.stderr.splitlines() if line.endswith(" ...")]
        assert stages == ["validate record ...", "check store ..."], "checked before any export"
        error_lines = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        assert len(error_lines) == 1 and error_lines[0].startswith(f"{prefix}{dead['url']}: ")
        assert done.returncode == 1 and "Traceback" not in done.stderr
    else:
        assert_one_line(done, f"{prefix}{dead['url']}: ")


def test_build_site_on_a_missing_store_folder_fails_in_one_line(tmp_path):
    done = run("build_site.py", "--store", "/nonexistent", "--site-dir", str(tmp_path / "site"))
    assert_one_line(done, "error: cannot open store /nonexistent: no such folder")
    assert done.returncode == 1
    assert not Path("/nonexistent").exists()


def test_a_missing_default_store_has_no_artifacts_and_is_not_created(tmp_path, monkeypatch):
    from hubzoo.site.artifacts import STORE_VARIABLE, load_artifacts

    monkeypatch.setattr("hubzoo.store.DEFAULT_STORE_DIR", tmp_path / "store")
    monkeypatch.delenv(STORE_VARIABLE, raising=False)
    assert load_artifacts(None) == {}
    assert not (tmp_path / "store").exists()
    monkeypatch.setenv(STORE_VARIABLE, str(tmp_path / "named"))
    with pytest.raises(StoreError, match="no such folder"):
        load_artifacts(None)


def test_opening_a_store_on_a_file_is_a_store_error(tmp_path):
    (tmp_path / "file").write_text("x")
    for read_only in (False, True):
        with pytest.raises(StoreError, match="it is a file, not a folder"):
            open_store(str(tmp_path / "file"), read_only=read_only)


def test_a_bad_store_timeout_is_one_line(monkeypatch, dead_s3):
    monkeypatch.setenv("HUBZOO_STORE_TIMEOUT", "soon")
    store = open_store(dead_s3["url"], storage_options=dead_s3["options"])
    with pytest.raises(HubzooError, match="HUBZOO_STORE_TIMEOUT must be a positive number"):
        store.list_manifests()


# A read-only or full disk, for real: a tmpfs mounted in a private mount namespace.

MOUNTED = """
import os, sys
from pathlib import Path
from hubzoo.errors import HubzooError
from hubzoo.store import open_store
from tests.store.helpers import fake_archive, publisher_manifest
store_dir, work, noise = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
store = open_store(store_dir)
archive = fake_archive(work, noise=noise)
failed = False
try:
    CALL
except HubzooError as error:
    print(error, file=sys.stderr)
    failed = True
print(sorted(os.path.relpath(os.path.join(d, f), store_dir) for d, _, fs in os.walk(store_dir) for f in fs))
sys.exit(1 if failed else 0)
"""
PUT = f"store.put({HANDLE!r}, archive.path, publisher_manifest())"


def can_mount() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


needs_mount = pytest.mark.skipif(
    not can_mount(), reason="needs root and unshare -m to mount a tmpfs"
)


def run_on_tmpfs(mount_options: str, store_dir: Path, *command: str) -> subprocess.CompletedProcess:
    """Run `command` with a fresh tmpfs (`mount_options`) mounted on `store_dir`."""
    store_dir.mkdir(parents=True, exist_ok=True)
    shell = f'mount -t tmpfs -o {mount_options} tmpfs "$0" && exec "$@"'
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", shell, str(store_dir), *command],
        capture_output=True,
        text=True,
        timeout=BOUND_SECONDS,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


def mounted(
    call: str, mount_options: str, tmp_path: Path, noise: int
) -> subprocess.CompletedProcess:
    """Run `call` on a store on a fresh tmpfs (`mount_options`); it prints the files left."""
    store_dir = tmp_path / "store"
    code = MOUNTED.replace("CALL", call)
    return run_on_tmpfs(
        mount_options, store_dir, sys.executable, "-c", code, str(store_dir), str(tmp_path),
        str(noise),
    )  # fmt: skip


@needs_mount
def test_a_full_disk_is_one_line_and_leaves_no_partial_upload(tmp_path):
    done = mounted(PUT, "size=128k", tmp_path, noise=400_000)
    assert done.returncode == 1
    assert done.stderr == (
        f"store {tmp_path / 'store'}: uploading {HANDLE} failed: no space left on its disk\n"
    )
    assert done.stdout == "[]\n", "no .partial-* file, no lock, no manifest are left"


@needs_mount
@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("store.check_access(write=True)", "cannot be written: it is on a read-only file system"),
        (PUT, f"taking the lock of {HANDLE} failed: it is on a read-only file system"),
    ],
)
def test_a_read_only_store_is_one_line(tmp_path, call, message):
    done = mounted(call, "ro,size=64k", tmp_path, noise=0)
    assert done.returncode == 1
    assert done.stderr == f"store {tmp_path / 'store'}: {message}\n"


@needs_mount
def test_publish_to_a_read_only_store_fails_before_any_export(tmp_path):
    store_dir = tmp_path / "store"
    done = run_on_tmpfs(
        "ro,size=64k", store_dir, sys.executable, str(SCRIPTS / "publish.py"),
        "inception_v1/feature_vector/1", "--synthetic", "--store", str(store_dir),
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    stages = [line for line in done.stderr.splitlines() if line.endswith(" ...")]
    assert stages == ["validate record ...", "check store ..."], "checked before any export"
    assert done.stderr.splitlines()[-1] == (
        f"error: store {store_dir}: cannot be written: it is on a read-only file system"
    )
