"""TF-Slim reference features; runs in the legacy venv (TF 2.14 + tf_slim), not under pytest.

Builds tf_slim's ``inception_v1_base`` or ``inception_v2_base`` under its default arg scope with
batch norm in inference mode, optionally writes a TF-Slim checkpoint of seeded random values
first (``--write-seed``), restores the checkpoint by variable name, and for each
``--run IMAGES OUT`` feeds the images (float32 [N, H, W, 3] in [0, 1], mapped to [-1, 1] as
TF-Slim expects) and saves to ``OUT`` (.npz) the spatial mean of the final end point as
``features`` and each ``--end-point`` in full.

    python slim_reference.py inception_v1 --checkpoint DIR/model.ckpt --write-seed 7 \
        --run images_224.npy out_224.npz --end-point Mixed_3b
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim.nets import inception_v1, inception_v2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seeded_weights import seeded_value

NETS = {
    "inception_v1": (inception_v1.inception_v1_base, inception_v1.inception_v1_arg_scope, 224),
    "inception_v2": (inception_v2.inception_v2_base, inception_v2.inception_v2_arg_scope, 224),
}


def build(net_name: str, image_size: int):
    """A fresh graph with the net at ``image_size``: (graph, images placeholder, end points)."""
    base, arg_scope, _ = NETS[net_name]
    graph = tf.Graph()
    with graph.as_default():
        images = tf.placeholder(tf.float32, [None, image_size, image_size, 3], name="images")
        with slim.arg_scope(arg_scope()), slim.arg_scope([slim.batch_norm], is_training=False):
            _, end_points = base(images * 2.0 - 1.0)
    return graph, images, end_points


def write_checkpoint(net_name: str, prefix: str, seed: int) -> None:
    """Save the net's global variables, set to seeded random values, as a TF-Slim checkpoint."""
    graph, _, _ = build(net_name, NETS[net_name][2])
    with graph.as_default(), tf.Session() as session:
        variables = tf.global_variables()
        for variable in variables:
            name = variable.op.name
            variable.load(seeded_value(name, variable.shape.as_list(), seed), session)
        tf.train.Saver(var_list=variables).save(session, prefix, write_meta_graph=False)
        print(f"wrote {len(variables)} variables to {prefix}")


def run(net_name: str, prefix: str, images_path: str, out_path: str, names: list[str]) -> None:
    """Restore the checkpoint, run the images, save features and the named end points."""
    images = np.load(images_path)
    graph, placeholder, end_points = build(net_name, images.shape[1])
    final = end_points[list(end_points)[-1]]
    fetches = {"features": tf.reduce_mean(final, axis=[1, 2])}
    fetches.update({name: end_points[name] for name in names})
    with graph.as_default(), tf.Session() as session:
        tf.train.Saver(var_list=tf.global_variables()).restore(session, prefix)
        outputs = session.run(fetches, {placeholder: images})
    np.savez(out_path, **outputs)
    features = outputs["features"]
    print(
        f"{out_path}: features {features.shape} mean {features.mean():.4g} std {features.std():.4g}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("net", choices=sorted(NETS))
    parser.add_argument("--checkpoint", required=True, help="checkpoint prefix to restore")
    parser.add_argument("--write-seed", type=int, help="first write a seeded random checkpoint")
    parser.add_argument("--run", nargs=2, action="append", default=[], metavar=("IMAGES", "OUT"))
    parser.add_argument("--end-point", action="append", default=[], dest="end_points")
    arguments = parser.parse_args()
    tf.disable_eager_execution()
    if arguments.write_seed is not None:
        write_checkpoint(arguments.net, arguments.checkpoint, arguments.write_seed)
    for images_path, out_path in arguments.run:
        run(arguments.net, arguments.checkpoint, images_path, out_path, arguments.end_points)


if __name__ == "__main__":
    main()
