"""Stores to test against: a local folder, S3 on a loopback moto server, and memory://."""

import logging
import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer

from hubzoo.store import Store, open_store

BUCKET = "hubzoo-test"
S3_KEYS = {"key": "testing", "secret": "testing"}


@pytest.fixture(scope="session")
def s3_options() -> dict:
    """fsspec storage options for a bucket on a moto S3 server on 127.0.0.1."""
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
    yield {**S3_KEYS, "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
    server.stop()


def make_store(kind: str, tmp_path, request) -> tuple[str, dict, Store]:
    """A fresh, empty store of `kind`: its URL, storage options and the opened Store."""
    if kind == "local":
        url, options = str(tmp_path / "store"), {}
    elif kind == "s3":
        url, options = f"s3://{BUCKET}/{uuid.uuid4().hex}", request.getfixturevalue("s3_options")
    else:
        url, options = f"memory://{uuid.uuid4().hex}", {}
    return url, options, open_store(url, storage_options=options)


@pytest.fixture(params=["local", "s3", "memory"])
def store_env(request, tmp_path) -> tuple[str, dict, Store]:
    """A fresh store of each kind: (url, storage_options, store)."""
    return make_store(request.param, tmp_path, request)


@pytest.fixture
def store(store_env) -> Store:
    return store_env[2]


@pytest.fixture(params=["local", "s3"])
def shared_store(request, tmp_path) -> tuple[str, dict, Store]:
    """A store other processes can open too: (url, storage_options, store)."""
    return make_store(request.param, tmp_path, request)
