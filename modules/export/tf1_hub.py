"""The TF1 Hub format (`hub`, what `hub.Module` loads): written with TensorFlow 2 alone, checked,
and loaded as tensorflow_hub 0.16 loads it.

The layout, as tensorflow_hub 0.15's exporter writes it: `saved_model.pb` holds one SavedModel
with a meta graph per tag set (`{}` for inference, `{"train"}` with batch norm in training mode and
its moving-average updates in UPDATE_OPS), both naming the same variables; the variables are saved
once to `variables/variables`; `tfhub_module.pb` marks the format; an ImageModuleInfo attachment
carries the default image size.
"""

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from hubzoo.contract import DEFAULT_OUTPUT, FORMATS, HUB, IMAGES_INPUT, MOMENTUM_INPUT, TASKS
from hubzoo.errors import HubzooError
from hubzoo.files import staged_dir
from modules.export import ConsumerCalls, SignatureCall, hub_protos, missing_signature
from modules.export.provenance import write_provenance
from modules.export.spec import ExportSpec
from modules.export.weights import check_weights
from modules.inspect import (
    ModuleDescription,
    diff_signatures,
    format_size,
    format_tag_sets,
    format_tags,
)
from modules.preprocessing import apply_input_mapping

TAG_SETS: tuple[tuple[str, ...], ...] = FORMATS[HUB].graph_tags

_GraphKeys = tf.compat.v1.GraphKeys
_KEPT_COLLECTIONS = frozenset(
    {
        _GraphKeys.GLOBAL_VARIABLES,
        _GraphKeys.TRAINABLE_VARIABLES,
        _GraphKeys.UPDATE_OPS,
        _GraphKeys.REGULARIZATION_LOSSES,
        hub_protos.ATTACHMENTS_COLLECTION,
    }
)
"""Collections hub.Module understands and this module uses; anything else is dropped."""


def export(spec: ExportSpec, weights: Mapping[str, np.ndarray], out_dir: Path) -> Path:
    """Export `weights` for `spec.net` to `out_dir` in the TF1 Hub format; returns it."""
    with staged_dir(out_dir) as staging:
        saved_model = saved_model_pb2.SavedModel(saved_model_schema_version=1)
        meta_graphs, shapes = zip(*(_meta_graph(spec, tags) for tags in TAG_SETS), strict=True)
        variable_shapes = shapes[0]
        if any(other != variable_shapes for other in shapes):
            raise HubzooError(f"{spec.handle}: the graph variants declare different variables")
        saved_model.meta_graphs.extend(meta_graphs)
        check_weights(variable_shapes, weights, spec.handle)
        (staging / "saved_model.pb").write_bytes(saved_model.SerializeToString(deterministic=True))
        (staging / "tfhub_module.pb").write_bytes(hub_protos.MODULE_DEF_V3)
        _save_variables(staging / "variables" / "variables", variable_shapes, weights)
        write_provenance(staging, spec)
    return Path(out_dir)


def _meta_graph(
    spec: ExportSpec, tags: tuple[str, ...]
) -> tuple[meta_graph_pb2.MetaGraphDef, dict[str, tuple[int, ...]]]:
    """The meta graph for one tag set, and the shape of each variable it declares by name."""
    from modules.nets import create_net

    training = "train" in tags
    graph = tf.Graph()
    with graph.as_default():
        net = create_net(spec.net, num_classes=spec.num_classes, **spec.hyperparameters)
        images = tf.compat.v1.placeholder(tf.float32, spec.images_shape, name=IMAGES_INPUT)
        momentum = None
        if spec.batch_norm_momentum is not None:
            momentum = tf.compat.v1.placeholder_with_default(
                tf.constant(spec.batch_norm_momentum, tf.float32), shape=[], name=MOMENTUM_INPUT
            )
        inputs = apply_input_mapping(images, spec.input_mapping)
        output, features, end_points = net.call_with_features(inputs, training, momentum)
        _check_task_output(spec, output)
        if training and not tf.compat.v1.get_collection(_GraphKeys.UPDATE_OPS):
            raise HubzooError(f"{spec.handle}: the training graph has no batch norm UPDATE_OPS")
        for loss in net.regularization_losses():
            tf.compat.v1.add_to_collection(_GraphKeys.REGULARIZATION_LOSSES, loss)
        named_end_points = {
            net.definition.end_point_name(name): tensor for name, tensor in end_points.items()
        }
        outputs = {DEFAULT_OUTPUT: output, **named_end_points}
        if spec.feature_signatures:
            feature_outputs = {DEFAULT_OUTPUT: features, **named_end_points}
        meta_graph = tf.compat.v1.train.export_meta_graph(graph=graph, strip_default_attrs=True)
        variable_shapes = {
            variable.op.name: tuple(variable.shape.as_list())
            for variable in tf.compat.v1.global_variables()
        }
        for name in spec.signatures:
            inputs = {IMAGES_INPUT: images}
            if name in spec.bn_hparams_signatures:
                inputs[MOMENTUM_INPUT] = momentum
            served = feature_outputs if name in spec.feature_signatures else outputs
            meta_graph.signature_def[name].CopyFrom(_signature_def(inputs, served))

    meta_graph.meta_info_def.tags.extend(sorted(tags))
    _keep_supported_collections(meta_graph)
    attachment = hub_protos.encode_module_attachment(
        hub_protos.IMAGE_MODULE_INFO_KEY, hub_protos.encode_image_module_info(*spec.image_size)
    )
    meta_graph.collection_def[hub_protos.ATTACHMENTS_COLLECTION].bytes_list.value.append(attachment)
    _strip_debug_names(meta_graph)
    return meta_graph, variable_shapes


