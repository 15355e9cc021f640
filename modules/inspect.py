"""The export check: read an exported module without running it, and compare it with its record.

`describe_module` parses `saved_model.pb`, `tfhub_module.pb`, the variables index and the
provenance asset (a deployment's folder is read by its format's own `describe`);
`format_description` prints what it found; `diff_against` lists every difference from an
`ExportSpec` (an empty list means the module matches).
"""

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import variable_pb2
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2
from tensorflow.python.saved_model import nested_structure_coder

from hubzoo.contract import (
    DEFAULT_OUTPUT,
    FORMATS,
    HUB,
    IMAGES_INPUT,
    MOMENTUM_INPUT,
    SAVED_MODEL_2,
)
from hubzoo.errors import HubzooError
from modules.export import deployment_implementation, format_implementation, hub_protos
from modules.export.provenance import PROVENANCE_ASSET
from modules.export.spec import ExportSpec

TF1_SAVED_MODEL = "saved_model"
"""What `describe_module` calls a plain TF1 SavedModel (neither format a record may state)."""
MAX_BYTES_PER_VALUE = 4 * 1.01
"""Float32 values stored once, plus at most 1% of checkpoint overhead."""

_INIT_OP_SIGNATURE = "__saved_model_init_op"
_COUNTED_COLLECTIONS = (
    tf.compat.v1.GraphKeys.GLOBAL_VARIABLES,
    tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES,
    tf.compat.v1.GraphKeys.UPDATE_OPS,
    tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES,
)

Shape = tuple[int | None, ...] | None
"""Dimensions with None for unknown sizes; None itself for an unknown rank."""


@dataclass(frozen=True)
class TensorDescription:
    """One input or output: its name, dtype name and shape."""

    name: str
    dtype: str
    shape: Shape


@dataclass(frozen=True)
class SignatureDescription:
    """A signature's name and its inputs and outputs, sorted by name."""

    name: str
    inputs: tuple[TensorDescription, ...]
    outputs: tuple[TensorDescription, ...]


@dataclass(frozen=True)
class GraphVariant:
    """One meta graph: its tags, signatures, collection sizes and attached image size."""

    tags: tuple[str, ...]
    signatures: tuple[SignatureDescription, ...]
    collection_sizes: tuple[tuple[str, int], ...]
    variable_names: tuple[str, ...]
    image_size: tuple[int, int] | None


@dataclass(frozen=True)
class CallDescription:
    """The `__call__` tf.function of a reusable TF2 SavedModel."""

    inputs: tuple[TensorDescription, ...]
    defaults: tuple[tuple[str, object], ...]
    outputs: tuple[TensorDescription, ...]


@dataclass(frozen=True)
class ModuleDescription:
    """Everything the export check reads from a module folder."""

    path: str
    format: str
    variants: tuple[GraphVariant, ...]
    call: CallDescription | None
    attributes: tuple[str, ...]
    checkpoint_names: tuple[str, ...]
    num_values: int
    variable_bytes: int  # the variables data files, less their string tensors (object graph)
    provenance: dict | None

    @property
    def image_size(self) -> tuple[int, int] | None:
        """The expected image size: attached (TF1 Hub format), or fixed by `__call__`'s input
        (TF2) or by a deployment's `images` input."""
        for variant in self.variants:
            if variant.image_size is not None:
                return variant.image_size
        if self.call is not None:
            return _fixed_image_size(self.call.inputs[0].shape)
        for variant in self.variants:
            for signature in variant.signatures:
                for tensor in signature.inputs:
                    if tensor.name == IMAGES_INPUT:
                        return _fixed_image_size(tensor.shape)
        return None

    def variant(self, tags: Iterable[str]) -> GraphVariant | None:
        """The graph variant with exactly these tags, if any."""
        wanted = tuple(sorted(tags))
        return next((v for v in self.variants if v.tags == wanted), None)


def _fixed_image_size(shape: Shape) -> tuple[int, int] | None:
    """(height, width) of an images shape [batch, height, width, 3], if both are fixed."""
    if shape is None or len(shape) != 4 or shape[1] is None or shape[2] is None:
        return None
    return shape[1], shape[2]


