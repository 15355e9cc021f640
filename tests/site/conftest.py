"""Fixtures of the site tests: a store with two published versions, and the site built from it.

The site is built from a fixed part of the registry (`SITE_MODULES`, their deployments and pages:
every page era of modules and deployments), so that the tests do not build hundreds of pages;
`small_project` makes such a part anywhere.
"""

import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from hubzoo.handles import deployment_handle
from hubzoo.lock import LOCK_FILE
from hubzoo.manifest import BuildFacts
from hubzoo.paths import DOCS_DIR, REGISTRY_DIR, REPO_ROOT
from hubzoo.render import PAGES_FOLDER, page_path
from hubzoo.store import open_store
from hubzoo.validate import find_record_files

SYNTHETIC_HANDLE = "google/imagenet/inception_v1/feature_vector/1"
TRAINED_HANDLE = "google/imagenet/inception_v2/feature_vector/3"
DEPLOYMENT_HANDLE = "google/imagenet/inception_v1/feature_vector/1/default/tfjs/1"
"""A deployment of SYNTHETIC_HANDLE the test store holds (synthetic)."""
TRAINED_CHECKPOINT_SHA256 = "ab" * 32
SITE_MODULES = (
    "google/imagenet/inception_resnet_v2/classification/1",
    "google/imagenet/inception_resnet_v2/feature_vector/1",
    "google/imagenet/inception_v1/classification/1",
    "google/imagenet/inception_v1/feature_vector/1",
    "google/imagenet/inception_v2/classification/1",
    "google/imagenet/inception_v2/classification/3",
    "google/imagenet/inception_v2/feature_vector/1",
    "google/imagenet/inception_v2/feature_vector/3",
    "google/imagenet/mobilenet_v3_small_100_224/classification/5",
    "google/imagenet/mobilenet_v3_small_100_224/feature_vector/5",
    "google/imagenet/mobilenet_v3_large_100_224/classification/5",
    "google/imagenet/mobilenet_v3_large_100_224/feature_vector/5",
)
"""The modules of the site the tests build (with their deployments): the seed pages' modules
and their classifiers, the older version of a pair of them, a TF2 model with TF.js and TF Lite
deployments, and one whose Lite pages state a width its model does not have."""


def small_project(root: Path, modules: tuple[str, ...] = SITE_MODULES) -> Path:
    """A copy of the project's docs, registry and mkdocs.yml under `root` holding only `modules`
    and their deployments; returns its mkdocs.yml (the hooks read its `registry/`)."""
    registry = root / "registry"
    shutil.copytree(REGISTRY_DIR, registry)
    kept = set()
    for path in find_record_files(registry):
        handle = path.relative_to(registry).with_suffix("").as_posix()
        parts = deployment_handle(handle)
        if (parts.parent if parts else handle) in modules:
            kept.add(handle)
        else:
            path.unlink()
    lock = registry / LOCK_FILE
    lines = lock.read_text().splitlines(keepends=True)
    lock.write_text(
        "".join(line for line in lines if line.startswith("#") or line.split()[0] in kept)
    )
    shutil.copytree(DOCS_DIR, root / "docs", ignore=shutil.ignore_patterns(PAGES_FOLDER))
    for handle in kept:
        target = root / "docs" / page_path(handle)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DOCS_DIR / page_path(handle), target)
    (root / "mkdocs.yml").write_text(project_config())
    return root / "mkdocs.yml"


def project_config() -> str:
    """The repository's mkdocs.yml with the hooks and theme overrides named by absolute path, so
    that a copy of it beside another docs/ builds with them."""
    config = (REPO_ROOT / "mkdocs.yml").read_text()
    for relative in ("hubzoo/site/hooks.py", "templates/site/theme"):
        config = config.replace(f" {relative}", f" {REPO_ROOT / relative}")
    return config


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
    """A store holding a synthetic-checkpoint version, a trained one whose smoke test failed, and
    a synthetic TF.js deployment of the first."""
    root = tmp_path_factory.mktemp("store")
    scratch = tmp_path_factory.mktemp("archives")
    store = open_store(str(root))
    for handle, checkpoint, passed, format_id in [
        (SYNTHETIC_HANDLE, "synthetic", True, "hub"),
        (TRAINED_HANDLE, TRAINED_CHECKPOINT_SHA256, False, "hub"),
        (DEPLOYMENT_HANDLE, "synthetic", True, "tfjs"),
    ]:
        archive = write_archive(scratch / f"{handle.replace('/', '_')}.tar.gz", handle.encode())
        build = BuildFacts(
            checkpoint_sha256=checkpoint,
            format=format_id,
            hubzoo_version="0.1.0",
            record_digest="0" * 64,
            smoke=smoke_report(passed),
            tensorflow_version="2.21.0",
        )
        store.put(handle, archive, build)
    return root


def mkdocs_build(config: Path, site_dir: Path, store: Path) -> subprocess.CompletedProcess:
    """`mkdocs build --strict` of `config` into `site_dir`, reading artifact facts from `store`
    and the records of the registry beside `config`."""
    env = {
        **os.environ,
        "HUBZOO_STORE": str(store),
        "HUBZOO_REGISTRY": str(config.parent / "registry"),
        "NO_MKDOCS_2_WARNING": "1",
    }
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
def site_project(tmp_path_factory) -> Path:
    """The mkdocs.yml of a `small_project` of the repository."""
    return small_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory, site_project, store_dir) -> Path:
    """The small project's site, built strictly with the artifact facts of `store_dir`."""
    site = tmp_path_factory.mktemp("site")
    result = mkdocs_build(site_project, site, store_dir)
    assert result.returncode == 0, result.stderr
    return site
