"""Reading a side venv's requirements file, which must pin every package exactly."""

import re
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([0-9][A-Za-z0-9.+-]*)$")


def pinned_requirements(path: Path) -> dict[str, str]:
    """Normalized package name -> version; fails the test on any line that is not an exact pin."""
    lines = path.read_text().splitlines()
    requirements = [line for line in lines if line.strip() and not line.startswith("#")]
    unpinned = [line for line in requirements if not PIN.match(line)]
    assert not unpinned, f"not pinned exactly: {unpinned}"
    pins = {}
    for line in requirements:
        name, version = PIN.match(line).groups()
        pins[name.lower().replace("_", "-")] = version
    return pins
