"""Serve the built site and the module store on 127.0.0.1 for browsers and tensorflow_hub."""

import argparse
import logging
import sys
from pathlib import Path

from hubzoo.errors import HubzooError
from hubzoo.paths import DEFAULT_STORE_DIR, REPO_ROOT
from hubzoo.serve import LOOPBACK, serve
from hubzoo.store import open_store

DEFAULT_SITE_DIR = REPO_ROOT / "site"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(
            "Serve the built site and the store on 127.0.0.1 until Ctrl-C. "
            'hub.load("http://127.0.0.1:PORT/HANDLE") loads a published module; '
            "/HANDLE.tar.gz downloads its archive, verified against its manifest "
            "/HANDLE.json (scripts/fetch_module.py checks both); /HANDLE redirects to its page. "
            "The store is only read: a damaged version is refused (500), an unreachable store "
            "is a 503."
        )
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        help=f"fsspec URL or path of the store, never created (default: {DEFAULT_STORE_DIR})",
    )
    parser.add_argument(
        "--site",
        metavar="DIR",
        type=Path,
        default=DEFAULT_SITE_DIR,
        help=f"folder of the built site (default: {DEFAULT_SITE_DIR})",
    )
    parser.add_argument(
        "--port",
        metavar="N",
        type=int,
        default=8000,
        help="port, 0 for any free one (default: 8000)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("hubzoo").setLevel(logging.INFO)  # requests; not the libraries' chatter
    try:
        if not args.site.is_dir():
            raise HubzooError(
                f"site folder {args.site} does not exist; build the site or pass --site"
            )
        store = open_store(args.store, read_only=True)
        store.check_access(write=False)
        server = serve(store, args.site, args.port)
    except HubzooError as error:
        print(f"serve: {error}", file=sys.stderr)
        return 1
    port = server.server_address[1]
    print(f"Serving {args.site} and store {store.url} at http://{LOOPBACK}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopped.", flush=True)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
