"""The catalog: every module's facts in one row, for the site's indexes, table and catalog.json."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from hubzoo.record import Deployment, ModuleRecord
from hubzoo.registry import Registry
from hubzoo.render import page_path, renderer_of
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

    record: ModuleRecord
    description: str  # its one-line description, as its pages word it
    tags: dict[str, Tag]  # dimension -> value
    format_name: str
    license_name: str | None
    deployments: tuple[Deployment, ...]
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
    def parameters(self) -> int | None:
        """Trainable weights of the module's network: the feature extractor's, plus
        num_classes x (num_features + 1) for a classification head; None when unknown."""
        record = self.record
        if record.parameters is None or not record.is_classification:
            return record.parameters
        if record.num_features is None:
            return None
        return record.parameters + record.num_outputs * (record.num_features + 1)

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

    @property
    def preprocessing_text(self) -> str:
        """What the module expects and does to it, e.g. "[0, 1]; TF-Slim's Inception-style
        preprocessing: [0, 1] to [-1, 1]"."""
        low, high = self.record.input_range
        return f"[{low}, {high}]; {self.record.preprocessing.description}"

    def to_json(self) -> dict[str, Any]:
        """The entry as catalog.json lists it."""
        record = self.record
        return {
            "handle": record.handle,
            "description": self.description,
            "page": self.url,
            "publisher": record.publisher,
            "family": record.family,
            "variant": record.variant,
            "line": record.line,
            "version": record.version,
            "task": record.task,
            "format": record.format,
            "network": record.network,
            "hyperparameters": dict(record.hyperparameters),
            "network_architecture": record.network_architecture,
            "dataset": record.dataset,
            "license": record.license,
            "fine_tunable": record.fine_tunable,
            "input": {
                "kind": record.input_kind,
                "height": record.image_size[0],
                "width": record.image_size[1],
                "range": list(record.input_range),
            },
            "preprocessing": asdict(record.preprocessing),
            "num_features": record.num_features,
            "num_classes": record.num_classes,
            "parameters": self.parameters,
            "signatures": list(record.signatures),
            "counterpart": record.counterpart,
            "parent": record.parent,
            "deployments": [
                {
                    "handle": deployment.handle,
                    "kind": deployment.kind,
                    "name": deployment.name,
                    "version": deployment.version,
                    "page": page_path(deployment.handle).removesuffix(".md") + "/",
                }
                for deployment in self.deployments
            ],
            "checkpoint": record.checkpoint,
            "module_url": record.module_url,
            "record_digest": record.digest,
            "artifact": None if self.artifact is None else self.artifact.to_json(),
        }


def build_catalog(registry: Registry, artifacts: dict[str, Artifact]) -> list[CatalogEntry]:
    """One entry per module, sorted by handle."""
    shared = registry.shared
    renderer = renderer_of(registry)
    deployments: dict[str, list[Deployment]] = {}
    for _, deployment in sorted(registry.deployments.items()):
        deployments.setdefault(deployment.parent, []).append(deployment)
    entries = []
    for handle, record in sorted(registry.modules.items()):
        publisher = shared.publishers[record.publisher]
        architecture = record.network_architecture
        tags = {
            "task": Tag(record.task, shared.display_name("task", record.task)),
            "architecture": Tag(
                architecture, shared.display_name("network_architecture", architecture)
            ),
            "dataset": Tag(record.dataset, shared.display_name("dataset", record.dataset)),
            "publisher": Tag(publisher.id, publisher.display_name),
        }
        entries.append(
            CatalogEntry(
                record=record,
                description=renderer.description(record),
                tags=tags,
                format_name=shared.display_name("format", record.format),
                license_name=shared.display_name("license", record.license)
                if record.license
                else None,
                deployments=tuple(deployments.get(handle, ())),
                artifact=artifacts.get(handle),
            )
        )
    return entries


def catalog_json(entries: list[CatalogEntry]) -> str:
    """catalog.json: every module, machine-readable."""
    document = {"modules": [entry.to_json() for entry in entries]}
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
