"""Import tfhub.dev model pages (a tensorflow/tfhub.dev checkout) into the registry."""

import argparse
import sys
from pathlib import Path

from hubzoo.importer.build import ImportFailed, ImportOptions
from hubzoo.importer.run import import_checkout
from hubzoo.paths import REGISTRY_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Turn the model pages of a tensorflow/tfhub.dev checkout (assets/docs/"
        "PUBLISHER/models/...) into records, families and shared facts of the registry. Every "
        "imported page must render back byte for byte and the registry must validate; "
        "otherwise each page (or file) that stops the import is printed as `WHERE: why` and "
        "nothing is written. The families an import touches are rewritten whole; the facts "
        "the pages do not state (registry/zoo_facts/, zoo facts in record files) are kept, and "
        "new versions are added to registry/records.lock."
    )
    parser.add_argument(
        "checkout", type=Path, help="a tfhub.dev checkout, or a folder holding its assets/docs"
    )
    parser.add_argument(
        "globs",
        nargs="*",
        metavar="HANDLE_GLOB",
        help="handles to import, e.g. 'google/imagenet/mobilenet_v2_*' (default: every page)",
    )
    parser.add_argument(
        "--registry", type=Path, default=REGISTRY_DIR, help="registry folder (default: %(default)s)"
    )
    parser.add_argument(
        "--tags", type=Path, help="tfhub.dev's tag vocabularies (default: CHECKOUT/tags)"
    )
    args = parser.parse_args(argv)
    if not (args.checkout / "assets" / "docs").is_dir():
        print(f"error: {args.checkout} has no assets/docs folder", file=sys.stderr)
        return 2
    options = ImportOptions(args.checkout, tuple(args.globs), args.registry, args.tags)
    try:
        count = import_checkout(options)
    except ImportFailed as failed:
        for where, why in failed.failures:
            print(f"{where}: {why}", file=sys.stderr)
        print(
            f"import failed: {len(failed.failures)} problem(s); nothing written to {args.registry}",
            file=sys.stderr,
        )
        return 1
    print(f"imported {count} page(s) into {args.registry}; every page renders back byte for byte")
    return 0


if __name__ == "__main__":
    sys.exit(main())
