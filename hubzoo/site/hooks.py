"""mkdocs hooks (named in mkdocs.yml): the registry and the store's manifests, added to the site.

on_config         loads the registry and the artifact facts of the store (those `extra.hubzoo`
                  names when `hubzoo.site.build` builds; else $HUBZOO_REGISTRY and
                  $HUBZOO_STORE; else registry/ and store/) into the catalog, with the zoo's
                  URL (the build's, else an http(s) store's, else `extra.zoo_url`, else
                  `site_url`), and fills in the Families menu
on_files          adds the browse indexes, the family pages, compare.md and catalog.json
on_page_markdown  puts the site's facts on each model page and deployment page
"""

import os
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from hubzoo.errors import HubzooError
from hubzoo.paths import REGISTRY_DIR
from hubzoo.registry import load_registry
from hubzoo.site.artifacts import STORE_VARIABLE, load_artifacts
from hubzoo.site.build import EXTRA_KEY, ZOO_URL_KEY, zoo_url_of
from hubzoo.site.catalog import CatalogEntry, DeploymentEntry, build_catalog
from hubzoo.site.families import FAMILIES_INDEX
from hubzoo.site.pages import (
    families_nav,
    generated_files,
    with_deployment_extras,
    with_module_extras,
)

REGISTRY_VARIABLE = "HUBZOO_REGISTRY"

_entries_by_page: dict[str, CatalogEntry] = {}
_deployments_by_page: dict[str, tuple[DeploymentEntry, CatalogEntry]] = {}


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Load the catalog for this build and list the families in the menu item naming their
    index."""
    given = config.extra.get(EXTRA_KEY) or {}
    registry_dir = given.get("registry") or os.environ.get(REGISTRY_VARIABLE) or REGISTRY_DIR
    store = given.get("store") or os.environ.get(STORE_VARIABLE) or None
    try:
        zoo_url = zoo_url_of(
            given.get(ZOO_URL_KEY), store, config.extra.get(ZOO_URL_KEY) or config.site_url
        )
        registry = load_registry(Path(registry_dir))
        entries = build_catalog(registry, load_artifacts(store), zoo_url)
    except HubzooError as error:
        raise PluginError(str(error)) from error
    _entries_by_page.clear()
    _entries_by_page.update((entry.page, entry) for entry in entries)
    _deployments_by_page.clear()
    for entry in entries:
        for deployment in entry.deployments:
            _deployments_by_page[deployment.page] = (deployment, entry)
    if config.nav is not None:
        config.nav = [_with_families(item, entries) for item in config.nav]
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the site-only generated files; a committed file of the same name is an error."""
    for path, content in generated_files(list(_entries_by_page.values())).items():
        if files.get_file_from_path(path) is not None:
            raise PluginError(f"{config.docs_dir}/{path} is generated at build time; remove it")
        files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Add the site's facts to model and deployment pages, which the menu does not list (so
    their empty menu column gives its width to the page); leave other pages as they are."""
    path = page.file.src_uri
    if path in _entries_by_page:
        _hide_menu(page)
        return with_module_extras(markdown, _entries_by_page[path])
    if path in _deployments_by_page:
        _hide_menu(page)
        return with_deployment_extras(markdown, *_deployments_by_page[path])
    return markdown


def _hide_menu(page: Page) -> None:
    """Hide the page's menu column (mkdocs-material's `hide: [navigation]`)."""
    page.meta["hide"] = [*page.meta.get("hide", []), "navigation"]


def _with_families(item: Any, entries: list[CatalogEntry]) -> Any:
    """A nav item, or, for the one naming the families' index, a section of the family pages."""
    if isinstance(item, dict) and len(item) == 1:
        ((title, target),) = item.items()
        if target == FAMILIES_INDEX:
            return {title: families_nav(entries)}
    return item
