"""(Re)writing the lock for versions not yet published: `scripts/lock_records.py`.

A record's lock line changes only while no store holds a published artifact of it; a
published version's facts are immutable (a change to them is a new version).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hubzoo.errors import HubzooError
from hubzoo.lock import LOCK_FILE, read_lock, write_lock
from hubzoo.paths import REGISTRY_DIR, display_path
from hubzoo.record import Deployment, ModuleRecord
from hubzoo.registry import load_registry
from hubzoo.store import Store


@dataclass
class Relocked:
    """What a relock did: handles given a new or changed line, and those refused."""

    written: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "HANDLE: why"
    unchanged: int = 0


def relock(store: Store, globs: Sequence[str] = (), registry_dir: Path = REGISTRY_DIR) -> Relocked:
    """Lock the records matching `globs` (none: every record) whose line is missing or stale,
    unless `store` has published them; write the lock when anything changed."""
    registry = load_registry(registry_dir, check_lock=False)
    lock_path = registry_dir / LOCK_FILE
    lock, problems = read_lock(lock_path, display_path(lock_path, Path.cwd()))
    if problems:
        raise HubzooError("\n".join(str(problem) for problem in problems))
    digests = {handle: digest for handle, (digest, _) in lock.entries.items()}
    published = {manifest.handle for manifest in store.list_manifests()}
    result = Relocked()
    records: dict[str, ModuleRecord | Deployment] = {**registry.modules, **registry.deployments}
    for handle, record in sorted(records.items()):
        if globs and not any(fnmatch.fnmatchcase(handle, glob) for glob in globs):
            continue
        if digests.get(handle) == record.digest:
            result.unchanged += 1
        elif handle in published and handle in digests:
            result.refused.append(
                f"{handle}: published in {store.url}; published versions are immutable, "
                "publish a new version"
            )
        else:
            digests[handle] = record.digest
            result.written.append(handle)
    if result.written:
        write_lock(lock_path, digests)
    return result
