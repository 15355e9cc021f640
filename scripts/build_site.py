"""Build the mkdocs-material site, with artifact facts read from the store's manifests."""

import argparse
import os
import sys
from pathlib import Path

from hubzoo.errors import HubzooError
from hubzoo.paths import REGISTRY_DIR, SITE_DIR
from hubzoo.site.build import build_site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build the site (mkdocs build --strict) from docs/ and the registry; the "
        "hooks add browse indexes, family pages, the comparison table, catalog.json and, for "
        "published modules, the facts in the store's manifests. The committed docs/ is not "
        "changed."
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        default=os.environ.get("HUBZOO_STORE"),
        help="store to read manifests from (default: $HUBZOO_STORE, else store/)",
    )
    parser.add_argument(
        "--site-dir", type=Path, default=SITE_DIR, help="output folder (default: site/)"
    )
    parser.add_argument(
        "--registry", type=Path, default=REGISTRY_DIR, help="registry folder (default: registry/)"
    )
    parser.add_argument(
        "--site-url",
        metavar="URL",
        help="the address the site is served at (default: mkdocs.yml's site_url, the dev "
        "server's http://127.0.0.1:8000/)",
    )
    parser.add_argument(
        "--zoo-url",
        metavar="URL",
        help="where the store's archives are served (URL/HANDLE.tar.gz), the base of the pages' "
        "hub.load snippets and download links (default: the store's URL when it is http(s), "
        "else mkdocs.yml's extra.zoo_url, the dev server's http://127.0.0.1:8000/)",
    )
    args = parser.parse_args(argv)
    try:
        build_site(
            args.site_dir,
            args.store,
            args.registry,
            site_url=args.site_url,
            zoo_url=args.zoo_url,
        )
    except HubzooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"site built in {args.site_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
