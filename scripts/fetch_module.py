"""Download a published module by URL, verify it against its manifest, cache it, print its folder."""

import argparse
import math
import sys
from pathlib import Path

from hubzoo.consumer import CACHE_VARIABLE, FetchLimits, default_cache_dir, fetch_module
from hubzoo.errors import HubzooError


def main(argv: list[str] | None = None) -> int:
    defaults = FetchLimits()
    parser = argparse.ArgumentParser(
        description="Download the module at URL (URL.json, its manifest, and URL.tar.gz, its "
        "archive, as scripts/serve.py or any static host of a store serves them), check the "
        "archive's size and sha256 against the manifest, unpack it safely into the cache under "
        "that sha256 and print the folder, ready for tensorflow_hub.load. A cached module is "
        "not downloaded again.",
    )
    parser.add_argument(
        "url",
        metavar="URL",
        help="e.g. http://127.0.0.1:8000/google/imagenet/inception_v1/feature_vector/1",
    )
    parser.add_argument(
        "--cache",
        metavar="DIR",
        type=Path,
        help=f"module cache (default: ${CACHE_VARIABLE}, else {default_cache_dir()})",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=defaults.read_timeout,
        help=f"give up after this long without data (default {defaults.read_timeout:.0f})",
    )
    parser.add_argument(
        "--max-seconds",
        metavar="SECONDS",
        type=float,
        default=defaults.max_seconds,
        help=f"give up when the download takes longer (default {defaults.max_seconds:.0f})",
    )
    args = parser.parse_args(argv)
    if not all(0 < value < math.inf for value in (args.timeout, args.max_seconds)):
        parser.error("--timeout and --max-seconds must be positive numbers of seconds")
    limits = FetchLimits(read_timeout=args.timeout, max_seconds=args.max_seconds)
    try:
        folder = fetch_module(args.url, args.cache, limits)
    except HubzooError as error:
        print(f"fetch_module: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fetch_module: interrupted; nothing was cached", file=sys.stderr)
        return 130
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
