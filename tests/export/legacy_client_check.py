"""Run TF1 Hub modules with the legacy client (TF 2.14, tensorflow_hub 0.15's `hub.Module`).

Run in the legacy venv as `python legacy_client_check.py JOBS.json RESULTS.json`. Each job names a
module folder, the variable its page assigns the output to (`features`, `logits`) and either the
page's python blocks (already pointed at the folder) or none, in which case a plain `hub.Module`
call stands in. The blocks run as written, in one graph, with `tf`, `hub` and
`hubzoo_test_images` defined. Then the module is fine-tuned for one step through its `{"train"}`
graph (and, when the page fine-tunes with its own momentum, the moving-average step is compared
with one at the default momentum). Measurements go to RESULTS.json; the pytest side judges them.

Importable without TensorFlow (the test side shares `hubzoo_test_images`).
"""

import json
import sys
import time

import numpy as np

BATCH_SIZE = 2
PAGE_MOMENTUM = 0.997
"""The momentum the pages' fine-tuning snippet passes to the bn-hparams signature."""


def hubzoo_test_images(height: int, width: int) -> np.ndarray:
    """A fixed batch of float32 images in [0, 1), the same in every venv."""
    count = BATCH_SIZE * height * width * 3
    values = (np.arange(count, dtype=np.float64) * 0.6180339887) % 1.0
    return values.reshape(BATCH_SIZE, height, width, 3).astype(np.float32)


def _with_new_update_ops(tf, apply) -> tuple:
    """Run `apply()`; return its value and the UPDATE_OPS it added to the graph."""
    key = tf.compat.v1.GraphKeys.UPDATE_OPS
    before = set(tf.compat.v1.get_collection(key))
    value = apply()
    return value, [op for op in tf.compat.v1.get_collection(key) if op not in before]


def _run_job(job: dict) -> dict:
    import tensorflow as tf
    import tensorflow_hub as hub

    started = time.perf_counter()
    with tf.Graph().as_default():
        namespace = {"tf": tf, "hub": hub, "hubzoo_test_images": hubzoo_test_images}
        blocks = job["blocks"] or [
            f"module = hub.Module({job['module']!r})\n"
            "height, width = hub.get_expected_image_size(module)\n"
            "images = hubzoo_test_images(height, width)\n"
            f"{job['output']} = module(images)\n"
        ]
        block_features, block_update_ops = [], []
        for index, block in enumerate(blocks):
            code = compile(block, f"<page block {index + 1}>", "exec")
            features, update_ops = _with_new_update_ops(
                tf, lambda code=code: exec(code, namespace) or namespace[job["output"]]
            )
            block_features.append(features)
            block_update_ops.append(update_ops)

        page_fine_tunes = bool(block_update_ops[-1])  # the bn-hparams snippet
        default_updates = []
        if page_fine_tunes:
            train_module, tuned, tuned_updates = (
                namespace["module"],
                block_features[-1],
                block_update_ops[-1],
            )
            _, default_updates = _with_new_update_ops(tf, lambda: train_module(namespace["images"]))
        else:
            train_module = hub.Module(job["module"], trainable=True, tags={"train"})
            tuned, tuned_updates = _with_new_update_ops(
                tf, lambda: train_module(namespace["images"])
            )

        regularization = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
        loss = tf.reduce_mean(tf.square(tuned)) + tf.add_n(regularization)
        with tf.control_dependencies(tuned_updates):
            train_step = tf.compat.v1.train.GradientDescentOptimizer(0.01).minimize(loss)
        variables = train_module.variable_map  # in the module's creation order
        # The first batch norm from the input: no drop-path (random in NASNet Large's training
        # graph) lies before it, so both updates see the same batch statistics.
        moving_mean = variables[next(n for n in variables if n.endswith("moving_mean"))]
        weight = variables[sorted(n for n in variables if n.endswith("weights"))[0]]

        with tf.compat.v1.Session() as session:
            initialize = tf.compat.v1.global_variables_initializer()
            session.run(initialize)
            features = session.run(block_features)
            mean_0, weight_0 = session.run([moving_mean, weight])
            session.run(train_step)
            mean_1, weight_1 = session.run([moving_mean, weight])
            session.run(initialize)
            mean_reset = session.run(moving_mean)
            if default_updates:
                session.run(default_updates)
                moved_default = session.run(moving_mean) - mean_0

    moved_tuned = mean_1 - mean_0
    result = {
        "label": job["label"],
        "expected_image_size": [int(namespace["height"]), int(namespace["width"])],
        "feature_shapes": [list(value.shape) for value in features],
        "first_features": features[0].tolist(),
        "regularization_losses": len(regularization),
        "train_update_ops": len(tuned_updates),
        "moving_mean_change": float(np.abs(moved_tuned).max()),
        "moving_mean_reset_error": float(np.abs(mean_reset - mean_0).max()),
        "weight_change": float(np.abs(weight_1 - weight_0).max()),
        "seconds": time.perf_counter() - started,
    }
    if default_updates:
        significant = np.abs(moved_default) > 1e-3 * np.abs(moved_default).max()
        ratios = moved_tuned[significant] / moved_default[significant]
        result["momentum_ratio_to_default"] = float(np.median(ratios))
    return result


def main(jobs_path: str, results_path: str) -> None:
    with open(jobs_path) as jobs_file:
        jobs = json.load(jobs_file)
    results = [_run_job(job) for job in jobs]
    with open(results_path, "w") as results_file:
        json.dump(results, results_file)


if __name__ == "__main__":
    main(*sys.argv[1:])
