"""`scripts/make_checkpoint.py`: writes what it says, fails with one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modules.checkpoints.synthetic import is_synthetic

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_checkpoint.py"
pytestmark = pytest.mark.slow


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300
    )


def test_writes_a_checkpoint_and_prints_its_files(tmp_path, synthetic_checkpoint):
    prefix = tmp_path / "out" / "v1.ckpt"

    done = _run("inception_v1", str(prefix), "--seed", "7")

    assert done.returncode == 0, done.stderr
    assert "wrote synthetic inception_v1 checkpoint (seed 7, 231 variables)" in done.stdout
    assert f"{prefix}.data-00000-of-00001 (" in done.stdout
    assert is_synthetic(prefix)
    reference = synthetic_checkpoint("inception_v1")
    assert Path(f"{prefix}.index").read_bytes() == Path(f"{reference}.index").read_bytes()


def test_a_directory_as_prefix_is_a_one_line_error(tmp_path):
    done = _run("inception_v1", str(tmp_path))

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: {tmp_path} is a directory; give a checkpoint prefix such as {tmp_path}/model.ckpt"
    )


def test_unknown_net_is_a_usage_error(tmp_path):
    done = _run("inception_v9", str(tmp_path / "x.ckpt"))

    assert done.returncode == 2
    assert "invalid choice: 'inception_v9'" in done.stderr
    assert not list(tmp_path.iterdir())
