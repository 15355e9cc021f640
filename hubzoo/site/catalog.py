"""The catalog: every module's facts in one row, for the site's indexes, table and catalog.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hubzoo.record import Record
from hubzoo.registry import Registry
from hubzoo.render import page_path
from hubzoo.site.artifacts import Artifact

DIMENSIONS = ("task", "architecture", "dataset", "publisher")
"""The ways the site lets people browse, in menu order."""


@dataclass(frozen=True)
class Tag:
    """A value a module can be browsed by: its id (also the index anchor) and display name."""

    id: str
    display_name: str


@dataclass(frozen=True)
class CatalogEntry:
    """One module version with every fact the site shows about it."""

    record: Record
    tags: dict[str, Tag]  # dimension -> value
    format_name: str
    parameters: int | None
    artifact: Artifact | None

    @property
    def page(self) -> str:
        """The model page, relative to the docs root."""
        return page_path(self.record.handle)

    @property
    def url(self) -> str:
        """The model page's URL on the site, relative to the site root."""
        return self.page.removesuffix(".md") + "/"

    @property
    def input_text(self) -> str:
        """E.g. "224 x 224 (fixed)"."""
        height, width = self.record.image_size
        note = "default; other sizes work" if self.record.variable_input else "fixed"
        return f"{height} x {width} ({note})"

    @property
    def output_text(self) -> str:
        """E.g. "1024 features" or "1001 classes"."""
        record = self.record
        if record.is_classification:
            return f"{record.num_classes} classes"
        return f"{record.num_features} features"

    def to_json(self) -> dict[str, Any]:
        """The entry as catalog.json lists it."""
        record = self.record
        return {
            "handle": record.handle,
            "description": record.description,
            "page": self.url,
            "publisher": record.publisher,
            "architecture": record.architecture,
            "network_architecture": self.tags["architecture"].id,
            "dataset": record.dataset,
            "task": record.task,
            "format": record.format,
            "fine_tunable": record.fine_tunable,
            "license": record.license,
            "input": {
                "kind": record.input_kind,
                "height": record.image_size[0],
                "width": record.image_size[1],
            },
            "num_features": record.num_features,
            "num_classes": record.num_classes,
            "parameters": self.parameters,
            "signatures": list(record.signatures),
            "counterpart": record.counterpart,
            "module_url": record.module_url,
            "record_digest": record.digest,
            "artifact": None if self.artifact is None else self.artifact.to_json(),
        }


def parameter_count(record: Record, registry: Registry) -> int | None:
    """Trainable weights of the module's network: the feature extractor's, plus
    num_classes x (num_features + 1) for a classification head (num_features read from the
    feature-vector counterpart). None when the registry does not say."""
    extractor = registry.shared.architectures[record.architecture].parameters
    if extractor is None or not record.is_classification:
        return extractor
    counterpart = registry.records.get(record.counterpart or "")
    if counterpart is None or counterpart.num_features is None:
        return None
    return extractor + record.num_outputs * (counterpart.num_features + 1)


def build_catalog(registry: Registry, artifacts: dict[str, Artifact]) -> list[CatalogEntry]:
    """One entry per record, sorted by handle."""
    shared = registry.shared
    entries = []
    for handle, record in sorted(registry.records.items()):
        architecture = shared.architectures[record.architecture]
        publisher = shared.publishers[record.publisher]
        tags = {
            "task": Tag(record.task, shared.display_name("task", record.task)),
            "architecture": Tag(architecture.network_architecture, architecture.display_name),
            "dataset": Tag(record.dataset, shared.display_name("dataset", record.dataset)),
            "publisher": Tag(publisher.id, publisher.display_name),
        }
        entries.append(
            CatalogEntry(
                record=record,
                tags=tags,
                format_name=shared.display_name("format", record.format),
                parameters=parameter_count(record, registry),
                artifact=artifacts.get(handle),
            )
        )
    return entries


def catalog_json(entries: list[CatalogEntry]) -> str:
    """catalog.json: every module, machine-readable."""
    document = {"modules": [entry.to_json() for entry in entries]}
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
