"""Build the mkdocs-material site, with artifact facts read from the store's manifests."""

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build the site (mkdocs build --strict) from docs/ and the registry; the "
        "hooks add browse indexes, the comparison table, catalog.json and, for published "
        "modules, the facts in the store's manifests. The committed docs/ is not changed."
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        default=os.environ.get("HUBZOO_STORE"),
        help="store to read manifests from (default: $HUBZOO_STORE, else store/)",
    )
    parser.add_argument(
        "--site-dir", type=Path, default=REPO / "site", help="output folder (default: site/)"
    )
    args = parser.parse_args(argv)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    if args.store:
        env["HUBZOO_STORE"] = args.store
    command = [
        sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
        "--config-file", str(REPO / "mkdocs.yml"), "--site-dir", str(args.site_dir.resolve()),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, env=env)
    if done.returncode != 0:
        print("error: the site build failed (see mkdocs' messages above)", file=sys.stderr)
        return 1
    print(f"site built in {args.site_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
