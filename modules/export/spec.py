"""What an exporter needs to know about one module, taken from its record."""

from dataclasses import dataclass

from hubzoo.contract import BN_HPARAMS_SUFFIX, CLASSIFICATION, DEFAULT_SIGNATURE, TASKS
from modules.preprocessing import INCEPTION_STYLE, InputMapping


@dataclass(frozen=True)
class ExportSpec:
    """The record's facts an export must honour; `pipeline.publish.export_spec` builds it."""

    handle: str
    net: str
    task: str
    num_outputs: int
    image_size: tuple[int, int]
    variable_size: bool
    signatures: tuple[str, ...]
    batch_norm_momentum: float | None
    synthetic: bool
    input_mapping: InputMapping = INCEPTION_STYLE  # [0, 1] images -> the net's inputs

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"{self.handle}: unsupported task {self.task!r}")
        if DEFAULT_SIGNATURE not in self.signatures:
            raise ValueError(f"{self.handle}: signatures must include '{DEFAULT_SIGNATURE}'")
        if self.batch_norm_momentum is None and self.bn_hparams_signatures:
            raise ValueError(f"{self.handle}: a bn-hparams signature needs batch_norm_momentum")

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

    def exporter_job(self, checkpoint: str, out: str) -> dict[str, object]:
        """JSON-ready job for an exporter in another venv (benchmarks/hub015_exporter.py)."""
        return {
            "handle": self.handle,
            "net": self.net,
            "num_classes": self.num_classes,
            "image_size": list(self.image_size),
            "variable_size": self.variable_size,
            "signatures": list(self.signatures),
            "momentum": self.batch_norm_momentum,
            "checkpoint": checkpoint,
            "out": out,
        }

    @property
    def provenance(self) -> dict[str, object]:
        """What the export records about its origin (in `assets/hubzoo_provenance.json`)."""
        return {"handle": self.handle, "net": self.net, "synthetic": self.synthetic}
