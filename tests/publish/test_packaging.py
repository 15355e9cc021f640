"""The module archive: weight shards Huffman-coded, the rest deflated at level 6, in one gzip
stream that every reader takes (Python's gzip and tarfile, GNU tar, gzip -t), the same bytes for
the same files, no larger than plain level-6 gzip."""

import gzip
import io
import shutil
import subprocess
import tarfile

import numpy as np

from hubzoo.package import package_module, unpack_artifact
from tests.store.helpers import write_module

FLOATS = np.random.default_rng(0).standard_normal(400_000).astype(np.float32).tobytes()
FILES = {
    "saved_model.pb": b"node { name: 'conv' op: 'Conv2D' } " * 2000,
    "tfhub_module.pb": b"\x08\x03",
    "assets/hubzoo_provenance.json": b'{"synthetic": true}\n',
    "variables/variables.index": b"index " * 300,
    "variables/variables.data-00000-of-00002": FLOATS,
    "variables/variables.data-00001-of-00002": FLOATS[::-1],
}


def plain_gzip_of(tar_bytes: bytes) -> bytes:
    return gzip.compress(tar_bytes, compresslevel=6, mtime=0)


def test_archive_is_one_gzip_stream_every_reader_takes(tmp_path):
    module = write_module(tmp_path / "module", FILES)
    artifact = package_module(module, tmp_path / "m.tar.gz")
    raw = artifact.path.read_bytes()
    tar_bytes = gzip.decompress(raw)
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        contents = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    assert contents == FILES
    assert len(raw) <= len(plain_gzip_of(tar_bytes)) * 1.005
    unpacked = unpack_artifact(artifact.path, tmp_path / "unpacked")
    assert (unpacked / "variables/variables.data-00001-of-00002").read_bytes() == FLOATS[::-1]
    for tool in (["gzip", "-t"], ["tar", "-tzf"]):
        if shutil.which(tool[0]):
            done = subprocess.run([*tool, str(artifact.path)], capture_output=True, timeout=60)
            assert done.returncode == 0, done.stderr


def test_same_files_same_bytes(tmp_path):
    digests = {
        package_module(write_module(tmp_path / f"m{i}", FILES), tmp_path / f"m{i}.tar.gz").sha256
        for i in range(2)
    }
    assert len(digests) == 1
