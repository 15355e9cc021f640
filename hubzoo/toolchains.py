"""The tools outside `.venv` that deployments need: the TF.js converter, TF.js in Node, and the
TF Lite Support library that reads TF Lite Metadata back.

- The converter (`tensorflowjs` 4.22.0) imports tensorflow_decision_forests, which pins
  TensorFlow 2.19, so it lives in a side venv of its own: `.venv-tfjs`, pinned by
  `tfjs/requirements.txt`, or wherever `HUBZOO_TFJS_VENV` says.
- tflite-support 0.4.4 (its metadata reader and Task Library, which the tests check the `lite`
  metadata deployments with) pins protobuf<4, so it too has a side venv: `.venv-tflite-support`,
  pinned by `lite/requirements.txt`, or wherever `HUBZOO_TFLITE_SUPPORT_VENV` says.
- TF.js itself runs in Node from the npm packages `tfjs/package-lock.json` pins, installed into
  `tfjs/node_modules` by `npm ci` and stamped with the lock file's sha256 once installed.

`scripts/dev.py setup` (and `test`) creates them when they are missing or stale; the exporters and
runtimes only `require` them, failing with one line that says how to create what is missing.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO

from hubzoo.errors import HubzooError
from hubzoo.paths import CACHE_DIR, REPO_ROOT, display_path
from hubzoo.sidevenv import SideVenv, tail

TFJS_DIR = REPO_ROOT / "tfjs"
"""The converter's pins, the npm packages' pins, and the Node script that runs a graph model."""
TFJS_VENV_VARIABLE = "HUBZOO_TFJS_VENV"
"""Environment variable naming another folder for the converter venv."""
SETUP_COMMAND = "python3.11 scripts/dev.py setup"
"""What creates the converter venv and installs the npm packages."""
NODE_RUNNER = TFJS_DIR / "run_graph_model.js"
LITE_DIR = REPO_ROOT / "lite"
"""The TF Lite Support venv's pins."""
TFLITE_SUPPORT_VENV_VARIABLE = "HUBZOO_TFLITE_SUPPORT_VENV"
"""Environment variable naming another folder for the TF Lite Support venv."""

_CONVERTER_CHECK = """
import tensorflow as tf, tensorflowjs
print("tensorflowjs", tensorflowjs.__version__, "tensorflow", tf.__version__)
"""


def tfjs_converter_venv() -> SideVenv:
    """The TF.js converter venv: `$HUBZOO_TFJS_VENV` if set, else the repository's `.venv-tfjs`."""
    return SideVenv(
        name="tfjs",
        title="the TF.js converter venv",
        path=Path(os.environ.get(TFJS_VENV_VARIABLE) or REPO_ROOT / ".venv-tfjs"),
        requirements=TFJS_DIR / "requirements.txt",
        check_code=_CONVERTER_CHECK,
    )


_TFLITE_SUPPORT_CHECK = """
from importlib.metadata import version
from tflite_support import metadata
from tflite_support.task import vision
print("tflite-support", version("tflite-support"), metadata.MetadataDisplayer.__name__,
      vision.ImageClassifier.__name__)
"""


def tflite_support_venv() -> SideVenv:
    """The TF Lite Support venv: `$HUBZOO_TFLITE_SUPPORT_VENV` if set, else the repository's
    `.venv-tflite-support`."""
    return SideVenv(
        name="tflite-support",
        title="the TF Lite Support venv",
        path=Path(
            os.environ.get(TFLITE_SUPPORT_VENV_VARIABLE) or REPO_ROOT / ".venv-tflite-support"
        ),
        requirements=LITE_DIR / "requirements.txt",
        check_code=_TFLITE_SUPPORT_CHECK,
    )


def require_tflite_support() -> SideVenv:
    """The TF Lite Support venv, if it is current; HubzooError in one line saying how to create
    it."""
    venv = tflite_support_venv()
    venv.require(
        f"create it with: {SETUP_COMMAND} (or point {TFLITE_SUPPORT_VENV_VARIABLE} at one)"
    )
    return venv


def require_tfjs_converter() -> SideVenv:
    """The converter venv, if it is current; HubzooError in one line saying how to create it."""
    venv = tfjs_converter_venv()
    venv.require(f"create it with: {SETUP_COMMAND} (or point {TFJS_VENV_VARIABLE} at one)")
    return venv


class NodePackages:
    """TF.js's npm packages in `folder/node_modules`, installed from `folder/package-lock.json`."""

    def __init__(self, folder: Path = TFJS_DIR) -> None:
        self.folder = folder
        self.lock_file = folder / "package-lock.json"
        self.modules = folder / "node_modules"
        self.stamp_path = self.modules / ".hubzoo-package-lock.sha256"

    def expected_stamp(self) -> str:
        """The sha256 of the lock file, which a finished install is stamped with."""
        return hashlib.sha256(self.lock_file.read_bytes()).hexdigest()

    def is_current(self) -> bool:
        """Whether `npm ci` finished for the current lock file."""
        return self.stamp_path.is_file() and (
            self.stamp_path.read_text().strip() == self.expected_stamp()
        )

    def require(self) -> Path:
        """The `node` executable, once the packages are current; HubzooError in one line if not."""
        node = node_executable()
        if not self.is_current():
            state = "out of date" if self.modules.exists() else "missing"
            raise HubzooError(
                f"the TF.js npm packages {display_path(self.modules, REPO_ROOT)} are {state}; "
                f"install them with: {SETUP_COMMAND}"
            )
        return node

    def ensure(self, progress_stream: IO[str] = sys.stderr) -> Path:
        """Install the packages with `npm ci` (under a file lock) unless they are current; the
        stamp is written last. Returns the `node` executable."""
        node = node_executable()
        if self.is_current():
            return node
        npm = shutil.which("npm")
        if npm is None:
            raise HubzooError("npm is not on PATH; install Node.js with npm (apt-get install npm)")
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        with open(CACHE_DIR / "tfjs-npm.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self.is_current():
                print(
                    f"installing the TF.js npm packages into {self.modules}", file=progress_stream
                )
                completed = subprocess.run(
                    [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                    cwd=self.folder,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                progress_stream.write(completed.stdout)
                if completed.returncode != 0:
                    raise HubzooError(
                        f"npm ci in {self.folder} exited with status {completed.returncode}; "
                        f"stderr ends:\n{tail(completed.stderr)}"
                    )
                self.stamp_path.write_text(self.expected_stamp() + "\n")
        return node


def node_executable() -> Path:
    """Node.js's `node`; HubzooError in one line when it is not installed."""
    found = shutil.which("node")
    if found is None:
        raise HubzooError("node is not on PATH; TF.js runs in Node.js: apt-get install nodejs npm")
    return Path(found)


def ensure_toolchains(progress_stream: IO[str] = sys.stderr) -> None:
    """Create the converter venv, install the npm packages and create the TF Lite Support venv,
    each only if missing or stale."""
    tfjs_converter_venv().ensure(progress_stream)
    NodePackages().ensure(progress_stream)
    tflite_support_venv().ensure(progress_stream)
