"""Validate registry records: every problem as path:line:col: message; exit 1 if any."""

import argparse
import gc
import io
import os
import sys
import time
from pathlib import Path

from hubzoo.paths import REGISTRY_DIR
from hubzoo.validate import validate
from hubzoo.yamlnodes import MAX_DEPTH, MAX_FILE_BYTES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Validate the registry: every record and deployment file, family, zoo facts "
        "and shared file against its schema in registry/schema/, the references between them, "
        "the facts each record resolves to, and registry/records.lock (published versions keep "
        "their facts). Prints each problem as PATH:LINE:COL: MESSAGE and exits 1 if there is "
        "any; otherwise prints a one-line summary and exits 0. A file is a regular UTF-8 file "
        f"of at most {MAX_FILE_BYTES // 1024} KiB holding YAML's JSON-like core: no anchors, "
        f"aliases or custom tags, lists and mappings nested at most {MAX_DEPTH} deep, numbers "
        "as YAML 1.1 reads them (0xE0, 0340 and 3:44 are all 224), finite and within 64 bits."
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
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):  # a message never fails to print
            stream.reconfigure(errors="backslashreplace")
    if not os.path.isdir(args.registry):  # False, not an error, for a name too long
        print(f"error: registry folder {args.registry} does not exist", file=sys.stderr)
        return 2
    started = time.perf_counter()
    gc.disable()  # a short run whose records form no cycles: collecting would cost a tenth
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
