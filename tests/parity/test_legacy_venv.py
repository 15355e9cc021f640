"""The legacy client venv: pinned, stamped, and runs hub.Module and tf_slim nets."""

import json
import re
import sys
from pathlib import Path

import pytest

from devtools import legacy_venv
from devtools.legacy_venv import (
    LEGACY_REQUIREMENTS,
    LEGACY_VENV_DIR,
    STAMP_NAME,
    LegacyPythonError,
    ensure_legacy_venv,
    expected_stamp,
    is_current,
    run_legacy_python,
)
from tests.legacy_helpers import run_legacy_json

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([0-9][A-Za-z0-9.+-]*)$")


def pinned_requirements() -> dict[str, str]:
    lines = LEGACY_REQUIREMENTS.read_text().splitlines()
    requirements = [line for line in lines if line.strip() and not line.startswith("#")]
    unpinned = [line for line in requirements if not PIN.match(line)]
    assert not unpinned, f"not pinned exactly: {unpinned}"
    return {
        PIN.match(line).group(1).lower().replace("_", "-"): PIN.match(line).group(2)
        for line in requirements
    }


def test_requirements_pin_every_package_and_keep_numpy_below_2():
    pins = pinned_requirements()
    assert pins["tensorflow-cpu"] == "2.14.1"
    assert pins["tensorflow-hub"] == "0.15.0"
    assert pins["tf-slim"] == "1.1.0"
    assert int(pins["numpy"].split(".")[0]) < 2
    assert {"pyyaml", "attrs", "keras"} <= set(pins)


def make_fake_venv(folder: Path, stamp: str | None) -> Path:
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").write_text("")
    if stamp is not None:
        (folder / STAMP_NAME).write_text(stamp + "\n")
    return folder


def test_only_a_venv_stamped_with_the_current_sources_is_current(tmp_path):
    assert is_current(make_fake_venv(tmp_path / "stamped", expected_stamp()))
    assert not is_current(make_fake_venv(tmp_path / "unfinished", None))
    assert not is_current(make_fake_venv(tmp_path / "stale", "0" * 64))
    assert not is_current(tmp_path / "missing")
    no_python = tmp_path / "no_python"
    no_python.mkdir()
    (no_python / STAMP_NAME).write_text(expected_stamp())
    assert not is_current(no_python)


def test_the_stamp_covers_requirements_and_shim(tmp_path, monkeypatch):
    requirements = tmp_path / "requirements.txt"
    shim = tmp_path / "sitecustomize.py"
    requirements.write_bytes(legacy_venv.LEGACY_REQUIREMENTS.read_bytes())
    shim.write_bytes(legacy_venv.LEGACY_SHIM.read_bytes())
    monkeypatch.setattr(legacy_venv, "LEGACY_REQUIREMENTS", requirements)
    monkeypatch.setattr(legacy_venv, "LEGACY_SHIM", shim)
    original = expected_stamp()
    shim.write_text(shim.read_text() + "\n# changed\n")
    assert expected_stamp() != original
    shim.write_bytes(legacy_venv.LEGACY_SHIM.read_bytes())
    requirements.write_text(requirements.read_text() + "six==1.16.0\n")
    assert expected_stamp() != original


def test_ensure_is_idempotent_and_leaves_a_current_venv_alone(legacy_python):
    stamp = LEGACY_VENV_DIR / STAMP_NAME
    before = stamp.stat().st_mtime_ns
    assert ensure_legacy_venv() == legacy_python == LEGACY_VENV_DIR / "bin" / "python"
    assert stamp.stat().st_mtime_ns == before
    assert is_current()


@pytest.mark.slow
def test_legacy_venv_has_hub_module_and_builds_tf_slim_batch_norm(legacy_python):
    code = """
import sys, numpy, tensorflow.compat.v1 as tf, tensorflow_hub as hub, tf_slim as slim
from tf_slim.nets import inception_v1
tf.disable_eager_execution()
images = tf.placeholder(tf.float32, [None, 64, 64, 3])
with slim.arg_scope(inception_v1.inception_v1_arg_scope()):
    net, _ = inception_v1.inception_v1_base(images, final_endpoint="Conv2d_2b_1x1")
emit({
    "prefix": sys.prefix, "tf": tf.__version__, "hub": hub.__version__,
    "numpy": numpy.__version__, "has_module": hasattr(hub, "Module"),
    "shape": net.shape.as_list(),
    "batch_norm_vars": sorted(v.op.name for v in tf.global_variables() if "BatchNorm" in v.op.name),
})
"""
    seen = run_legacy_json(code)
    assert Path(seen["prefix"]) == LEGACY_VENV_DIR
    assert (seen["tf"], seen["hub"]) == ("2.14.1", "0.15.0")
    assert seen["numpy"].startswith("1.")
    assert seen["has_module"]
    assert seen["shape"] == [None, 16, 16, 64]
    assert "InceptionV1/Conv2d_1a_7x7/BatchNorm/moving_variance" in seen["batch_norm_vars"]


def test_runs_are_isolated_from_the_main_venv(legacy_python, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(Path(sys.prefix) / "lib"))
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)
    code = (
        "import json, os, sys\n"
        "print(json.dumps([sys.prefix, os.environ.get('PYTHONPATH'), os.environ.get('VIRTUAL_ENV'),"
        " os.environ.get('HUBZOO_PROBE'), sys.argv[1:]]))"
    )
    completed = run_legacy_python(code, "a", "b c", env={"HUBZOO_PROBE": "yes"})
    prefix, pythonpath, virtual_env, probe, argv = json.loads(completed.stdout)
    assert Path(prefix) == LEGACY_VENV_DIR
    assert (pythonpath, virtual_env, probe, argv) == (None, None, "yes", ["a", "b c"])


def test_a_script_path_runs_with_its_arguments(legacy_python, tmp_path):
    script = tmp_path / "echo.py"
    script.write_text("import sys\nprint(' | '.join(sys.argv[1:]))\n")
    assert run_legacy_python(script, "x", "y z").stdout == "x | y z\n"


def test_a_failing_run_raises_with_the_end_of_stderr(legacy_python):
    code = "import sys\nprint('noise', file=sys.stderr)\nraise ValueError('legacy-boom-42')"
    with pytest.raises(LegacyPythonError, match=r"status 1(.|\n)*legacy-boom-42"):
        run_legacy_python(code)


def test_a_run_past_its_timeout_raises(legacy_python):
    with pytest.raises(LegacyPythonError, match=r"timed out after 0\.5 s"):
        run_legacy_python("import time\ntime.sleep(30)", timeout=0.5)