def describe_module(path: Path) -> ModuleDescription:
    """Read the module or deployment folder at `path` (no graph is built or run). Raises
    HubzooError."""
    path = Path(path)
    for name, fmt in FORMATS.items():
        if fmt.deployment and (path / fmt.main_file).is_file():
            return deployment_implementation(name).describe(path)
    saved_model_path = path / "saved_model.pb"
    if not saved_model_path.is_file():
        deployment_files = [fmt.main_file for fmt in FORMATS.values() if fmt.deployment]
        raise HubzooError(
            f"{path}: no saved_model.pb (nor {' or '.join(deployment_files)}), "
            "so not an exported module"
        )
    saved_model = saved_model_pb2.SavedModel()
    try:
        saved_model.ParseFromString(saved_model_path.read_bytes())
    except Exception as error:
        raise HubzooError(f"{saved_model_path}: unreadable SavedModel ({error})") from None
    module_format = _format_of(path, saved_model)
    call: CallDescription | None = None
    attributes: tuple[str, ...] = ()
    if module_format == SAVED_MODEL_2:
        call, attributes = _describe_root_object(saved_model.meta_graphs[0])
    names, num_values, string_bytes = _read_checkpoint_index(path / "variables" / "variables")
    data_files = path.glob("variables/variables.data-*")
    return ModuleDescription(
        path=str(path),
        format=module_format,
        variants=tuple(_describe_variant(meta_graph) for meta_graph in saved_model.meta_graphs),
        call=call,
        attributes=attributes,
        checkpoint_names=names,
        num_values=num_values,
        variable_bytes=sum(f.stat().st_size for f in data_files) - string_bytes,
        provenance=_read_provenance(path / "assets" / PROVENANCE_ASSET),
    )


def format_description(desc: ModuleDescription) -> str:
    """A readable, line-by-line account of a module description."""
    lines = [f"module: {desc.path}", f"format: {desc.format}"]
    if desc.provenance is not None:
        items = ", ".join(f"{key}={value}" for key, value in sorted(desc.provenance.items()))
        lines.append(f"provenance: {items}")
    ratio = desc.variable_bytes / (4 * desc.num_values) if desc.num_values else 0.0
    lines.append(
        f"variables: {len(desc.checkpoint_names)} tensors, {desc.num_values:,} values, "
        f"{desc.variable_bytes:,} bytes ({ratio:.4f} x 4 bytes per value)"
    )
    size = desc.image_size
    lines.append("expected image size: " + (f"{size[0]} x {size[1]}" if size else "none"))
    if desc.call is not None:
        lines.append("__call__:")
        defaults = dict(desc.call.defaults)
        for tensor in desc.call.inputs:
            default = f" = {defaults[tensor.name]!r}" if tensor.name in defaults else ""
            lines.append(f"  input {_format_tensor(tensor)}{default}")
        lines.extend(f"  output {_format_tensor(tensor)}" for tensor in desc.call.outputs)
        lines.append("attributes: " + ", ".join(desc.attributes))
    for variant in desc.variants:
        lines.append(f"graph variant {format_tags(variant.tags)}:")
        if variant.collection_sizes:
            sizes = ", ".join(f"{key}={count}" for key, count in variant.collection_sizes)
            lines.append(f"  collections: {sizes}")
        for signature in variant.signatures:
            lines.append(f"  signature {signature.name}:")
            lines.extend(f"    input {_format_tensor(t)}" for t in signature.inputs)
            lines.extend(f"    output {_format_tensor(t)}" for t in signature.outputs)
    return "\n".join(lines)


def diff_against(
    desc: ModuleDescription, spec: ExportSpec, *, expected_format: str | None = None
) -> list[str]:
    """Every way `desc` differs from what `spec` asks for, one readable line each: provenance
    and variables here, the rest by the format's own `diff` (see `modules.export`)."""
    if expected_format is not None and desc.format != expected_format:
        return [f"format: found {desc.format}, expected {expected_format}"]
    problems = _diff_provenance(desc, spec) + _diff_variables(desc)
    try:
        implementation = format_implementation(desc.format)
    except HubzooError:
        return [*problems, f"format: found {desc.format}, expected one of {', '.join(FORMATS)}"]
    return problems + implementation.diff(desc, spec)


def check_export(path: Path, spec: ExportSpec, expected_format: str) -> ModuleDescription:
    """Describe the module at `path`; raise HubzooError with the full diff if it misses `spec`."""
    desc = describe_module(path)
    problems = diff_against(desc, spec, expected_format=expected_format)
    if problems:
        raise HubzooError(
            f"{spec.handle}: the {expected_format} export does not match its record:\n"
            + "\n".join(f"  {problem}" for problem in problems)
        )
    return desc


def _format_of(path: Path, saved_model: saved_model_pb2.SavedModel) -> str:
    module_def = path / "tfhub_module.pb"
    if module_def.is_file():
        found = hub_protos.decode_module_def_format(module_def.read_bytes())
        return HUB if found == 3 else f"{HUB} (unknown ModuleDef format {found})"
    if len(saved_model.meta_graphs) == 1 and saved_model.meta_graphs[0].object_graph_def.nodes:
        return SAVED_MODEL_2
    return TF1_SAVED_MODEL


