"""Resolved records: every fact of one module version or deployment, in one flat dataclass each.

`hubzoo.resolve` builds them from a record file and its family's layers; pages, the catalog,
the export, the export check and the smoke test all read their facts from them. A record's
`digest` is the sha256 of its resolved facts (`hubzoo.lock`): what registry/records.lock
pins for published versions and what a published artifact's manifest names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hubzoo.contract import (
    CLASSIFICATION,
    FEATURE_VECTOR,
    FORMATS,
    METADATA_DEPLOYMENTS,
    TASKS,
    ModuleFormat,
    Task,
)
from hubzoo.preprocessing import InputMapping


@dataclass(frozen=True)
class ModuleRecord:
    """One module version with every fact resolved."""

    # Where it sits
    handle: str  # PUBLISHER/NAMESPACE.../NAME/[LINE/]TASK/VERSION, its record file's path
    publisher: str  # the handle's first segment, an id in registry/publishers/
    family: str  # id in registry/families/
    variant: str  # the module name, e.g. "mobilenet_v2_035_128"
    line: str  # the family's line, "standard" or e.g. "quantops"
    task: str  # a key of hubzoo.contract.TASKS
    version: int  # the handle's last segment
    parent: str | None  # handle of the module it derives from (a quantops graph: the plain one)
    counterpart: str | None  # handle of the same module for the other task, if any

    # What the module is
    format: str  # a key of hubzoo.contract.FORMATS: "hub" (TF1 Hub) or "saved_model_2"
    fine_tunable: bool  # consumers may train it further
    quantized: bool  # the graph is instrumented for quantization
    dataset: str  # id in registry/tags/dataset.yaml
    network_architecture: str  # id in registry/tags/network_architecture.yaml
    license: str | None  # id in registry/tags/license.yaml, when stated
    input_kind: str  # "fixed": images must be image_size; "variable": image_size is the default
    image_size: tuple[int, int]  # (height, width) expected, or the default when variable
    input_range: tuple[float, float]  # the color values the module expects, e.g. (0, 1)
    preprocessing: InputMapping  # what the module does to those values first
    num_features: int | None  # feature vector length, when stated
    num_classes: int | None  # number of logits, when stated
    labels_url: str | None  # the file mapping class indices to labels
    signatures: tuple[str, ...]  # signature names the module serves, `default` first
    batch_norm_momentum: float | None  # default momentum when fine-tuning can set it

    # How the zoo builds it
    network: str | None  # network name in modules/nets; None: there is none to build it with
    hyperparameters: Mapping[str, Any]  # the network's hyperparameters, e.g. depth_multiplier
    min_image_size: int | None  # smallest height/width the network accepts
    parameters: int | None  # trainable values of the network's feature extractor, if known
    checkpoint: str | None  # the checkpoint exported, as its page names it; None: no public one
    collection: str | None  # id in registry/collections.yaml the page credits for it
    checkpoint_url: str | None  # the tarball the publish pipeline downloads
    checkpoint_member: str | None  # the checkpoint prefix inside the tarball
    checkpoint_sha256: str | None  # the tarball's sha256; None when unknown

    # How its pages word it
    era: str  # page era of its tfhub.dev page (templates/eras.yaml)
    docs_era: str  # page era of its docs/ page
    module_url: str  # URL its tfhub.dev page's usage example loads
    docs_module_url: str  # URL its docs/ page's usage example loads
    asset_path: str  # tfhub.dev's asset-path
    colab: str | None  # URL of a Colab notebook using it
    display_name: str  # the network's name in descriptions, e.g. "MobileNet V2 (depth ...)"
    description: str | None  # its own one-line description; None: the task's standard wording
    overview: str  # text id (registry/texts.yaml, kind overview)
    implementation: str  # text id (kind implementation)
    training: str  # text id (kind training)
    dropout_note: str | None  # text id (kind dropout_note)
    depth_rounding_network: str | None  # MobileNet depth rounding note: the network's name
    depth_rounding_multiple: int | None  # ... and the multiple feature depths round to
    changes: tuple[tuple[int, tuple[str, ...]], ...]  # (version, changelog note ids), up to
    # this version
    show_changelog: bool  # its pages show the changelog
    links: Mapping[str, str]  # links of its pages that differ from the era's
    layout: Mapping[str, Any]  # layout that differs from the era's

    # The variant's own facts
    depth_multiplier: float | None  # width multiplier of the convolutional layers
    layers: int | None  # number of layers (ResNets)
    size: str | None  # size class named in the module name: large, small, mobile

    digest: str  # sha256 of every fact above (hubzoo.lock.record_digest)

    @property
    def name(self) -> str:
        """The handle without publisher and version, e.g. "imagenet/inception_v1/feature_vector"."""
        return self.handle.split("/", 1)[1].rsplit("/", 1)[0]

    @property
    def variable_input(self) -> bool:
        """True when the module accepts images of sizes other than `image_size`."""
        return self.input_kind == "variable"

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

    @property
    def num_outputs(self) -> int:
        """Length of the `default` output: num_features or num_classes."""
        width = self.num_features if self.task == FEATURE_VECTOR else self.num_classes
        assert width is not None, "validation guarantees the task's output width"
        return width

    @property
    def variant_facts(self) -> dict[str, Any]:
        """The variant's own facts that it states, by name."""
        facts = {
            "depth_multiplier": self.depth_multiplier,
            "image_size": self.image_size[0],
            "layers": self.layers,
            "size": self.size,
        }
        return {key: value for key, value in facts.items() if value is not None}


@dataclass(frozen=True)
class Deployment:
    """A deployment (a module converted for another runtime) with every fact resolved. A
    conversion keeps its parent's output widths (`ModuleRecord.num_outputs`)."""

    handle: str  # PARENT/NAME/KIND/VERSION, its record file's path
    parent: str  # handle of the module it converts
    kind: str  # "tfjs" or "lite" (hubzoo.handles.DEPLOYMENT_KINDS)
    name: str  # "default", or e.g. "metadata"
    version: int  # the handle's last segment
    era: str  # page era (templates/eras.yaml, deployment)
    asset_path: str  # tfhub.dev's asset-path of the converted model
    demo: str | None  # URL of a demo using it
    interactive_visualizer: str | None  # id in registry/tags/interactive_visualizer.yaml
    stated_num_features: int | None  # its page's feature vector length, where the page is wrong
    layout: Mapping[str, Any]  # layout that differs from the era's
    digest: str  # sha256 of every fact above (hubzoo.lock.record_digest)

    @property
    def carries_metadata(self) -> bool:
        """Whether the converted model carries its runtime's model metadata (and labels)."""
        return self.name in METADATA_DEPLOYMENTS.get(self.kind, ())

    @property
    def title_handle(self) -> str:
        """The handle as the page's title spells it: PARENT/NAME/VERSION."""
        return f"{self.parent}/{self.name}/{self.version}"

    @property
    def model_url(self) -> str:
        """tfhub.dev's URL of the converted model: PUBLISHER/KIND-model/REST/NAME/VERSION."""
        publisher, rest = self.parent.split("/", 1)
        return f"https://tfhub.dev/{publisher}/{self.kind}-model/{rest}/{self.name}/{self.version}"
