"""Unmodified tensorflow_hub loads a packaged, stored, served SavedModel by its URL."""

import logging
import urllib.error

import pytest

from hubzoo.package import package_module, unpack_artifact
from tests.store.helpers import publisher_manifest

HANDLE = "test/toy/scale/1"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def toy_artifact(tmp_path_factory):
    """A real SavedModel computing x * [2, 3, 4] + 1, saved by TF 2.21 and packaged."""
    import tensorflow as tf

    class Scale(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weights = tf.Variable([2.0, 3.0, 4.0])

        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
        def __call__(self, x):
            return x * self.weights + 1.0

    root = tmp_path_factory.mktemp("toy")
    tf.saved_model.save(Scale(), str(root / "module"))
    return package_module(root / "module", root / "module.tar.gz")


def test_hub_load_by_url_runs_the_served_module(
    served, toy_artifact, tmp_path, monkeypatch, caplog
):
    import tensorflow as tf
    import tensorflow_hub as hub

    served.store.put(HANDLE, toy_artifact.path, publisher_manifest(format="saved_model_2"))
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "tfhub_cache"))
    monkeypatch.delenv("TFHUB_MODEL_LOAD_FORMAT", raising=False)
    caplog.set_level(logging.INFO, logger="hubzoo.serve")

    module = hub.load(f"{served.base_url}/{HANDLE}")

    result = module(tf.constant([[1.0, 1.0, 1.0], [0.0, 1.0, 2.0]]))
    assert result.numpy().tolist() == [[3.0, 4.0, 5.0], [1.0, 4.0, 9.0]]
    assert f"GET /{HANDLE}?tf-hub-format=compressed" in caplog.text
    assert (tmp_path / "tfhub_cache").is_dir()
    with pytest.raises(urllib.error.HTTPError, match="404"):
        hub.load(f"{served.base_url}/test/toy/scale/2")


def test_a_real_saved_model_packs_and_unpacks_whole(toy_artifact, tmp_path):
    folder = unpack_artifact(toy_artifact.path, tmp_path / "unpacked")
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
    assert names == [
        "assets",
        "fingerprint.pb",
        "saved_model.pb",
        "variables",
        "variables/variables.data-00000-of-00001",
        "variables/variables.index",
    ]


def test_the_consumer_wrapper_loads_the_verified_cached_module(served, toy_artifact, tmp_path):
    import tensorflow as tf

    from modules.consumer import load

    served.store.put(HANDLE, toy_artifact.path, publisher_manifest(format="saved_model_2"))

    module = load(f"{served.base_url}/{HANDLE}", tmp_path / "cache")

    result = module(tf.constant([[1.0, 1.0, 1.0]]))
    assert result.numpy().tolist() == [[3.0, 4.0, 5.0]]
    assert [path.name for path in (tmp_path / "cache").iterdir()] == [toy_artifact.sha256]
