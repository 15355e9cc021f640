"""Deployments beside their module: conversion time and artifact bytes per format, and TF.js /
LiteRT latency beside TensorFlow's on the same images.

For each module (a record, or a net as a 1001-class classifier at its default size, published
as a TF2 SavedModel like the corpus's version 5), in the same run, from one synthetic checkpoint:

- export seconds and bytes of the module in its format, then of its `tfjs` and `lite`
  deployments, each with its export check (the TF.js time includes starting the converter's
  venv, which loads TensorFlow, jax and decision forests: most of it);
- milliseconds per batch of 1 and 8 images: the module loaded by tensorflow_hub (its `default`
  signature), TF.js in Node (wasm backend, SIMD, one thread: Node gets no multithreaded wasm
  build; the time TF.js reports for predict + reading the output, not the pipe), and LiteRT's
  signature runner (`--litert-threads`, default all cores, as TensorFlow uses); each the median
  of `--repeats` calls after one warm-up call;
- the largest difference of each runtime's output from TensorFlow's on the batch of 8, relative
  to the largest magnitude of TensorFlow's output.

The figures are the ratios to the module (time x, bytes x, latency x TF). About 4 minutes on 2
cores for the default modules.

    .venv/bin/python benchmarks/deploy_bench.py [--handles H ...] [--nets NAME ...]
        [--repeats 5] [--litert-threads N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hubzoo.contract import (
    CLASSIFICATION,
    DEFAULT_OUTPUT,
    DEFAULT_SIGNATURE,
    LITE,
    SAVED_MODEL_2,
    TFJS,
)
from hubzoo.registry import Registry, load_registry
from pipeline.publish import export_spec

if TYPE_CHECKING:
    from modules.export.spec import ExportSpec

DEFAULT_HANDLES = ("google/imagenet/inception_v1/feature_vector/1",)
DEFAULT_NETS = ("mobilenet_v2", "mobilenet_v3_large")
BATCHES = (1, 8)


def classifier_spec(net: str, registry: Registry) -> ExportSpec:
    """`net` as a 1001-class classifier at its default size (a synthetic checkpoint's head)."""
    from modules.checkpoints.synthetic import NUM_CLASSES
    from modules.export.spec import ExportSpec
    from modules.nets import net_definition

    size = net_definition(net).default_image_size
    return ExportSpec(
        handle=f"bench/{net}/classification/5",
        net=net,
        task=CLASSIFICATION,
        num_outputs=NUM_CLASSES,
        image_size=(size, size),
        variable_size=False,
        signatures=(DEFAULT_SIGNATURE, "image_classification"),
        batch_norm_momentum=None,
        synthetic=True,
        input_mapping=registry.input_mapping_of(net),
    )


def folder_bytes(folder: Path) -> int:
    """Total size of the files under `folder`."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def timed_export(spec: ExportSpec, weights, artifact_format: str, out_dir: Path) -> dict:
    """Seconds (export + check) and bytes of one artifact."""
    from modules.export import format_implementation
    from modules.inspect import check_export

    started = time.perf_counter()
    format_implementation(artifact_format).export(spec, weights, out_dir)
    check_export(out_dir, spec, artifact_format)
    return {"seconds": time.perf_counter() - started, "bytes": folder_bytes(out_dir)}


def median_ms(run: Callable[[np.ndarray], float], images: np.ndarray, repeats: int) -> float:
    """Median of `repeats` timed calls after a warm-up; `run` returns its own milliseconds."""
    run(images)
    return statistics.median(run(images) for _ in range(repeats))


def wall_ms(call: Callable[[np.ndarray], object]) -> Callable[[np.ndarray], float]:
    def run(images: np.ndarray) -> float:
        started = time.perf_counter()
        call(images)
        return (time.perf_counter() - started) * 1000

    return run


def measure(spec: ExportSpec, module_format: str, folders: dict, args) -> dict:
    """Latency per runtime and batch, and each deployment's error relative to TensorFlow."""
    import tensorflow as tf
    import tensorflow_hub as hub
    from ai_edge_litert.interpreter import Interpreter

    from modules.export.tflite import MODEL_FILE
    from modules.tfjs_node import FolderServer, NodeGraphModel

    images = np.random.default_rng(0).random((max(BATCHES), *spec.image_size, 3), "float32")
    signature = hub.load(str(folders[module_format])).signatures[DEFAULT_SIGNATURE]

    def tensorflow(batch: np.ndarray) -> np.ndarray:
        return signature(images=tf.constant(batch))[DEFAULT_OUTPUT].numpy()

    interpreter = Interpreter(
        model_path=str(folders[LITE] / MODEL_FILE), num_threads=args.litert_threads
    )
    runner = interpreter.get_signature_runner(DEFAULT_SIGNATURE)

    def litert(batch: np.ndarray) -> np.ndarray:
        return runner(images=batch)[DEFAULT_OUTPUT]

    reference = tensorflow(images)
    result: dict = {"ms": {}, "error": {}}
    with FolderServer(folders[TFJS]) as server, NodeGraphModel(server.url) as model:
        result["tfjs_threads"] = model.facts["threads"]
        outputs = {TFJS: model.predict(images)[0], LITE: litert(images)}
        for batch in BATCHES:
            some = images[:batch]
            result["ms"][batch] = {
                "tensorflow": median_ms(wall_ms(tensorflow), some, args.repeats),
                TFJS: median_ms(lambda x: model.predict(x)[1], some, args.repeats),
                LITE: median_ms(wall_ms(litert), some, args.repeats),
            }
    scale = float(np.max(np.abs(reference)))
    for name, output in outputs.items():
        result["error"][name] = float(np.max(np.abs(output - reference))) / scale
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handles", nargs="*", default=list(DEFAULT_HANDLES), help="records")
    parser.add_argument("--nets", nargs="*", default=list(DEFAULT_NETS), help="nets")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per figure")
    parser.add_argument("--litert-threads", type=int, default=os.cpu_count(), help="LiteRT threads")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()

    from modules.runtime import start_tensorflow

    start_tensorflow()
    from modules.checkpoints.synthetic import synthetic_values

    registry = load_registry()
    modules = [
        (export_spec(registry.find(handle), synthetic=True), registry.find(handle).format)
        for handle in args.handles
    ]
    modules += [(classifier_spec(net, registry), SAVED_MODEL_2) for net in args.nets]
    rows = []
    with tempfile.TemporaryDirectory(prefix="deploy_bench-") as tmp:
        for spec, module_format in modules:
            weights = synthetic_values(spec.net, seed=0)
            folders, exports = {}, {}
            for artifact_format in (module_format, TFJS, LITE):
                folders[artifact_format] = Path(tmp) / artifact_format / spec.handle
                exports[artifact_format] = timed_export(
                    spec, weights, artifact_format, folders[artifact_format]
                )
            rows.append(
                {
                    "handle": spec.handle,
                    "module_format": module_format,
                    "exports": exports,
                    **measure(spec, module_format, folders, args),
                }
            )
            print_rows(rows[-1:], header=len(rows) == 1)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


def print_rows(rows: list[dict], header: bool) -> None:
    """Per module: each format's export against the module's, then latency per batch."""
    if header:
        print(
            f"{'module / format':<52} {'export s':>8} {'time x':>6} {'MB':>7} {'bytes x':>7} "
            f"{'error':>8}"
        )
    for row in rows:
        module = row["exports"][row["module_format"]]
        print(row["handle"])
        for name, facts in row["exports"].items():
            error = f"{row['error'][name]:>8.1e}" if name in row["error"] else f"{'-':>8}"
            print(
                f"  {name:<50} {facts['seconds']:>8.1f} {facts['seconds'] / module['seconds']:>6.2f} "
                f"{facts['bytes'] / 1e6:>7.2f} {facts['bytes'] / module['bytes']:>7.3f} {error}"
            )
        for batch, ms in row["ms"].items():
            tf_ms = ms["tensorflow"]
            print(
                f"  batch {batch}: TensorFlow {tf_ms:.1f} ms, TF.js (wasm, {row['tfjs_threads']} "
                f"thread) {ms[TFJS]:.1f} ms ({ms[TFJS] / tf_ms:.2f} x), LiteRT {ms[LITE]:.1f} ms "
                f"({ms[LITE] / tf_ms:.2f} x)"
            )


if __name__ == "__main__":
    main()
