"""Run a model page's python blocks in a client venv, one job per stdin line, kept running.

`python page_worker.py tf1` runs in the legacy venv (TF 2.14, tensorflow_hub 0.15): each job's
blocks (a TF1 page's, its `hub.Module` URL pointed at the zoo) run through the legacy client
check, which also fine-tunes one step through the `{"train"}` graph. `python page_worker.py tf2`
runs in the project venv with `TF_USE_LEGACY_KERAS=1` (tensorflow_hub 0.16): the blocks of a TF2
page (`hub.KerasLayer`) run as written, then the Keras model they build is called on images of
the size it was built for, and any KerasLayer a block leaves as its last expression (the
fine-tuning snippet) is called in training mode.

Protocol: a JSON job per input line; a JSON result per output line after RESULT_PREFIX (a job
that raises gives {"label": ..., "error": traceback}). TensorFlow is imported once per worker.
Needs the repository root on PYTHONPATH.
"""

import ast
import json
import sys
import traceback

from tests.export.legacy_client_check import _run_job as run_tf1_job
from tests.export.legacy_client_check import hubzoo_test_images

RESULT_PREFIX = "@@page-worker-result "
HEAD_CLASSES = 7
"""`num_classes` for the pages' own new classification head on a feature vector."""


def _keep_last_expression(block: str, name: str) -> ast.Module:
    """The block parsed, its last statement (when a bare expression) assigned to `name`."""
    tree = ast.parse(block)
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body[-1]
        tree.body[-1] = ast.Assign(targets=[ast.Name(name, ast.Store())], value=last.value)
        ast.copy_location(tree.body[-1], last)
        ast.fix_missing_locations(tree)
    return tree


def run_tf2_job(job: dict) -> dict:
    """Run a TF2 page's blocks and call what they build; shapes go back to the test."""
    import tensorflow as tf
    import tensorflow_hub as hub

    namespace = {"tf": tf, "hub": hub, "num_classes": HEAD_CLASSES}
    block_values = []
    for index, block in enumerate(job["blocks"]):
        namespace.pop("_block_value", None)
        tree = _keep_last_expression(block, "_block_value")
        exec(compile(tree, f"<page block {index + 1}>", "exec"), namespace)
        block_values.append(namespace.get("_block_value"))
    models = [value for value in namespace.values() if isinstance(value, tf.keras.Sequential)]
    if len(models) != 1:
        raise ValueError(f"expected one Keras Sequential model built by the page, got {models}")
    (model,) = models
    _, height, width, _ = model.input_shape
    images = hubzoo_test_images(height, width)
    hub_layer = model.layers[0]
    result = {
        "label": job["label"],
        "input_size": [height, width],
        "layer_shape": list(hub_layer(images).shape),
        "model_shape": list(model(images).shape),
        "layer_output": hub_layer(images).numpy().tolist(),
        "tuned_shapes": [],
    }
    for value in block_values:
        if isinstance(value, hub.KerasLayer):
            result["tuned_shapes"].append(list(value(images, training=True).shape))
    return result


def main(mode: str) -> None:
    run = {"tf1": run_tf1_job, "tf2": run_tf2_job}[mode]
    for line in sys.stdin:
        job = json.loads(line)
        try:
            result = run(job)
        except Exception:
            result = {"label": job["label"], "error": traceback.format_exc()}
        print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
