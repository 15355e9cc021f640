"""Publish many modules in one run: select, pre-flight them all, then publish each.

Selection: handles (or unique suffixes), globs over handles (`*/mobilenet_v2_*/*/4`), every
record (`all_records`), narrowed to the records that differ from the store (`changed`) and to one
shard of N (`shard`: by a hash of the handle, the same on every machine).

Pre-flight, before any export: every record is buildable (a network modules/nets has, not a
quantops graph, a checkpoint to use), the store is reachable and writable, and each version is
free, or already published identically (its manifest names the same record digest, format,
checkpoint, hubzoo and TensorFlow versions: skipped at once, no rebuild, which makes a rerun
after an interruption resume), or possibly identical (rebuilt; the store keeps the bytes if
they match), and no live publish holds its lock.

Then each module goes through `pipeline.publish.Pipeline` (in this process, or in `jobs` worker
processes, one module at a time each); one progress line per module with an ETA; a failure does
not stop the others unless `fail_fast`. The site is rebuilt once at the end.
"""

from __future__ import annotations

import fnmatch
import hashlib
import itertools
import multiprocessing
import sys
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from hubzoo import __version__
from hubzoo.errors import HubzooError
from hubzoo.manifest import SYNTHETIC, Manifest
from hubzoo.paths import REGISTRY_DIR, SITE_DIR
from hubzoo.progress import Progress
from hubzoo.record import ModuleRecord
from hubzoo.registry import Registry, load_registry
from hubzoo.site.build import build_site
from hubzoo.store import Store, open_store
from modules.checkpoints.sources import FetchLimits
from pipeline.publish import (
    Pipeline,
    PublishOptions,
    buildable_network,
    cannot_be_identical,
    check_checkpoint_choice,
    check_network,
)

PUBLISHED, IDENTICAL, FAILED, SKIPPED = "published", "identical", "failed", "skipped"
GLOB_CHARACTERS = "*?["


@dataclass(frozen=True)
class BatchOptions:
    """What the user asked for: which modules, how, and where."""

    queries: tuple[str, ...] = ()  # handles, unique suffixes or globs
    all_records: bool = False  # every record of the registry
    changed: bool = False  # only records that differ from the store's manifests
    shard: tuple[int, int] | None = None  # (K, N): the K-th of N shards, 1 <= K <= N
    jobs: int = 1  # worker processes, each publishing one module at a time
    fail_fast: bool = False  # stop at the first failure (pre-flight: before any export)
    synthetic: bool = False
    seed: int = 0
    store_url: str | None = None
    device: str = "auto"
    build_site: bool = True
    registry_dir: Path = REGISTRY_DIR
    site_dir: Path = SITE_DIR
    verbose: bool = False
    fetch_limits: FetchLimits = field(default_factory=FetchLimits)  # bounds of each download
    zoo_url: str | None = None  # where the site's snippets load archives from

    def publish_options(self, handle: str) -> PublishOptions:
        """The single-module options of `handle` (the site is rebuilt once, by the batch)."""
        return PublishOptions(
            query=handle,
            synthetic=self.synthetic,
            seed=self.seed,
            store_url=self.store_url,
            device=self.device,
            build_site=False,
            registry_dir=self.registry_dir,
            site_dir=self.site_dir,
            verbose=self.verbose,
            fetch_limits=self.fetch_limits,
            zoo_url=self.zoo_url,
        )


@dataclass(frozen=True)
class Outcome:
    """What happened to one module: PUBLISHED, IDENTICAL, FAILED or SKIPPED, and why."""

    handle: str
    result: str
    why: str = ""
    seconds: float = 0.0


