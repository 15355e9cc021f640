"""Reading checkpoints by name (and its errors), and synthetic checkpoints in the TF-Slim layout."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

from hubzoo.errors import HubzooError
from modules.checkpoints.reading import CheckpointMismatchError, read_checkpoint
from modules.checkpoints.synthetic import (
    is_synthetic,
    synthetic_layout,
    synthetic_values,
    write_synthetic_checkpoint,
)
from modules.nets import net_layout, net_names
from tests.nets.helpers import SEED, net_params

V1_LAYOUT_SIZE = 228
SLOW_CHECKPOINTS = {"inception_resnet_v2", "pnasnet_large"}


def _save(prefix, values):
    """Write a checkpoint holding exactly `values`, by name."""
    names = sorted(values)
    tf.raw_ops.SaveV2(
        prefix=str(prefix),
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[values[name] for name in names],
    )
    return prefix


def _copy_checkpoint(prefix, destination):
    destination.parent.mkdir(parents=True, exist_ok=True)
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copyfile(f"{prefix}{suffix}", f"{destination}{suffix}")
    return destination


@pytest.mark.parametrize("net_name", net_params(net_names(), slow=SLOW_CHECKPOINTS))
def test_synthetic_checkpoint_has_the_slim_training_layout(net_name, synthetic_checkpoint):
    prefix = synthetic_checkpoint(net_name)

    stored = dict(tf.train.list_variables(str(prefix)))
    dtypes = tf.train.load_checkpoint(str(prefix)).get_variable_to_dtype_map()

    expected = {name: list(shape) for name, shape in synthetic_layout(net_name).items()}
    assert stored == {**expected, "global_step": []}
    assert dtypes.pop("global_step") == tf.int64
    assert set(dtypes.values()) == {tf.float32}
    assert net_layout(net_name, 1001).items() <= synthetic_layout(net_name).items()
    assert (prefix.parent / "checkpoint").read_text().startswith("model_checkpoint_path:")
    assert is_synthetic(prefix)
    marker = json.loads(prefix.with_name(prefix.name + ".synthetic.json").read_text())
    assert marker == {"net": net_name, "hyperparameters": {}, "seed": SEED, "synthetic": True}


def test_irv2_synthetic_checkpoint_carries_aux_logits():
    aux = {name for name in synthetic_layout("inception_resnet_v2") if "/AuxLogits/" in name}
    assert "InceptionResnetV2/AuxLogits/Logits/weights" in aux
    assert len(aux) == 10


def test_synthetic_checkpoints_are_deterministic_per_seed(tmp_path, synthetic_checkpoint):
    first = synthetic_checkpoint("inception_v1")
    again = write_synthetic_checkpoint("inception_v1", tmp_path / "same" / "model.ckpt", SEED)
    other = write_synthetic_checkpoint("inception_v1", tmp_path / "other" / "model.ckpt", SEED + 1)

    for suffix in (".index", ".data-00000-of-00001"):
        assert (again.parent / f"model.ckpt{suffix}").read_bytes() == (
            first.parent / f"model.ckpt{suffix}"
        ).read_bytes()
    assert (other.parent / "model.ckpt.data-00000-of-00001").read_bytes() != (
        first.parent / "model.ckpt.data-00000-of-00001"
    ).read_bytes()


def test_synthetic_values_are_scaled_like_trained_batch_norm_nets():
    values = synthetic_values("inception_v1", SEED)

    assert values["InceptionV1/Mixed_4c/Branch_1/Conv2d_0b_3x3/weights"].std() == pytest.approx(
        np.sqrt(2 / (3 * 3 * 112)), rel=0.05
    )
    variances = np.concatenate([v for n, v in values.items() if n.endswith("moving_variance")])
    assert variances.min() >= 0.8 and variances.max() <= 1.25


def test_is_synthetic_is_false_without_marker(tmp_path):
    prefix = _save(tmp_path / "plain.ckpt", {"a": np.zeros(2, np.float32)})
    assert not is_synthetic(prefix)


def test_read_returns_exactly_the_layout_and_lists_extras(synthetic_checkpoint):
    prefix = synthetic_checkpoint("inception_v1")
    layout = net_layout("inception_v1")

    weights = read_checkpoint(prefix, layout)

    assert list(weights.values) == list(layout)
    expected = synthetic_values("inception_v1", SEED)
    for name, value in weights.values.items():
        np.testing.assert_array_equal(value, expected[name])
    assert weights.extras == (
        "InceptionV1/Logits/Conv2d_0c_1x1/biases",
        "InceptionV1/Logits/Conv2d_0c_1x1/weights",
        "global_step",
    )
    listing = weights.describe_extras()
    assert "3 extra variables" in listing
    assert "training step (1):\n    global_step" in listing
    assert "classification head (Logits) (2):" in listing


def test_read_accepts_a_directory_with_a_checkpoint_state_file(synthetic_checkpoint):
    prefix = synthetic_checkpoint("inception_v1")
    weights = read_checkpoint(prefix.parent, net_layout("inception_v1", 1001))
    assert weights.extras == ("global_step",)


def test_describe_extras_groups_optimizer_slots_and_aux_logits(tmp_path):
    values = {
        "Net/Conv/weights": np.ones((1, 1, 3, 2), np.float32),
        "Net/Conv/weights/RMSProp": np.ones((1, 1, 3, 2), np.float32),
        "Net/Conv/weights/RMSProp_1": np.ones((1, 1, 3, 2), np.float32),
        "Net/AuxLogits/Logits/biases": np.ones(3, np.float32),
        "Net/Conv/weights/ExponentialMovingAverage": np.ones((1, 1, 3, 2), np.float32),
    }
    prefix = _save(tmp_path / "train.ckpt", values)

    listing = read_checkpoint(prefix, {"Net/Conv/weights": (1, 1, 3, 2)}).describe_extras()

    assert "optimizer slots (2):" in listing
    assert "auxiliary head (AuxLogits) (1):" in listing
    assert "moving-average shadows (1):" in listing


def test_missing_variables_are_listed_first_few_with_counts(tmp_path, synthetic_checkpoint):
    values = synthetic_values("inception_v1", SEED)
    mixed_5c = [name for name in values if "/Mixed_5c/" in name]
    prefix = _save(
        tmp_path / "partial.ckpt",
        {name: value for name, value in values.items() if name not in mixed_5c},
    )

    with pytest.raises(CheckpointMismatchError) as caught:
        read_checkpoint(prefix, net_layout("inception_v1"))

    message = str(caught.value)
    assert f"({V1_LAYOUT_SIZE} variables needed)" in message
    assert (
        f"missing: {len(mixed_5c)}: {', '.join(mixed_5c[:5])}, ... ({len(mixed_5c) - 5} more)"
        in message
    )
    assert "wrong shape or dtype: 0" in message
    assert "unexpected (allowed): 2: InceptionV1/Logits/Conv2d_0c_1x1/biases" in message


def test_wrong_shapes_and_dtypes_name_expected_and_found(tmp_path):
    layout = {"Net/Conv/weights": (3, 3, 8, 16), "Net/Conv/BatchNorm/beta": (16,)}
    prefix = _save(
        tmp_path / "shapes.ckpt",
        {
            "Net/Conv/weights": np.zeros((3, 3, 8, 32), np.float32),
            "Net/Conv/BatchNorm/beta": np.zeros(16, np.float64),
        },
    )

    with pytest.raises(CheckpointMismatchError) as caught:
        read_checkpoint(prefix, layout)

    message = str(caught.value)
    assert "missing: 0" in message
    assert "wrong shape or dtype: 2" in message
    assert (
        "Net/Conv/weights: expected float32 [3, 3, 8, 16], found float32 [3, 3, 8, 32]" in message
    )
    assert "Net/Conv/BatchNorm/beta: expected float32 [16], found float64 [16]" in message


def test_missing_checkpoint_names_the_path(tmp_path):
    with pytest.raises(
        HubzooError, match=r"no checkpoint at .*absent\.ckpt: expected .*absent\.ckpt\.index"
    ):
        read_checkpoint(tmp_path / "absent.ckpt", {"a": (1,)})


def test_directory_without_checkpoint_names_the_path(tmp_path):
    with pytest.raises(HubzooError, match=rf"cannot read checkpoint {tmp_path}"):
        read_checkpoint(tmp_path, {"a": (1,)})


def test_corrupt_index_is_reported(tmp_path, synthetic_checkpoint):
    prefix = _copy_checkpoint(synthetic_checkpoint("inception_v1"), tmp_path / "bad" / "model.ckpt")
    index = prefix.with_name("model.ckpt.index")
    index.write_bytes(b"not a table" * 100)

    with pytest.raises(HubzooError, match=rf"cannot read checkpoint {prefix}: .*") as caught:
        read_checkpoint(prefix, net_layout("inception_v1"))
    assert not isinstance(caught.value, CheckpointMismatchError)


@pytest.mark.parametrize("damage", ["truncate", "overwrite"])
def test_corrupt_data_is_reported_with_the_variable(tmp_path, synthetic_checkpoint, damage):
    prefix = _copy_checkpoint(
        synthetic_checkpoint("inception_v1"), tmp_path / damage / "model.ckpt"
    )
    with open(f"{prefix}.data-00000-of-00001", "r+b") as data:
        if damage == "truncate":
            data.truncate(1000)
        else:
            data.seek(4000)
            data.write(b"\xff" * 64)

    with pytest.raises(
        HubzooError, match=rf"cannot read InceptionV1/\S+ from checkpoint {prefix} \(corrupt\?\)"
    ):
        read_checkpoint(prefix, net_layout("inception_v1"))
