"""Reads the MobileNet layouts off TF-Slim's reference code; writes slim_mobilenet_layouts.json.

Runs in the legacy venv (TF 2.14 + tf_slim 1.1.0), not under pytest. TF-Slim's MobileNets are not
in tf_slim.nets: they live in tensorflow/models research/slim/nets (mobilenet_v1.py and
mobilenet/{mobilenet,conv_blocks,mobilenet_v2,mobilenet_v3}.py). Give the folder holding a copy of
that `nets` package (its imports adapted to `tf_slim as slim` and `tensorflow.compat.v1 as tf`);
this repository does not carry it.

    .venv-legacy/bin/python tests/nets/derive_slim_mobilenet_layouts.py SLIM_DIR \
        tests/nets/data/slim_mobilenet_layouts.json

For each variant it builds the feature extractor (mobilenet_v1_base, or the V2/V3 `mobilenet_base`,
which stops before the Logits scope) under the net's default arg scope (mobilenet_v1_arg_scope,
or the V2/V3 training_scope) at 224x224 in a fresh graph and records every global variable in
creation order, the end points' shapes, the classification head's variables (the difference to
the whole 1001-class classifier) and which variables the arg scope's weight decay regularizes.
"""

import argparse
import json
import math
import sys

DEFAULT_SIZE = 224
NUM_CLASSES = 1001

# Key -> (our net name, its hyperparameters). The TF-Slim call each stands for is in ABOUT.
VARIANTS = {
    "mobilenet_v1": ("mobilenet_v1", {}),
    "mobilenet_v1_075": ("mobilenet_v1", {"depth_multiplier": 0.75}),
    "mobilenet_v1_050": ("mobilenet_v1", {"depth_multiplier": 0.5}),
    "mobilenet_v1_025": ("mobilenet_v1", {"depth_multiplier": 0.25}),
    "mobilenet_v2": ("mobilenet_v2", {}),
    "mobilenet_v2_140": ("mobilenet_v2", {"depth_multiplier": 1.4}),
    "mobilenet_v2_130": ("mobilenet_v2", {"depth_multiplier": 1.3}),
    "mobilenet_v2_075": ("mobilenet_v2", {"depth_multiplier": 0.75}),
    "mobilenet_v2_050": ("mobilenet_v2", {"depth_multiplier": 0.5}),
    "mobilenet_v2_035": ("mobilenet_v2", {"depth_multiplier": 0.35}),
    "mobilenet_v2_035_without_finegrain": (
        "mobilenet_v2",
        {"depth_multiplier": 0.35, "finegrain_classification_mode": False},
    ),
    "mobilenet_v3_large": ("mobilenet_v3_large", {}),
    "mobilenet_v3_large_075": ("mobilenet_v3_large", {"depth_multiplier": 0.75}),
    "mobilenet_v3_large_075_without_finegrain": (
        "mobilenet_v3_large",
        {"depth_multiplier": 0.75, "finegrain_classification_mode": False},
    ),
    "mobilenet_v3_small": ("mobilenet_v3_small", {}),
    "mobilenet_v3_small_075": ("mobilenet_v3_small", {"depth_multiplier": 0.75}),
}

ABOUT = (
    "TF-Slim checkpoint layouts of the feature-extractor part of the MobileNets, as "
    "tf.compat.v1 global variables (name -> shape, in creation order), with end-point shapes "
    "at 224x224 (the input resolution changes no weight). Read off tensorflow/models "
    "research/slim/nets by tests/nets/derive_slim_mobilenet_layouts.py: mobilenet_v1_base under "
    "mobilenet_v1_arg_scope(); mobilenet_v2.mobilenet_base and mobilenet_v3.mobilenet_base "
    "(conv_defs V3_LARGE or V3_SMALL) under their training_scope(). 'variants' gives the "
    "hyperparameters each key means (our net name and its keyword arguments): "
    "depth_multiplier is TF-Slim's depth_multiplier (V1: min_depth 8; V2/V3: channels "
    "rounded by _make_divisible(d * depth_multiplier, 8)); finegrain_classification_mode, "
    "default True as the published checkpoints were built (mobilenet_v2_035/_050 wrappers; "
    "the TF-Hub pages give 1280 features for V2 below 1.0 and for V3 at 0.75), keeps the last "
    "conv (V2 Conv_1, V3 Conv_2) at full width below 1.0; the *_without_finegrain keys are "
    "TF-Slim's own default (False). 'heads' lists the variables the 1001-class classifier adds "
    "(Logits/Conv2d_1c_1x1), 'regularized' the variables the arg scope's weight decay "
    "(0.00004, L2) applies to, by key."
)


