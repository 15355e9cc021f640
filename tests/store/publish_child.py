"""A publish that stops just before writing its manifest, for the kill and lock tests.

Usage: python publish_child.py JSON with keys url, storage_options, handle, archive, manifest.
It prints "PAUSED" once the archive is uploaded, verified and moved into place (the lock is
held, the manifest not written) and then sleeps until it is killed.
"""

import json
import sys
import time
from pathlib import Path

from hubzoo.manifest import BuildFacts, Manifest
from hubzoo.store import Store, open_store


def pause_instead_of_writing_manifest(self: Store, handle: str, manifest: Manifest) -> None:
    print("PAUSED", flush=True)
    time.sleep(600)


def main() -> None:
    job = json.loads(sys.argv[1])
    Store._write_manifest = pause_instead_of_writing_manifest
    store = open_store(job["url"], storage_options=job["storage_options"])
    store.put(job["handle"], Path(job["archive"]), BuildFacts(**job["manifest"]))


if __name__ == "__main__":
    main()
