"""Checkpoints given as a local prefix, folder or tarball, and damaged checkpoints."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from hubzoo.errors import HubzooError
from hubzoo.progress import Progress
from modules.checkpoints.sources import FetchedCheckpoint, checkpoint_digest, resolve_checkpoint

from .conftest import TABLE_FOOTER, build_tarball, fake_checkpoint_files, write_fake_checkpoint

QUIET = Progress(quiet=True)


def resolve(location: Path | str, cache: Path, **options: str) -> FetchedCheckpoint:
    return resolve_checkpoint(str(location), cache, progress=QUIET, **options)


def test_a_prefix_resolves_to_itself_with_a_location_independent_digest(tmp_path: Path) -> None:
    prefix = write_fake_checkpoint(tmp_path / "run" / "model.ckpt")
    elsewhere = write_fake_checkpoint(tmp_path / "copy" / "other-name.ckpt")
    changed = write_fake_checkpoint(tmp_path / "changed" / "model.ckpt", payload=b"weightz")

    fetched = resolve(prefix, tmp_path / "cache")

    assert fetched.prefix == prefix
    assert not fetched.verified
    assert fetched.sha256 == checkpoint_digest(prefix) == checkpoint_digest(elsewhere)
    assert checkpoint_digest(changed) != fetched.sha256
    assert not (tmp_path / "cache").exists()


def test_the_index_file_itself_is_accepted_as_the_prefix(tmp_path: Path) -> None:
    prefix = write_fake_checkpoint(tmp_path / "model.ckpt")

    assert resolve(f"{prefix}.index", tmp_path / "cache").prefix == prefix


def test_an_expected_digest_verifies_a_local_prefix(tmp_path: Path) -> None:
    prefix = write_fake_checkpoint(tmp_path / "model.ckpt", shards=3)
    digest = checkpoint_digest(prefix)

    assert resolve(prefix, tmp_path / "cache", sha256=digest).verified
    with pytest.raises(HubzooError, match=f"expected {'1' * 64}, got {digest}"):
        resolve(prefix, tmp_path / "cache", sha256="1" * 64)


def test_a_folder_with_one_checkpoint_resolves_to_it(tmp_path: Path) -> None:
    prefix = write_fake_checkpoint(tmp_path / "run" / "model.ckpt-1000")
    (tmp_path / "run" / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-1000"\n')

    assert resolve(tmp_path / "run", tmp_path / "cache").prefix == prefix


def test_a_folder_with_several_checkpoints_needs_a_member(tmp_path: Path) -> None:
    write_fake_checkpoint(tmp_path / "run" / "model.ckpt-1")
    second = write_fake_checkpoint(tmp_path / "run" / "model.ckpt-2")

    with pytest.raises(HubzooError) as raised:
        resolve(tmp_path / "run", tmp_path / "cache")

    assert str(raised.value) == (
        f"{tmp_path / 'run'} holds several checkpoints (model.ckpt-1, model.ckpt-2); "
        "name the one to use"
    )
    assert resolve(tmp_path / "run", tmp_path / "cache", member="model.ckpt-2").prefix == second


def test_a_folder_without_a_checkpoint_lists_its_files(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("hello")
    (tmp_path / "run" / "model.ckpt.data-00000-of-00001").write_bytes(b"orphan data")

    with pytest.raises(HubzooError) as raised:
        resolve(tmp_path / "run", tmp_path / "cache")

    assert str(raised.value) == (
        f"no checkpoint in {tmp_path / 'run'}; it holds no checkpoint, only the files "
        "model.ckpt.data-00000-of-00001, notes.txt"
    )


@pytest.mark.parametrize("name", ["model.ckpt", "does-not-exist"])
def test_a_path_without_an_index_is_not_a_checkpoint(tmp_path: Path, name: str) -> None:
    (tmp_path / "model.ckpt.data-00000-of-00001").write_bytes(b"orphan data")

    with pytest.raises(
        HubzooError, match=f"no checkpoint at .*{name}: expected a checkpoint prefix"
    ):
        resolve(tmp_path / name, tmp_path / "cache")


def test_a_corrupt_index_file_is_named(tmp_path: Path) -> None:
    prefix = write_fake_checkpoint(tmp_path / "model.ckpt")
    index = tmp_path / "model.ckpt.index"
    index.write_bytes(index.read_bytes()[:-10])

    with pytest.raises(HubzooError, match=r"model\.ckpt\.index is not a TensorFlow index file"):
        resolve(prefix, tmp_path / "cache")


def test_a_missing_data_shard_is_named(tmp_path: Path) -> None:
    prefix = write_fake_checkpoint(tmp_path / "model.ckpt", shards=3)
    (tmp_path / "model.ckpt.data-00001-of-00003").unlink()

    with pytest.raises(HubzooError, match=r"missing model\.ckpt\.data-00001-of-00003$"):
        resolve(prefix, tmp_path / "cache")


def test_an_index_without_data_files_is_incomplete(tmp_path: Path) -> None:
    prefix = write_fake_checkpoint(tmp_path / "model.ckpt")
    (tmp_path / "model.ckpt.data-00000-of-00001").unlink()

    with pytest.raises(HubzooError, match=r"found none$"):
        resolve(prefix, tmp_path / "cache")


def test_a_local_tarball_is_verified_and_extracted_into_the_cache(tmp_path: Path) -> None:
    data = build_tarball(fake_checkpoint_files("inception_v1.ckpt"))
    archive = tmp_path / "inception_v1_2016_08_28.tgz"
    archive.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()

    fetched = resolve(archive, tmp_path / "cache", sha256=digest, member="inception_v1.ckpt")

    assert fetched.prefix == tmp_path / "cache" / digest / "inception_v1.ckpt"
    assert fetched.verified and fetched.sha256 == digest
    with pytest.raises(HubzooError, match=re.escape(f"sha256 mismatch for {archive}")):
        resolve(archive, tmp_path / "other-cache", sha256="2" * 64)
    assert archive.read_bytes() == data
    assert not (tmp_path / "other-cache").exists()


def test_a_single_file_checkpoint_as_in_the_slim_tarballs_is_found(tmp_path: Path) -> None:
    single_file = b"a V1 checkpoint table" + TABLE_FOOTER
    data = build_tarball(
        {"inception_v1.ckpt": single_file, "README": b"not a checkpoint"}, mode="w"
    )
    archive = tmp_path / "inception_v1_2016_08_28.tar"
    archive.write_bytes(data)

    fetched = resolve(archive, tmp_path / "cache")

    assert fetched.prefix.name == "inception_v1.ckpt"
    assert fetched.prefix.read_bytes() == single_file
    assert resolve(fetched.prefix, tmp_path / "cache").sha256 == checkpoint_digest(fetched.prefix)


def test_a_member_that_leaves_the_tarball_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(build_tarball(fake_checkpoint_files()))
    write_fake_checkpoint(tmp_path / "outside.ckpt")

    with pytest.raises(
        HubzooError, match=r"checkpoint member '\.\./outside\.ckpt' must be a relative"
    ):
        resolve(archive, tmp_path / "cache", member="../outside.ckpt")
