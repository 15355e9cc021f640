"""Write the model pages under docs/ from the registry, check them, or export a tfhub.dev tree."""

import argparse
import sys
from pathlib import Path

from hubzoo.errors import HubzooError
from hubzoo.paths import DOCS_DIR, REGISTRY_DIR
from hubzoo.registry import load_registry
from hubzoo.render import PAGES_FOLDER, render_pages
from hubzoo.site.files import stale_files, write_files
from hubzoo.tfhub_dev import tfhub_dev_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=f"Render the page of every module (in its docs era) and deployment to "
        f"DOCS/{PAGES_FOLDER}/HANDLE.md (files there that no record renders are removed). With "
        f"--check, write nothing: exit 1 and name the stale files if DOCS differs from what the "
        f"records render. With --tfhub-dev OUT, write the tensorflow/tfhub.dev layout "
        f"(assets/docs/PUBLISHER/models/HANDLE.md for modules and deployments, "
        f"assets/docs/PUBLISHER/PUBLISHER.md, tags/*.yaml) under OUT instead, every page in its "
        f"tfhub.dev era."
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--check", action="store_true", help="exit 1 if DOCS is stale; write nothing"
    )
    action.add_argument(
        "--tfhub-dev", metavar="OUT", type=Path, help="write the tfhub.dev tree under OUT"
    )
    parser.add_argument(
        "--docs", type=Path, default=DOCS_DIR, help="docs folder (default: %(default)s)"
    )
    parser.add_argument(
        "--registry", type=Path, default=REGISTRY_DIR, help="registry folder (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    try:
        registry = load_registry(args.registry)
        if args.tfhub_dev:
            return export_tfhub_dev(registry, args.registry, args.tfhub_dev)
        pages = render_pages(registry)
        if args.check:
            return check_docs(pages, args.docs)
        result = write_files(pages, args.docs, PAGES_FOLDER)
    except (HubzooError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"{args.docs}: {len(pages)} model page(s), {len(result.written)} written, "
        f"{len(result.removed)} removed"
    )
    return 0


def check_docs(pages: dict[str, str], docs: Path) -> int:
    """Print the stale files of `docs` and return 1, or confirm it is current and return 0."""
    stale = stale_files(pages, docs, PAGES_FOLDER)
    if not stale:
        print(f"{docs}: current ({len(pages)} model page(s))")
        return 0
    for path, reason in stale.items():
        print(f"stale: {docs / path}: {reason}", file=sys.stderr)
    print(
        f"{len(stale)} stale file(s) in {docs}; run scripts/build_docs.py and commit the result",
        file=sys.stderr,
    )
    return 1


def export_tfhub_dev(registry, registry_dir: Path, out: Path) -> int:
    """Write the tfhub.dev tree under `out`."""
    files = tfhub_dev_files(registry, registry_dir)
    result = write_files(files, out)
    print(f"{out}: {len(files)} file(s) of the tfhub.dev layout, {len(result.written)} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