@dataclass
class BatchReport:
    """Every module's outcome, in handle order, and what the run did as a whole."""

    outcomes: list[Outcome] = field(default_factory=list)
    unchanged: int = 0  # left out by `changed`: identical in the store
    other_shards: int = 0  # left out by `shard`
    seconds: float = 0.0
    interrupted: bool = False
    site_built: bool = False

    def count(self, result: str) -> int:
        """How many modules ended as `result`."""
        return sum(1 for outcome in self.outcomes if outcome.result == result)

    @property
    def ok(self) -> bool:
        """True when nothing failed and the run was not interrupted."""
        return not self.interrupted and self.count(FAILED) == 0

    def lines(self) -> list[str]:
        """The summary table and its totals, as printable lines."""
        ordered = sorted(self.outcomes, key=lambda outcome: outcome.handle)
        width = max([len("handle"), *(len(outcome.handle) for outcome in ordered)])
        lines = [f"{'result':<10} {'handle':<{width}} {'seconds':>8}  why"]
        for outcome in ordered:
            seconds = f"{outcome.seconds:8.1f}" if outcome.seconds else ""
            lines.append(
                f"{outcome.result:<10} {outcome.handle:<{width}} {seconds:>8}  {outcome.why}"
            )
        totals = ", ".join(
            f"{self.count(result)} {result}" for result in (PUBLISHED, IDENTICAL, FAILED, SKIPPED)
        )
        built = sum(1 for o in self.outcomes if o.result in (PUBLISHED, IDENTICAL) and o.seconds)
        rate = f", {3600 * built / self.seconds:.0f} modules/hour" if built and self.seconds else ""
        left_out = []
        if self.unchanged:
            left_out.append(f"{self.unchanged} unchanged left out by --changed")
        if self.other_shards:
            left_out.append(f"{self.other_shards} in other shards")
        tail = f" ({'; '.join(left_out)})" if left_out else ""
        lines.append(f"{totals} in {self.seconds:.1f} s{rate}{tail}")
        if self.interrupted:
            lines.append("interrupted: rerun the same command to resume (published versions skip)")
        return lines


@dataclass(frozen=True)
class _Selected:
    record: ModuleRecord
    named: bool  # named by its handle (not matched by a glob, --all or --changed)


def in_shard(handle: str, shard: tuple[int, int]) -> bool:
    """True when `handle` falls in shard K of N: sha256 of the handle, modulo N, is K - 1."""
    index, count = shard
    return int.from_bytes(hashlib.sha256(handle.encode()).digest()[:8], "big") % count == index - 1


def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' -> (K, N) with 1 <= K <= N; HubzooError otherwise."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise HubzooError(f"--shard must be K/N, e.g. 1/4, not {text!r}") from None
    if not 1 <= index <= count:
        raise HubzooError(f"--shard K/N needs 1 <= K <= N, not {text!r}")
    return index, count


def select(registry: Registry, options: BatchOptions) -> list[_Selected]:
    """The records named, matched by a glob, or all of them, sorted by handle, no duplicates."""
    if not options.queries and not options.all_records and not options.changed:
        raise HubzooError("name the modules to publish: handles, globs, --all or --changed")
    chosen: dict[str, bool] = {}
    if options.all_records or (options.changed and not options.queries):
        chosen.update(dict.fromkeys(registry.modules, False))
    for query in options.queries:
        if any(char in query for char in GLOB_CHARACTERS):
            pattern = query.strip().strip("/")
            matched = [
                handle
                for handle in registry.modules
                if fnmatch.fnmatchcase(handle, pattern)
                or fnmatch.fnmatchcase(handle, "*/" + pattern)
            ]
            if not matched:
                raise HubzooError(f"no module in the registry matches {query!r}")
            for handle in matched:
                chosen.setdefault(handle, False)
        else:
            chosen[registry.find(query).handle] = True
    return [_Selected(registry.modules[handle], named) for handle, named in sorted(chosen.items())]


def tensorflow_version(verbose: bool = False) -> str:
    """The version of the TensorFlow a publish here builds with (starts TensorFlow, quietly
    unless `verbose`)."""
    from modules.runtime import start_tensorflow

    return str(start_tensorflow(verbose).__version__)


def identical_in_store(
    manifest: Manifest, record: ModuleRecord, synthetic: bool, tf_version: str
) -> bool:
    """True when `manifest` says the version was built from this record, as this run would build
    it: same record digest, format, checkpoint (synthetic, or the record's), same hubzoo and
    TensorFlow versions. (A synthetic checkpoint's seed is not in the manifest.)"""
    build = manifest.build
    checkpoint = SYNTHETIC if synthetic else record.checkpoint_sha256
    return (
        build.record_digest == record.digest
        and build.format == record.format
        and build.checkpoint_sha256 == checkpoint
        and build.hubzoo_version == __version__
        and build.tensorflow_version == tf_version
    )


