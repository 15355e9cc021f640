"""Modules appear in their folder complete or not at all, and never overwrite anything."""

import json

import pytest

from hubzoo.errors import HubzooError
from modules.export.staging import PROVENANCE_ASSET, staged_module_dir, write_provenance
from tests.export.conftest import SMALL_HANDLE, SPECS


def test_complete_module_is_moved_into_place(tmp_path):
    out_dir = tmp_path / "module"
    with staged_module_dir(out_dir) as staging:
        assert staging.parent == tmp_path and staging != out_dir
        (staging / "saved_model.pb").write_bytes(b"x")
    assert (out_dir / "saved_model.pb").read_bytes() == b"x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["module"]


def test_an_existing_empty_folder_is_filled(tmp_path):
    (tmp_path / "module").mkdir()
    with staged_module_dir(tmp_path / "module") as staging:
        (staging / "file").write_text("done")
    assert (tmp_path / "module" / "file").read_text() == "done"


def test_failed_export_leaves_nothing_behind(tmp_path):
    with pytest.raises(RuntimeError), staged_module_dir(tmp_path / "module") as staging:
        (staging / "half").write_text("written")
        raise RuntimeError("export failed")
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "module").mkdir()
    (tmp_path / "module" / "keep").write_text("precious")
    with (
        pytest.raises(HubzooError, match="not empty"),
        staged_module_dir(tmp_path / "module"),
    ):
        pass
    assert (tmp_path / "module" / "keep").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["module"]


def test_provenance_says_synthetic(tmp_path):
    write_provenance(tmp_path, SPECS[SMALL_HANDLE])
    provenance = json.loads((tmp_path / "assets" / PROVENANCE_ASSET).read_text())
    assert provenance == {"handle": SMALL_HANDLE, "net": "inception_v1", "synthetic": True}
