"""The record: every fact about one published module version, in one flat dataclass.

A record is read from `registry/HANDLE.yaml` once it has passed validation; the page, the
export, the export check and the smoke test all take their facts from it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from hubzoo.contract import CLASSIFICATION, FEATURE_VECTOR, FORMATS, TASKS, ModuleFormat, Task
from hubzoo.schema import load_schema
from hubzoo.yamlnodes import Node, to_python

DEFAULT_MODULE_URL = "https://tfhub.dev/{handle}"


@cache
def _handle_pattern() -> re.Pattern[str]:
    """A handle's form: the record schema's pattern, the one definition of it."""
    return re.compile(load_schema()["properties"]["handle"]["pattern"])


def is_handle(text: str) -> bool:
    """Whether `text` is a well-formed module handle: publisher/name.../version (1, 2, ...)."""
    return isinstance(text, str) and _handle_pattern().fullmatch(text) is not None


@dataclass(frozen=True)
class Checkpoint:
    """Where the weights inside the module come from."""

    name: str  # as the page names it, e.g. "inception_v1_2016_08_28/inception_v1.ckpt"
    collection: str  # id in registry/collections/, e.g. "tf-slim"
    url: str  # the tarball holding it
    member: str  # checkpoint prefix inside the tarball, e.g. "inception_v1.ckpt"
    sha256: str | None  # of the tarball; None when unknown (written `unknown` in YAML)


@dataclass(frozen=True)
class Record:
    """One module version (a module handle), as its YAML record states it."""

    handle: str  # PUBLISHER/NAME.../VERSION, e.g. "google/imagenet/inception_v1/feature_vector/1"
    description: str  # the page's one-line description
    publisher: str  # id in registry/publishers/
    architecture: str  # id in registry/architectures/ (also the network's name in modules.nets)
    dataset: str  # id in the dataset vocabulary
    task: str  # "image-feature-vector" or "image-classification"
    format: str  # "hub" (TF1 Hub format) or "saved_model_2"
    fine_tunable: bool  # consumers may train it further (a {"train"} graph for format hub)
    asset_path: str  # tfhub.dev asset-path ("legacy" for modules tfhub.dev migrated)
    license: str | None  # id in the license vocabulary, when the page states one
    input_kind: str  # "fixed": images must be image_size; "variable": image_size is the default
    image_size: tuple[int, int]  # (height, width) expected, or default when variable
    num_features: int | None  # feature vector length (feature-vector modules)
    num_classes: int | None  # number of logits (classification modules)
    checkpoint: Checkpoint  # provenance of the weights
    signatures: tuple[str, ...]  # signature names, "default" first
    batch_norm_momentum: float | None  # default momentum of the *_with_bn_hparams signature
    counterpart: str | None  # handle of the sibling module of the other task
    changelog: dict[int, tuple[str, ...]]  # version -> bullet points (markdown)
    page_era: str  # page format: "relative-links", "display-metadata" or "tfhub-dev"
    module_url: str  # URL the page's usage snippet loads
    digest: str  # sha256 of the record file's bytes, for provenance in manifests

    @property
    def version(self) -> int:
        """The version number, the handle's last segment."""
        return int(self.handle.rsplit("/", 1)[1])

    @property
    def name(self) -> str:
        """The handle without publisher and version, e.g. "imagenet/inception_v1/feature_vector"."""
        return self.handle.split("/", 1)[1].rsplit("/", 1)[0]

    @property
    def variable_input(self) -> bool:
        """True when the module accepts images of sizes other than `image_size`."""
        return self.input_kind == "variable"

    @property
    def num_outputs(self) -> int:
        """Length of the `default` output: num_features or num_classes."""
        width = self.num_features if self.task == FEATURE_VECTOR else self.num_classes
        assert width is not None, "validation guarantees the task's output width"
        return width

    @property
    def is_classification(self) -> bool:
        """True for image-classification modules."""
        return self.task == CLASSIFICATION

    @property
    def task_contract(self) -> Task:
        """What the module's task computes, and its signature names."""
        return TASKS[self.task]

    @property
    def module_format(self) -> ModuleFormat:
        """How modules of the record's format are built, checked and loaded."""
        return FORMATS[self.format]


def record_from_node(node: Node, raw: bytes) -> Record:
    """Build a Record from a document node that passed validation."""
    data: dict[str, Any] = to_python(node)
    size = data["input_size"]
    checkpoint = data["checkpoint"]
    sha = checkpoint["sha256"]
    page = data["page"]
    return Record(
        handle=data["handle"],
        description=data["description"],
        publisher=data["publisher"],
        architecture=data["architecture"],
        dataset=data["dataset"],
        task=data["task"],
        format=data["format"],
        fine_tunable=data["fine_tunable"],
        asset_path=data["asset_path"],
        license=data.get("license"),
        input_kind=size["kind"],
        image_size=(size["height"], size["width"]),
        num_features=data.get("num_features"),
        num_classes=data.get("num_classes"),
        checkpoint=Checkpoint(
            name=checkpoint["name"],
            collection=checkpoint["collection"],
            url=checkpoint["url"],
            member=checkpoint["member"],
            sha256=None if sha == "unknown" else sha,
        ),
        signatures=tuple(data["signatures"]),
        batch_norm_momentum=data.get("batch_norm_momentum"),
        counterpart=data.get("counterpart"),
        changelog={int(version): tuple(notes) for version, notes in data["changelog"].items()},
        page_era=page["era"],
        module_url=page.get("module_url", DEFAULT_MODULE_URL.format(handle=data["handle"])),
        digest=hashlib.sha256(raw).hexdigest(),
    )
