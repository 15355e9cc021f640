"""The catalog: every module's facts in one entry, the one source of the site's pages (model
pages, browse indexes, family pages, the comparison table) and of catalog.json."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from itertools import takewhile
from typing import Any

from hubzoo.manifest import SYNTHETIC as SYNTHETIC_CHECKPOINT
from hubzoo.record import Deployment, ModuleRecord
from hubzoo.registry import Registry
from hubzoo.render import page_path, renderer_of
from hubzoo.site.artifacts import Artifact
from hubzoo.store import ARCHIVE_SUFFIX

DIMENSIONS = ("task", "architecture", "dataset", "publisher", "format")
"""The ways the site lets people browse, in menu order."""


class Status(StrEnum):
    """Whether the zoo's store holds an archive of a module version, and of what weights."""

    PUBLISHED = "published"  # built from a trained checkpoint
    SYNTHETIC = SYNTHETIC_CHECKPOINT  # built from a synthetic checkpoint: for plumbing tests only
    UNPUBLISHED = "unpublished"  # no archive in the store


def status_of(artifact: Artifact | None) -> Status:
    """The status of a version whose published archive is `artifact` (None: not published)."""
    if artifact is None:
        return Status.UNPUBLISHED
    return Status.SYNTHETIC if artifact.synthetic else Status.PUBLISHED


def module_of(handle: str) -> str:
    """The module a version's handle belongs to: the handle without its version."""
    return handle.rpartition("/")[0]


@dataclass(frozen=True)
class Tag:
    """A value a module can be browsed by: its id (also the index anchor) and display name."""

    id: str
    display_name: str


@dataclass(frozen=True)
class VersionSummary:
    """One version of a module, as the version history of its other versions lists it."""

    version: int
    handle: str
    format_name: str
    status: Status

    @property
    def page(self) -> str:
        """Its model page, relative to the docs root."""
        return page_path(self.handle)


@dataclass(frozen=True)
class DeploymentEntry:
    """One deployment of a module version, with its published archive if the store holds one."""

    deployment: Deployment
    artifact: Artifact | None
    zoo_url: str  # the zoo's base URL, ending in "/"

    @property
    def handle(self) -> str:
        """The deployment's handle."""
        return self.deployment.handle

    @property
    def page(self) -> str:
        """Its page, relative to the docs root."""
        return page_path(self.deployment.handle)

    @property
    def status(self) -> Status:
        """Whether, and from what weights, the store holds its archive."""
        return status_of(self.artifact)

    @property
    def archive_url(self) -> str:
        """Where its archive is served: ZOO_URL/HANDLE.tar.gz."""
        return f"{self.zoo_url}{self.deployment.handle}{ARCHIVE_SUFFIX}"

    def to_json(self) -> dict[str, Any]:
        """The deployment as catalog.json lists it."""
        deployment = self.deployment
        return {
            "handle": deployment.handle,
            "kind": deployment.kind,
            "name": deployment.name,
            "version": deployment.version,
            "page": self.page.removesuffix(".md") + "/",
            "status": self.status,
            "artifact": None
            if self.artifact is None
            else {"url": self.archive_url, **self.artifact.to_json()},
        }


