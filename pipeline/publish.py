"""The publish pipeline: record -> checkpoint -> export -> check -> package -> smoke -> store -> site.

Each stage is shown with its time; any failure is a HubzooError and leaves the store as it was
(the store makes a version visible only once its manifest is written, last). Before any of the
slow stages the store is checked (`check_store`): reachable and writable, the version free or
possibly identical, and its publish lock taken, held until the end. TensorFlow is imported by
the stages that need it, not when this module is imported.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hubzoo import __version__
from hubzoo.contract import MODULE_FORMATS, SMOKE_DEVICES
from hubzoo.errors import HubzooError
from hubzoo.files import staged_dir
from hubzoo.handles import deployment_handle
from hubzoo.manifest import SYNTHETIC, BuildFacts, Manifest
from hubzoo.package import package_module, unpack_artifact
from hubzoo.paths import CACHE_DIR, REGISTRY_DIR, SITE_DIR
from hubzoo.progress import Progress
from hubzoo.record import ModuleRecord
from hubzoo.registry import load_registry
from hubzoo.site.build import build_site
from hubzoo.store import PublishLock, Store, open_store
from hubzoo.units import format_bytes
from modules.checkpoints.sources import FetchLimits

if TYPE_CHECKING:
    import numpy as np

    from modules.export.spec import ExportSpec
    from modules.smoke import SmokeReport

CHECKPOINT_CACHE = CACHE_DIR / "checkpoints"
WORK_DIR = CACHE_DIR / "publish"


@dataclass(frozen=True)
class PublishOptions:
    """What the user asked for on the command line."""

    query: str  # full handle or a unique suffix of it
    checkpoint: str | None = None  # local path or URL instead of the record's source
    synthetic: bool = False  # use a seeded synthetic checkpoint in the TF-Slim layout
    seed: int = 0  # seed of the synthetic checkpoint
    dry_run: bool = False  # everything but the upload (and the site rebuild)
    format: str | None = None  # export format; default: the record's
    store_url: str | None = None  # fsspec URL or path; default: the repository's store/
    device: str = "auto"  # smoke-test device: one of hubzoo.contract.SMOKE_DEVICES
    build_site: bool = True  # rebuild the site from the store's manifests afterwards
    registry_dir: Path = REGISTRY_DIR  # where the records are
    site_dir: Path = SITE_DIR  # where the rebuilt site goes
    verbose: bool = False  # let TensorFlow's start-up logging through
    fetch_limits: FetchLimits = field(default_factory=FetchLimits)  # checkpoint fetch bounds
    zoo_url: str | None = None  # where the site's snippets load archives from (build_site's)


@dataclass
class PublishSummary:
    """What a publish did, for the final summary."""

    handle: str
    format: str
    synthetic: bool
    sha256: str = ""
    bytes: int = 0
    store_url: str = ""
    created: bool = False
    repaired: bool = False
    smoke_passed: bool = False
    smoke_device: str = ""
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def record_smoke(self, report: SmokeReport) -> None:
        """Keep what the smoke test saw; HubzooError listing its failures if it failed."""
        self.smoke_passed, self.smoke_device = report.passed, report.device_note
        if not report.passed:
            raise HubzooError("smoke test failed:\n  " + "\n  ".join(report.failures))

    def lines(self) -> list[str]:
        """The summary as printable lines."""
        if not self.sha256:
            state = "not packaged"
        elif not self.store_url:
            state = "dry run: not uploaded"
        else:
            state = "published" if self.created else "already published with identical bytes"
            if self.repaired:
                state = "repaired: the stored archive was damaged and is replaced by these bytes"
        smoke = f"passed on {self.smoke_device}" if self.smoke_passed else "FAILED"
        total = sum(self.stage_seconds.values())
        return [
            f"handle:     {self.handle}",
            f"format:     {self.format}",
            f"checkpoint: {'SYNTHETIC (seeded, TF-Slim layout)' if self.synthetic else 'real'}",
            f"sha256:     {self.sha256}",
            f"bytes:      {self.bytes} ({format_bytes(self.bytes)})",
            f"store:      {self.store_url or '-'}",
            f"smoke test: {smoke}",
            f"result:     {state} in {total:.1f} s",
        ]


SummaryT = TypeVar("SummaryT", bound=PublishSummary)


class Pipeline:
    """Runs the stages in order, timing each."""

    def __init__(self, options: PublishOptions, progress: Progress):
        self.options = options
        self.progress = progress
        self.stage_seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        with self.progress.stage(name):
            yield
        self.stage_seconds[name] = time.perf_counter() - started

    def run(self) -> PublishSummary:
        with ExitStack() as held:
            return self._run(held)

    def _run(self, held: ExitStack) -> PublishSummary:
        options = self.options
        with self.stage("validate record"):
            record = load_registry(options.registry_dir).find(options.query)
            module_format = choose_format(record, options.format, options.dry_run)
            network = buildable_network(record)
            check_checkpoint_choice(record, options)
        store, lock = None, None
        if not options.dry_run:
            with self.stage("check store"):
                store, lock = check_store(options, record, module_format, self.progress)
                held.enter_context(lock)
        with self.stage("check smoke-test device"):
            check_device(options.device, options.verbose)
            check_network(network, record)
        summary = PublishSummary(record.handle, module_format, synthetic=False)
        summary.stage_seconds = self.stage_seconds
        WORK_DIR.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="publish-", dir=WORK_DIR))
        try:
            with self.stage("get checkpoint"):
                prefix, checkpoint_sha = self.checkpoint(record)
                summary.synthetic = checkpoint_sha == SYNTHETIC
            with self.stage(f"export {module_format}"):
                spec, module_dir = export(record, module_format, prefix, work, summary.synthetic)
            with self.stage("check export against record"):
                from modules.inspect import check_export

                check_export(module_dir, spec, module_format)
            with self.stage("package"):
                artifact = package_module(module_dir, work / "module.tar.gz")
                summary.sha256, summary.bytes = artifact.sha256, artifact.bytes
            with self.stage(f"smoke test ({options.device})"):
                from modules.smoke import smoke_test

                consumer_dir = unpack_artifact(artifact.path, work / "consumer")
                report = smoke_test(consumer_dir, spec, module_format, options.device)
                summary.record_smoke(report)
            return self.finish(
                summary, store, lock, artifact.path, record.digest, checkpoint_sha, report
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def finish(
        self,
        summary: SummaryT,
        store: Store | None,
        lock: PublishLock | None,
        artifact: Path,
        record_digest: str,
        checkpoint_sha: str,
        report: SmokeReport,
    ) -> SummaryT:
        """Upload the checked archive of `summary.handle` with its build facts (the digest of the
        record it was built from, its checkpoint's sha256 or 'synthetic', the versions and the
        smoke `report`), then rebuild the site when asked to; a dry run (no store) stops before.
        Returns `summary`."""
        if store is None or lock is None:
            return summary
        options = self.options
        with self.stage("upload to store"):
            import tensorflow as tf

            facts = BuildFacts(
                format=summary.format,
                record_digest=record_digest,
                checkpoint_sha256=checkpoint_sha,
                hubzoo_version=__version__,
                tensorflow_version=tf.__version__,
                smoke=report.to_json(),
            )
            result = store.put(summary.handle, artifact, facts, lock=lock)
            summary.store_url, summary.created = result.url, result.created
            summary.repaired = result.repaired
        if options.build_site:
            with self.stage("build site"):
                build_site(
                    options.site_dir, store.url, options.registry_dir, zoo_url=options.zoo_url
                )
        return summary

    def checkpoint(self, record: ModuleRecord) -> tuple[Path, str]:
        """The checkpoint prefix to export, and its sha256 or 'synthetic'.

        A checkpoint carrying the synthetic marker (scripts/make_checkpoint.py writes it) counts
        as synthetic however it was given.
        """
        from modules.checkpoints.sources import (
            CheckpointSource,
            fetch_checkpoint,
            resolve_checkpoint,
        )
        from modules.checkpoints.synthetic import is_synthetic

        options = self.options
        if options.synthetic:
            network = buildable_network(record)
            return synthetic_checkpoint(network, options.seed, record.hyperparameters), SYNTHETIC
        if options.checkpoint:
            fetched = resolve_checkpoint(
                options.checkpoint, CHECKPOINT_CACHE, member=record.checkpoint_member,
                progress=self.progress, **asdict(options.fetch_limits),
            )  # fmt: skip
        else:
            assert record.checkpoint_url and record.checkpoint_member, "checked before"
            source = CheckpointSource(
                record.checkpoint_url, record.checkpoint_member, record.checkpoint_sha256
            )
            fetched = fetch_checkpoint(
                source, CHECKPOINT_CACHE, progress=self.progress, **asdict(options.fetch_limits)
            )
        return fetched.prefix, SYNTHETIC if is_synthetic(fetched.prefix) else fetched.sha256


def check_store(
    options: PublishOptions, record: ModuleRecord, module_format: str, progress: Progress
) -> tuple[Store, PublishLock]:
    """Before any export: the store is reachable and writable, the version is free (or may come
    out identical: its existing build does not rule that out), and its publish lock is taken.
    Returns the store and the held lock (the caller releases it)."""
    store = open_store(options.store_url)
    store.check_access(write=True)
    existing = store.get_manifest(record.handle)
    if existing is not None:
        conflict = cannot_be_identical(existing, record, module_format, options)
        if conflict:
            raise HubzooError(
                f"{record.handle} is already published in {store.url} ({conflict}, sha256 "
                f"{existing.sha256}); versions are immutable: publish a new version"
            )
        progress.note(
            f"{record.handle} is already published (sha256 {existing.sha256}): this publish "
            "succeeds only if it builds identical bytes, and then repairs a damaged stored archive"
        )
    return store, store.lock(record.handle)


def cannot_be_identical(
    existing: Manifest, record: ModuleRecord, module_format: str, options: PublishOptions
) -> str | None:
    """Why the published version cannot be what this publish builds, if that is known now."""
    if existing.build.format != module_format:
        return f"as {existing.build.format}, this publish exports {module_format}"
    if options.synthetic and not existing.synthetic:
        return "from a trained checkpoint, this publish uses a synthetic one"
    expected = record.checkpoint_sha256
    from_record = not options.synthetic and options.checkpoint is None and expected is not None
    if from_record and not existing.synthetic and existing.build.checkpoint_sha256 != expected:
        return f"from checkpoint {existing.build.checkpoint_sha256}, the record names {expected}"
    return None


def choose_format(record: ModuleRecord, requested: str | None, dry_run: bool) -> str:
    """The export format: the record's; another one only for a dry run.

    A published version is the artifact its record describes, so uploading another format
    would contradict the record; a dry run may try the other exporter end to end.
    """
    if requested is None:
        return record.format
    if requested not in MODULE_FORMATS:
        raise HubzooError(f"--format must be one of {', '.join(MODULE_FORMATS)}, not {requested!r}")
    if requested != record.format and not dry_run:
        raise HubzooError(
            f"{record.handle} is published as '{record.format}' (its record's format); "
            f"'{requested}' can be tried with --dry-run, or published under its own record"
        )
    return requested


def buildable_network(record: ModuleRecord) -> str:
    """The network `record` is built from; HubzooError when the zoo cannot build it."""
    if record.network is None:
        raise HubzooError(
            f"{record.handle}: its record names no network (network: null in registry/zoo_facts/"
            f"{record.family}.yaml): modules/nets has none to build it with, so it cannot be "
            "published"
        )
    if record.quantized:
        raise HubzooError(
            f"{record.handle}: a quantops graph (instrumented for quantization) cannot be "
            "exported by hubzoo; publish the plain module " + (record.parent or "")
        )
    return record.network


def check_checkpoint_choice(record: ModuleRecord, options: PublishOptions) -> None:
    """Fail before any work when the record names no checkpoint to download and none is given."""
    if record.checkpoint_url is None and not (options.synthetic or options.checkpoint):
        raise HubzooError(
            f"{record.handle}: its record names no public checkpoint to download; publish with "
            "--synthetic (seeded weights, marked synthetic) or --checkpoint PATH|URL"
        )


def check_network(network: str, record: ModuleRecord) -> None:
    """Fail before any work when modules/nets cannot build `network` with the record's
    hyperparameters (HubzooError naming the networks it can build)."""
    from modules.nets import net_definition

    net_definition(network, **record.hyperparameters)


def check_device(device: str, verbose: bool = False) -> None:
    """Start TensorFlow (quietly unless `verbose`) and fail before any work when the requested
    smoke-test device is not there."""
    if device not in SMOKE_DEVICES:
        raise HubzooError(f"--device must be one of {', '.join(SMOKE_DEVICES)}, not {device!r}")
    from modules.runtime import start_tensorflow

    start_tensorflow(verbose)
    from modules.smoke import pick_device

    pick_device(device)


def synthetic_checkpoint(
    net: str, seed: int, hyperparameters: Mapping[str, Any] | None = None
) -> Path:
    """A cached synthetic checkpoint for `net` with `hyperparameters`, written once per seed
    (atomically)."""
    from modules.checkpoints.synthetic import write_synthetic_checkpoint

    hyperparameters = dict(hyperparameters or {})
    variant = "".join(f"-{key}{value}" for key, value in sorted(hyperparameters.items()))
    folder = CHECKPOINT_CACHE / SYNTHETIC / f"{net}{variant}-seed{seed}"
    prefix = folder / "model.ckpt"
    if prefix.with_name("model.ckpt.index").exists():
        return prefix
    with staged_dir(folder) as staging:
        write_synthetic_checkpoint(net, staging / "model.ckpt", seed, **hyperparameters)
    return prefix


def export(
    record: ModuleRecord, module_format: str, prefix: Path, work: Path, synthetic: bool
) -> tuple[ExportSpec, Path]:
    """Export the record's module from the checkpoint at `prefix`; returns (spec, folder)."""
    from modules.checkpoints.reading import read_checkpoint
    from modules.export import format_implementation
    from modules.nets import net_layout

    spec = export_spec(record, synthetic)
    weights: Mapping[str, np.ndarray] = read_checkpoint(
        prefix, net_layout(spec.net, spec.num_classes, **spec.hyperparameters)
    ).values
    return spec, format_implementation(module_format).export(spec, weights, work / "module")


def export_spec(record: ModuleRecord, synthetic: bool) -> ExportSpec:
    """The exporter's view of a record."""
    from modules.export.spec import ExportSpec

    return ExportSpec(
        handle=record.handle,
        net=buildable_network(record),
        task=record.task,
        num_outputs=record.num_outputs,
        image_size=record.image_size,
        variable_size=record.variable_input,
        signatures=record.signatures,
        batch_norm_momentum=record.batch_norm_momentum,
        input_mapping=record.preprocessing,
        synthetic=synthetic,
        hyperparameters=dict(record.hyperparameters),
        num_features=record.num_features,
    )


def publish(options: PublishOptions, progress: Progress | None = None) -> PublishSummary:
    """Run the whole pipeline for one module (or deployment: `pipeline.deployments`)."""
    if deployment_handle(options.query.strip().strip("/")) is not None:
        from pipeline.deployments import publish_deployment

        return publish_deployment(options, progress)
    return Pipeline(options, progress or Progress()).run()
