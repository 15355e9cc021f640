"""mkdocs hooks (named in mkdocs.yml): the registry and the store's manifests, added to the site.

on_config         loads the registry and the artifact facts of the store (those `extra.hubzoo`
                  names when `hubzoo.site.build` builds; else $HUBZOO_REGISTRY and
                  $HUBZOO_STORE; else registry/ and store/), and adds the Modules menu
on_files          adds the browse indexes, compare.md and catalog.json
on_page_markdown  puts the facts box (tags, published artifact) on each model page
"""

import os
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from hubzoo.errors import HubzooError
from hubzoo.paths import REGISTRY_DIR
from hubzoo.registry import load_registry
from hubzoo.site.artifacts import load_artifacts
from hubzoo.site.build import EXTRA_KEY
from hubzoo.site.catalog import CatalogEntry, build_catalog
from hubzoo.site.pages import generated_files, modules_nav, with_module_extras

REGISTRY_VARIABLE = "HUBZOO_REGISTRY"
MODULES_MENU = "Modules"

_entries_by_page: dict[str, CatalogEntry] = {}


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Load the catalog for this build and put the Modules menu after the first nav item."""
    given = config.extra.get(EXTRA_KEY) or {}
    registry_dir = given.get("registry") or os.environ.get(REGISTRY_VARIABLE) or REGISTRY_DIR
    try:
        registry = load_registry(Path(registry_dir))
        entries = build_catalog(registry, load_artifacts(given.get("store")))
    except HubzooError as error:
        raise PluginError(str(error)) from error
    _entries_by_page.clear()
    _entries_by_page.update((entry.page, entry) for entry in entries)
    if config.nav is not None:
        config.nav.insert(1, {MODULES_MENU: modules_nav(entries)})
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the site-only generated files; a committed file of the same name is an error."""
    for path, content in generated_files(list(_entries_by_page.values())).items():
        if files.get_file_from_path(path) is not None:
            raise PluginError(f"{config.docs_dir}/{path} is generated at build time; remove it")
        files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Add the facts box to model pages; leave other pages as they are."""
    entry = _entries_by_page.get(page.file.src_uri)
    return markdown if entry is None else with_module_extras(markdown, entry)