@dataclass(frozen=True)
class CatalogEntry:
    """One module version with every fact the site shows about it."""

    record: ModuleRecord
    label: str  # the handle without namespace, task and version, e.g. "mobilenet_v1_025_128"
    description: str  # its one-line description, as its pages word it
    family: Tag  # its family: id and display name
    tags: dict[str, Tag]  # dimension -> value
    license_name: str | None
    deployments: tuple[DeploymentEntry, ...]
    artifact: Artifact | None
    versions: tuple[VersionSummary, ...]  # every version of the module, newest first
    zoo_url: str  # the zoo's base URL, ending in "/": where the store's archives are served

    @property
    def page(self) -> str:
        """The model page, relative to the docs root."""
        return page_path(self.record.handle)

    @property
    def url(self) -> str:
        """The model page's URL on the site, relative to the site root."""
        return self.page.removesuffix(".md") + "/"

    @property
    def module(self) -> str:
        """The module this is a version of: its handle without the version."""
        return module_of(self.record.handle)

    @property
    def status(self) -> Status:
        """Whether, and from what weights, the store holds this version's archive."""
        return status_of(self.artifact)

    @property
    def latest_version(self) -> int:
        """The newest version of the module."""
        return self.versions[0].version

    @property
    def archive_url(self) -> str:
        """Where `hub.load` and a browser get this version's archive: ZOO_URL/HANDLE.tar.gz (the
        store's own layout, so any static host serving the store answers it)."""
        return f"{self.zoo_url}{self.record.handle}{ARCHIVE_SUFFIX}"

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
            "latest_version": self.latest_version,
            "versions": [
                {"version": v.version, "handle": v.handle, "status": v.status}
                for v in self.versions
            ],
            "status": self.status,
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
            "deployments": [deployment.to_json() for deployment in self.deployments],
            "checkpoint": record.checkpoint,
            "module_url": record.module_url,
            "record_digest": record.digest,
            "artifact": None if self.artifact is None else self._artifact_json(self.artifact),
        }

    def _artifact_json(self, artifact: Artifact) -> dict[str, Any]:
        return {"url": self.archive_url, **artifact.to_json()}


def build_catalog(
    registry: Registry, artifacts: dict[str, Artifact], zoo_url: str
) -> list[CatalogEntry]:
    """One entry per module, sorted by handle; `zoo_url` is the zoo's base URL."""
    shared = registry.shared
    renderer = renderer_of(registry)
    zoo_url = zoo_url.rstrip("/") + "/"
    families = family_tags(registry.modules.values(), shared.vocabularies["network_architecture"])
    deployments: dict[str, list[DeploymentEntry]] = defaultdict(list)
    for handle, deployment in sorted(registry.deployments.items()):
        entry = DeploymentEntry(deployment, artifacts.get(handle), zoo_url)
        deployments[deployment.parent].append(entry)
    versions: dict[str, list[VersionSummary]] = defaultdict(list)
    for handle, record in registry.modules.items():
        format_name = shared.display_name("format", record.format)
        summary = VersionSummary(
            record.version, handle, format_name, status_of(artifacts.get(handle))
        )
        versions[module_of(handle)].append(summary)
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
            "format": Tag(record.format, shared.display_name("format", record.format)),
        }
        namespace = registry.families[record.family].namespace
        entries.append(
            CatalogEntry(
                record=record,
                label=module_of(handle).removeprefix(namespace + "/").rpartition("/")[0],
                description=renderer.description(record),
                family=families[record.family],
                tags=tags,
                license_name=shared.display_name("license", record.license)
                if record.license
                else None,
                deployments=tuple(deployments[handle]),
                artifact=artifacts.get(handle),
                versions=tuple(sorted(versions[module_of(handle)], key=lambda v: -v.version)),
                zoo_url=zoo_url,
            )
        )
    return entries


def family_tags(
    modules: Iterable[ModuleRecord], architecture_names: Mapping[str, str]
) -> dict[str, Tag]:
    """Each family's id and display name: the words its architectures' names share, e.g.
    "ResNet V1" for ResNet V1 50, 101 and 152."""
    names: dict[str, set[str]] = defaultdict(set)
    for record in modules:
        names[record.family].add(architecture_names[record.network_architecture])
    tags = {}
    for family, family_names in names.items():
        columns = zip(*(name.split() for name in family_names), strict=False)
        shared = [words[0] for words in takewhile(lambda words: len(set(words)) == 1, columns)]
        tags[family] = Tag(family, " ".join(shared) or family)
    return tags


def catalog_json(entries: list[CatalogEntry]) -> str:
    """catalog.json: every module, machine-readable."""
    document = {"modules": [entry.to_json() for entry in entries]}
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