def build(family, hyperparameters, num_classes, images):
    """Builds one variant in the current graph; returns (output, end points)."""
    import tf_slim as slim
    from nets import mobilenet_v1
    from nets.mobilenet import mobilenet_v2, mobilenet_v3

    depth_multiplier = hyperparameters.get("depth_multiplier", 1.0)
    if family == "mobilenet_v1":
        with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope(is_training=False)):
            if num_classes is None:
                return mobilenet_v1.mobilenet_v1_base(images, depth_multiplier=depth_multiplier)
            return mobilenet_v1.mobilenet_v1(
                images, num_classes, is_training=False, depth_multiplier=depth_multiplier
            )
    finegrain = hyperparameters.get("finegrain_classification_mode", True)
    if family == "mobilenet_v2":
        module, extra = mobilenet_v2, {}
    else:
        module = mobilenet_v3
        extra = {
            "conv_defs": {
                "mobilenet_v3_large": mobilenet_v3.V3_LARGE,
                "mobilenet_v3_small": mobilenet_v3.V3_SMALL,
            }[family]
        }
    with slim.arg_scope(module.training_scope(is_training=False)):
        if num_classes is None:
            return module.mobilenet_base(
                images,
                depth_multiplier=depth_multiplier,
                finegrain_classification_mode=finegrain,
                **extra,
            )
        return module.mobilenet(
            images,
            num_classes=num_classes,
            depth_multiplier=depth_multiplier,
            finegrain_classification_mode=finegrain,
            **extra,
        )


def regularized_variables(tf):
    """Names of the variables behind the graph's regularization losses."""
    names = []
    for loss in tf.losses.get_regularization_losses():
        pending, seen = [loss.op], set()
        while pending:
            op = pending.pop()
            if op.name in seen:
                continue
            seen.add(op.name)
            if op.type in ("VariableV2", "VarHandleOp"):
                names.append(op.name)
                break
            pending.extend(tensor.op for tensor in op.inputs)
    return names


def variant_layout(family, hyperparameters):
    import tensorflow.compat.v1 as tf

    with tf.Graph().as_default():
        images = tf.placeholder(tf.float32, [None, DEFAULT_SIZE, DEFAULT_SIZE, 3])
        net, end_points = build(family, hyperparameters, None, images)
        variables = tf.global_variables()
        trainable = tf.trainable_variables()
        base = {v.op.name: v.shape.as_list() for v in variables}
        layout = {
            "num_variables": len(variables),
            "num_values": sum(math.prod(v.shape.as_list()) for v in variables),
            "trainable_values": sum(math.prod(v.shape.as_list()) for v in trainable),
            "final_end_point_shape_at_default_size": net.shape.as_list(),
            "end_points_at_default_size": {
                name: tensor.shape.as_list() for name, tensor in end_points.items()
            },
            "variables": base,
        }
    with tf.Graph().as_default():
        images = tf.placeholder(tf.float32, [None, DEFAULT_SIZE, DEFAULT_SIZE, 3])
        build(family, hyperparameters, NUM_CLASSES, images)
        whole = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
        regularized = regularized_variables(tf)
    assert list(whole)[: len(base)] == list(base), "the classifier reorders the base"
    head = {name: shape for name, shape in whole.items() if name not in base}
    return layout, head, regularized


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("slim_dir", help="folder holding TF-Slim's `nets` package")
    parser.add_argument("out", help="JSON file to write")
    arguments = parser.parse_args()
    sys.path.insert(0, arguments.slim_dir)

    data = {"about": ABOUT, "variants": {}, "nets": {}, "heads": {}, "regularized": {}}
    for key, (family, hyperparameters) in VARIANTS.items():
        layout, head, regularized = variant_layout(family, hyperparameters)
        data["variants"][key] = {"net": family, "hyperparameters": hyperparameters}
        data["nets"][key] = layout
        data["heads"][key] = head
        data["regularized"][key] = regularized
        print(
            f"{key}: {layout['num_variables']} variables, {layout['num_values']:,} values, "
            f"final {layout['final_end_point_shape_at_default_size']}, head {list(head)}"
        )
    with open(arguments.out, "w") as out:
        json.dump(data, out, indent=1)
        out.write("\n")


if __name__ == "__main__":
    main()
