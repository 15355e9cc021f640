"""tensorflow_hub 0.15's own TF1 Hub exporter on our networks: the baseline of export_bench.py.

Runs in the legacy venv (TF 2.14 + tensorflow_hub 0.15), which `modules.nets` runs on too, with
the repository on the path:

    PYTHONPATH=. .venv-legacy/bin/python benchmarks/hub015_exporter.py JOBS.json RESULTS.json ROUNDS

Each job (handle, net, hyperparameters, num_classes, image_size, variable_size, signatures,
feature_signatures, momentum, input_mapping, checkpoint, out) is exported with `hub.create_module_spec` (tag sets {} and {"train"}, the same signatures,
regularization losses and image-size attachment as `modules.export.tf1_hub`) and
`ModuleSpec.export(out, checkpoint_path=checkpoint)`. RESULTS.json maps each handle to the best
of ROUNDS export times in seconds (TensorFlow's import not included).
"""

import json
import shutil
import sys
import time
from pathlib import Path

import tensorflow as tf
import tensorflow_hub as hub
from tensorflow_hub import image_module_info_pb2

from hubzoo.preprocessing import InputMapping
from modules.nets import create_net
from modules.preprocessing import apply_input_mapping


def module_fn(job: dict, training: bool) -> None:
    """Build one graph variant of the module, as hub.create_module_spec calls it."""
    net = create_net(job["net"], num_classes=job["num_classes"], **job["hyperparameters"])
    shape = [None, None, None, 3] if job["variable_size"] else [None, *job["image_size"], 3]
    images = tf.compat.v1.placeholder(tf.float32, shape, name="images")
    momentum = None
    if job["momentum"] is not None:
        momentum = tf.compat.v1.placeholder_with_default(
            tf.constant(job["momentum"], tf.float32), [], name="batch_norm_momentum"
        )
    mapping = job["input_mapping"]
    mapping = InputMapping(**{**mapping, "offset": tuple(mapping["offset"]),
                              "output_range": tuple(mapping["output_range"])})  # fmt: skip
    inputs = apply_input_mapping(images, mapping)
    output, features, end_points = net.call_with_features(inputs, training, momentum)
    for loss in net.regularization_losses():
        tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES, loss)
    named = {net.definition.end_point_name(name): tensor for name, tensor in end_points.items()}
    outputs = {"default": output, **named}
    if job["feature_signatures"]:
        feature_outputs = {"default": features, **named}
    for name in job["signatures"]:
        inputs = {"images": images}
        if name.endswith("_with_bn_hparams"):
            inputs["batch_norm_momentum"] = momentum
        served = feature_outputs if name in job["feature_signatures"] else outputs
        hub.add_signature(name, inputs, served)
    info = image_module_info_pb2.ImageModuleInfo()
    info.default_image_size.height, info.default_image_size.width = job["image_size"]
    hub.attach_image_module_info(info)


def export(job: dict) -> None:
    spec = hub.create_module_spec(
        module_fn,
        tags_and_args=[
            (set(), {"job": job, "training": False}),
            ({"train"}, {"job": job, "training": True}),
        ],
    )
    spec.export(job["out"], checkpoint_path=job["checkpoint"])


def main(jobs_path: str, results_path: str, rounds: str) -> None:
    results = {}
    for job in json.loads(Path(jobs_path).read_text()):
        best = float("inf")
        for _ in range(int(rounds)):
            shutil.rmtree(job["out"], ignore_errors=True)
            started = time.perf_counter()
            export(job)
            best = min(best, time.perf_counter() - started)
        results[job["handle"]] = best
    Path(results_path).write_text(json.dumps(results))


if __name__ == "__main__":
    main(*sys.argv[1:])
