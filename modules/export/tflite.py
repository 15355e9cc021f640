"""TF Lite deployments (`lite`): a float32 flatbuffer `model.tflite` with its `default` signature,
converted by TensorFlow's TFLiteConverter, checked, and run in LiteRT's interpreter.

The converter reads the `default`-signature SavedModel of `modules.export.default_signature` with
no optimizations (float32 weights and math); the provenance goes into the flatbuffer as a metadata
entry `hubzoo_provenance` beside the converter's own (`min_runtime_version`, ...). A metadata
deployment (its spec has `lite_metadata`) also carries TF Lite Metadata and its packed labels
(`modules.export.tflite_metadata`). The check reads the flatbuffer with LiteRT's schema, without
running it.
"""

import json
import math
import tempfile
from collections.abc import Mapping
from pathlib import Path

import flatbuffers
import numpy as np
import tensorflow as tf
from ai_edge_litert import schema_py_generated as schema

from hubzoo.contract import DEFAULT_OUTPUT, DEFAULT_SIGNATURE, FORMATS, IMAGES_INPUT, LITE
from hubzoo.errors import HubzooError
from hubzoo.files import staged_dir
from modules.export import ConsumerCalls
from modules.export.default_signature import diff_default_signature, save_default_signature
from modules.export.provenance import PROVENANCE_KEY
from modules.export.spec import ExportSpec
from modules.export.tflite_metadata import (
    METADATA_KEY,
    associated_files,
    diff_metadata,
    metadata_buffer,
    pack_files,
    packed_files,
)
from modules.inspect import GraphVariant, ModuleDescription, SignatureDescription, TensorDescription

MODEL_FILE = FORMATS[LITE].main_file
FILE_IDENTIFIER = b"TFL3"
FLOAT_TYPES = ("FLOAT32", "INT32", "INT64", "BOOL")
"""Tensor types of a float32 model (the integer ones: shapes, indices, axes)."""
_TYPE_NAMES = {
    value: name for name, value in vars(schema.TensorType).items() if not name.startswith("_")
}


def export(spec: ExportSpec, weights: Mapping[str, np.ndarray], out_dir: Path) -> Path:
    """Convert `weights` for `spec.net` into a float32 TF Lite model in `out_dir`; returns it."""
    with (
        tempfile.TemporaryDirectory(prefix="tflite-export-") as work,
        staged_dir(out_dir) as staging,
    ):
        saved_model = save_default_signature(spec, weights, Path(work) / "saved_model")
        converter = tf.lite.TFLiteConverter.from_saved_model(
            str(saved_model), signature_keys=[DEFAULT_SIGNATURE]
        )
        flatbuffer = converter.convert()
        provenance = json.dumps(spec.provenance, sort_keys=True).encode()
        model = with_metadata(flatbuffer, PROVENANCE_KEY, provenance)
        if spec.lite_metadata is not None:
            model = with_metadata(model, METADATA_KEY, metadata_buffer(spec))
            model = pack_files(model, associated_files(spec))
        (staging / MODEL_FILE).write_bytes(model)
    return Path(out_dir)


