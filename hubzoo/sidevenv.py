"""Venvs of their own beside `.venv`, for tools whose pins clash with the project's.

A `SideVenv` is built from one pinned requirements file (a full freeze, installed with
`--no-deps`) and an optional import shim (installed as `sitecustomize.py`). A stamp holding the
sha256 of those sources is written last, after the venv has been built and its check has passed,
so a venv without a matching stamp (stale, or left half-built by a killed install) is never taken
for complete: it is rebuilt. Builds hold a file lock, so concurrent callers build once. Stdlib only.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from hubzoo.errors import HubzooError
from hubzoo.paths import CACHE_DIR, REPO_ROOT, display_path

PYTHON_VERSION = (3, 11)
"""Every side venv runs the project's Python."""
ENV_DROPPED = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "TF_USE_LEGACY_KERAS")
"""Variables of the calling environment that would leak the main venv into a side venv."""


class SideVenvError(HubzooError):
    """A run in a side venv failed; the message carries the exit status and stderr's tail."""


@dataclass(frozen=True)
class SideVenv:
    """One side venv: where it lives, what it is built from, and how it is checked."""

    name: str  # short name, in the stamp's and the lock's file names: "legacy", "tfjs"
    title: str  # how messages call it: "the legacy client venv"
    path: Path  # the venv folder, e.g. REPO_ROOT / ".venv-legacy"
    requirements: Path  # pinned requirements (a full freeze), installed with --no-deps
    check_code: str  # Python run in the finished venv; the stamp is written only if it passes
    shim: Path | None = None  # installed as sitecustomize.py when given

    @property
    def python(self) -> Path:
        """The venv's python executable."""
        return self.path / "bin" / "python"

    @property
    def stamp_path(self) -> Path:
        return self.path / f"hubzoo-{self.name}.stamp"

    def expected_stamp(self) -> str:
        """The sha256 of the requirements (and the shim) a current venv is stamped with."""
        digest = hashlib.sha256()
        for source in (self.requirements, self.shim):
            if source is not None:
                digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
        return digest.hexdigest()

    def is_current(self) -> bool:
        """Whether the folder holds a finished venv built from the current sources."""
        return (
            self.stamp_path.is_file()
            and self.python.exists()
            and self.stamp_path.read_text().strip() == self.expected_stamp()
        )

    def require(self, how_to_create: str) -> Path:
        """The venv's python if the venv is current, else HubzooError in one line that says how
        to create it."""
        if not self.is_current():
            state = "out of date" if self.path.exists() else "missing"
            raise HubzooError(
                f"{self.title} {display_path(self.path, REPO_ROOT)} is {state}; {how_to_create}"
            )
        return self.python

    def ensure(self, progress_stream: IO[str] = sys.stderr) -> Path:
        """Build the venv if it is missing or stale; return its python executable.

        Fast when the venv is current (a stamp comparison). Otherwise, under a file lock, it
        removes whatever is there, creates the venv from a Python 3.11 base interpreter,
        installs the pinned requirements (`--no-deps`) and the shim, runs the check, and only
        then writes the stamp. Raises HubzooError if any step fails.
        """
        if self.is_current():
            return self.python
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        with open(CACHE_DIR / f"{self.name}-venv.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self.is_current():
                self._build(progress_stream)
        return self.python

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """This process's environment cleaned for the venv, with `extra` on top."""
        environment = {k: v for k, v in os.environ.items() if k not in ENV_DROPPED}
        environment["PYTHONNOUSERSITE"] = "1"
        environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        environment.update(extra or {})
        return environment

    def run(
        self,
        arguments: Sequence[str],
        *,
        what: str,
        timeout: float = 600,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the venv's python with `arguments` in `cwd`, in the cleaned environment plus
        `env`, output captured as text. SideVenvError with the exit status and the tail of stderr
        if the run fails or times out; `what` names the run in that message."""
        command = [str(self.python), *arguments]
        try:
            completed = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=self.environment(env),
                cwd=cwd,
                check=False,
            )
        except subprocess.TimeoutExpired as timed_out:
            raise SideVenvError(
                f"{what} timed out after {timeout:g} s in {self.title}\n"
                + tail(_as_text(timed_out.stderr))
            ) from None
        if completed.returncode != 0:
            raise SideVenvError(
                f"{what} exited with status {completed.returncode} in {self.title}; stderr ends:\n"
                + tail(completed.stderr)
            )
        return completed

    def run_python(
        self,
        code_or_script: str | Path,
        *args: str,
        timeout: float = 600,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run Python code (a `str`) or a script file (a `Path`) in the venv, building it first
        if needed; `args` become `sys.argv[1:]`. See `run`."""
        self.ensure()
        if isinstance(code_or_script, Path):
            arguments, what = [str(code_or_script), *args], code_or_script.name
        else:
            arguments, what = ["-c", code_or_script, *args], f"{self.name} python snippet"
        return self.run(arguments, what=what, timeout=timeout, env=env, cwd=cwd)

    def _build(self, progress_stream: IO[str]) -> None:
        stamp = self.expected_stamp()
        if self.path.exists():
            print(f"removing stale or unfinished {self.path}", file=progress_stream)
            shutil.rmtree(self.path)
        base_python = base_interpreter()
        print(f"creating {self.title} {self.path} from {base_python}", file=progress_stream)
        self._step([base_python, "-m", "venv", str(self.path)], progress_stream)
        python = str(self.python)
        self._step(
            [python, "-m", "pip", "install", "--no-deps", "--progress-bar", "off", "--no-input",
             "--disable-pip-version-check", "-r", str(self.requirements)],
            progress_stream,
        )  # fmt: skip
        if self.shim is not None:
            site_packages = subprocess.run(
                [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            shutil.copyfile(self.shim, Path(site_packages) / "sitecustomize.py")
        print(f"checking {self.title}", file=progress_stream)
        self._step([python, "-c", self.check_code], progress_stream, env=self.environment())
        self.stamp_path.write_text(stamp + "\n")
        print(f"{self.title} is ready: {python}", file=progress_stream)

    def _step(
        self, command: list[str], progress_stream: IO[str], env: dict[str, str] | None = None
    ) -> None:
        """Run one build step, copying its output to `progress_stream`; raise on failure."""
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
                f"building {self.title} failed: {' '.join(command[:4])} ... exited with status "
                f"{returncode}; output ends:\n{tail(''.join(output))}"
            )


def base_interpreter() -> str:
    """A Python 3.11 interpreter that is not itself inside a venv."""
    if sys.version_info[:2] == PYTHON_VERSION:
        return str(getattr(sys, "_base_executable", sys.executable))
    found = shutil.which("python{}.{}".format(*PYTHON_VERSION))
    if found is None:
        raise HubzooError("a side venv needs python3.11, which is not on PATH")
    return found


def tail(text: str, lines: int = 25) -> str:
    """The last `lines` lines of `text`."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _as_text(output: str | bytes | None) -> str:
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output
