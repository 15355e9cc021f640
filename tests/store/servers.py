"""Object-store servers on loopback for the store and serve tests, and stores on them: S3 on a
moto server, GCS on a gcp-storage-emulator (the GCS JSON API), a local folder and memory://.

Conftests import the fixtures from here (`from tests.store.servers import ...`)."""

import logging
import uuid

import boto3
import pytest
from gcp_storage_emulator.server import create_server
from moto.server import ThreadedMotoServer

from hubzoo.store import Store, open_store

BUCKET = "hubzoo-test"
S3_KEYS = {"key": "testing", "secret": "testing"}


def start_moto() -> tuple[ThreadedMotoServer, dict]:
    """A moto S3 server on 127.0.0.1 with BUCKET, and fsspec storage options for it."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEYS["key"],
        aws_secret_access_key=S3_KEYS["secret"],
    ).create_bucket(Bucket=BUCKET)
    return server, {
        **S3_KEYS,
        "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
    }


def start_gcs_emulator() -> tuple[object, dict]:
    """A gcp-storage-emulator on 127.0.0.1 with BUCKET, and fsspec storage options for it."""
    logging.getLogger("gcp_storage_emulator").setLevel(logging.CRITICAL)
    server = create_server("127.0.0.1", 0, in_memory=True, default_bucket=BUCKET)
    server.start()
    host, port = server._api._httpd.server_address
    return server, {"endpoint_url": f"http://{host}:{port}", "token": "anon", "project": "test"}


@pytest.fixture(scope="session")
def s3_options() -> dict:
    """fsspec storage options for BUCKET on a moto S3 server on 127.0.0.1."""
    server, options = start_moto()
    yield options
    server.stop()


@pytest.fixture(scope="session")
def gcs_options() -> dict:
    """fsspec storage options for BUCKET on a GCS emulator on 127.0.0.1."""
    server, options = start_gcs_emulator()
    yield options
    server.stop()


def make_store(kind: str, tmp_path, request) -> tuple[str, dict, Store]:
    """A fresh, empty store of `kind`: its URL, storage options and the opened Store."""
    if kind == "local":
        url, options = str(tmp_path / "store"), {}
    elif kind == "s3":
        url, options = f"s3://{BUCKET}/{uuid.uuid4().hex}", request.getfixturevalue("s3_options")
    elif kind == "gcs":
        url, options = f"gs://{BUCKET}/{uuid.uuid4().hex}", request.getfixturevalue("gcs_options")
    else:
        url, options = f"memory://{uuid.uuid4().hex}", {}
    return url, options, open_store(url, storage_options=options)
