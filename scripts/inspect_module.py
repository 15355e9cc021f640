"""Describe an exported module without running it; with --against, diff it with its record."""

import argparse
import sys
from pathlib import Path

from hubzoo.contract import FORMATS
from hubzoo.errors import HubzooError
from hubzoo.registry import load_registry
from pipeline.deployments import spec_to_check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Read an exported module (TF1 Hub format or TF2 SavedModel) without running "
        "it and print its format, tags, signatures, inputs and outputs with dtypes and shapes, "
        "expected image size and variable bytes. With --against, compare all of that with the "
        "record and print every difference; exit 1 on any mismatch."
    )
    parser.add_argument("path", type=Path, help="folder of the exported module")
    parser.add_argument(
        "--against",
        metavar="HANDLE",
        help="handle (or unique suffix) of a record: a module's, or a deployment's (a TF Lite "
        "metadata deployment is also checked for its TF Lite Metadata and labels)",
    )
    parser.add_argument("--format", choices=FORMATS, help="with --against: require this format")
    parser.add_argument("--debug", action="store_true", help="show TensorFlow's start-up logging")
    args = parser.parse_args(argv)
    try:
        from modules.runtime import start_tensorflow

        start_tensorflow(verbose=args.debug)
        from modules.inspect import describe_module, diff_against, format_description

        description = describe_module(args.path)
        print(format_description(description))
        if not args.against:
            return 0
        synthetic = bool((description.provenance or {}).get("synthetic", False))
        handle, spec = spec_to_check(load_registry(), args.against, synthetic)
        problems = diff_against(description, spec, expected_format=args.format)
    except HubzooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if problems:
        print(f"\nMISMATCH against {handle}:")
        print("\n".join(f"  {problem}" for problem in problems))
        return 1
    print(f"\nmatches {handle}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
