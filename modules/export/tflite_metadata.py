"""TF Lite Metadata for a `lite` metadata deployment: written, packed and read back.

The layout is tflite-support's `metadata_schema.fbs` (file identifier "M001"): a `ModelMetadata`
flatbuffer, stored in a model buffer that the model's metadata entry `TFLITE_METADATA` names,
with one subgraph: the input tensor as an RGB float32 image whose normalization maps [0, 255]
pixels to the module's input range (and its stats), the output tensor (logits or a feature
vector) as features, and for a classifier its labels file, an associated file of type
TENSOR_AXIS_LABELS. Associated files are packed as tflite-support's `MetadataPopulator` packs
them: a zip (stored, not compressed) appended to the flatbuffer. The tables are built and read
here with the `flatbuffers` runtime, field by field in the schema's order; the facts come from
the spec's `LiteMetadataFacts` (the record's).
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from collections.abc import Mapping

import flatbuffers
from flatbuffers import number_types
from flatbuffers.table import Table

from hubzoo.contract import TASKS
from modules.export.spec import ExportSpec, LiteMetadataFacts

METADATA_KEY = "TFLITE_METADATA"
"""Name of the model's metadata entry whose buffer holds the ModelMetadata."""
METADATA_IDENTIFIER = b"M001"
MIN_PARSER_VERSION = "1.0.0"
"""The oldest metadata parser that reads every field written here (tflite-support's
metadata_version.cc: none of them is newer than the schema's first version)."""
PIXEL_RANGE = (0.0, 255.0)
"""Pixel values of the images a Task Library client passes, which the normalization maps."""
INPUT_NAME = "image"
LABELS_DESCRIPTION = "Labels for categories that the model can recognize."

# Enum values and union tags of metadata_schema.fbs
TENSOR_AXIS_LABELS = 2  # AssociatedFileType
RGB = 1  # ColorSpaceType
FEATURE_PROPERTIES, IMAGE_PROPERTIES = 1, 2  # ContentProperties
NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions

_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
"""Every packed file's time stamp, so the same record gives the same bytes."""
_UINT8, _UINT32 = "uint8", "uint32"


@dataclasses.dataclass(frozen=True)
class TensorView:
    """A tensor's metadata as read back."""

    name: str | None
    description: str | None
    content: int  # ContentProperties tag: FEATURE_PROPERTIES, IMAGE_PROPERTIES (0: none)
    color_space: int | None
    normalization: tuple[tuple[float, ...], tuple[float, ...]] | None  # (mean, std)
    stats: tuple[tuple[float, ...], tuple[float, ...]] | None  # (min, max)
    associated_files: tuple[tuple[str, int], ...]  # (name, AssociatedFileType)


@dataclasses.dataclass(frozen=True)
class MetadataView:
    """A ModelMetadata flatbuffer as read back: what the export check compares."""

    name: str | None
    description: str | None
    version: str | None
    author: str | None
    license: str | None
    min_parser_version: str | None
    inputs: tuple[TensorView, ...]
    outputs: tuple[TensorView, ...]


def normalization(input_range: tuple[float, float]) -> tuple[float, float]:
    """(mean, std) with (pixel - mean) / std mapping PIXEL_RANGE onto `input_range`."""
    low, high = input_range
    std = (PIXEL_RANGE[1] - PIXEL_RANGE[0]) / (high - low)
    return PIXEL_RANGE[0] - low * std, std


