"""Publish a deployment: record -> checkpoint -> export parent and deployment -> check -> package
-> smoke -> parity -> store -> site.

A deployment (`hubzoo.record.Deployment`, a TF.js or TF Lite conversion of a parent module) is
built from its parent's record: the parent's checkpoint (or a synthetic one), exported once in
the parent's own format and once in the deployment's, from the same weights. The deployment must
pass its format's export check, the smoke test in its runtime, give outputs of the record's
width, and match the parent module run by TensorFlow on the same images within `PARITY`. It is
then packed like a module (a reproducible .tar.gz of its files) and put in the store under its
own handle with a manifest whose format is the deployment's: versioned, checksummed, immutable.
"""

from __future__ import annotations

import dataclasses
import difflib
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from hubzoo.contract import (
    CLASSIFICATION,
    DEFAULT_OUTPUT,
    DEFAULT_SIGNATURE,
    FORMATS,
    LITE,
    TFJS,
)
from hubzoo.errors import HubzooError
from hubzoo.handles import deployment_handle
from hubzoo.labels import read_labels
from hubzoo.manifest import SYNTHETIC
from hubzoo.package import package_module, unpack_artifact
from hubzoo.paths import REGISTRY_DIR
from hubzoo.progress import Progress
from hubzoo.record import Deployment, ModuleRecord
from hubzoo.registry import MAX_PROBLEMS_SHOWN, Registry, load_registry
from hubzoo.store import PublishLock, Store, open_store
from hubzoo.toolchains import NodePackages, require_tfjs_converter
from pipeline.publish import (
    WORK_DIR,
    Pipeline,
    PublishOptions,
    PublishSummary,
    buildable_network,
    cannot_be_identical,
    check_checkpoint_choice,
    check_device,
    check_network,
    export_spec,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np

    from modules.export.spec import ExportSpec, LiteMetadataFacts

PARITY = 1e-4
"""Largest error allowed between a deployment and its parent module, relative to the largest
magnitude of the parent's output on the same images."""
PARITY_IMAGES = 2
"""How many seeded random images the parity check runs."""
PARITY_SEED = 0


@dataclasses.dataclass
class DeploymentSummary(PublishSummary):
    """What a deployment publish did: a module's summary, plus its parent and the parity."""

    parent: str = ""
    parity_error: float | None = None

    def lines(self) -> list[str]:
        parity = "-" if self.parity_error is None else f"{self.parity_error:.2e}"
        extra = [f"parent:     {self.parent}", f"parity:     {parity} (limit {PARITY:g})"]
        lines = super().lines()
        return [*lines[:2], *extra, *lines[2:]]


def find_deployment(registry: Registry, query: str) -> Deployment:
    """The deployment whose handle is `query` or ends with `/query`; an error names candidates."""
    query = query.strip().strip("/")
    if query in registry.deployments:
        return registry.deployments[query]
    matches = sorted(h for h in registry.deployments if h.endswith("/" + query))
    if len(matches) == 1:
        return registry.deployments[matches[0]]
    if matches:
        listing = "\n  ".join(matches[:MAX_PROBLEMS_SHOWN])
        raise HubzooError(f"'{query}' is ambiguous; it matches:\n  {listing}")
    close = difflib.get_close_matches(query, list(registry.deployments), n=3, cutoff=0.5)
    hint = ("; did you mean:\n  " + "\n  ".join(close)) if close else ""
    raise HubzooError(f"no deployment '{query}' in the registry{hint}")


def spec_to_check(
    registry: Registry, query: str, synthetic: bool, registry_dir: Path = REGISTRY_DIR
) -> tuple[str, ExportSpec]:
    """The handle and spec an export is checked against: the deployment's (TF Lite Metadata
    facts included) when `query` has a deployment handle's shape, as `publish` decides, else the
    module's `registry.find` gives."""
    query = query.strip().strip("/")
    if deployment_handle(query) is not None:
        deployment = find_deployment(registry, query)
        parent = registry.modules[deployment.parent]
        facts = lite_metadata_facts(registry, deployment, parent, registry_dir)
        return deployment.handle, deployment_spec(deployment, parent, synthetic, facts)
    record = registry.find(query)
    return record.handle, export_spec(record, synthetic)


def buildable_parent(registry: Registry, deployment: Deployment) -> tuple[ModuleRecord, str]:
    """The parent record and its network; HubzooError in one line when hubzoo cannot build it."""
    parent = registry.modules[deployment.parent]
    try:
        return parent, buildable_network(parent)
    except HubzooError as error:
        raise HubzooError(
            f"{deployment.handle} cannot be published: its parent module cannot be built: {error}"
        ) from None


def deployment_spec(
    deployment: Deployment,
    parent: ModuleRecord,
    synthetic: bool,
    lite_metadata: LiteMetadataFacts | None = None,
) -> ExportSpec:
    """The exporter's view of a deployment: its parent's spec, under the deployment's handle (so
    its provenance names the deployment), with the TF Lite Metadata facts of a metadata
    deployment (`lite_metadata_facts`)."""
    return dataclasses.replace(
        export_spec(parent, synthetic), handle=deployment.handle, lite_metadata=lite_metadata
    )


def lite_metadata_facts(
    registry: Registry,
    deployment: Deployment,
    parent: ModuleRecord,
    registry_dir: Path = REGISTRY_DIR,
) -> LiteMetadataFacts | None:
    """What a metadata deployment's TF Lite Metadata states, from the registry (None for a
    deployment that carries none): its parent's network name, publisher, license and input
    range, and a classifier's labels, the registry's copy of the file its `labels_url` names.
    HubzooError when a classifier's labels are missing or do not match its output width."""
    from modules.export.spec import LiteMetadataFacts

    if deployment.kind != LITE or not deployment.carries_metadata:
        return None
    width = parent.num_outputs
    labels = None
    if parent.task == CLASSIFICATION:
        if parent.labels_url is None:
            raise HubzooError(f"{deployment.handle}: its parent states no labels_url to pack")
        labels = read_labels(parent.labels_url, registry_dir)
        if len(labels.labels) != width:
            raise HubzooError(
                f"{deployment.handle}: {labels.file_name} has {len(labels.labels)} labels, the "
                f"record says {width} classes"
            )
        output = (
            f"A logits-vector with shape [batch_size, {width}], one per class of the labels file"
        )
    else:
        output = (
            f"A batch of feature vectors, i.e. an image embedding, of shape [batch_size, {width}]"
        )
    license_name = (
        None if parent.license is None else registry.shared.display_name("license", parent.license)
    )
    return LiteMetadataFacts(
        name=parent.display_name,
        description=f"TF Lite deployment of {parent.handle}.",
        version=str(deployment.version),
        author=registry.shared.publishers[parent.publisher].display_name,
        license=license_name,
        input_range=parent.input_range,
        output_description=output,
        labels_file=None if labels is None else labels.file_name,
        labels=() if labels is None else labels.labels,
    )


def parity_images(spec: ExportSpec) -> np.ndarray:
    """The seeded batch of random [0, 1] images the parity check runs, at the expected size."""
    import numpy as np

    rng = np.random.default_rng(PARITY_SEED)
    return rng.random((PARITY_IMAGES, *spec.image_size, 3), dtype=np.float32)


def parent_output(parent_dir: Path, images: np.ndarray) -> np.ndarray:
    """What the parent module exported at `parent_dir`, loaded by tensorflow_hub, computes on
    `images` through its `default` signature."""
    import tensorflow_hub as hub

    module = hub.load(str(parent_dir))
    return module.signatures[DEFAULT_SIGNATURE](images=images)[DEFAULT_OUTPUT].numpy()


def relative_error(found: np.ndarray, expected: np.ndarray) -> float:
    """The largest difference, relative to the largest magnitude of `expected`."""
    import numpy as np

    return float(np.max(np.abs(found - expected)) / max(float(np.max(np.abs(expected))), 1e-30))


def check_parity(
    deployment_dir: Path, spec: ExportSpec, kind: str, expected: np.ndarray, width: int
) -> float:
    """Run the deployment in its runtime on `parity_images(spec)`; HubzooError unless its output
    has the record's shape and matches `expected` within PARITY. Returns the relative error."""
    import numpy as np

    from modules.export import format_implementation

    calls = format_implementation(kind).load_calls(deployment_dir, spec).inference
    found = np.asarray(calls[DEFAULT_SIGNATURE](parity_images(spec))[DEFAULT_OUTPUT])
    del calls  # ends a TF.js runtime's Node process and server
    if found.shape != (PARITY_IMAGES, width):
        raise HubzooError(
            f"{spec.handle}: the {kind} deployment outputs shape {list(found.shape)}, its record "
            f"says [{PARITY_IMAGES}, {width}]"
        )
    error = relative_error(found, expected)
    if not error <= PARITY:
        raise HubzooError(
            f"{spec.handle}: the {kind} deployment departs from its parent module by {error:.2e} "
            f"(relative; the limit is {PARITY:g})"
        )
    return error


class DeploymentPipeline(Pipeline):
    """The publish pipeline's stages for a deployment."""

    def run(self) -> DeploymentSummary:
        with ExitStack() as held:
            return self._run(held)

    def _run(self, held: ExitStack) -> DeploymentSummary:
        options = self.options
        with self.stage("validate record"):
            registry = load_registry(options.registry_dir)
            deployment = find_deployment(registry, options.query)
            parent, network = buildable_parent(registry, deployment)
            if options.format not in (None, deployment.kind):
                raise HubzooError(
                    f"{deployment.handle} is a {deployment.kind} deployment; --format "
                    f"{options.format} does not apply to it"
                )
            check_checkpoint_choice(parent, options)
            lite_metadata = lite_metadata_facts(registry, deployment, parent, options.registry_dir)
        store, lock = None, None
        if not options.dry_run:
            with self.stage("check store"):
                store, lock = check_deployment_store(options, deployment, parent)
                held.enter_context(lock)
        with self.stage("check runtime"):
            check_device("cpu", options.verbose)  # starts TensorFlow quietly
            from modules.smoke import deployment_device

            deployment_device(options.device, FORMATS[deployment.kind].runtime)
            if deployment.kind == TFJS:  # the converter venv and TF.js in Node, else one line
                require_tfjs_converter()
                NodePackages().require()
            check_network(network, parent)
        WORK_DIR.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="publish-", dir=WORK_DIR))
        try:
            return self._build(deployment, parent, lite_metadata, store, lock, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _build(
        self,
        deployment: Deployment,
        parent: ModuleRecord,
        lite_metadata: LiteMetadataFacts | None,
        store: Store | None,
        lock: PublishLock | None,
        work: Path,
    ) -> DeploymentSummary:
        options, kind = self.options, deployment.kind
        summary = DeploymentSummary(deployment.handle, kind, synthetic=False, parent=parent.handle)
        summary.stage_seconds = self.stage_seconds
        with self.stage("get checkpoint"):
            prefix, checkpoint_sha = self.checkpoint(parent)
            summary.synthetic = checkpoint_sha == SYNTHETIC
        spec = deployment_spec(deployment, parent, summary.synthetic, lite_metadata)
        weights = read_weights(spec, prefix)
        with self.stage(f"export parent ({parent.format})"):
            parent_dir = export_format(export_spec(parent, summary.synthetic), parent.format,
                                       weights, work / "parent")  # fmt: skip
        with self.stage(f"export {kind}"):
            deployment_dir = export_format(spec, kind, weights, work / "deployment")
        with self.stage("check export against record"):
            from modules.inspect import check_export

            check_export(deployment_dir, spec, kind)
        with self.stage("package"):
            artifact = package_module(deployment_dir, work / "deployment.tar.gz", kind)
            summary.sha256, summary.bytes = artifact.sha256, artifact.bytes
        consumer_dir = unpack_artifact(artifact.path, work / "consumer", artifact_format=kind)
        with self.stage(f"smoke test ({FORMATS[kind].runtime})"):
            from modules.smoke import smoke_test

            report = smoke_test(consumer_dir, spec, kind, options.device)
            summary.record_smoke(report)
        with self.stage("parity with the parent module"):
            expected = parent_output(parent_dir, parity_images(spec))
            width = parent.num_outputs
            summary.parity_error = check_parity(consumer_dir, spec, kind, expected, width)
            report.checks.append(
                f"parity with {parent.handle} ({parent.format}, TensorFlow) on {PARITY_IMAGES} "
                f"images: largest relative error {summary.parity_error:.2e} (limit {PARITY:g})"
            )
        return self.finish(
            summary, store, lock, artifact.path, deployment.digest, checkpoint_sha, report
        )


def check_deployment_store(
    options: PublishOptions, deployment: Deployment, parent: ModuleRecord
) -> tuple[Store, PublishLock]:
    """Before any export: the store is reachable and writable, the deployment's version is free
    (or may come out identical), and its publish lock is taken (the caller releases it)."""
    store = open_store(options.store_url)
    store.check_access(write=True)
    existing = store.get_manifest(deployment.handle)
    if existing is not None:
        conflict = cannot_be_identical(existing, parent, deployment.kind, options)
        if conflict:
            raise HubzooError(
                f"{deployment.handle} is already published in {store.url} ({conflict}, sha256 "
                f"{existing.sha256}); versions are immutable: publish a new version"
            )
    return store, store.lock(deployment.handle)


def read_weights(spec: ExportSpec, prefix: Path) -> Mapping[str, np.ndarray]:
    """The checkpoint's values at `prefix` in the layout of `spec`'s network."""
    from modules.checkpoints.reading import read_checkpoint
    from modules.nets import net_layout

    layout = net_layout(spec.net, spec.num_classes, **spec.hyperparameters)
    values: Mapping[str, np.ndarray] = read_checkpoint(prefix, layout).values
    return values


def export_format(
    spec: ExportSpec, artifact_format: str, weights: Mapping[str, np.ndarray], out_dir: Path
) -> Path:
    """Export `weights` as `artifact_format` into `out_dir`."""
    from modules.export import format_implementation

    return format_implementation(artifact_format).export(spec, weights, out_dir)


def publish_deployment(
    options: PublishOptions, progress: Progress | None = None
) -> DeploymentSummary:
    """Run the whole pipeline for one deployment."""
    return DeploymentPipeline(options, progress or Progress()).run()