def _describe_variant(meta_graph: meta_graph_pb2.MetaGraphDef) -> GraphVariant:
    signatures = tuple(
        SignatureDescription(
            name=name,
            inputs=_tensor_infos(meta_graph.signature_def[name].inputs),
            outputs=_tensor_infos(meta_graph.signature_def[name].outputs),
        )
        for name in sorted(meta_graph.signature_def)
        if name != _INIT_OP_SIGNATURE
    )
    collections = meta_graph.collection_def
    sizes = tuple(
        (key, len(getattr(collections[key], collections[key].WhichOneof("kind")).value))
        for key in _COUNTED_COLLECTIONS
        if key in collections and collections[key].WhichOneof("kind")
    )
    variable_names: tuple[str, ...] = ()
    if tf.compat.v1.GraphKeys.GLOBAL_VARIABLES in collections:
        defs = collections[tf.compat.v1.GraphKeys.GLOBAL_VARIABLES].bytes_list.value
        variable_names = tuple(sorted(_variable_op_name(data) for data in defs))
    return GraphVariant(
        tags=tuple(sorted(meta_graph.meta_info_def.tags)),
        signatures=signatures,
        collection_sizes=sizes,
        variable_names=variable_names,
        image_size=_attached_image_size(meta_graph),
    )


def _variable_op_name(serialized_variable_def: bytes) -> str:
    variable_def = variable_pb2.VariableDef.FromString(serialized_variable_def)
    return variable_def.variable_name.rsplit(":", 1)[0]


def _attached_image_size(meta_graph: meta_graph_pb2.MetaGraphDef) -> tuple[int, int] | None:
    collection = meta_graph.collection_def.get(hub_protos.ATTACHMENTS_COLLECTION)
    if collection is None:
        return None
    for attachment in collection.bytes_list.value:
        key, value = hub_protos.decode_module_attachment(attachment)
        if key == hub_protos.IMAGE_MODULE_INFO_KEY:
            return hub_protos.decode_image_module_info(value)
    return None


def _tensor_infos(infos) -> tuple[TensorDescription, ...]:
    return tuple(
        TensorDescription(
            name=key,
            dtype=tf.as_dtype(infos[key].dtype).name,
            shape=_shape(infos[key].tensor_shape),
        )
        for key in sorted(infos)
    )


def _shape(shape_proto) -> Shape:
    if shape_proto.unknown_rank:
        return None
    return tuple(None if dim.size < 0 else dim.size for dim in shape_proto.dim)


def _describe_root_object(
    meta_graph: meta_graph_pb2.MetaGraphDef,
) -> tuple[CallDescription | None, tuple[str, ...]]:
    """The root object's `__call__` and the names of its other attributes (saved_model_2)."""
    graph = meta_graph.object_graph_def
    children = {child.local_name: child.node_id for child in graph.nodes[0].children}
    attributes = tuple(sorted(name for name in children if name != "__call__"))
    if "__call__" not in children:
        return None, attributes
    function = graph.nodes[children["__call__"]].function
    argspec = nested_structure_coder.decode_proto(function.function_spec.fullargspec)
    signature = nested_structure_coder.decode_proto(function.function_spec.input_signature)
    names = list(argspec.args)
    if names and names[0] == "self":
        names = names[1:]
    defaults = argspec.defaults or ()
    inputs = tuple(
        _spec_description(name, spec) for name, spec in zip(names, signature or (), strict=False)
    )
    outputs: tuple[TensorDescription, ...] = ()
    if function.concrete_functions:
        concrete = graph.concrete_functions[function.concrete_functions[0]]
        decoded = nested_structure_coder.decode_proto(concrete.output_signature)
        outputs = tuple(
            _spec_description(f"output_{index}", spec)
            for index, spec in enumerate(tf.nest.flatten(decoded))
        )
    return (
        CallDescription(
            inputs=inputs,
            defaults=tuple(zip(names[len(names) - len(defaults) :], defaults, strict=True)),
            outputs=outputs,
        ),
        attributes,
    )


def _spec_description(name: str, spec: tf.TensorSpec) -> TensorDescription:
    shape = None if spec.shape.rank is None else tuple(spec.shape.as_list())
    return TensorDescription(name=name, dtype=spec.dtype.name, shape=shape)


