"""Write registry/records.lock lines for versions not yet published (new or changed records)."""

import argparse
import os
import sys
from pathlib import Path

from hubzoo.errors import HubzooError
from hubzoo.paths import REGISTRY_DIR
from hubzoo.relock import relock
from hubzoo.store import open_store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Lock the resolved facts of records: write the sha256 of each matching "
        "record's facts to registry/records.lock when its line is missing or stale. A version "
        "the store has published is refused (exit 1): published versions are immutable, "
        "publish a new version instead."
    )
    parser.add_argument(
        "globs", nargs="*", metavar="HANDLE_GLOB", help="records to lock (default: every record)"
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        default=os.environ.get("HUBZOO_STORE"),
        help="the store that says what is published (default: $HUBZOO_STORE, else store/)",
    )
    parser.add_argument(
        "--registry", type=Path, default=REGISTRY_DIR, help="registry folder (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    try:
        result = relock(open_store(args.store), args.globs, args.registry)
    except HubzooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for line in result.refused:
        print(f"refused: {line}", file=sys.stderr)
    print(
        f"locked {len(result.written)} record(s), {result.unchanged} already current, "
        f"{len(result.refused)} refused"
    )
    return 1 if result.refused else 0


if __name__ == "__main__":
    sys.exit(main())
