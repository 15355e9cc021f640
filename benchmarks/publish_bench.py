"""Wall time per publish stage for each seed module, against the bare work inside a publish.

The bare work is one export plus one forward pass (batch 8) of the same network on the same
synthetic checkpoint, timed in the same run. The figure is publish / bare (aim: 1.5 or less).
Publishes go to a temporary store with --dry-run semantics off but no site rebuild.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hubzoo.progress import Progress
from hubzoo.registry import load_registry
from pipeline.publish import PublishOptions, export, publish, synthetic_checkpoint

SEEDS = (
    "google/imagenet/inception_v1/feature_vector/1",
    "google/imagenet/inception_v2/feature_vector/3",
    "google/imagenet/inception_resnet_v2/feature_vector/1",
)


def bare_work(handle: str, work: Path) -> float:
    """Seconds for one export and one forward pass, the work a publish cannot avoid."""
    import tensorflow as tf

    from modules.checkpoints.reading import read_checkpoint
    from modules.nets import create_net

    record = load_registry().find(handle)
    assert record.network is not None, "the benchmark's modules have networks"
    prefix = synthetic_checkpoint(record.network, seed=0, hyperparameters=record.hyperparameters)
    started = time.perf_counter()
    export(record, record.format, prefix, work, synthetic=True)
    net = create_net(record.network, **record.hyperparameters)
    net.assign(read_checkpoint(prefix, net.layout()).values)
    images = np.random.default_rng(0).random((8, *record.image_size, 3), dtype=np.float32)
    tf.function(lambda x: net(x)[0])(tf.constant(images)).numpy()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("handles", nargs="*", default=SEEDS)
    args = parser.parse_args()
    rows = []
    for handle in args.handles:
        with tempfile.TemporaryDirectory() as tmp:
            record = load_registry().find(handle)
            assert record.network is not None, "the benchmark's modules have networks"
            synthetic_checkpoint(record.network, seed=0, hyperparameters=record.hyperparameters)
            options = PublishOptions(
                handle, synthetic=True, store_url=f"{tmp}/store", build_site=False
            )
            started = time.perf_counter()
            summary = publish(options, Progress(quiet=True))
            whole = time.perf_counter() - started
            bare = bare_work(handle, Path(tmp))
        rows.append((handle, summary.stage_seconds, whole, bare))
    for handle, stages, whole, bare in rows:
        print(handle)
        for stage, seconds in stages.items():
            print(f"  {stage:<28} {seconds:7.2f} s")
        print(f"  {'whole publish':<28} {whole:7.2f} s")
        print(f"  {'bare export + forward pass':<28} {bare:7.2f} s")
        print(f"  ratio publish/bare: {whole / bare:.2f} (aim <= 1.5)")


if __name__ == "__main__":
    main()
