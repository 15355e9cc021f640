"""Folders appear complete or not at all, and never overwrite anything."""

import pytest

from hubzoo.errors import HubzooError
from hubzoo.files import staged_dir


def test_complete_module_is_moved_into_place(tmp_path):
    out_dir = tmp_path / "module"
    with staged_dir(out_dir) as staging:
        assert staging.parent == tmp_path and staging != out_dir
        (staging / "saved_model.pb").write_bytes(b"x")
    assert (out_dir / "saved_model.pb").read_bytes() == b"x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["module"]


def test_an_existing_empty_folder_is_filled(tmp_path):
    (tmp_path / "module").mkdir()
    with staged_dir(tmp_path / "module") as staging:
        (staging / "file").write_text("done")
    assert (tmp_path / "module" / "file").read_text() == "done"


def test_failed_export_leaves_nothing_behind(tmp_path):
    with pytest.raises(RuntimeError), staged_dir(tmp_path / "module") as staging:
        (staging / "half").write_text("written")
        raise RuntimeError("export failed")
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "module").mkdir()
    (tmp_path / "module" / "keep").write_text("precious")
    with (
        pytest.raises(HubzooError, match="not empty"),
        staged_dir(tmp_path / "module"),
    ):
        pass
    assert (tmp_path / "module" / "keep").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["module"]
