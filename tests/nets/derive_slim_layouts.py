"""Reads TF-Slim layouts off tf_slim 1.1.0; runs in the legacy venv (TF 2.14 + tf_slim), not under pytest.

For each net of a family it builds the feature extractor under the net's default arg scope on a
[None, size, size, 3] placeholder at the net's default size and records, in the form of
tests/nets/data/slim_checkpoint_layouts.json: every global variable (name -> shape, in creation
order), the counts, and every end point's shape. The feature extractor is `inception_v3_base` for
inception_v3, and `resnet_v*_N(num_classes=None)` (the blocks, global_pool=False) for the ResNets.
With `--heads` it prints instead the variables the 1001-class classifier adds (auxiliary head
included), for the tests' head tables.

    .venv-legacy/bin/python tests/nets/derive_slim_layouts.py resnet_v1 \
        tests/nets/data/slim_layouts_resnet_v1.json
"""

import argparse
import json
import math
import sys

import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim.nets import inception_v3, resnet_v1, resnet_v2

NUM_CLASSES = 1001

FAMILIES = {
    "inception_v3": {
        "inception_v3": (
            inception_v3.inception_v3_base,
            inception_v3.inception_v3,
            inception_v3.inception_v3_arg_scope,
            299,
        ),
    },
    "resnet_v1": {
        f"resnet_v1_{depth}": (
            getattr(resnet_v1, f"resnet_v1_{depth}"),
            getattr(resnet_v1, f"resnet_v1_{depth}"),
            resnet_v1.resnet_arg_scope,
            224,
        )
        for depth in (50, 101, 152)
    },
    "resnet_v2": {
        f"resnet_v2_{depth}": (
            getattr(resnet_v2, f"resnet_v2_{depth}"),
            getattr(resnet_v2, f"resnet_v2_{depth}"),
            resnet_v2.resnet_arg_scope,
            224,
        )
        for depth in (50, 101, 152)
    },
}

ABOUT = {
    "inception_v3": (
        "TF-Slim checkpoint layout of inception_v3's feature extractor (inception_v3_base, to "
        "Mixed_7c) as tf.compat.v1 global variables: name -> shape, in creation order, and every "
        "end point's shape at 299x299. Read off tf_slim 1.1.0 (tf_slim.nets.inception_v3) under "
        "inception_v3_arg_scope() by tests/nets/derive_slim_layouts.py. The classification head "
        "(Logits) and the auxiliary head (AuxLogits) are not listed."
    ),
    "resnet_v1": (
        "TF-Slim checkpoint layouts of the feature extractors of resnet_v1_50, resnet_v1_101 and "
        "resnet_v1_152 (resnet_v1_N with num_classes=None: root block and the four blocks of "
        "bottleneck units), keyed by net name (its suffix is the depth), as tf.compat.v1 global "
        "variables: name -> shape, in creation order, and every end point's shape at 224x224 "
        "(global_pool=False), named as TF-Slim names it (with the net's scope). Read off tf_slim "
        "1.1.0 (tf_slim.nets.resnet_v1) under resnet_arg_scope() by "
        "tests/nets/derive_slim_layouts.py. The classification head (logits) is not listed."
    ),
    "resnet_v2": (
        "TF-Slim checkpoint layouts of the feature extractors of resnet_v2_50, resnet_v2_101 and "
        "resnet_v2_152 (resnet_v2_N with num_classes=None: root conv, the four blocks of "
        "pre-activation bottleneck units and the postnorm batch norm, which is no end point), "
        "keyed by net name (its suffix is the depth), as tf.compat.v1 global variables: name -> "
        "shape, in creation order, and every end point's shape at 224x224 (global_pool=False), "
        "named as TF-Slim names it (with the net's scope). Read off tf_slim 1.1.0 "
        "(tf_slim.nets.resnet_v2) under resnet_arg_scope() by tests/nets/derive_slim_layouts.py. "
        "The classification head (logits) is not listed."
    ),
}


def build(net_name: str, family: str, num_classes):
    """A fresh graph with the net: (variables, end points)."""
    base, full, arg_scope, size = FAMILIES[family][net_name]
    graph = tf.Graph()
    with graph.as_default():
        images = tf.placeholder(tf.float32, [None, size, size, 3])
        with slim.arg_scope(arg_scope()):
            if family == "inception_v3":
                if num_classes is None:
                    _, end_points = base(images)
                else:
                    _, end_points = full(images, num_classes=num_classes, is_training=False)
            else:
                _, end_points = full(
                    images, num_classes=num_classes, is_training=False, global_pool=False
                )
        variables = [(v.op.name, v.shape.as_list(), v.trainable) for v in tf.global_variables()]
    return variables, end_points


def layout(net_name: str, family: str) -> dict:
    variables, end_points = build(net_name, family, None)
    shapes = {name: shape for name, shape, _ in variables}
    final = end_points[list(end_points)[-1]]
    return {
        "num_variables": len(variables),
        "num_values": sum(math.prod(shape) for shape in shapes.values()),
        "trainable_values": sum(math.prod(shape) for _, shape, trainable in variables if trainable),
        "final_end_point_shape_at_default_size": final.shape.as_list(),
        "end_points_at_default_size": {
            name: tensor.shape.as_list() for name, tensor in end_points.items()
        },
        "variables": shapes,
    }


def heads(net_name: str, family: str) -> dict:
    base_variables, _ = build(net_name, family, None)
    full_variables, _ = build(net_name, family, NUM_CLASSES)
    base_names = {name for name, _, _ in base_variables}
    return {name: shape for name, shape, _ in full_variables if name not in base_names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("family", choices=sorted(FAMILIES))
    parser.add_argument("out", nargs="?", help="JSON file to write (default: stdout)")
    parser.add_argument("--heads", action="store_true", help="print the head variables instead")
    arguments = parser.parse_args()
    tf.disable_eager_execution()
    nets = FAMILIES[arguments.family]
    if arguments.heads:
        result = {name: heads(name, arguments.family) for name in nets}
    else:
        result = {
            "about": ABOUT[arguments.family],
            "nets": {name: layout(name, arguments.family) for name in nets},
        }
    text = json.dumps(result, indent=1) + "\n"
    if arguments.out:
        with open(arguments.out, "w") as out:
            out.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
