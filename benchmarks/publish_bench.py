"""Wall time per publish stage for each seed module, against the bare work inside a publish;
and a whole batch run (modules/hour).

The bare work is one export plus one forward pass (batch 8) of the same network on the same
synthetic checkpoint, timed in the same run. Each module's bare work runs once first, untimed, so
that neither side pays TensorFlow's one-time start-up costs; then the publish and the bare work
are timed. The figure is publish / bare (aim: 1.5 or less). Publishes go to a temporary store,
no site rebuild.

Also timed, on the bare work's export: the least of the smoke test, the consumer's client loading
the module (`load_calls`: tensorflow_hub's `hub.load`, the inference graph of a TF1 module) and one
call of its default signature at batch 1. A publish cannot finish before its export plus that
load and call, so (export + load and call) / bare is the floor no publish ratio can go below.
The bound is what this publish's stages would take if everything after the export (the export
check, packaging, the whole smoke test, the upload) were split perfectly between two cores.

`--zoo HANDLE_OR_GLOB...` instead publishes that selection with `scripts/publish.py`'s batch
(pipeline.batch, `--jobs` workers) into a temporary store, twice: the first run's modules/hour,
and the rerun's time (every version identical in the store: skipped from its manifest).
"""

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devtools.seeds import SEED_MODULES
from hubzoo.contract import DEFAULT_OUTPUT, DEFAULT_SIGNATURE
from hubzoo.progress import Progress
from hubzoo.registry import load_registry
from pipeline.batch import BatchOptions, publish_batch
from pipeline.publish import PublishOptions, export, publish, synthetic_checkpoint


@dataclass(frozen=True)
class BareWork:
    """Seconds of the bare work, its export's part, and the least consumer check of that export."""

    seconds: float
    export_seconds: float
    consumer_seconds: float


def bare_work(handle: str, work: Path) -> BareWork:
    """One export and one forward pass, the work a publish cannot avoid, timed; then the least
    consumer check of the exported module (load it as the smoke test does, call `default` once)."""
    import tensorflow as tf

    from modules.checkpoints.reading import read_checkpoint
    from modules.export import format_implementation
    from modules.nets import create_net

    record = load_registry().find(handle)
    assert record.network is not None, "the benchmark's modules have networks"
    prefix = synthetic_checkpoint(record.network, seed=0, hyperparameters=record.hyperparameters)
    started = time.perf_counter()
    spec, module_dir = export(record, record.format, prefix, work, synthetic=True)
    exported = time.perf_counter()
    net = create_net(record.network, **record.hyperparameters)
    net.assign(read_checkpoint(prefix, net.layout()).values)
    images = np.random.default_rng(0).random((8, *record.image_size, 3), dtype=np.float32)
    tf.function(lambda x: net(x)[0])(tf.constant(images)).numpy()
    finished = time.perf_counter()
    calls = format_implementation(record.format).load_calls(module_dir, spec)
    calls.inference[DEFAULT_SIGNATURE](tf.constant(images[:1]))[DEFAULT_OUTPUT].numpy()
    consumer = time.perf_counter() - finished
    return BareWork(finished - started, exported - started, consumer)


def per_module(handles: list[str]) -> None:
    rows = []
    for handle in handles:
        with tempfile.TemporaryDirectory() as tmp:
            bare_work(handle, Path(tmp) / "warm-up")
            options = PublishOptions(
                handle, synthetic=True, store_url=f"{tmp}/store", build_site=False
            )
            started = time.perf_counter()
            summary = publish(options, Progress(quiet=True))
            whole = time.perf_counter() - started
            bare = bare_work(handle, Path(tmp) / "bare")
        rows.append((handle, summary.stage_seconds, whole, bare))
    for handle, stages, whole, bare in rows:
        print(handle)
        for stage, seconds in stages.items():
            print(f"  {stage:<28} {seconds:7.2f} s")
        print(f"  {'whole publish':<28} {whole:7.2f} s")
        print(f"  {'bare export + forward pass':<28} {bare.seconds:7.2f} s")
        print(f"  {'consumer load + one call':<28} {bare.consumer_seconds:7.2f} s")
        print(f"  ratio publish/bare: {whole / bare.seconds:.2f} (aim <= 1.5)")
        floor = (bare.export_seconds + bare.consumer_seconds) / bare.seconds
        print(f"  floor (export + consumer load and call)/bare: {floor:.2f}")
        exported = next(seconds for stage, seconds in stages.items() if stage.startswith("export"))
        two_cores = (exported + (whole - exported) / 2) / bare.seconds
        print(f"  bound (export, then the rest split perfectly over 2 cores)/bare: {two_cores:.2f}")


def zoo(queries: list[str], jobs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        options = BatchOptions(
            queries=tuple(queries), synthetic=True, store_url=f"{tmp}/store", build_site=False,
            jobs=jobs,
        )  # fmt: skip
        first = publish_batch(options, stream=sys.stderr)
        rerun = publish_batch(options, stream=None)
    print("\n".join(first.lines()))
    built = first.count("published")
    print(
        f"whole batch ({jobs} job{'s' if jobs > 1 else ''}): {built} published in "
        f"{first.seconds:.1f} s = {3600 * built / first.seconds:.0f} modules/hour; "
        f"rerun: {rerun.count('identical')} identical, skipped in {rerun.seconds:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("handles", nargs="*", default=list(SEED_MODULES))
    parser.add_argument(
        "--zoo", action="store_true", help="publish the handles (or globs) as one batch instead"
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes of --zoo")
    args = parser.parse_args()
    from modules.runtime import start_tensorflow

    start_tensorflow()
    if args.zoo:
        zoo(args.handles, args.jobs)
    else:
        per_module(args.handles)


if __name__ == "__main__":
    main()
