"""Images/s of each net at batch 1, 8 and 32 at its default size on the CPU.

Beside each net that has a twin in Keras Applications (weights=None, with its classifier), the
twin is built in the same run: inception_v3 / InceptionV3, inception_resnet_v2 /
InceptionResNetV2, resnet_v1_50/101/152 / ResNet50/101/152, resnet_v2_50/101/152 /
ResNet50V2/101V2/152V2, mobilenet_v1 / MobileNet, mobilenet_v2 / MobileNetV2,
mobilenet_v3_large / MobileNetV3Large, mobilenet_v3_small / MobileNetV3Small (without its
preprocessing layer), each at width 1.0, nasnet_mobile / NASNetMobile. The figure is the ratio of ours (with its 1001-class
head) to the twin, which should be >= 1. Both run under tf.function. Each figure is the best of
`--rounds` measurements (each: repeated calls for at least `--seconds`, at least 2 calls; one
untimed warm-up call per net and batch first), and a net and its twin are measured in
alternation, so load from other processes on the machine hits both alike. About 1 to 3 minutes
per net (and twin) on 2 cores, 30 to 40 for all; `--nets` picks nets.

    .venv/bin/python benchmarks/nets_bench.py [--nets NAME ...] [--batches 1 8 32] \
        [--seconds 2] [--rounds 2]
"""

import argparse
import os
import sys
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from modules.checkpoints.synthetic import synthetic_values
from modules.nets import create_net, net_names

Runner = Callable[[tf.Tensor], tf.Tensor]

# Our net -> (name of its Keras Applications twin, keyword arguments beyond weights=None).
KERAS_TWINS = {
    "inception_resnet_v2": ("InceptionResNetV2", {}),
    "inception_v3": ("InceptionV3", {}),
    "resnet_v1_50": ("ResNet50", {}),
    "resnet_v1_101": ("ResNet101", {}),
    "resnet_v1_152": ("ResNet152", {}),
    "resnet_v2_50": ("ResNet50V2", {}),
    "resnet_v2_101": ("ResNet101V2", {}),
    "resnet_v2_152": ("ResNet152V2", {}),
    "mobilenet_v1": ("MobileNet", {}),
    "mobilenet_v2": ("MobileNetV2", {}),
    "mobilenet_v3_large": ("MobileNetV3Large", {"include_preprocessing": False}),
    "mobilenet_v3_small": ("MobileNetV3Small", {"include_preprocessing": False}),
    "nasnet_mobile": ("NASNetMobile", {}),
}


def our_net(name: str) -> tuple[Runner, int]:
    net = create_net(name, num_classes=1001)
    net.assign(synthetic_values(name, seed=0))
    return tf.function(lambda images: net(images)[0]), net.definition.default_image_size


def keras_twin(net_name: str, size: int) -> tuple[Runner, int]:
    import keras

    application, arguments = KERAS_TWINS[net_name]
    model = getattr(keras.applications, application)(
        weights=None, input_shape=(size, size, 3), **arguments
    )
    return tf.function(lambda images: model(images, training=False)), size


def keras_label(net_name: str) -> str:
    return f"keras {KERAS_TWINS[net_name][0]}"


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
    parser.add_argument("--nets", nargs="+", choices=net_names(), default=list(net_names()))
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="measurements per figure (best)")
    args = parser.parse_args(argv)

    ratios: dict[str, dict[int, float]] = {}
    for name in args.nets:
        runners = {name: our_net(name)}
        if name in KERAS_TWINS:
            runners[keras_label(name)] = keras_twin(name, runners[name][1])
        for batch in args.batches:
            figures = best_throughputs(runners, batch, args.seconds, args.rounds)
            for runner, figure in figures.items():
                size = runners[runner][1]
                print(f"{runner:26s} {size}x{size} batch {batch:3d}: {figure:8.2f} images/s")
            if name in KERAS_TWINS:
                ratios.setdefault(name, {})[batch] = figures[name] / figures[keras_label(name)]
        del runners

    for name, by_batch in ratios.items():
        print(f"\nratio {name} / {keras_label(name)} (>= 1: ours is no slower):")
        for batch, ratio in by_batch.items():
            print(f"  batch {batch:3d}: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
