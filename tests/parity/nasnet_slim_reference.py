"""Facts read off TF-Slim's NASNet family; runs in the legacy venv (TF 2.14 + tf_slim), not under pytest.

The reference code is tensorflow/models' research/slim ``nets/nasnet/{nasnet,nasnet_utils,pnasnet}.py``,
which is not vendored here: ``--slim-nets DIR`` names a folder holding ``nets/nasnet/*.py`` copied
from there with their imports adapted to ``tensorflow.compat.v1`` and ``tf_slim`` (``tf.contrib`` is
gone: its ``HParams`` may be any attribute bag with ``set_hparam``), and nothing else changed.
Every net is built as TF-Slim builds it for ImageNet, under its own default arg scope.

``layouts OUT``: the data file ``tests/nets/data/slim_layouts_nasnet.json``: per net, the feature
extractor's variables (``is_training=False``, no head) in creation order, value counts, end-point
shapes at the default size; the 1001-class head's variables; the auxiliary head's (built only with
``is_training=True``); how many variables the arg scope regularizes; and the smallest input size
at which TF-Slim builds the net with the same variables (every size from there to 24 is checked).

``golden OUT --net NAME --size N ...``: writes a checkpoint of seeded values (``nasnet_weights``:
a function of seed and variable name only) for the net with its head, restores it, runs seeded
images (``seeded_weights.seeded_images``, [0, 1] mapped to [-1, 1]) at each size with batch norm in
inference mode, and records each end point's shape, mean, standard deviation, largest magnitude
and values at fixed flat indices.

    .venv-legacy/bin/python tests/parity/nasnet_slim_reference.py --slim-nets /tmp/slimref \
        golden tests/parity/data/nasnet_golden.json --net pnasnet_large --size 19 --size 99 --size default
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from nasnet_weights import seeded_value  # noqa: E402
from seeded_weights import seeded_images  # noqa: E402

NUM_CLASSES = 1001
BATCH = 2
SAMPLES_PER_END_POINT = 24
LARGEST_CHECKED_SIZE = 24
# net -> (module, builder, arg scope, default image size)
NETS = {
    "nasnet_mobile": ("nasnet", "build_nasnet_mobile", "nasnet_mobile_arg_scope", 224),
    "nasnet_large": ("nasnet", "build_nasnet_large", "nasnet_large_arg_scope", 331),
    "pnasnet_large": ("pnasnet", "build_pnasnet_large", "pnasnet_large_arg_scope", 331),
}


def reference(net_name: str):
    """(builder, arg scope function, default size) of the reference's net."""
    module_name, builder, arg_scope, size = NETS[net_name]
    module = __import__(f"nets.nasnet.{module_name}", fromlist=[module_name])
    return getattr(module, builder), getattr(module, arg_scope), size


def build(net_name: str, size: int, num_classes, is_training: bool):
    """A fresh graph with the net: (graph, images placeholder in [0, 1], end points)."""
    builder, arg_scope, _ = reference(net_name)
    graph = tf.Graph()
    with graph.as_default():
        images = tf.placeholder(tf.float32, [None, size, size, 3], name="images")
        with slim.arg_scope(arg_scope()):
            _, end_points = builder(images * 2.0 - 1.0, num_classes, is_training=is_training)
    return graph, images, end_points


def variables_of(graph) -> dict:
    with graph.as_default():
        return {v.op.name: v.shape.as_list() for v in tf.global_variables()}


