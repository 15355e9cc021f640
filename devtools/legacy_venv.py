"""The legacy client venv: TensorFlow 2.14 + tensorflow_hub 0.15 (``hub.Module``) + tf_slim.

It lives at ``.venv-legacy`` (git-ignored), pinned by ``legacy/requirements.txt``, with
``legacy/sitecustomize.py`` installed as its import shim; ``hubzoo.sidevenv`` builds, stamps and
runs it.
"""

from hubzoo.paths import REPO_ROOT
from hubzoo.sidevenv import SideVenv

LEGACY_DIR = REPO_ROOT / "legacy"

_CHECK_CODE = """
import numpy, tensorflow as tf, tensorflow_hub as hub, tf_slim
from tensorflow.python.layers import normalization
assert hasattr(hub, "Module"), "tensorflow_hub has no hub.Module"
assert normalization.BatchNormalization is not None
assert int(numpy.__version__.split(".")[0]) < 2, numpy.__version__
print("tensorflow", tf.__version__, "tensorflow_hub", hub.__version__, "numpy", numpy.__version__)
"""

LEGACY_VENV = SideVenv(
    name="legacy",
    title="the legacy client venv",
    path=REPO_ROOT / ".venv-legacy",
    requirements=LEGACY_DIR / "requirements.txt",
    check_code=_CHECK_CODE,
    shim=LEGACY_DIR / "sitecustomize.py",
)

ensure_legacy_venv = LEGACY_VENV.ensure
"""Create the legacy venv if it is missing or stale; return its python executable."""
run_legacy_python = LEGACY_VENV.run_python
"""Run Python code (a ``str``) or a script file (a ``Path``) in the legacy venv."""
