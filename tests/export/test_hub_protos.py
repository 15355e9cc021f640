"""The hand-written encoders produce the bytes tensorflow_hub's generated protos produce."""

import pytest

from modules.export import hub_protos

# Serialized with tensorflow_hub 0.15's image_module_info_pb2 / module_attachment_pb2.
IMAGE_MODULE_INFO_224 = bytes.fromhex("0a0608e00110e001")
ATTACHMENT_224 = b"\n\x11image_module_info\x12\x08" + IMAGE_MODULE_INFO_224


def test_image_module_info_bytes():
    assert hub_protos.encode_image_module_info(224, 224) == IMAGE_MODULE_INFO_224


def test_module_attachment_bytes():
    encoded = hub_protos.encode_module_attachment("image_module_info", IMAGE_MODULE_INFO_224)
    assert encoded == ATTACHMENT_224


@pytest.mark.parametrize("size", [(1, 1), (224, 224), (299, 299), (480, 640), (100000, 3)])
def test_round_trip(size):
    info = hub_protos.encode_image_module_info(*size)
    key, value = hub_protos.decode_module_attachment(
        hub_protos.encode_module_attachment("image_module_info", info)
    )
    assert key == "image_module_info"
    assert hub_protos.decode_image_module_info(value) == size


def test_module_def_is_format_3():
    assert hub_protos.decode_module_def_format(hub_protos.MODULE_DEF_V3) == 3


def test_image_module_info_without_size():
    assert hub_protos.decode_image_module_info(b"") is None


def test_truncated_message_is_an_error():
    with pytest.raises(ValueError, match="truncated"):
        hub_protos.decode_image_module_info(IMAGE_MODULE_INFO_224[:-1])