def layout_facts(net_name: str) -> dict:
    _, _, size = reference(net_name)
    graph, _, end_points = build(net_name, size, None, is_training=False)
    with graph.as_default():
        variables = tf.global_variables()
        trainable = tf.trainable_variables()
    base = variables_of(graph)
    head_graph, _, _ = build(net_name, size, NUM_CLASSES, is_training=False)
    with_head = variables_of(head_graph)
    training_graph, _, training_end_points = build(net_name, size, NUM_CLASSES, is_training=True)
    training = variables_of(training_graph)
    with training_graph.as_default():
        regularized = len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))
        update_ops = len(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
    shapes = {name: [None, *t.shape.as_list()[1:]] for name, t in end_points.items()}
    return {
        "num_variables": len(variables),
        "num_values": int(sum(v.shape.num_elements() for v in variables)),
        "trainable_values": int(sum(v.shape.num_elements() for v in trainable)),
        "final_end_point_shape_at_default_size": shapes[list(shapes)[-1]],
        "end_points_at_default_size": shapes,
        "variables": base,
        "logits_variables": {n: s for n, s in with_head.items() if n not in base},
        # A training graph also gains the auxiliary head and, with drop path on (keep
        # probability < 1), the global step its schedule reads (TF-Slim creates it inside the
        # first cell's variable scope when the caller made none): not part of the head.
        "aux_logits_variables": {
            n: s
            for n, s in training.items()
            if n not in with_head and not n.endswith("global_step")
        },
        "training_end_points_with_head": list(training_end_points),
        "regularized_variables_in_training_graph": regularized,
        "batch_norm_update_ops_in_training_graph": update_ops,
        "smallest_input_size": smallest_input_size(net_name, base),
    }


def smallest_input_size(net_name: str, layout: dict) -> int:
    """The smallest size from which every size up to LARGEST_CHECKED_SIZE builds `layout`."""
    for size in range(LARGEST_CHECKED_SIZE, 0, -1):
        try:
            graph, _, _ = build(net_name, size, None, is_training=False)
            same = variables_of(graph) == layout
        except (ValueError, TypeError) as error:
            print(f"{net_name} {size}x{size}: {type(error).__name__}: {str(error)[:120]}")
            sys.stdout.flush()
            same = False
        print(f"{net_name} {size}x{size}: {'same' if same else 'other'} variables", flush=True)
        if not same:
            return size + 1
    return 1


def write_layouts(out: Path) -> None:
    nets = {}
    for net_name in NETS:
        nets[net_name] = layout_facts(net_name)
        print(f"{net_name}: {nets[net_name]['num_variables']} variables", flush=True)
    about = (
        "TF-Slim checkpoint layouts of the NASNet family as tensorflow/models research/slim "
        "nets/nasnet builds them for ImageNet (build_nasnet_mobile, build_nasnet_large, "
        "build_pnasnet_large with their default configs and arg scopes): 'variables' are the "
        "feature extractor's (is_training=False, num_classes=None; TF-Slim opens no top-level "
        "variable scope for these nets), in creation order; 'logits_variables' the 1001-class "
        "head's; 'aux_logits_variables' the auxiliary head's, which TF-Slim builds only when "
        "training with a head. end points are TF-Slim's, at the default image size. "
        "'smallest_input_size': every input size from it to 24 (and the default size) builds exactly 'variables'. "
        "Derived by tests/parity/nasnet_slim_reference.py (layouts)."
    )
    out.write_text(json.dumps({"about": about, "nets": nets}, indent=1) + "\n")


def golden(net_name: str, sizes: list, seed: int) -> dict:
    """Seeded checkpoint, then end-point statistics and samples at each size."""
    _, _, default_size = reference(net_name)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        prefix = str(Path(folder) / "model.ckpt")
        graph, _, _ = build(net_name, default_size, NUM_CLASSES, is_training=False)
        with graph.as_default(), tf.Session() as session:
            for variable in tf.global_variables():
                name = variable.op.name
                variable.load(seeded_value(name, variable.shape.as_list(), seed), session)
            tf.train.Saver().save(session, prefix, write_meta_graph=False)
        for size in sizes:
            graph, placeholder, end_points = build(net_name, size, NUM_CLASSES, False)
            with graph.as_default(), tf.Session() as session:
                tf.train.Saver().restore(session, prefix)
                values = session.run(end_points, {placeholder: seeded_images(BATCH, size, size)})
            results[str(size)] = {name: summary(value) for name, value in values.items()}
            print(f"{net_name} {size}: global_pool std {values['global_pool'].std():.4g}")
    return results


def summary(value: np.ndarray) -> dict:
    flat = value.astype(np.float64).ravel()
    rng = np.random.default_rng(flat.size)
    indices = sorted(int(i) for i in rng.choice(flat.size, SAMPLES_PER_END_POINT, replace=False))
    return {
        "shape": list(value.shape),
        "mean": float(flat.mean()),
        "std": float(flat.std()),
        "max_abs": float(np.abs(flat).max()),
        "indices": indices,
        "values": [float(flat[i]) for i in indices],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slim-nets", required=True, type=Path, help="folder with nets/nasnet/")
    parser.add_argument("what", choices=["layouts", "golden"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--net", action="append", default=[], choices=sorted(NETS))
    parser.add_argument("--size", action="append", default=[], help="a size, or 'default'")
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    sys.path.insert(0, str(arguments.slim_nets.resolve()))
    tf.disable_eager_execution()
    if arguments.what == "layouts":
        write_layouts(arguments.out)
        return
    data = json.loads(arguments.out.read_text()) if arguments.out.exists() else {}
    data["about"] = (
        "TF-Slim's own outputs for the NASNet family on a checkpoint of seeded values "
        f"(tests/parity/nasnet_weights.py, seed {arguments.seed}) and seeded images "
        f"(seeded_weights.seeded_images(batch={BATCH}, size, seed=size), mapped to [-1, 1]), "
        "batch norm in inference mode, 1001-class head: per net and size, per end point, its "
        "shape, mean, std, largest magnitude and the values at sorted flat indices. "
        "Derived by tests/parity/nasnet_slim_reference.py (golden)."
    )
    data["seed"] = arguments.seed
    data.setdefault("nets", {})
    for net_name in arguments.net:
        sizes = [
            reference(net_name)[2] if size == "default" else int(size) for size in arguments.size
        ]
        data["nets"].setdefault(net_name, {}).update(golden(net_name, sizes, arguments.seed))
    arguments.out.write_text(golden_json(data))


def golden_json(data: dict) -> str:
    """`data` as JSON with one line per end point."""
    lines = ["{", f' "about": {json.dumps(data["about"])},', f' "seed": {data["seed"]},']
    lines.append(' "nets": {')
    nets = []
    for net_name, sizes in data["nets"].items():
        blocks = []
        for size, end_points in sizes.items():
            rows = [f"    {json.dumps(name)}: {json.dumps(s)}" for name, s in end_points.items()]
            blocks.append(f'   "{size}": {{\n' + ",\n".join(rows) + "\n   }")
        nets.append(f'  "{net_name}": {{\n' + ",\n".join(blocks) + "\n  }")
    lines.append(",\n".join(nets))
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