class _Preflight:
    """The checks of every selected module before any export."""

    def __init__(self, options: BatchOptions, store: Store) -> None:
        self.options = options
        self.store = store
        self.tf_version = tensorflow_version(options.verbose)
        self.manifests = self._manifests()

    def _manifests(self) -> dict[str, Manifest] | None:
        """Every manifest in the store, read at once; None when one is damaged (then each
        module reads its own, and the damaged one fails alone)."""
        try:
            return {manifest.handle: manifest for manifest in self.store.list_manifests()}
        except HubzooError:
            return None

    def manifest(self, handle: str) -> Manifest | None:
        if self.manifests is not None:
            return self.manifests.get(handle)
        return self.store.get_manifest(handle)

    def check(self, selected: _Selected) -> Outcome | None:
        """The outcome decided before any export (skipped, failed, identical), or None: build it."""
        record, options = selected.record, self.options
        handle = record.handle
        try:
            network = buildable_network(record)
            check_checkpoint_choice(record, options.publish_options(handle))
            check_network(network, record)
        except HubzooError as error:
            why = _first_line(error).removeprefix(f"{handle}: ")
            return Outcome(handle, FAILED if selected.named else SKIPPED, why)
        try:
            existing = self.manifest(handle)
            if existing is not None:
                if identical_in_store(existing, record, options.synthetic, self.tf_version):
                    return Outcome(
                        handle, IDENTICAL, f"already published (sha256 {existing.sha256[:12]}…)"
                    )
                conflict = cannot_be_identical(
                    existing, record, record.format, options.publish_options(handle)
                )
                if conflict:
                    return Outcome(
                        handle,
                        FAILED,
                        f"already published {conflict}; versions are immutable: publish a new "
                        "version",
                    )
            lock = self.store.lock_info(handle)
            if lock is not None and lock.stale_reason is None:
                return Outcome(
                    handle, FAILED, f"another publish holds its lock ({lock.describe()})"
                )
        except HubzooError as error:
            return Outcome(handle, FAILED, _first_line(error))
        return None


def publish_one(options: PublishOptions) -> Outcome:
    """Publish one module with the single-module pipeline; every failure becomes an Outcome."""
    started = time.perf_counter()
    try:
        summary = Pipeline(options, Progress(quiet=True)).run()
    except HubzooError as error:
        why = _one_line(error).removeprefix(f"{options.query}: ")
        return Outcome(options.query, FAILED, why, time.perf_counter() - started)
    except Exception as error:  # one module's internal error must not stop the others
        why = f"internal error: {type(error).__name__}: {_one_line(error)}"
        return Outcome(options.query, FAILED, why, time.perf_counter() - started)
    seconds = time.perf_counter() - started
    if summary.created:
        return Outcome(options.query, PUBLISHED, f"sha256 {summary.sha256[:12]}…", seconds)
    repaired = "; its damaged stored archive was replaced" if summary.repaired else ""
    return Outcome(
        options.query, IDENTICAL, f"rebuilt: identical bytes already published{repaired}", seconds
    )


class _RunProgress:
    """On stderr: a line when a module starts, and one when it ends with the count, the outcome
    and the ETA."""

    def __init__(self, total: int, stream: TextIO | None) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.started = time.monotonic()

    def starting(self, handle: str) -> None:
        if self.stream is not None:
            self.stream.write(f"publishing {handle} ...\n")
            self.stream.flush()

    def finished(self, outcome: Outcome) -> None:
        self.done += 1
        if self.stream is None:
            return
        elapsed = time.monotonic() - self.started
        left = self.total - self.done
        eta = f"ETA {_duration(elapsed / self.done * left)}" if left else "done"
        self.stream.write(
            f"[{self.done}/{self.total}] {outcome.result} {outcome.handle} "
            f"in {outcome.seconds:.1f} s{': ' + outcome.why if outcome.result == FAILED else ''}"
            f" | {left} left, {eta}\n"
        )
        self.stream.flush()


