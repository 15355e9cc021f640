"""Build the mkdocs-material site in this process: `mkdocs build --strict` of mkdocs.yml, with the
registry's records and the store's manifests added by the hooks (`hubzoo.site.hooks`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import MkDocsException

from hubzoo.errors import HubzooError
from hubzoo.paths import REGISTRY_DIR, REPO_ROOT
from hubzoo.store import CorruptVersion, StoreError

MKDOCS_CONFIG = REPO_ROOT / "mkdocs.yml"
EXTRA_KEY = "hubzoo"
"""Under mkdocs' `extra`, where a build says which store and registry the hooks read."""
MAX_MESSAGES_SHOWN = 20


def build_site(
    site_dir: Path,
    store_url: str | None = None,
    registry_dir: Path = REGISTRY_DIR,
    config_file: Path = MKDOCS_CONFIG,
) -> None:
    """Build the site into `site_dir` from `registry_dir` and the manifests of the store at
    `store_url` (None: $HUBZOO_STORE, else the repository's store/). Any warning fails the build
    (strict); HubzooError then carries mkdocs' messages. A store that cannot be read (missing,
    unreachable, damaged) is that store's one-line error instead."""
    config = load_config(str(config_file), site_dir=str(Path(site_dir).resolve()), strict=True)
    config.extra[EXTRA_KEY] = {"store": store_url, "registry": str(registry_dir)}
    with _collected_messages() as messages:
        try:
            build(config)
        except MkDocsException as error:
            store_failure = _store_failure(error)
            if store_failure is not None:
                raise store_failure from None
            shown = "\n  ".join(messages[:MAX_MESSAGES_SHOWN])
            details = f":\n  {shown}" if shown else ""
            raise HubzooError(f"the site build failed ({error}){details}") from None


def _store_failure(error: BaseException) -> HubzooError | None:
    """The store's error behind a failed build (the hooks raise it as a PluginError), if any."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, StoreError | CorruptVersion):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


@contextmanager
def _collected_messages() -> Iterator[list[str]]:
    """mkdocs' warnings and errors of one build, kept instead of printed."""
    messages: list[str] = []

    class Collector(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("mkdocs")
    collector = Collector(logging.WARNING)
    previous_level, previous_propagate = logger.level, logger.propagate
    logger.addHandler(collector)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(collector)
        logger.setLevel(previous_level)
        logger.propagate = previous_propagate
