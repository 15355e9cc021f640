"""Real TensorFlow checkpoints (single-file V1 as in the TF-Slim tarballs, and V2) pass through."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from hubzoo.progress import Progress
from modules.checkpoints.sources import CheckpointSource, fetch_checkpoint, resolve_checkpoint

from .conftest import FileServer, build_tarball

WEIGHTS = np.arange(6, dtype=np.float32).reshape(2, 3)


def save_checkpoints(folder: Path) -> tuple[Path, Path]:
    """Save WEIGHTS as `InceptionV1/w` in a V1 single-file and a V2 checkpoint under `folder`."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saver_pb2

    with tf.Graph().as_default():
        tf.compat.v1.get_variable("InceptionV1/w", initializer=tf.constant(WEIGHTS))
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            for version, name in [(saver_pb2.SaverDef.V1, "v1"), (saver_pb2.SaverDef.V2, "v2")]:
                (folder / name).mkdir(parents=True)
                saver = tf.compat.v1.train.Saver(write_version=version)
                saver.save(session, str(folder / name / "model.ckpt"), write_meta_graph=False)
    return folder / "v1" / "model.ckpt", folder / "v2" / "model.ckpt"


@pytest.mark.slow
def test_real_checkpoints_are_found_and_load(http_server: FileServer, tmp_path: Path) -> None:
    import tensorflow as tf

    single_file, prefix = save_checkpoints(tmp_path / "saved")
    tarball = build_tarball({"inception_v1.ckpt": single_file.read_bytes()})
    http_server.routes["/real/inception_v1_2016_08_28.tar.gz"] = tarball
    source = CheckpointSource(
        http_server.url("/real/inception_v1_2016_08_28.tar.gz"),
        "inception_v1.ckpt",
        hashlib.sha256(tarball).hexdigest(),
    )
    quiet = Progress(quiet=True)

    fetched = fetch_checkpoint(source, tmp_path / "cache", quiet)
    local = resolve_checkpoint(str(prefix.parent), tmp_path / "cache", progress=quiet)

    assert local.prefix == prefix
    for checkpoint in (fetched, local):
        reader = tf.train.load_checkpoint(str(checkpoint.prefix))
        np.testing.assert_array_equal(reader.get_tensor("InceptionV1/w"), WEIGHTS)