def _save_variables(
    prefix: Path, shapes: Mapping[str, tuple[int, ...]], weights: Mapping[str, np.ndarray]
) -> None:
    """Write one name-keyed V2 checkpoint of `weights` (float32, sorted by name) at `prefix`."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    names = sorted(shapes)
    tf.raw_ops.SaveV2(
        prefix=str(prefix),
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[np.asarray(weights[name], dtype=np.float32) for name in names],
    )


def _signature_def(
    inputs: Mapping[str, tf.Tensor], outputs: Mapping[str, tf.Tensor]
) -> meta_graph_pb2.SignatureDef:
    build = tf.compat.v1.saved_model.utils.build_tensor_info
    return tf.compat.v1.saved_model.signature_def_utils.build_signature_def(
        inputs={key: build(tensor) for key, tensor in inputs.items()},
        outputs={key: build(tensor) for key, tensor in outputs.items()},
    )


def _keep_supported_collections(meta_graph: meta_graph_pb2.MetaGraphDef) -> None:
    for key in list(meta_graph.collection_def):
        if key not in _KEPT_COLLECTIONS:
            del meta_graph.collection_def[key]


def _strip_debug_names(meta_graph: meta_graph_pb2.MetaGraphDef) -> None:
    """Drop TF 2.21's `debug_name` attr from variable ops, unknown to the legacy TF 2.14."""
    for node in meta_graph.graph_def.node:
        if node.op == "VarHandleOp" and "debug_name" in node.attr:
            del node.attr["debug_name"]


def _check_task_output(spec: ExportSpec, output: tf.Tensor) -> None:
    width = output.shape[-1]
    if width != spec.num_outputs:
        kind = TASKS[spec.task].output_name
        raise HubzooError(
            f"{spec.handle}: the net gives {width} {kind}, the record says {spec.num_outputs}"
        )


def diff(desc: ModuleDescription, spec: ExportSpec) -> list[str]:
    """How a TF1 Hub module departs from `spec`: its graph variants, attached image size,
    variables, training updates and signatures."""
    problems = []
    found_tags = sorted(variant.tags for variant in desc.variants)
    if found_tags != sorted(TAG_SETS):
        problems.append(
            f"tag sets: found {format_tag_sets(found_tags)}, expected {format_tag_sets(TAG_SETS)}"
        )
    for variant in desc.variants:
        where = format_tags(variant.tags)
        if variant.image_size != tuple(spec.image_size):
            problems.append(
                f"{where}: image size: found {format_size(variant.image_size)}, "
                f"expected {format_size(spec.image_size)}"
            )
        if set(variant.variable_names) != set(desc.checkpoint_names):
            only_graph = sorted(set(variant.variable_names) - set(desc.checkpoint_names))
            only_file = sorted(set(desc.checkpoint_names) - set(variant.variable_names))
            problems.append(
                f"{where}: graph variables and the variables file differ "
                f"(only in graph: {only_graph[:3]}, only in file: {only_file[:3]})"
            )
        if "train" in variant.tags and not dict(variant.collection_sizes).get("update_ops"):
            problems.append(f"{where}: no UPDATE_OPS for batch norm's moving averages")
        problems += diff_signatures(where, variant.signatures, spec, spec.signatures)
    return problems


def load_calls(module_dir: Path, spec: ExportSpec) -> ConsumerCalls:
    """Each of the record's signatures, loaded by tensorflow_hub from the inference graph; the
    training path loads the `{"train"}` graph, as a consumer fine-tuning it does. A bn-hparams
    signature is bound to the record's momentum."""
    return ConsumerCalls(
        _signature_calls(module_dir, spec, []),
        lambda: _signature_calls(module_dir, spec, ["train"]),
    )


def _signature_calls(
    module_dir: Path, spec: ExportSpec, tags: list[str]
) -> dict[str, SignatureCall]:
    import tensorflow_hub as hub

    loaded = hub.load(str(module_dir), tags=tags)
    calls: dict[str, SignatureCall] = {}
    for name in spec.signatures:
        if name not in loaded.signatures:
            calls[name] = missing_signature(name)
            continue
        function = loaded.signatures[name]
        extra = {}
        if name in spec.bn_hparams_signatures:
            extra[MOMENTUM_INPUT] = tf.constant(spec.batch_norm_momentum, tf.float32)
        calls[name] = _bound(function, extra)
    return calls


def _bound(function, extra: dict) -> SignatureCall:
    return lambda images: function(**{IMAGES_INPUT: images}, **extra)
