"""The legacy client venv: pinned, current, and runs hub.Module and tf_slim nets (the side-venv
machinery itself is tested in tests/base/test_sidevenv.py)."""

from pathlib import Path

import pytest

from devtools.legacy_venv import LEGACY_VENV, ensure_legacy_venv
from tests.legacy_helpers import run_legacy_json
from tests.pins import pinned_requirements


def test_requirements_pin_every_package_and_keep_numpy_below_2():
    pins = pinned_requirements(LEGACY_VENV.requirements)
    assert pins["tensorflow-cpu"] == "2.14.1"
    assert pins["tensorflow-hub"] == "0.15.0"
    assert pins["tf-slim"] == "1.1.0"
    assert int(pins["numpy"].split(".")[0]) < 2
    assert {"pyyaml", "attrs", "keras"} <= set(pins)


def test_ensure_is_idempotent_and_leaves_a_current_venv_alone(legacy_python):
    before = LEGACY_VENV.stamp_path.stat().st_mtime_ns
    assert ensure_legacy_venv() == legacy_python == LEGACY_VENV.path / "bin" / "python"
    assert LEGACY_VENV.stamp_path.stat().st_mtime_ns == before
    assert LEGACY_VENV.is_current()


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
    assert Path(seen["prefix"]) == LEGACY_VENV.path
    assert (seen["tf"], seen["hub"]) == ("2.14.1", "0.15.0")
    assert seen["numpy"].startswith("1.")
    assert seen["has_module"]
    assert seen["shape"] == [None, 16, 16, 64]
    assert "InceptionV1/Conv2d_1a_7x7/BatchNorm/moving_variance" in seen["batch_norm_vars"]
