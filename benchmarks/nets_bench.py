"""Images/s of each net at batch 1, 8 and 32 at its default size on the CPU.

Beside them, their Keras Applications twins (InceptionResNetV2, NASNetMobile; weights=None, with
their classifiers) built in the same run; the figure is the ratio of our net (with its 1001-class
head) to its twin, which should be >= 1. Both run under tf.function. Each figure is the best of
`--rounds` measurements (each: repeated calls for at least `--seconds`, at least 2 calls; one
untimed warm-up call per net and batch first), and ours and Keras' are measured in alternation,
so load from other processes on the machine hits both alike.

    .venv/bin/python benchmarks/nets_bench.py [--batches 1 8 32] [--seconds 2] [--rounds 2] [--nets ...]
"""

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from modules.checkpoints.synthetic import synthetic_values
from modules.nets import create_net, net_names

# Our net -> the name of its Keras Applications twin.
KERAS_TWINS = {
    "inception_resnet_v2": "keras InceptionResNetV2",
    "nasnet_mobile": "keras NASNetMobile",
}

Runner = Callable[[tf.Tensor], tf.Tensor]


def our_net(name: str) -> tuple[Runner, int]:
    net = create_net(name, num_classes=1001)
    net.assign(synthetic_values(name, seed=0))
    return tf.function(lambda images: net(images)[0]), net.definition.default_image_size


def keras_twin(name: str) -> tuple[Runner, int]:
    import keras

    builder, size = {
        "keras InceptionResNetV2": (keras.applications.InceptionResNetV2, 299),
        "keras NASNetMobile": (keras.applications.NASNetMobile, 224),
    }[name]
    model = builder(weights=None)
    return tf.function(lambda images: model(images, training=False)), size


def images_per_second(run: Runner, images: tf.Tensor, seconds: float) -> float:
    """Throughput of `run` on `images` over repeated calls."""
    calls, started = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - started < seconds:
        run(images).numpy()
        calls += 1
    return images.shape[0] * calls / (time.perf_counter() - started)


def best_throughputs(
    runners: dict[str, tuple[Runner, int]], batch: int, seconds: float, rounds: int
) -> dict[str, float]:
    """Best images/s of each runner over `rounds` rounds, the runners alternating in each round."""
    rng = np.random.default_rng(0)
    inputs = {
        name: tf.constant(rng.uniform(size=(batch, size, size, 3)), tf.float32)
        for name, (_, size) in runners.items()
    }
    for name, (run, _) in runners.items():
        run(inputs[name]).numpy()  # traces and warms up
    best = dict.fromkeys(runners, 0.0)
    for _ in range(rounds):
        for name, (run, _) in runners.items():
            best[name] = max(best[name], images_per_second(run, inputs[name], seconds))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="measurements per figure (best)")
    parser.add_argument("--nets", nargs="+", help="only these nets (default: all)")
    args = parser.parse_args(argv)

    names = args.nets or net_names()
    groups = [[name, KERAS_TWINS[name]] if name in KERAS_TWINS else [name] for name in names]
    ratios: dict[str, dict[int, float]] = {}
    for group in groups:
        runners = {
            name: keras_twin(name) if name in KERAS_TWINS.values() else our_net(name)
            for name in group
        }
        for batch in args.batches:
            figures = best_throughputs(runners, batch, args.seconds, args.rounds)
            for name, figure in figures.items():
                size = runners[name][1]
                print(f"{name:26s} {size}x{size} batch {batch:3d}: {figure:8.2f} images/s")
            if len(group) == 2:
                ratios.setdefault(group[0], {})[batch] = figures[group[0]] / figures[group[1]]
        del runners

    for name, by_batch in ratios.items():
        print(f"\nratio {name} / {KERAS_TWINS[name]} (>= 1: ours is no slower):")
        for batch, ratio in by_batch.items():
            print(f"  batch {batch:3d}: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
