"""TF-Slim reference outputs; runs in the legacy venv (TF 2.14 + tf_slim 1.1.0), not under pytest.

Builds tf_slim's classification net (``inception_v1``, ``inception_v2``, ``inception_v3``,
``resnet_v1_50`` ... ``resnet_v2_152``, 1001 classes) under its default arg scope with batch
norm in inference mode. ``--write-seed`` first writes a TF-Slim checkpoint of seeded random
values for every variable a TF-Slim training run has (inception_v3's AuxLogits included), built
at the net's default size. Then, for each ``--run IMAGES OUT``, it restores the checkpoint by
variable name, feeds the images (float32 [N, H, W, 3] in [0, 1], mapped to [-1, 1] as TF-Slim's
Inception-style preprocessing does) and saves to ``OUT`` (.npz) every end point tf_slim returns,
each under its own name, plus ``features``: the pooled features TF-Slim's head reads (the
resnets' ``pool5`` global pool, inception_v3's ``PreLogits``, the spatial mean of inception_v1/v2's
last end point, which their head's average pool takes at the default size), squeezed to [N, C].

inception_v3's auxiliary head is left out of the runs (``create_aux_logits=False``): its layer
names depend on the input size (``Conv2d_2a_5x5`` at 299, ``Conv2d_2a_3x3`` at 224), and it is
no output of a hub module. ``--features-only`` builds the feature extractor alone
(``inception_v*_base``, or the resnet without its ``logits``), for sizes where tf_slim's head
cannot be built: inception_v1/v2's fixed 7x7 average pool leaves a grid larger than 1x1 beyond
224, and the head's squeeze then fails. ``--training`` builds the net with ``is_training=True``
(batch norm normalizes with the batch's statistics; dropout keeps everything) and runs it
without its moving-average updates.

    python slim_reference.py resnet_v1_50 --checkpoint DIR/model.ckpt --write-seed 7 \
        --run images_224.npy out_224.npz
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim.nets import inception_v1, inception_v2, inception_v3, resnet_v1, resnet_v2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seeded_weights import seeded_value

NUM_CLASSES = 1001
INCEPTIONS = {
    "inception_v1": (inception_v1, "InceptionV1", 224),
    "inception_v2": (inception_v2, "InceptionV2", 224),
    "inception_v3": (inception_v3, "InceptionV3", 299),
}
RESNETS = {
    f"resnet_v{version}_{depth}": module
    for version, module in ((1, resnet_v1), (2, resnet_v2))
    for depth in (50, 101, 152)
}
NETS = sorted([*INCEPTIONS, *RESNETS])


def default_size(net_name: str) -> int:
    return INCEPTIONS[net_name][2] if net_name in INCEPTIONS else 224


def _inception(net_name, images, head, training_layout, training):
    module, scope, _ = INCEPTIONS[net_name]
    base = getattr(module, f"{net_name}_base")
    with slim.arg_scope(getattr(module, f"{net_name}_arg_scope")()):
        if not head:
            with slim.arg_scope([slim.batch_norm], is_training=training):
                net, end_points = base(images, scope=scope)
            return end_points, tf.reduce_mean(net, axis=[1, 2])
        options = {"create_aux_logits": training_layout} if net_name == "inception_v3" else {}
        build = getattr(module, net_name)
        _, end_points = build(
            images,
            num_classes=NUM_CLASSES,
            is_training=training,
            dropout_keep_prob=1.0,
            **options,
        )
    if "PreLogits" in end_points:
        features = tf.squeeze(end_points["PreLogits"], [1, 2])
    else:
        # inception_v1/v2 return no pooled end point: the spatial mean of the last base end
        # point is what their head's average pool takes at the default size.
        last_base = [name for name in end_points if name not in ("Logits", "Predictions")][-1]
        features = tf.reduce_mean(end_points[last_base], axis=[1, 2])
    return end_points, features


def _resnet(net_name, images, head, training_layout, training):
    del training_layout
    build = getattr(RESNETS[net_name], net_name)
    with slim.arg_scope(RESNETS[net_name].resnet_arg_scope()):
        num_classes = NUM_CLASSES if head else None
        _, end_points = build(images, num_classes=num_classes, is_training=training)
    pool = tf.get_default_graph().get_tensor_by_name(f"{net_name}/pool5:0")
    return end_points, tf.squeeze(pool, [1, 2])


def build(
    net_name: str,
    image_size: int,
    head: bool = True,
    training_layout: bool = False,
    training: bool = False,
):
    """A fresh graph with the net at ``image_size``: (graph, images placeholder, end points,
    features)."""
    graph = tf.Graph()
    with graph.as_default():
        images = tf.placeholder(tf.float32, [None, image_size, image_size, 3], name="images")
        builder = _inception if net_name in INCEPTIONS else _resnet
        end_points, features = builder(
            net_name, images * 2.0 - 1.0, head, training_layout, training
        )
    return graph, images, end_points, features


def write_checkpoint(net_name: str, prefix: str, seed: int) -> None:
    """Save every variable of a TF-Slim training run of the net (heads included), set to seeded
    random values, as a TF-Slim checkpoint."""
    graph, _, _, _ = build(net_name, default_size(net_name), training_layout=True)
    with graph.as_default(), tf.Session() as session:
        variables = tf.global_variables()
        feed = {
            variable.initializer.inputs[1]: seeded_value(
                variable.op.name, variable.shape.as_list(), seed
            )
            for variable in variables
        }
        session.run([variable.initializer for variable in variables], feed)
        tf.train.Saver(var_list=variables).save(session, prefix, write_meta_graph=False)
        print(f"wrote {len(variables)} variables to {prefix}")


def run(
    net_name: str, prefix: str, images_path: str, out_path: str, head: bool, training: bool
) -> None:
    """Restore the checkpoint, run the images, save the features and every end point."""
    images = np.load(images_path)
    graph, placeholder, end_points, features = build(
        net_name, images.shape[1], head, training=training
    )
    with graph.as_default(), tf.Session() as session:
        tf.train.Saver(var_list=tf.global_variables()).restore(session, prefix)
        outputs = session.run({"features": features, **end_points}, {placeholder: images})
    np.savez(out_path, **outputs)
    print(
        f"{out_path}: {len(end_points)} end points; features {outputs['features'].shape} "
        f"mean {outputs['features'].mean():.4g} std {outputs['features'].std():.4g}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("net", choices=NETS)
    parser.add_argument("--checkpoint", required=True, help="checkpoint prefix to restore")
    parser.add_argument("--write-seed", type=int, help="first write a seeded random checkpoint")
    parser.add_argument("--run", nargs=2, action="append", default=[], metavar=("IMAGES", "OUT"))
    parser.add_argument(
        "--features-only", action="store_true", help="build the net without its classifier"
    )
    parser.add_argument(
        "--training", action="store_true", help="batch norm with the batch's statistics"
    )
    arguments = parser.parse_args()
    tf.disable_eager_execution()
    if arguments.write_seed is not None:
        write_checkpoint(arguments.net, arguments.checkpoint, arguments.write_seed)
    for images_path, out_path in arguments.run:
        head = not arguments.features_only
        run(arguments.net, arguments.checkpoint, images_path, out_path, head, arguments.training)


if __name__ == "__main__":
    main()
