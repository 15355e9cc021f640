"""What a deployment is converted from, and the one signature it serves.

A deployment (a TF.js graph model, a TF Lite flatbuffer) serves a single signature, `default`:
`images` (float32, the parent module's input shape, values in [0, 1]) to `default` (float32
[batch, width]: features or logits), at inference, without end points, so that a consumer's
`model.predict(images)` returns one tensor as the corpus's TF.js pages show.

Both converters start from the TF2 SavedModel `save_default_signature` writes from the parent's
net and weights, whatever the parent's format. A TF1 Hub parent is not converted itself: the TF.js
converter 4.22 reads the TF1 Hub format only through `hub.Module`, which the tensorflow_hub it
pins (0.16) no longer has, and its SavedModel path cannot choose the `{}` graph of a module that
also holds a `{"train"}` one. The `{}` graph of a TF1 module and this signature compute the same
function of the same weights, which is what the export tests compare.
"""

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import tensorflow as tf

from hubzoo.contract import DEFAULT_OUTPUT, DEFAULT_SIGNATURE, IMAGES_INPUT
from modules.export.spec import ExportSpec
from modules.export.weights import check_weights
from modules.inspect import SignatureDescription, TensorDescription, diff_tensors
from modules.preprocessing import apply_input_mapping


def save_default_signature(
    spec: ExportSpec, weights: Mapping[str, np.ndarray], out_dir: Path
) -> Path:
    """Write a SavedModel (tag "serve") whose one signature is `default`; returns `out_dir`."""
    from modules.nets import create_net

    net = create_net(spec.net, num_classes=spec.num_classes, **spec.hyperparameters)
    check_weights(net.layout(), weights, spec.handle)
    net.assign(weights)

    @tf.function(
        input_signature=[tf.TensorSpec(spec.images_shape, tf.float32, name=IMAGES_INPUT)],
        autograph=False,
    )
    def default(images):
        output, _ = net(apply_input_mapping(images, spec.input_mapping), training=False)
        return {DEFAULT_OUTPUT: output}

    root = tf.Module()
    root.net = net
    tf.saved_model.save(root, str(out_dir), signatures={DEFAULT_SIGNATURE: default})
    return out_dir


def expected_signature(spec: ExportSpec) -> SignatureDescription:
    """The `default` signature a deployment of `spec`'s module must serve."""
    return SignatureDescription(
        name=DEFAULT_SIGNATURE,
        inputs=(TensorDescription(IMAGES_INPUT, "float32", spec.images_shape),),
        outputs=(TensorDescription(DEFAULT_OUTPUT, "float32", (None, spec.num_outputs)),),
    )


def diff_default_signature(
    where: str, signatures: tuple[SignatureDescription, ...], spec: ExportSpec
) -> list[str]:
    """How a deployment's signatures depart from the one `expected_signature`."""
    expected = expected_signature(spec)
    found = {signature.name: signature for signature in signatures}
    problems = [
        f"{where}: signature '{name}': not expected" for name in found if name != expected.name
    ]
    if expected.name not in found:
        return [*problems, f"{where}: signature '{expected.name}': missing"]
    label = f"{where}: signature '{expected.name}'"
    actual = found[expected.name]
    problems += diff_tensors(f"{label} input", actual.inputs, expected.inputs, exact=True)
    problems += diff_tensors(f"{label} output", actual.outputs, expected.outputs, exact=True)
    return problems
