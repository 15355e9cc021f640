"""What the site adds at build time: browse indexes, family pages, the comparison table,
catalog.json, the Families menu, and the facts on each model and deployment page."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hubzoo.render import docs_root, template_environment
from hubzoo.site.catalog import DIMENSIONS, CatalogEntry, DeploymentEntry, Tag, catalog_json
from hubzoo.site.families import FAMILIES_INDEX, families_of, family_page_path

COMPARE_PAGE = "compare.md"
CATALOG_FILE = "catalog.json"


def browse_page_path(dimension: str) -> str:
    """The browse index of `dimension`, relative to the docs root."""
    return f"browse/{dimension}.md"


def generated_files(entries: list[CatalogEntry]) -> dict[str, str]:
    """The site-only files, by path relative to the docs root."""
    files = {browse_page_path(d): browse_page(d, entries) for d in DIMENSIONS}
    families = families_of(entries)
    architecture_page = browse_page_path("architecture")
    files[FAMILIES_INDEX] = _render(
        "site/families.md.j2", families=families, architecture_page=architecture_page
    )
    for family in families:
        files[family.page] = _render(
            "site/family.md.j2", family=family, architecture_page=architecture_page
        )
    files[COMPARE_PAGE] = _render("site/compare.md.j2", entries=entries)
    files[CATALOG_FILE] = catalog_json(entries)
    return files


def browse_page(dimension: str, entries: list[CatalogEntry]) -> str:
    """The index of every module grouped by its value of `dimension`, groups by display name."""
    groups: dict[Tag, list[CatalogEntry]] = defaultdict(list)
    for entry in entries:
        groups[entry.tags[dimension]].append(entry)
    ordered = sorted(groups.items(), key=lambda item: item[0].display_name.lower())
    return _render("site/browse.md.j2", dimension=dimension, groups=ordered)


def families_nav(entries: list[CatalogEntry]) -> list[Any]:
    """The Families menu: the families' index, then one page per family by display name."""
    families = families_of(entries)
    return [FAMILIES_INDEX, *({f.tag.display_name: f.page} for f in families)]


def with_module_extras(markdown: str, entry: CatalogEntry) -> str:
    """A model page with the site's facts, usage, versions and deployments inserted before its
    first section heading."""
    extras = _render(
        "site/module_extras.md.j2",
        entry=entry,
        root=docs_root(entry.record.handle),
        browse_pages={dimension: browse_page_path(dimension) for dimension in DIMENSIONS},
        family_page=family_page_path(entry.family.id),
    )
    return _before_first_section(markdown, extras)


def with_deployment_extras(markdown: str, deployment: DeploymentEntry, parent: CatalogEntry) -> str:
    """A deployment's page with its facts (its module, its archive when published) before its
    first section."""
    extras = _render(
        "site/deployment_extras.md.j2",
        item=deployment,
        parent=parent,
        root=docs_root(deployment.handle),
        family_page=family_page_path(parent.family.id),
    )
    return _before_first_section(markdown, extras)


def _before_first_section(markdown: str, extras: str) -> str:
    head, separator, rest = markdown.partition("\n## ")
    if not separator:
        return markdown.rstrip("\n") + "\n\n" + extras
    return head.rstrip("\n") + "\n\n" + extras + "\n## " + rest


def _render(template: str, **context: Any) -> str:
    return template_environment().get_template(template).render(**context)
