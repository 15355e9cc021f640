"""A store the pipeline published, served by plain static servers, loaded by unmodified
tensorflow_hub by URL (`BASE/HANDLE.tar.gz`) with no hubzoo process in the path: Debian's nginx
on loopback, and the S3 HTTP endpoint of a moto server (a bucket with a public-read policy).

tensorflow_hub appends `?tf-hub-format=compressed` to the URL; both serve the object itself
regardless of the query string. It checks no Content-Type: it streams the body into tarfile.
"""

import hashlib
import json
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import numpy as np
import pytest

from hubzoo.store import ARCHIVE_CONTENT_TYPE, open_store
from pipeline.batch import PUBLISHED, BatchOptions, publish_batch
from tests.static.nginx import nginx_serving
from tests.store.servers import BUCKET, S3_KEYS, s3_options

__all__ = ["s3_options"]

HANDLE = "google/imagenet/mobilenet_v1_025_128/feature_vector/1"
"""The smallest buildable module (TF1 Hub format, 0.9 MB packed)."""
HUB_QUERY = "?tf-hub-format=compressed"


def publish_small(store_url: str) -> None:
    report = publish_batch(
        BatchOptions(queries=(HANDLE,), synthetic=True, store_url=store_url, build_site=False),
        stream=None,
    )
    assert [o.result for o in report.outcomes] == [PUBLISHED], report.lines()


def features_by_url(url: str) -> np.ndarray:
    """hub.load(url) in a fresh cache, then the feature vector of a fixed batch."""
    import tensorflow as tf
    import tensorflow_hub as hub

    module = hub.load(url)
    images = np.random.default_rng(1).random((2, 128, 128, 3), dtype=np.float32)
    return module.signatures["image_feature_vector"](images=tf.constant(images))["default"].numpy()


def get(url: str) -> tuple[dict, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return {k.lower(): v for k, v in response.headers.items()}, response.read()


@pytest.fixture(scope="module")
def local_store(tmp_path_factory):
    """A local store holding HANDLE, published by the batch pipeline."""
    folder = tmp_path_factory.mktemp("static") / "store"
    publish_small(str(folder))
    return open_store(str(folder), read_only=True)


@pytest.mark.slow
def test_hub_loads_by_url_from_nginx(local_store, tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "hub-cache"))
    manifest = local_store.get_manifest(HANDLE)
    with nginx_serving(Path(local_store.url), tmp_path / "nginx") as base:
        url = f"{base}/{HANDLE}.tar.gz"
        headers, body = get(url + HUB_QUERY)
        served_manifest = json.loads(get(f"{base}/{HANDLE}.json")[1])
        features = features_by_url(url)
    assert hashlib.sha256(body).hexdigest() == manifest.sha256
    assert "content-encoding" not in headers
    assert served_manifest["sha256"] == manifest.sha256
    assert features.shape == (2, 256) and np.all(np.isfinite(features))


@pytest.mark.slow
def test_hub_loads_by_url_from_the_s3_endpoint(s3_options, tmp_path, monkeypatch):
    endpoint = s3_options["client_kwargs"]["endpoint_url"]
    prefix = "static-zoo"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": S3_KEYS["key"],
        "AWS_SECRET_ACCESS_KEY": S3_KEYS["secret"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "TFHUB_CACHE_DIR": str(tmp_path / "hub-cache"),
    }.items():
        monkeypatch.setenv(name, value)
    store_url = f"s3://{BUCKET}/{prefix}"
    publish_small(store_url)
    url = f"{endpoint}/{BUCKET}/{prefix}/{HANDLE}.tar.gz"
    with pytest.raises(urllib.error.HTTPError, match="403"):
        get(url + HUB_QUERY)  # a private bucket serves nobody anonymous
    public_read = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/{prefix}/*",
            }
        ],
    }
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEYS["key"],
        aws_secret_access_key=S3_KEYS["secret"],
    )
    client.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(public_read))
    try:
        headers, body = get(url + HUB_QUERY)
        features = features_by_url(url)
    finally:
        client.delete_bucket_policy(Bucket=BUCKET)
    manifest = open_store(store_url, read_only=True).get_manifest(HANDLE)
    assert hashlib.sha256(body).hexdigest() == manifest.sha256
    assert headers["content-type"] == ARCHIVE_CONTENT_TYPE
    assert "content-encoding" not in headers
    assert features.shape == (2, 256) and np.all(np.isfinite(features))
