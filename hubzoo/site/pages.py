"""What the site adds at build time: browse indexes, the comparison table, catalog.json, the
modules menu, and the facts box on each model page."""

from __future__ import annotations

from collections import defaultdict

from hubzoo.render import docs_root, page_path, template_environment
from hubzoo.site.catalog import DIMENSIONS, CatalogEntry, Tag, catalog_json

COMPARE_PAGE = "compare.md"
CATALOG_FILE = "catalog.json"


def browse_page_path(dimension: str) -> str:
    """The browse index of `dimension`, relative to the docs root."""
    return f"browse/{dimension}.md"


def generated_files(entries: list[CatalogEntry]) -> dict[str, str]:
    """The site-only files, by path relative to the docs root."""
    files = {browse_page_path(d): browse_page(d, entries) for d in DIMENSIONS}
    files[COMPARE_PAGE] = (
        template_environment().get_template("site/compare.md.j2").render(entries=entries)
    )
    files[CATALOG_FILE] = catalog_json(entries)
    return files


def browse_page(dimension: str, entries: list[CatalogEntry]) -> str:
    """The index of every module grouped by its value of `dimension`, groups by display name."""
    groups: dict[Tag, list[CatalogEntry]] = defaultdict(list)
    for entry in entries:
        groups[entry.tags[dimension]].append(entry)
    ordered = sorted(groups.items(), key=lambda item: item[0].display_name.lower())
    template = template_environment().get_template("site/browse.md.j2")
    return template.render(dimension=dimension, groups=ordered)


def with_module_extras(markdown: str, entry: CatalogEntry) -> str:
    """A model page with its facts box inserted before its first section heading."""
    extras = (
        template_environment()
        .get_template("site/module_extras.md.j2")
        .render(entry=entry, root=docs_root(entry.record.handle))
    )
    head, separator, rest = markdown.partition("\n## ")
    if not separator:
        return markdown.rstrip("\n") + "\n\n" + extras
    return head.rstrip("\n") + "\n\n" + extras + "\n## " + rest


def modules_nav(entries: list[CatalogEntry]) -> list[dict[str, list[dict[str, str]]]]:
    """The Modules menu for mkdocs' nav: one section per architecture, one item per module
    version (its handle without publisher and namespace), each followed by its deployments."""
    sections: dict[str, list[dict[str, str]]] = defaultdict(list)
    for entry in entries:
        items = sections[entry.tags["architecture"].display_name]
        items.append({_label(entry.record.handle): entry.page})
        items.extend({_label(d.handle): page_path(d.handle)} for d in entry.deployments)
    return [{name: items} for name, items in sorted(sections.items())]


def _label(handle: str) -> str:
    """A menu label: the handle after its publisher and namespace segments."""
    return "/".join(handle.split("/")[2:])
