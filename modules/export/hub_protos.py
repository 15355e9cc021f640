"""The three tiny protobuf messages of the TF1 Hub format, encoded and decoded by hand.

Their definitions (tensorflow_hub 0.15, proto3), all the wire format this module needs:

    ModuleDef        { Format format = 1; }                  // enum, FORMAT_V3 = 3
    ModuleAttachment { string key = 1; bytes value = 2; }
    ImageModuleInfo  { InputSize default_image_size = 1; }
    InputSize        { int32 height = 1; int32 width = 2; }
"""

from collections.abc import Iterator

MODULE_DEF_V3 = b"\x08\x03"
"""The whole of `tfhub_module.pb`: a ModuleDef with format = 3."""

ATTACHMENTS_COLLECTION = "hub_module_attachments"
IMAGE_MODULE_INFO_KEY = "image_module_info"

_VARINT = 0
_LENGTH_DELIMITED = 2


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low_bits = value & 0x7F
        value >>= 7
        if value:
            out.append(low_bits | 0x80)
        else:
            out.append(low_bits)
            return bytes(out)


def _key(field_number: int, wire_type: int) -> bytes:
    return _varint(field_number << 3 | wire_type)


def _length_delimited(field_number: int, payload: bytes) -> bytes:
    return _key(field_number, _LENGTH_DELIMITED) + _varint(len(payload)) + payload


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """Yields (field number, int or bytes) for each varint or length-delimited field."""
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        field_number, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            value, pos = _read_varint(data, pos)
            yield field_number, value
        elif wire_type == _LENGTH_DELIMITED:
            length, pos = _read_varint(data, pos)
            if pos + length > len(data):
                raise ValueError("truncated length-delimited field")
            yield field_number, data[pos : pos + length]
            pos += length
        else:
            raise ValueError(f"unsupported wire type {wire_type}")


def encode_image_module_info(height: int, width: int) -> bytes:
    """An ImageModuleInfo with its default image size."""
    size = _key(1, _VARINT) + _varint(height) + _key(2, _VARINT) + _varint(width)
    return _length_delimited(1, size)


def decode_image_module_info(data: bytes) -> tuple[int, int] | None:
    """The default (height, width) of an ImageModuleInfo, None when it has none."""
    for field_number, value in _fields(data):
        if field_number == 1 and isinstance(value, bytes):
            size = {number: item for number, item in _fields(value) if isinstance(item, int)}
            return size.get(1, 0), size.get(2, 0)
    return None


def encode_module_attachment(key: str, value: bytes) -> bytes:
    """A ModuleAttachment carrying `value` (a serialized message) under `key`."""
    return _length_delimited(1, key.encode()) + _length_delimited(2, value)


def decode_module_attachment(data: bytes) -> tuple[str, bytes]:
    """The (key, value) of a serialized ModuleAttachment."""
    key, value = "", b""
    for field_number, item in _fields(data):
        if field_number == 1 and isinstance(item, bytes):
            key = item.decode()
        elif field_number == 2 and isinstance(item, bytes):
            value = item
    return key, value


def decode_module_def_format(data: bytes) -> int | None:
    """The format number of a serialized ModuleDef (3 for the TF1 Hub format)."""
    for field_number, value in _fields(data):
        if field_number == 1 and isinstance(value, int):
            return value
    return None