def _read_checkpoint_index(prefix: Path) -> tuple[tuple[str, ...], int, int]:
    """The numeric tensors' names in the variables checkpoint, their total number of values, and
    the bytes of its string tensors (a TF2 checkpoint's object graph, which grows with the number
    of objects, not of values)."""
    if not prefix.with_name(prefix.name + ".index").is_file():
        return (), 0, 0
    reader = tf.train.load_checkpoint(str(prefix))
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    numeric = sorted(name for name in shapes if dtypes[name] != tf.string)
    strings = [reader.get_tensor(name) for name in shapes if dtypes[name] == tf.string]
    string_bytes = sum(len(value) for value in np.ravel(strings))
    return tuple(numeric), sum(math.prod(shapes[name]) for name in numeric), string_bytes


def _read_provenance(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return {"unreadable": str(path)}


def _diff_provenance(desc: ModuleDescription, spec: ExportSpec) -> list[str]:
    if desc.provenance is None:
        return [f"provenance: assets/{PROVENANCE_ASSET} missing"]
    return [
        f"provenance {key}: found {desc.provenance.get(key)!r}, expected {value!r}"
        for key, value in spec.provenance.items()
        if desc.provenance.get(key) != value
    ]


def _diff_variables(desc: ModuleDescription) -> list[str]:
    if not desc.num_values:
        return ["variables: the variables checkpoint is missing or empty"]
    if desc.variable_bytes > MAX_BYTES_PER_VALUE * desc.num_values:
        return [
            f"variables: {desc.variable_bytes:,} bytes for {desc.num_values:,} values, more than "
            f"{MAX_BYTES_PER_VALUE:g} bytes per value (a weight stored twice?)"
        ]
    return []


def diff_signatures(
    where: str,
    signatures: tuple[SignatureDescription, ...],
    spec: ExportSpec,
    expected_names: Iterable[str],
) -> list[str]:
    found = {signature.name: signature for signature in signatures}
    expected_names = tuple(expected_names)
    problems = [
        f"{where}: signature '{name}': missing" for name in expected_names if name not in found
    ]
    problems += [
        f"{where}: signature '{name}': not in the record"
        for name in found
        if name not in expected_names
    ]
    for name in expected_names:
        if name not in found:
            continue
        inputs = [TensorDescription(IMAGES_INPUT, "float32", spec.images_shape)]
        if name in spec.bn_hparams_signatures:
            inputs.append(TensorDescription(MOMENTUM_INPUT, "float32", ()))
        output = TensorDescription(DEFAULT_OUTPUT, "float32", (None, spec.signature_width(name)))
        label = f"{where}: signature '{name}'"
        problems += diff_tensors(f"{label} input", found[name].inputs, inputs, exact=True)
        problems += diff_tensors(f"{label} output", found[name].outputs, [output], exact=False)
    return problems


def diff_tensors(
    label: str,
    found: Iterable[TensorDescription],
    expected: Iterable[TensorDescription],
    *,
    exact: bool,
) -> list[str]:
    """Compare tensors by name; with `exact`, names found beyond the expected ones are reported."""
    found_by_name = {tensor.name: tensor for tensor in found}
    problems = []
    expected_names = set()
    for tensor in expected:
        expected_names.add(tensor.name)
        actual = found_by_name.get(tensor.name)
        if actual is None:
            problems.append(f"{label} '{tensor.name}': missing")
        elif actual != tensor:
            problems.append(
                f"{label} '{tensor.name}': found {_format_tensor(actual, named=False)}, "
                f"expected {_format_tensor(tensor, named=False)}"
            )
    if exact:
        problems += [
            f"{label} '{name}': not in the record"
            for name in found_by_name
            if name not in expected_names
        ]
    return problems


def same_value(found: object, expected: object) -> bool:
    if isinstance(expected, float) and isinstance(found, int | float):
        return math.isclose(found, expected, rel_tol=1e-6)
    return found == expected


def _format_tensor(tensor: TensorDescription, *, named: bool = True) -> str:
    if tensor.shape is None:
        shape = "<unknown rank>"
    else:
        shape = "[" + ", ".join("?" if dim is None else str(dim) for dim in tensor.shape) + "]"
    text = f"{tensor.dtype} {shape}"
    return f"{tensor.name}: {text}" if named else text


def format_tags(tags: Iterable[str]) -> str:
    return "tags={" + ", ".join(f'"{tag}"' for tag in tags) + "}"


def format_tag_sets(tag_sets: Iterable[tuple[str, ...]]) -> str:
    return ", ".join(format_tags(tags) for tags in tag_sets)


def format_size(size: tuple[int, int] | None) -> str:
    return "none" if size is None else f"{size[0]} x {size[1]}"
