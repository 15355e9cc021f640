"""Stores to test against: a local folder, S3 on a loopback moto server, GCS on a loopback
gcp-storage-emulator, and memory://."""

import pytest

from hubzoo.store import Store
from tests.store.servers import gcs_options, make_store, s3_options

__all__ = ["gcs_options", "s3_options"]

STORE_KINDS = ["local", "s3", "gcs", "memory"]
SHARED_STORE_KINDS = ["local", "s3"]
"""Stores whose exclusive creation holds between threads and processes: the GCS emulator
ignores `ifGenerationMatch` preconditions (real GCS honours them; the store checks first, which
is enough for one writer), memory:// is one process's."""


@pytest.fixture(params=STORE_KINDS)
def store_env(request, tmp_path) -> tuple[str, dict, Store]:
    """A fresh store of each kind: (url, storage_options, store)."""
    return make_store(request.param, tmp_path, request)


@pytest.fixture
def store(store_env) -> Store:
    return store_env[2]


@pytest.fixture(params=SHARED_STORE_KINDS)
def shared_store(request, tmp_path) -> tuple[str, dict, Store]:
    """A store other processes can open too: (url, storage_options, store)."""
    return make_store(request.param, tmp_path, request)
