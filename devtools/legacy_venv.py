"""The legacy client venv: TensorFlow 2.14 + tensorflow_hub 0.15 (``hub.Module``) + tf_slim.

It lives at ``.venv-legacy`` (git-ignored), pinned by ``legacy/requirements.txt``, with
``legacy/sitecustomize.py`` installed as its import shim. A stamp file holding the sha256 of those
two files is written last, after the venv has been built and checked, so a venv without a matching
stamp (stale, or left half-built by a killed install) is never taken for complete: it is rebuilt.
Stdlib only.
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO

from hubzoo.errors import HubzooError
from hubzoo.paths import CACHE_DIR, REPO_ROOT

LEGACY_DIR = REPO_ROOT / "legacy"
LEGACY_REQUIREMENTS = LEGACY_DIR / "requirements.txt"
LEGACY_SHIM = LEGACY_DIR / "sitecustomize.py"
LEGACY_VENV_DIR = REPO_ROOT / ".venv-legacy"
STAMP_NAME = "hubzoo-legacy.stamp"
PYTHON_VERSION = (3, 11)

_CHECK_CODE = """
import numpy, tensorflow as tf, tensorflow_hub as hub, tf_slim
from tensorflow.python.layers import normalization
assert hasattr(hub, "Module"), "tensorflow_hub has no hub.Module"
assert normalization.BatchNormalization is not None
assert int(numpy.__version__.split(".")[0]) < 2, numpy.__version__
print("tensorflow", tf.__version__, "tensorflow_hub", hub.__version__, "numpy", numpy.__version__)
"""

# Variables of the calling environment that would leak the main venv into the legacy one.
_ENV_DROPPED = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "TF_USE_LEGACY_KERAS")


class LegacyPythonError(HubzooError):
    """A run in the legacy venv failed; the message carries the exit status and stderr's tail."""


def legacy_python_path(venv_dir: Path = LEGACY_VENV_DIR) -> Path:
    """The python executable of a venv at ``venv_dir``."""
    return venv_dir / "bin" / "python"


def expected_stamp() -> str:
    """The sha256 of the requirements and the shim, which a current legacy venv is stamped with."""
    digest = hashlib.sha256()
    for source in (LEGACY_REQUIREMENTS, LEGACY_SHIM):
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()


def is_current(venv_dir: Path = LEGACY_VENV_DIR) -> bool:
    """Whether ``venv_dir`` holds a finished venv built from the current requirements and shim."""
    stamp = venv_dir / STAMP_NAME
    return (
        stamp.is_file()
        and legacy_python_path(venv_dir).exists()
        and stamp.read_text().strip() == expected_stamp()
    )


def ensure_legacy_venv(progress_stream: IO[str] = sys.stderr) -> Path:
    """Create the legacy venv if it is missing or stale; return its python executable.

    Fast when the venv is current (a stamp comparison). Otherwise, under a file lock so that
    concurrent callers build it once, it removes whatever is there, creates the venv from a
    Python 3.11 base interpreter, installs the pinned requirements (``--no-deps``) and the shim,
    checks that tensorflow, tensorflow_hub (with ``hub.Module``) and tf_slim's batch norm import,
    and only then writes the stamp. Raises ``HubzooError`` if any step fails.
    """
    if is_current():
        return legacy_python_path()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / "legacy-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_current():
            _build(LEGACY_VENV_DIR, progress_stream)
    return legacy_python_path()


def run_legacy_python(
    code_or_script: str | Path,
    *args: str,
    timeout: float = 600,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess:
    """Run Python code (a ``str``) or a script file (a ``Path``) in the legacy venv.

    ``args`` become ``sys.argv[1:]``. The child runs in ``cwd`` (default: this process's) with this
    process's environment minus the variables that would point it at the main venv, plus ``env``.
    Output is captured as text. Raises ``LegacyPythonError`` with the exit status and the tail of
    stderr if the run fails or times out.
    """
    python = ensure_legacy_venv()
    if isinstance(code_or_script, Path):
        command = [str(python), str(code_or_script), *args]
        what = code_or_script.name
    else:
        command = [str(python), "-c", code_or_script, *args]
        what = "legacy python snippet"
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=legacy_environment(env),
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired as timed_out:
        raise LegacyPythonError(
            f"{what} timed out after {timeout:g} s in the legacy venv\n"
            + _tail(_as_text(timed_out.stderr))
        ) from None
    if completed.returncode != 0:
        raise LegacyPythonError(
            f"{what} exited with status {completed.returncode} in the legacy venv; stderr ends:\n"
            + _tail(completed.stderr)
        )
    return completed


def legacy_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment cleaned for the legacy venv, with ``extra`` on top."""
    environment = {k: v for k, v in os.environ.items() if k not in _ENV_DROPPED}
    environment["PYTHONNOUSERSITE"] = "1"
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    environment.update(extra or {})
    return environment


def _build(venv_dir: Path, progress_stream: IO[str]) -> None:
    stamp = expected_stamp()
    if venv_dir.exists():
        print(f"removing stale or unfinished {venv_dir}", file=progress_stream)
        shutil.rmtree(venv_dir)
    base_python = _base_interpreter()
    print(f"creating the legacy venv {venv_dir} from {base_python}", file=progress_stream)
    _run_step([base_python, "-m", "venv", str(venv_dir)], progress_stream)
    python = str(legacy_python_path(venv_dir))
    _run_step(
        [python, "-m", "pip", "install", "--no-deps", "--progress-bar", "off", "--no-input",
         "-r", str(LEGACY_REQUIREMENTS)],
        progress_stream,
    )  # fmt: skip
    site_packages = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shutil.copyfile(LEGACY_SHIM, Path(site_packages) / "sitecustomize.py")
    print("checking the legacy venv", file=progress_stream)
    _run_step([python, "-c", _CHECK_CODE], progress_stream, env=legacy_environment())
    (venv_dir / STAMP_NAME).write_text(stamp + "\n")
    print(f"legacy venv ready: {python}", file=progress_stream)


def _base_interpreter() -> str:
    """A Python 3.11 interpreter that is not itself inside a venv."""
    if sys.version_info[:2] == PYTHON_VERSION:
        return getattr(sys, "_base_executable", sys.executable)
    found = shutil.which("python{}.{}".format(*PYTHON_VERSION))
    if found is None:
        raise HubzooError("the legacy venv needs python3.11, which is not on PATH")
    return found


def _run_step(
    command: list[str], progress_stream: IO[str], env: dict[str, str] | None = None
) -> None:
    """Run one build step, copying its output to ``progress_stream``; raise on failure."""
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as process:
        output: list[str] = []
        assert process.stdout is not None, "stdout is a pipe"
        for line in process.stdout:
            output.append(line)
            progress_stream.write(line)
        returncode = process.wait()
    if returncode != 0:
        raise HubzooError(
            f"building the legacy venv failed: {' '.join(command[:4])} ... exited with status "
            f"{returncode}; output ends:\n{_tail(''.join(output))}"
        )


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _as_text(output: str | bytes | None) -> str:
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output