def with_metadata(flatbuffer: bytes, name: str, value: bytes) -> bytes:
    """`flatbuffer` with one more metadata entry, `name` -> `value`."""
    model = schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(value, dtype=np.uint8)
    entry = schema.MetadataT()
    entry.name, entry.buffer = name, len(model.buffers)
    model.buffers.append(buffer)
    model.metadata = [*(model.metadata or []), entry]
    builder = flatbuffers.Builder(len(flatbuffer) + len(value) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def read_model(folder: Path) -> schema.Model:
    """The flatbuffer `model.tflite` in `folder`, parsed lazily; HubzooError if it is not one."""
    return schema.Model.GetRootAs(read_model_file(folder), 0)


def read_model_file(folder: Path) -> bytes:
    """The bytes of `model.tflite` in `folder` (the flatbuffer, then any packed files);
    HubzooError if it is not a TF Lite flatbuffer."""
    path = Path(folder) / MODEL_FILE
    if not path.is_file():
        raise HubzooError(f"{folder}: no {MODEL_FILE}, so not a TF Lite deployment")
    data = path.read_bytes()
    if data[4:8] != FILE_IDENTIFIER:
        raise HubzooError(f"{path}: not a TF Lite flatbuffer (file identifier {data[4:8]!r})")
    return data


def metadata_entry(model: schema.Model, name: str) -> bytes | None:
    """The buffer of the model's metadata entry `name`, or None when it has none."""
    for index in range(model.MetadataLength()):
        entry = model.Metadata(index)
        if entry.Name().decode() == name:
            return bytes(model.Buffers(entry.Buffer()).DataAsNumpy().tobytes())
    return None


def describe(folder: Path) -> ModuleDescription:
    """What a TF Lite model holds: its signatures, constant tensors and provenance."""
    model = read_model(folder)
    constants = _constant_tensors(model)
    return ModuleDescription(
        path=str(folder),
        format=LITE,
        variants=(
            GraphVariant(
                tags=(),
                signatures=_signatures(model),
                collection_sizes=(),
                variable_names=(),
                image_size=None,
            ),
        ),
        call=None,
        attributes=(),
        checkpoint_names=tuple(name for name, _, _ in constants),
        num_values=sum(math.prod(shape) for _, shape, _ in constants),
        variable_bytes=sum(size for _, _, size in constants),
        provenance=_provenance(model),
    )


def diff(desc: ModuleDescription, spec: ExportSpec) -> list[str]:
    """How a TF Lite model departs from `spec`: its signature, any non-float32 tensor, and its
    TF Lite Metadata and packed labels (a metadata deployment's; any other has none)."""
    data = read_model_file(Path(desc.path))
    model = schema.Model.GetRootAs(data, 0)
    problems = [
        f"tensor {name}: {type_name}, not a float32 deployment"
        for name, type_name in _tensor_types(model)
        if type_name not in FLOAT_TYPES
    ]
    for variant in desc.variants:
        problems += diff_default_signature(LITE, variant.signatures, spec)
    problems += diff_metadata(metadata_entry(model, METADATA_KEY), packed_files(data), spec)
    return problems


def load_calls(module_dir: Path, spec: ExportSpec) -> ConsumerCalls:
    """At inference, `default` run by LiteRT's interpreter (its signature runner resizes the
    input to each batch); a deployment has no training path."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(module_dir / MODEL_FILE)).get_signature_runner(
        DEFAULT_SIGNATURE
    )

    def call(images: tf.Tensor) -> dict[str, tf.Tensor]:
        outputs = runner(**{IMAGES_INPUT: np.asarray(images, dtype=np.float32)})
        return {DEFAULT_OUTPUT: tf.constant(outputs[DEFAULT_OUTPUT])}

    return ConsumerCalls({DEFAULT_SIGNATURE: call})


def _signatures(model: schema.Model) -> tuple[SignatureDescription, ...]:
    found = []
    for index in range(model.SignatureDefsLength()):
        signature = model.SignatureDefs(index)
        subgraph = model.Subgraphs(signature.SubgraphIndex())

        def tensors(maps, count, subgraph=subgraph):
            described = []
            for position in range(count):
                tensor_map = maps(position)
                tensor = subgraph.Tensors(tensor_map.TensorIndex())
                described.append(
                    TensorDescription(
                        name=tensor_map.Name().decode(),
                        dtype=_TYPE_NAMES.get(tensor.Type(), "?").lower(),
                        shape=_shape(tensor),
                    )
                )
            return tuple(sorted(described, key=lambda t: t.name))

        found.append(
            SignatureDescription(
                name=signature.SignatureKey().decode(),
                inputs=tensors(signature.Inputs, signature.InputsLength()),
                outputs=tensors(signature.Outputs, signature.OutputsLength()),
            )
        )
    return tuple(found)


def _shape(tensor: schema.Tensor) -> tuple[int | None, ...]:
    """The tensor's shape signature (-1 for a free dimension), else its shape."""
    if tensor.ShapeSignatureLength():
        dims = tensor.ShapeSignatureAsNumpy().tolist()
    else:
        dims = tensor.ShapeAsNumpy().tolist() if tensor.ShapeLength() else []
    return tuple(None if dim < 0 else int(dim) for dim in dims)


def _constant_tensors(model: schema.Model) -> list[tuple[str, tuple[int, ...], int]]:
    """(name, shape, bytes) of each tensor whose values the flatbuffer stores, once per buffer."""
    constants, seen = [], set()
    for index in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(index)
        for position in range(subgraph.TensorsLength()):
            tensor = subgraph.Tensors(position)
            buffer = tensor.Buffer()
            if buffer in seen or buffer >= model.BuffersLength():
                continue
            size = model.Buffers(buffer).DataLength()
            if size:
                seen.add(buffer)
                shape = tuple(tensor.ShapeAsNumpy().tolist()) if tensor.ShapeLength() else ()
                constants.append((tensor.Name().decode(), shape, size))
    return constants


def _tensor_types(model: schema.Model) -> list[tuple[str, str]]:
    return [
        (tensor.Name().decode(), _TYPE_NAMES.get(tensor.Type(), str(tensor.Type())))
        for index in range(model.SubgraphsLength())
        for tensor in (
            model.Subgraphs(index).Tensors(position)
            for position in range(model.Subgraphs(index).TensorsLength())
        )
    ]


def _provenance(model: schema.Model) -> dict | None:
    data = metadata_entry(model, PROVENANCE_KEY)
    if data is None:
        return None
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"unreadable": PROVENANCE_KEY}
