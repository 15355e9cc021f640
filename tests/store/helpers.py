"""Small module folders and manifests for packaging, store and serving tests (no TensorFlow)."""

import random
from pathlib import Path
from typing import Any

import fsspec
from gcsfs.core import GCSFileSystem

from hubzoo.manifest import BuildFacts
from hubzoo.package import PackagedArtifact, package_module

FAKE_MODULE_FILES = {
    "saved_model.pb": b"graph bytes",
    "tfhub_module.pb": b"\x08\x03",
    "variables/variables.index": b"index bytes",
    "variables/variables.data-00000-of-00001": b"\x00\x01" * 1000,
    "assets/vocab.txt": b"a\nb\n",
}


def write_module(folder: Path, files: dict[str, bytes] = FAKE_MODULE_FILES) -> Path:
    """Write `files` (relative POSIX path -> bytes) into `folder` and return it."""
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def fake_archive(tmp_path: Path, variant: str = "", noise: int = 0) -> PackagedArtifact:
    """A packed fake module; a different `variant` gives different bytes, `noise` adds that many
    incompressible bytes (seeded) as an asset."""
    files = {**FAKE_MODULE_FILES, "saved_model.pb": b"graph bytes" + variant.encode()}
    if noise:
        files["assets/noise.bin"] = random.Random(noise).randbytes(noise)
    module = write_module(tmp_path / f"module{variant}", files)
    return package_module(module, tmp_path / f"module{variant}.tar.gz")


def publisher_manifest(**overrides: object) -> BuildFacts:
    """The build facts the publish pipeline supplies to `Store.put`."""
    facts: dict[str, Any] = {
        "checkpoint_sha256": "synthetic",
        "format": "hub",
        "hubzoo_version": "0.1.0",
        "record_digest": "sha256:" + "ab" * 32,
        "smoke": {"passed": True, "outputs": {"default": [1, 1024]}},
        "tensorflow_version": "2.21.0",
    }
    facts.update(overrides)
    return BuildFacts(**facts)


def raw_fs(url: str, options: dict) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem under a store URL and the URL's path on it, to change files behind the
    store's back (gs:// through gcsfs's plain JSON-API class, as the store opens it)."""
    if url.startswith("gs://"):
        fs = GCSFileSystem(**options)
        return fs, fs._strip_protocol(url)
    return fsspec.core.url_to_fs(url, **options)
