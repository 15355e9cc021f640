"""Fixtures of the site tests: a store with two published versions, and the site built from it."""

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from hubzoo.manifest import BuildFacts
from hubzoo.paths import REPO_ROOT
from hubzoo.store import open_store

SYNTHETIC_HANDLE = "google/imagenet/inception_v1/feature_vector/1"
TRAINED_HANDLE = "google/imagenet/inception_v2/feature_vector/3"
TRAINED_CHECKPOINT_SHA256 = "ab" * 32


def smoke_report(passed: bool) -> dict:
    """A smoke report shaped like modules.smoke.SmokeReport.to_json()."""
    return {
        "passed": passed,
        "device": "/device:CPU:0",
        "device_note": "CPU",
        "tensorflow_version": "2.21.0",
        "tensorflow_hub_version": "0.16.1",
        "format": "hub",
        "checks": [],
        "failures": [] if passed else ["output shape [2, 1000] != [2, 1024]"],
        "latency_ms_p50": {"1": 41.25, "8": 230.5},
        "images_per_second": 34.71,
    }


def write_archive(path: Path, payload: bytes) -> Path:
    """A small .tar.gz standing in for a module archive (the site reads only manifests)."""
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("tfhub_module.pb")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    return path


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory) -> Path:
    """A store holding a synthetic-checkpoint version and a trained one whose smoke test failed."""
    root = tmp_path_factory.mktemp("store")
    scratch = tmp_path_factory.mktemp("archives")
    store = open_store(str(root))
    for handle, checkpoint, passed in [
        (SYNTHETIC_HANDLE, "synthetic", True),
        (TRAINED_HANDLE, TRAINED_CHECKPOINT_SHA256, False),
    ]:
        archive = write_archive(scratch / f"{handle.replace('/', '_')}.tar.gz", handle.encode())
        build = BuildFacts(
            checkpoint_sha256=checkpoint,
            format="hub",
            hubzoo_version="0.1.0",
            record_digest="0" * 64,
            smoke=smoke_report(passed),
            tensorflow_version="2.21.0",
        )
        store.put(handle, archive, build)
    return root


def mkdocs_build(config: Path, site_dir: Path, store: Path) -> subprocess.CompletedProcess:
    """`mkdocs build --strict` of `config` into `site_dir`, reading artifact facts from `store`."""
    env = {**os.environ, "HUBZOO_STORE": str(store), "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config)]
    return subprocess.run(
        [*command, "-d", str(site_dir)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory, store_dir) -> Path:
    """The repository's site, built strictly with the artifact facts of `store_dir`."""
    site = tmp_path_factory.mktemp("site")
    result = mkdocs_build(REPO_ROOT / "mkdocs.yml", site, store_dir)
    assert result.returncode == 0, result.stderr
    return site
