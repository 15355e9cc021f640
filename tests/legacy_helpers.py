"""Helpers for tests that run code in the legacy client venv (TF 2.14 + hub.Module + tf_slim).

Use the session fixture from a test folder's ``conftest.py``::

    from tests.legacy_helpers import legacy_python  # noqa: F401

and run code there with ``devtools.legacy_venv.run_legacy_python`` or ``run_legacy_json`` below.
"""

import json
from pathlib import Path

import pytest

from devtools.legacy_venv import ensure_legacy_venv, run_legacy_python

JSON_MARKER = "HUBZOO-JSON:"


@pytest.fixture(scope="session")
def legacy_python() -> Path:
    """The legacy venv's python executable, creating the venv first if it is missing or stale."""
    return ensure_legacy_venv()


def run_legacy_json(code: str, *args: str, timeout: float = 600) -> object:
    """Runs ``code`` in the legacy venv and returns what it printed with ``emit(value)``.

    ``code`` gets a function ``emit(value)`` that prints ``value`` as one marked JSON line; the
    last such line is parsed and returned, so log noise on stdout does not matter.
    """
    prelude = (
        "import json as _json\n"
        f"def emit(value):\n    print({JSON_MARKER!r} + _json.dumps(value), flush=True)\n"
    )
    stdout = run_legacy_python(prelude + code, *args, timeout=timeout).stdout
    lines = [line for line in stdout.splitlines() if line.startswith(JSON_MARKER)]
    if not lines:
        raise AssertionError(f"the legacy snippet emitted no value; stdout was:\n{stdout[-2000:]}")
    return json.loads(lines[-1][len(JSON_MARKER) :])
