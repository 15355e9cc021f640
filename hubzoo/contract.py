"""The module contract: what a consumer finds in a published module, per task and per format.

Two tables, each the one definition of its facts:

- `TASKS`: per task, the signature that serves it and the record field giving its output width.
- `FORMATS`: per format, how a consumer loads it (TF1 `hub.Module` graph variants, a TF2
  SavedModel with a `__call__` taking `training`, or a deployment: a TF.js graph model or a TF
  Lite flatbuffer converted from a parent module for another runtime), which of the record's
  signatures the artifact carries, and the module under `modules/export/` that exports, checks
  and loads it.

The record validator, the page templates, the exporters, the export check and the smoke test all
read these tables; adding a format is one entry in `FORMATS` plus the exporter module it names.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

IMAGES_INPUT = "images"
"""Input of every signature: float32 images [batch, height, width, 3] with values in [0, 1]."""
MOMENTUM_INPUT = "batch_norm_momentum"
"""Second input of a `*_with_bn_hparams` signature, and an argument of a TF2 `__call__`."""
TRAINING_INPUT = "training"
"""The boolean argument of a TF2 SavedModel's `__call__`."""
DEFAULT_OUTPUT = "default"
"""The output every signature has: features or logits, [batch, width]."""
DEFAULT_SIGNATURE = "default"
"""The signature every module serves."""
BN_HPARAMS_SUFFIX = "_with_bn_hparams"
"""Ends the name of a signature that takes a `batch_norm_momentum` input."""

FEATURE_VECTOR = "image-feature-vector"
CLASSIFICATION = "image-classification"


@dataclass(frozen=True)
class Task:
    """What a module of one task computes, and under which names."""

    id: str  # the record's `task`, an id in registry/tags/task.yaml
    signature: str  # the task's own signature, e.g. "image_feature_vector"
    width_field: str  # the record field giving the `default` output's width
    output_name: str  # what the page's usage snippet calls the output, e.g. "features"
    folder: str  # how a handle spells the task, e.g. "feature_vector"
    also_serves: tuple[str, ...] = ()  # tasks whose signatures a module of this task may also
    # serve (a classifier computes feature vectors on the way to its logits)

    @property
    def bn_hparams_signature(self) -> str:
        """The task's signature that also takes a batch-norm momentum."""
        return self.signature + BN_HPARAMS_SUFFIX

    @property
    def own_signatures(self) -> tuple[str, ...]:
        """The signatures that compute this task's output, `default` first."""
        return (DEFAULT_SIGNATURE, self.signature, self.bn_hparams_signature)

    @property
    def signatures(self) -> tuple[str, ...]:
        """Every signature a module of this task may serve, `default` first."""
        also = (name for task in self.also_serves for name in TASKS[task].own_signatures[1:])
        return (*self.own_signatures, *also)

    def output_task(self, signature: str) -> Task:
        """The task whose output `signature` of a module of this task computes."""
        if signature in self.own_signatures:
            return self
        return next(TASKS[task] for task in self.also_serves if signature in TASKS[task].signatures)


TASKS: dict[str, Task] = {
    task.id: task
    for task in (
        Task(FEATURE_VECTOR, "image_feature_vector", "num_features", "features", "feature_vector"),
        Task(
            CLASSIFICATION, "image_classification", "num_classes", "logits", "classification",
            also_serves=(FEATURE_VECTOR,),
        ),
    )
}  # fmt: skip
TASKS_BY_FOLDER: dict[str, Task] = {task.folder: task for task in TASKS.values()}
"""A task by the folder its handles spell it with."""

ALL_SIGNATURES: tuple[str, ...] = tuple(
    dict.fromkeys(name for task in TASKS.values() for name in task.signatures)
)
"""Every signature name a record may list."""


@dataclass(frozen=True)
class ModuleFormat:
    """How artifacts of one format are built, checked and loaded."""

    name: str  # a module record's `format` (an id in registry/tags/format.yaml), or a deployment's
    # kind as its handle spells it (".../default/tfjs/1")
    tf1_graphs: bool  # True: TF1 Hub format, loaded by hub.Module
    graph_tags: tuple[tuple[str, ...], ...]  # tag sets of the meta graphs the artifact holds
    bn_hparams_signatures: bool  # whether *_with_bn_hparams signatures are in the artifact (TF2:
    # the momentum is a `__call__` argument instead)
    deployment: bool  # a conversion of a parent module for another runtime: it serves `default`
    # alone (images -> default, no end points), for inference only
    runtime: str  # what runs it: TensorFlow, or a deployment's own runtime
    main_file: str  # the file a consumer reads first, which tells the formats' folders apart
    implementation: str  # module under modules/export/ with `export`, `diff` and `load_calls`

    def served_signatures(self, signatures: tuple[str, ...]) -> tuple[str, ...]:
        """The record's signatures that an artifact of this format carries."""
        if self.deployment:
            return (DEFAULT_SIGNATURE,)
        if self.bn_hparams_signatures:
            return signatures
        return tuple(name for name in signatures if not name.endswith(BN_HPARAMS_SUFFIX))


HUB = "hub"
SAVED_MODEL_2 = "saved_model_2"
TFJS = "tfjs"
LITE = "lite"
TENSORFLOW_RUNTIME = "TensorFlow"

FORMATS: dict[str, ModuleFormat] = {
    fmt.name: fmt
    for fmt in (
        ModuleFormat(
            name=HUB,
            tf1_graphs=True,
            graph_tags=((), ("train",)),
            bn_hparams_signatures=True,
            deployment=False,
            runtime=TENSORFLOW_RUNTIME,
            main_file="saved_model.pb",
            implementation="modules.export.tf1_hub",
        ),
        ModuleFormat(
            name=SAVED_MODEL_2,
            tf1_graphs=False,
            graph_tags=(("serve",),),
            bn_hparams_signatures=False,
            deployment=False,
            runtime=TENSORFLOW_RUNTIME,
            main_file="saved_model.pb",
            implementation="modules.export.saved_model2",
        ),
        ModuleFormat(
            name=TFJS,
            tf1_graphs=False,
            graph_tags=(),
            bn_hparams_signatures=False,
            deployment=True,
            runtime="TensorFlow.js",
            main_file="model.json",
            implementation="modules.export.tfjs",
        ),
        ModuleFormat(
            name=LITE,
            tf1_graphs=False,
            graph_tags=(),
            bn_hparams_signatures=False,
            deployment=True,
            runtime="LiteRT",
            main_file="model.tflite",
            implementation="modules.export.tflite",
        ),
    )
}
MODULE_FORMATS: tuple[str, ...] = tuple(name for name, fmt in FORMATS.items() if not fmt.deployment)
"""The formats a module record may state; the others are deployments of a module."""

METADATA_DEPLOYMENTS: dict[str, tuple[str, ...]] = {LITE: ("metadata",)}
"""Per deployment format, the deployment names whose artifact carries its runtime's model
metadata (for `lite`: TF Lite Metadata with the class labels packed in, as tfhub.dev's
".../metadata/lite/1" pages say); the other names of the format carry none."""

SMOKE_DEVICES = ("auto", "gpu", "cpu")
"""Where the smoke test may run: auto takes a GPU when TensorFlow sees one, else the CPU."""
