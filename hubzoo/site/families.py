"""The catalog's modules by family, for the family pages and their index."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from hubzoo.site.catalog import CatalogEntry, Status, Tag

FAMILIES_INDEX = "families/index.md"


def family_page_path(family_id: str) -> str:
    """A family's page, relative to the docs root."""
    return f"families/{family_id}.md"


@dataclass(frozen=True)
class FamilySummary:
    """One family's module versions (catalog entries, by handle) and what they add up to."""

    tag: Tag
    entries: tuple[CatalogEntry, ...]

    @property
    def page(self) -> str:
        """The family's page, relative to the docs root."""
        return family_page_path(self.tag.id)

    @property
    def architectures(self) -> list[Tag]:
        """The architectures of its modules, by display name."""
        tags = {entry.tags["architecture"] for entry in self.entries}
        return sorted(tags, key=lambda tag: tag.display_name)

    @property
    def variants(self) -> list[str]:
        """Its variants (module names), sorted."""
        return sorted({entry.record.variant for entry in self.entries})

    @property
    def versions(self) -> list[int]:
        """The version numbers its modules have, ascending."""
        return sorted({entry.record.version for entry in self.entries})

    @property
    def deployments(self) -> int:
        """How many deployments its module versions have."""
        return sum(len(entry.deployments) for entry in self.entries)

    @property
    def published(self) -> int:
        """How many of its module versions the store holds, synthetic ones included."""
        return sum(entry.status is not Status.UNPUBLISHED for entry in self.entries)

    @property
    def synthetic(self) -> int:
        """How many of its published module versions hold synthetic weights."""
        return sum(entry.status is Status.SYNTHETIC for entry in self.entries)


def families_of(entries: list[CatalogEntry]) -> list[FamilySummary]:
    """The families of `entries`, by display name."""
    grouped: dict[Tag, list[CatalogEntry]] = defaultdict(list)
    for entry in entries:
        grouped[entry.family].append(entry)
    families = [FamilySummary(tag, tuple(members)) for tag, members in grouped.items()]
    return sorted(families, key=lambda family: family.tag.display_name.lower())
