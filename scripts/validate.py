"""Validate registry records: every problem as path:line:col: message; exit 1 if any."""

import argparse
import sys
import time
from pathlib import Path

from hubzoo.paths import REGISTRY_DIR
from hubzoo.validate import validate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Validate the registry: every record and deployment file, family, zoo facts "
        "and shared file against its schema in registry/schema/, the references between them, "
        "the facts each record resolves to, and registry/records.lock (published versions keep "
        "their facts). Prints each problem as PATH:LINE:COL: MESSAGE and exits 1 if there is "
        "any; otherwise prints a one-line summary and exits 0."
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="record files to check (default: every record; shared files are always checked)",
    )
    parser.add_argument(
        "--registry", type=Path, default=REGISTRY_DIR, help="registry folder (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if not args.registry.is_dir():
        print(f"error: registry folder {args.registry} does not exist", file=sys.stderr)
        return 2
    started = time.perf_counter()
    result = validate(args.registry, args.paths or None, build_records=False)
    for problem in result.problems:
        print(problem)
    if result.problems:
        print(
            f"{len(result.problems)} problem(s) in {result.files_checked} file(s)", file=sys.stderr
        )
        return 1
    elapsed = time.perf_counter() - started
    print(f"ok: {result.files_checked} record(s) valid in {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
