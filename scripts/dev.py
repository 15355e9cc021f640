"""The README's two commands: `demo` (publish a module, build and serve the site) and `test`;
`setup` does only the creating that `test` starts with.

Runs with nothing but Python 3.11: it creates `.venv/` from requirements.lock when it is missing
or stale and installs the project into it (editable), creates the other things the tests need
(the legacy tensorflow_hub 0.15 venv, the TF.js converter venv and TF.js's npm packages, Node.js,
the TF Lite Support venv and Debian's libusb it links, Debian's Chromium and nginx) when they are
missing, then hands over to the project's own commands.
"""

from __future__ import annotations

import argparse
import ctypes.util
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
LOCK = REPO / "requirements.lock"
PROJECT = REPO / "pyproject.toml"
STAMP = VENV / ".hubzoo-lock-sha256"
BROWSER_PACKAGES = ("chromium", "chromium-driver")
BROWSER_FILES = (Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver"))
STATIC_SERVER_PACKAGES = ("nginx-light",)
STATIC_SERVER_FILE = Path("/usr/sbin/nginx")
NODE_PACKAGES = ("nodejs", "npm")
LIBUSB_PACKAGES = ("libusb-1.0-0",)
"""tflite-support's native library links libusb-1.0.so.0 (the TF Lite Support venv's tests)."""
DEMO_HANDLE = "inception_v1/feature_vector/1"


def say(message: str) -> None:
    print(f"[dev] {message}", file=sys.stderr, flush=True)


def run(*command: str | Path, check: bool = True) -> int:
    """Run a command from the repository root, streaming its output."""
    done = subprocess.run([str(part) for part in command], cwd=REPO)
    if check and done.returncode != 0:
        say(f"failed ({done.returncode}): {' '.join(str(p) for p in command)}")
        sys.exit(done.returncode)
    return done.returncode


def ensure_venv() -> None:
    """Create or refresh .venv from the pinned lock file and install the project into it
    (editable, so scripts import its packages); the stamp is written last."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"hubzoo needs Python 3.11; this is {sys.version.split()[0]} ({sys.executable})")
    wanted = hashlib.sha256(LOCK.read_bytes() + b"\0" + PROJECT.read_bytes()).hexdigest()
    if VENV_PYTHON.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    say(f"installing pinned dependencies into {VENV} (a few minutes the first time)")
    if not VENV_PYTHON.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip: list[str | Path] = [
        VENV_PYTHON,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    run(*pip, "-r", LOCK)
    run(*pip, "--no-deps", "--no-build-isolation", "--editable", REPO)
    STAMP.write_text(wanted + "\n")


def ensure_legacy_venv() -> None:
    """The tensorflow-hub 0.15 client venv the parity and snippet tests run."""
    run(
        VENV_PYTHON,
        "-c",
        "from devtools.legacy_venv import ensure_legacy_venv; ensure_legacy_venv()",
    )


def ensure_deployment_toolchains() -> None:
    """Node.js, TF.js's npm packages, the TF.js converter venv and the TF Lite Support venv (with
    Debian's libusb, which its native library links), for the deployment tests."""
    if not (shutil.which("node") and shutil.which("npm")):
        apt_install(NODE_PACKAGES, "the TF.js tests need Node.js and npm")
    if ctypes.util.find_library("usb-1.0") is None:
        apt_install(LIBUSB_PACKAGES, "the TF Lite metadata tests' tflite-support needs libusb")
    run(
        VENV_PYTHON,
        "-c",
        "from hubzoo.toolchains import ensure_toolchains; ensure_toolchains()",
    )


def ensure_browser() -> None:
    """Debian's Chromium and ChromeDriver, for the browser tests."""
    if all(path.exists() for path in BROWSER_FILES):
        return
    apt_install(BROWSER_PACKAGES, "the browser tests need Debian's chromium and chromium-driver")


def ensure_static_server() -> None:
    """Debian's nginx, the plain static web server the static-hosting tests serve a store with."""
    if STATIC_SERVER_FILE.exists():
        return
    apt_install(STATIC_SERVER_PACKAGES, "the static-hosting tests need Debian's nginx")


def apt_install(packages: tuple[str, ...], why: str) -> None:
    """Install Debian `packages` with apt-get (as root), or exit saying how."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit(f"{why}: run 'apt-get install {' '.join(packages)}' as root, then try again")
    say(f"installing Debian's {' and '.join(packages)}")
    run("apt-get", "update", "-qq")
    env_command = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]
    done = subprocess.run(env_command, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if done.returncode != 0:
        sys.exit(f"apt-get could not install {' and '.join(packages)}")


def setup() -> None:
    """Create .venv and everything the tests drive, each only if missing or stale."""
    ensure_venv()
    ensure_legacy_venv()
    ensure_deployment_toolchains()
    ensure_browser()
    ensure_static_server()


def test(pytest_args: list[str]) -> int:
    """Lint, check formatting, types and the import layers, validate the registry, check docs/
    is current, then run the whole test suite."""
    setup()
    scripts = REPO / "scripts"
    tools = VENV / "bin"
    failures = 0
    for step in (
        [tools / "ruff", "check", "."],
        [tools / "ruff", "format", "--check", "."],
        [tools / "mypy"],
        [tools / "lint-imports"],
        [VENV_PYTHON, scripts / "validate.py"],
        [VENV_PYTHON, scripts / "build_docs.py", "--check"],
    ):
        failures += run(*step, check=False) != 0
    code = run(VENV_PYTHON, "-m", "pytest", *pytest_args, check=False)
    if failures:
        say(f"{failures} check(s) before pytest failed; see above")
        return 1
    return code


def demo(port: int, serve: bool) -> int:
    """Publish the demo module from a synthetic checkpoint (which builds the site), then serve."""
    ensure_venv()
    scripts = REPO / "scripts"
    zoo_url = f"http://127.0.0.1:{port}"
    run(VENV_PYTHON, scripts / "publish.py", DEMO_HANDLE, "--synthetic", "--zoo-url", zoo_url)
    if serve:
        return run(VENV_PYTHON, scripts / "serve.py", "--port", str(port), check=False)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    test_parser = commands.add_parser("test", help="run every check and the whole test suite")
    test_parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed to pytest")
    demo_parser = commands.add_parser(
        "demo", help=f"publish {DEMO_HANDLE} (synthetic checkpoint), build the site and serve both"
    )
    demo_parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1")
    demo_parser.add_argument("--no-serve", action="store_true", help="stop after building the site")
    commands.add_parser(
        "setup", help="create .venv, the side venvs, the npm packages and the browser; no tests"
    )
    argv = sys.argv[1:]
    if argv[:1] == ["test"]:  # everything after `test` goes to pytest, options included
        args = parser.parse_args(["test"])
        args.pytest_args = argv[1:]
    else:
        args = parser.parse_args(argv)
    if args.command == "test":
        return test(args.pytest_args)
    if args.command == "setup":
        setup()
        return 0
    return demo(args.port, serve=not args.no_serve)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