def metadata_buffer(spec: ExportSpec) -> bytes:
    """The ModelMetadata flatbuffer of `spec`'s metadata deployment."""
    facts = _facts(spec)
    builder = flatbuffers.Builder(1024)
    text = builder.CreateString
    mean, std = normalization(facts.input_range)
    low, high = facts.input_range
    height, width = spec.image_size
    image_size = _table(builder, {0: (_UINT32, width), 1: (_UINT32, height)})
    image = _table(builder, {0: (_UINT8, RGB), 1: image_size})
    options = _table(builder, {0: _floats(builder, [mean]), 1: _floats(builder, [std])})
    unit = _table(builder, {0: (_UINT8, NORMALIZATION_OPTIONS), 1: options})
    input_tensor = _table(
        builder,
        {
            0: text(INPUT_NAME),
            1: text(_input_description(spec)),
            3: _table(builder, {0: (_UINT8, IMAGE_PROPERTIES), 1: image}),
            4: _vector(builder, [unit]),
            5: _table(builder, {0: _floats(builder, [high]), 1: _floats(builder, [low])}),
        },
    )
    output: dict[int, int | tuple[str, int]] = {
        0: text(TASKS[spec.task].output_name),
        1: text(facts.output_description),
        3: _table(builder, {0: (_UINT8, FEATURE_PROPERTIES), 1: _table(builder, {})}),
    }
    if facts.labels_file is not None:
        labels = _table(
            builder,
            {
                0: text(facts.labels_file),
                1: text(LABELS_DESCRIPTION),
                2: (_UINT8, TENSOR_AXIS_LABELS),
            },
        )
        output[6] = _vector(builder, [labels])
    output_tensor = _table(builder, output)
    subgraph = _table(
        builder, {2: _vector(builder, [input_tensor]), 3: _vector(builder, [output_tensor])}
    )
    model: dict[int, int | tuple[str, int]] = {
        0: text(facts.name),
        1: text(facts.description),
        2: text(facts.version),
        3: _vector(builder, [subgraph]),
        4: text(facts.author),
        7: text(MIN_PARSER_VERSION),
    }
    if facts.license is not None:
        model[5] = text(facts.license)
    builder.Finish(_table(builder, model), file_identifier=METADATA_IDENTIFIER)
    return bytes(builder.Output())


def associated_files(spec: ExportSpec) -> dict[str, bytes]:
    """The files packed into the model: a classifier's labels, one per line."""
    facts = _facts(spec)
    if facts.labels_file is None:
        return {}
    return {facts.labels_file: "".join(label + "\n" for label in facts.labels).encode()}


def pack_files(model: bytes, files: Mapping[str, bytes]) -> bytes:
    """`model` with `files` appended as a zip, as tflite-support's MetadataPopulator packs them."""
    if not files:
        return model
    out = io.BytesIO(model)
    out.seek(0, io.SEEK_END)
    with zipfile.ZipFile(out, "a") as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
            info.external_attr = 0o600 << 16
            archive.writestr(info, data)
    return out.getvalue()


def packed_files(model: bytes) -> dict[str, bytes]:
    """The files packed into a model file (none when no zip follows the flatbuffer)."""
    try:
        with zipfile.ZipFile(io.BytesIO(model)) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    except zipfile.BadZipFile:
        return {}


def read_metadata(buffer: bytes) -> MetadataView:
    """A ModelMetadata flatbuffer read back; ValueError if `buffer` is not one."""
    if len(buffer) < 8 or buffer[4:8] != METADATA_IDENTIFIER:
        raise ValueError(f"not a ModelMetadata flatbuffer (file identifier {buffer[4:8]!r})")
    data = bytearray(buffer)
    root = Table(data, flatbuffers.encode.Get(number_types.UOffsetTFlags.packer_type, data, 0))
    subgraphs = _tables(root, 3)
    return MetadataView(
        name=_string(root, 0),
        description=_string(root, 1),
        version=_string(root, 2),
        author=_string(root, 4),
        license=_string(root, 5),
        min_parser_version=_string(root, 7),
        inputs=tuple(_tensor(t) for g in subgraphs for t in _tables(g, 2)),
        outputs=tuple(_tensor(t) for g in subgraphs for t in _tables(g, 3)),
    )


def diff_metadata(buffer: bytes | None, files: Mapping[str, bytes], spec: ExportSpec) -> list[str]:
    """How a model's TF Lite Metadata (`buffer`, None when it has none) and packed `files`
    depart from `spec`: a metadata deployment carries the record's, any other none."""
    if spec.lite_metadata is None:
        if buffer is None:
            return []
        return [f"TF Lite Metadata ({METADATA_KEY}) found; the record is no metadata deployment"]
    if buffer is None:
        return [f"no TF Lite Metadata ({METADATA_KEY}), which a metadata deployment carries"]
    try:
        found = read_metadata(buffer)
    except ValueError as error:
        return [f"TF Lite Metadata: {error}"]
    expected = read_metadata(metadata_buffer(spec))
    problems = [
        f"TF Lite Metadata {name}: found {getattr(found, name)!r}, expected "
        f"{getattr(expected, name)!r}"
        for name in (field.name for field in dataclasses.fields(MetadataView))
        if getattr(found, name) != getattr(expected, name)
    ]
    for name, content in associated_files(spec).items():
        if name not in files:
            problems.append(f"labels file {name} is not packed into the model")
            continue
        count = len(files[name].decode(errors="replace").splitlines())
        if count != spec.num_outputs:
            problems.append(
                f"labels file {name}: {count} labels, the output has {spec.num_outputs} classes"
            )
        elif files[name] != content:
            problems.append(f"labels file {name} differs from the registry's")
    return problems


