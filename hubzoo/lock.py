"""The lock: the sha256 of each record's resolved facts, committed as registry/records.lock.

Layered facts make a record changeable through its family: editing a family, a zoo facts file
or a shared id would silently change versions already published. The lock pins what every
record resolves to; validation fails at a record whose facts no longer match its entry
(published versions are immutable: publish a new version), and `scripts/lock_records.py`
(re)writes the entries of versions not yet published. A record's digest is also what the
manifest of an artifact built from it names (`hubzoo.manifest.BuildFacts.record_digest`).

The file has one line per record, `HANDLE SHA256`, sorted by handle, after comment lines.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from hubzoo.yamlnodes import Problem, YamlRejected, decode_text, read_regular_file, shown

LOCK_FILE = "records.lock"
HEADER = """\
# The sha256 of each record's resolved facts (hubzoo.lock). scripts/validate.py fails when a
# record's facts no longer match its line: published versions are immutable, publish a new
# version. scripts/lock_records.py [HANDLE_GLOB...] rewrites the lines of unpublished versions.
"""
_DIGEST = re.compile(r"[0-9a-f]{64}")
MAX_LOCK_BYTES = 32 * 1024 * 1024
"""The largest lock read: about 300,000 records."""


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), check_circular=False)
"""JSON as `json.dumps(facts, sort_keys=True, separators=(",", ":"))` writes it, made once."""


def facts_digest(facts: Mapping[str, Any]) -> str:
    """The sha256 of `facts` (plain JSON values: a record's fields, dataclasses as
    `plain_fields`) written canonically: JSON, keys sorted, no spaces."""
    return hashlib.sha256(_CANONICAL.encode(facts).encode()).hexdigest()


@cache
def plain_fields(value: Any) -> dict[str, Any]:
    """A frozen dataclass's fields as plain values (an input mapping, shared by many records:
    computed once each)."""
    fields: dict[str, Any] = dataclasses.asdict(value)
    return fields


@dataclasses.dataclass(frozen=True)
class Lock:
    """The lock file's entries: handle -> (digest, line number). `readable` is False when the
    file is there but cannot be read (not a regular file, too large, not text): then nothing is
    known of what is locked."""

    entries: Mapping[str, tuple[str, int]]
    readable: bool = True

    def digest(self, handle: str) -> str | None:
        """The locked digest of `handle`, or None when it has no line."""
        entry = self.entries.get(handle)
        return None if entry is None else entry[0]


def read_lock(path: Path, display: str) -> tuple[Lock, list[Problem]]:
    """The lock at `path` (no file: no entries), and a problem per malformed line (or one, at
    1:1, for a file that cannot be read)."""
    entries: dict[str, tuple[str, int]] = {}
    problems = []
    if not os.path.lexists(path):
        return Lock({}), []
    try:
        text = decode_text(read_regular_file(path, display, MAX_LOCK_BYTES), display)
    except YamlRejected as rejected:
        return Lock({}, readable=False), [rejected.problem]
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip() or line.startswith("#"):
            continue
        handle, _, digest = line.partition(" ")
        if not _DIGEST.fullmatch(digest):
            problems.append(Problem(display, number, 1, "expected 'HANDLE SHA256'"))
        elif handle in entries:
            problems.append(Problem(display, number, 1, f"{shown(handle)} is locked twice"))
        else:
            entries[handle] = (digest, number)
    return Lock(entries), problems


def write_lock(path: Path, digests: Mapping[str, str]) -> None:
    """Write the lock of `digests` (handle -> digest), replacing the file in one step."""
    from hubzoo.files import staged_file  # here: its archive modules would slow validation's start

    lines = "".join(f"{handle} {digest}\n" for handle, digest in sorted(digests.items()))
    with staged_file(path) as staging:
        staging.write_text(HEADER + lines, encoding="utf-8")
