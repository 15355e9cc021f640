"""Keep a folder of generated text files equal to what the registry renders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WriteResult:
    """Paths (relative to the root) written because they changed, and removed as unexpected."""

    written: list[str]
    removed: list[str]


def stale_files(expected: dict[str, str], root: Path, managed_folder: str) -> dict[str, str]:
    """Paths (relative to `root`) that differ from `expected`, each with the reason.

    A file under `managed_folder` that `expected` does not list is stale too: every file there
    is generated.
    """
    stale = {}
    for path, text in sorted(expected.items()):
        target = root / path
        if not target.is_file():
            stale[path] = "missing"
        elif target.read_bytes() != text.encode():
            stale[path] = "differs from what its record renders"
    for path in _unexpected(expected, root, managed_folder):
        stale[path] = "no record renders it"
    return stale


def write_files(
    expected: dict[str, str], root: Path, managed_folder: str | None = None
) -> WriteResult:
    """Write each file of `expected` under `root` whose bytes differ; with `managed_folder`,
    also remove the files there that `expected` does not list."""
    written = []
    for path, text in sorted(expected.items()):
        target = root / path
        data = text.encode()
        if target.is_file() and target.read_bytes() == data:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(path)
    removed = _unexpected(expected, root, managed_folder) if managed_folder else []
    for path in removed:
        (root / path).unlink()
    return WriteResult(written, removed)


def _unexpected(expected: dict[str, str], root: Path, managed_folder: str) -> list[str]:
    folder = root / managed_folder
    if not folder.is_dir():
        return []
    found = (p.relative_to(root).as_posix() for p in folder.rglob("*") if p.is_file())
    return sorted(path for path in found if path not in expected)
