"""What an exporter needs to know about one module, taken from its record."""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from hubzoo.contract import BN_HPARAMS_SUFFIX, CLASSIFICATION, DEFAULT_SIGNATURE, TASKS
from hubzoo.preprocessing import InputMapping


@dataclass(frozen=True)
class LiteMetadataFacts:
    """The record's facts a TF Lite metadata deployment writes as TF Lite Metadata;
    `pipeline.deployments.lite_metadata_facts` builds them from the registry."""

    name: str  # the model's name: its network, e.g. "MobileNet V3 small (depth multiplier 0.75)"
    description: str  # what the model is, in one line
    version: str  # the deployment's version
    author: str  # the publisher's display name
    license: str | None  # the license's display name, when the record states one
    input_range: tuple[float, float]  # the `images` values the module expects, e.g. (0, 1)
    output_description: str  # what the `default` output holds
    labels_file: str | None  # a classifier's labels file name, packed into the model
    labels: tuple[str, ...] = ()  # its lines, one label per class index


@dataclass(frozen=True)
class ExportSpec:
    """The record's facts an export must honour; `pipeline.publish.export_spec` builds it."""

    handle: str
    net: str  # network name in modules.nets
    task: str  # a key of hubzoo.contract.TASKS
    num_outputs: int  # width of the task's output (features or logits)
    image_size: tuple[int, int]
    variable_size: bool
    signatures: tuple[str, ...]
    batch_norm_momentum: float | None
    input_mapping: InputMapping  # [0, 1] images -> the net's inputs
    synthetic: bool
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)  # e.g. depth_multiplier
    num_features: int | None = None  # width of a classifier's feature vector signatures
    lite_metadata: LiteMetadataFacts | None = None  # a TF Lite metadata deployment's facts

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"{self.handle}: unsupported task {self.task!r}")
        if DEFAULT_SIGNATURE not in self.signatures:
            raise ValueError(f"{self.handle}: signatures must include '{DEFAULT_SIGNATURE}'")
        unknown = [name for name in self.signatures if name not in TASKS[self.task].signatures]
        if unknown:
            raise ValueError(f"{self.handle}: signatures {unknown} do not belong to {self.task}")
        if self.batch_norm_momentum is None and self.bn_hparams_signatures:
            raise ValueError(f"{self.handle}: a bn-hparams signature needs batch_norm_momentum")
        if self.feature_signatures and self.num_features is None:
            raise ValueError(f"{self.handle}: a feature vector signature needs num_features")

    @property
    def num_classes(self) -> int | None:
        """The classifier width for `create_net`: None for a feature vector."""
        return self.num_outputs if self.task == CLASSIFICATION else None

    @property
    def images_shape(self) -> tuple[int | None, ...]:
        """The shape of the `images` input: batch and, if variable-size, height and width free."""
        if self.variable_size:
            return (None, None, None, 3)
        return (None, *self.image_size, 3)

    @property
    def bn_hparams_signatures(self) -> tuple[str, ...]:
        """Signatures that take a `batch_norm_momentum` input besides `images`."""
        return tuple(name for name in self.signatures if name.endswith(BN_HPARAMS_SUFFIX))

    @property
    def feature_signatures(self) -> tuple[str, ...]:
        """Signatures computing another task's output: a classifier's feature vectors."""
        task = TASKS[self.task]
        return tuple(name for name in self.signatures if task.output_task(name) is not task)

    def signature_width(self, name: str) -> int:
        """The width of signature `name`'s `default` output."""
        if name in self.feature_signatures:
            assert self.num_features is not None, "checked when the spec is made"
            return self.num_features
        return self.num_outputs

    def exporter_job(self, checkpoint: str, out: str) -> dict[str, object]:
        """JSON-ready job for an exporter in another venv (benchmarks/hub015_exporter.py)."""
        return {
            "handle": self.handle,
            "net": self.net,
            "hyperparameters": dict(self.hyperparameters),
            "num_classes": self.num_classes,
            "image_size": list(self.image_size),
            "variable_size": self.variable_size,
            "signatures": list(self.signatures),
            "feature_signatures": list(self.feature_signatures),
            "momentum": self.batch_norm_momentum,
            "input_mapping": asdict(self.input_mapping),
            "checkpoint": checkpoint,
            "out": out,
        }

    @property
    def provenance(self) -> dict[str, object]:
        """What the export records about its origin (in `assets/hubzoo_provenance.json`)."""
        return {"handle": self.handle, "net": self.net, "synthetic": self.synthetic}