def _facts(spec: ExportSpec) -> LiteMetadataFacts:
    if spec.lite_metadata is None:
        raise ValueError(f"{spec.handle}: not a metadata deployment")
    return spec.lite_metadata


def _input_description(spec: ExportSpec) -> str:
    low, high = _facts(spec).input_range
    height, width = spec.image_size
    return (
        f"RGB image, float32, {height} x {width} pixels; pixel values in "
        f"[{PIXEL_RANGE[0]:g}, {PIXEL_RANGE[1]:g}] are normalized to the module's input range "
        f"[{low:g}, {high:g}]"
    )


def _table(builder: flatbuffers.Builder, fields: Mapping[int, int | tuple[str, int]]) -> int:
    """A table of `fields` by slot: an offset made before, or a (scalar type, value) pair."""
    builder.StartObject(max(fields, default=-1) + 1)
    for slot, value in sorted(fields.items()):
        if isinstance(value, tuple):
            kind, scalar = value
            if kind == _UINT8:
                builder.PrependUint8Slot(slot, scalar, 0)
            else:
                builder.PrependUint32Slot(slot, scalar, 0)
        else:
            builder.PrependUOffsetTRelativeSlot(slot, value, 0)
    return int(builder.EndObject())


def _vector(builder: flatbuffers.Builder, offsets: list[int]) -> int:
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return int(builder.EndVector())


def _floats(builder: flatbuffers.Builder, values: list[float]) -> int:
    builder.StartVector(4, len(values), 4)
    for value in reversed(values):
        builder.PrependFloat32(value)
    return int(builder.EndVector())


def _offset(table: Table, slot: int) -> int:
    return int(table.Offset(4 + 2 * slot))


def _string(table: Table, slot: int) -> str | None:
    offset = _offset(table, slot)
    return table.String(offset + table.Pos).decode() if offset else None


def _uint8(table: Table, slot: int) -> int:
    offset = _offset(table, slot)
    return int(table.Get(number_types.Uint8Flags, offset + table.Pos)) if offset else 0


def _child(table: Table, slot: int) -> Table | None:
    offset = _offset(table, slot)
    return Table(table.Bytes, table.Indirect(offset + table.Pos)) if offset else None


def _tables(table: Table, slot: int) -> list[Table]:
    offset = _offset(table, slot)
    if not offset:
        return []
    start = table.Vector(offset)
    return [
        Table(table.Bytes, table.Indirect(start + 4 * index))
        for index in range(table.VectorLen(offset))
    ]


def _float_list(table: Table | None, slot: int) -> tuple[float, ...]:
    offset = _offset(table, slot) if table is not None else 0
    if table is None or not offset:
        return ()
    start = table.Vector(offset)
    return tuple(
        float(table.Get(number_types.Float32Flags, start + 4 * index))
        for index in range(table.VectorLen(offset))
    )


def _tensor(table: Table) -> TensorView:
    content = _child(table, 3)
    tag = _uint8(content, 0) if content is not None else 0
    properties = _child(content, 1) if content is not None else None
    normalization = None
    for unit in _tables(table, 4):
        if _uint8(unit, 0) == NORMALIZATION_OPTIONS:
            options = _child(unit, 1)
            normalization = (_float_list(options, 0), _float_list(options, 1))
    stats = _child(table, 5)
    return TensorView(
        name=_string(table, 0),
        description=_string(table, 1),
        content=tag,
        color_space=_uint8(properties, 0) if tag == IMAGE_PROPERTIES and properties else None,
        normalization=normalization,
        stats=(_float_list(stats, 1), _float_list(stats, 0)) if stats is not None else None,
        associated_files=tuple(
            (_string(entry, 0) or "", _uint8(entry, 2)) for entry in _tables(table, 6)
        ),
    )
