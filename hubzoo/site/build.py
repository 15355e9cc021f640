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
"""Under mkdocs' `extra`, where a build says which store and registry the hooks read, and the
zoo URL it was given."""
ZOO_URL_KEY = "zoo_url"
"""The zoo's base URL, where the store's archives are served: under `extra` in mkdocs.yml, and
under `extra.hubzoo` when a build is given one."""
MAX_MESSAGES_SHOWN = 20


def build_site(
    site_dir: Path,
    store_url: str | None = None,
    registry_dir: Path = REGISTRY_DIR,
    config_file: Path = MKDOCS_CONFIG,
    site_url: str | None = None,
    zoo_url: str | None = None,
) -> None:
    """Build the site into `site_dir` from `registry_dir` and the manifests of the store at
    `store_url` (None: $HUBZOO_STORE, else the repository's store/). `site_url` (the site's
    address) overrides mkdocs.yml's; `zoo_url` (where the store's archives are served, the base
    of the pages' snippets and download links) overrides an http(s) store's URL, which overrides
    mkdocs.yml's `extra.zoo_url`. Any
    warning fails the build (strict); HubzooError then carries mkdocs' messages. A store that
    cannot be read (missing, unreachable, damaged) is that store's one-line error instead."""
    overrides = {"site_url": site_url} if site_url else {}
    site = str(Path(site_dir).resolve())
    config = load_config(str(config_file), site_dir=site, strict=True, **overrides)
    config.extra[EXTRA_KEY] = {
        "store": store_url,
        "registry": str(registry_dir),
        ZOO_URL_KEY: zoo_url,
    }
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


def zoo_url_of(given: str | None, store_url: str | None, configured: str | None) -> str:
    """Where the store's archives are served: the URL a build was `given`, else the store's own
    URL when it is http(s), else the `configured` one (mkdocs.yml's extra.zoo_url or site_url)."""
    if given:
        return given
    if store_url and store_url.startswith(("http://", "https://")):
        return store_url
    if not configured:
        raise HubzooError(
            f"no zoo URL: pass one, or set extra.{ZOO_URL_KEY} or site_url in mkdocs.yml"
        )
    return configured


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
