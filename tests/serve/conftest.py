"""Running servers on 127.0.0.1: over a local store with one module and a small site, and over
each kind of store (local, S3 on moto, GCS on its emulator)."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from hubzoo.package import PackagedArtifact
from hubzoo.serve import serve
from hubzoo.store import Store, open_store
from tests.store.helpers import fake_archive, publisher_manifest
from tests.store.servers import gcs_options, make_store, s3_options

__all__ = ["gcs_options", "s3_options"]

SERVED_STORE_KINDS = ["local", "s3", "gcs"]

HANDLE = "test/fake/feature_vector/1"
SECRET = b"secret outside the site and the store"


@dataclass
class Served:
    base_url: str
    port: int
    store: Store
    site: Path
    secret: Path
    artifact: PackagedArtifact


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    root = tmp_path_factory.mktemp("served")
    store = open_store(str(root / "store"))
    artifact = fake_archive(root)
    store.put(HANDLE, artifact.path, publisher_manifest())
    secret = root / "secret.txt"
    secret.write_bytes(SECRET)
    site = _write_site(root / "site", secret)

    with running(store, site) as port:
        yield Served(f"http://127.0.0.1:{port}", port, store, site, secret, artifact)


@contextmanager
def running(store: Store, site: Path | None, **options) -> Iterator[int]:
    """Serve `store` and `site` on a free port while the block runs; yields the port."""
    server = serve(store, site, 0, **options)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class ServedStore:
    url: str
    options: dict
    store: Store
    port: int


@pytest.fixture(params=SERVED_STORE_KINDS)
def served_store(request, tmp_path) -> ServedStore:
    """A server over a fresh, empty store of each kind (no site)."""
    url, options, store = make_store(request.param, tmp_path, request)
    with running(store, None) as port:
        yield ServedStore(url, options, store, port)


def _write_site(site: Path, secret: Path) -> Path:
    pages = {
        "index.html": "<h1>hubzoo</h1>",
        "assets/style.css": "h1 {}",
        f"modules/{HANDLE}/index.html": "<h1>Module test/fake/feature_vector/1</h1>",
    }
    for name, text in pages.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    (site / "leak.txt").symlink_to(secret)
    (site / "outside").symlink_to(secret.parent)
    (site / "inside.css").symlink_to(site / "assets/style.css")
    return site