def publish_batch(options: BatchOptions, stream: TextIO | None = sys.stderr) -> BatchReport:
    """Select, pre-flight and publish; see the module docstring. HubzooError only for what stops
    the whole run (an unknown handle, a registry with problems, an unusable store)."""
    if options.jobs < 1:
        raise HubzooError(f"--jobs must be 1 or more, not {options.jobs}")
    started = time.perf_counter()
    report = BatchReport()
    progress = Progress(quiet=stream is None, stream=stream)
    with progress.stage("pre-flight"):
        selected = select(load_registry(options.registry_dir), options)
        if options.shard is not None:
            shard = options.shard
            kept = [item for item in selected if in_shard(item.record.handle, shard)]
            report.other_shards = len(selected) - len(kept)
            selected = kept
        store = open_store(options.store_url)
        store.check_access(write=True)
        preflight = _Preflight(options, store)
        to_build: list[str] = []
        for item in selected:
            outcome = preflight.check(item)
            if outcome is None:
                to_build.append(item.record.handle)
            elif options.changed and outcome.result == IDENTICAL:
                report.unchanged += 1
            else:
                report.outcomes.append(outcome)
    if stream is not None:
        stream.write(
            f"{len(selected)} selected: {len(to_build)} to build, "
            f"{report.count(IDENTICAL)} already identical, {report.count(SKIPPED)} skipped, "
            f"{report.count(FAILED)} failed pre-flight"
            + (f", {report.unchanged} unchanged" if options.changed else "")
            + "\n"
        )
    if options.fail_fast and report.count(FAILED):
        to_build = []
    try:
        _build(options, to_build, report, _RunProgress(len(to_build), stream))
    except KeyboardInterrupt:
        report.interrupted = True
    if options.build_site and report.count(PUBLISHED) and not report.interrupted:
        with progress.stage("build site"):
            build_site(options.site_dir, store.url, options.registry_dir, zoo_url=options.zoo_url)
            report.site_built = True
    report.seconds = time.perf_counter() - started
    return report


def _build(
    options: BatchOptions,
    handles: Sequence[str],
    report: BatchReport,
    progress: _RunProgress,
) -> None:
    def record(outcome: Outcome) -> bool:
        report.outcomes.append(outcome)
        progress.finished(outcome)
        return options.fail_fast and outcome.result == FAILED

    if options.jobs == 1 or len(handles) <= 1:
        for handle in handles:
            progress.starting(handle)
            if record(publish_one(options.publish_options(handle))):
                return
        return
    context = multiprocessing.get_context("spawn")  # TensorFlow does not survive fork
    pool = ProcessPoolExecutor(min(options.jobs, len(handles)), mp_context=context)
    queue = iter(handles)
    pending: dict[Future[Outcome], str] = {}

    def submit(count: int) -> None:
        for handle in itertools.islice(queue, count):
            progress.starting(handle)
            pending[pool.submit(publish_one, options.publish_options(handle))] = handle

    def collect(finished: set[Future[Outcome]]) -> bool:
        """Record finished modules; True to stop (fail-fast)."""
        stop = False
        for future in finished:
            handle = pending.pop(future)
            try:
                outcome = future.result()
            except KeyboardInterrupt:
                outcome = Outcome(handle, FAILED, "interrupted: nothing was published")
            except Exception as error:  # the worker process died (killed, out of memory)
                outcome = Outcome(handle, FAILED, f"its worker process died: {error}")
            stop = record(outcome) or stop
        return stop

    try:
        submit(options.jobs)
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            if collect(finished):
                queue = iter(())
            submit(len(finished))
    except KeyboardInterrupt:
        # the modules under way finish (or stop, when Ctrl-C reached their workers too) and
        # are reported; a second Ctrl-C stops waiting for them
        for future in pending:
            future.cancel()
        cancelled = {future for future in pending if future.cancelled()}
        for future in cancelled:
            pending.pop(future)
        if progress.stream is not None and pending:
            progress.stream.write(f"interrupted: waiting for the {len(pending)} under way\n")
        try:
            collect(wait(pending).done)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _one_line(error: BaseException) -> str:
    """The whole message on one line (a failure's details follow its first line)."""
    return (
        " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        or type(error).__name__
    )


def _duration(seconds: float) -> str:
    """e.g. '42 s', '3 min 20 s', '2 h 5 min'."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
