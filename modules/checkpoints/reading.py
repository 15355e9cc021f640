"""Read a TF-Slim checkpoint by variable name, checked against the layout a network needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from hubzoo.errors import HubzooError

SHOWN_PER_LIST = 5
# What TensorFlow's checkpoint reader raises for unreadable files (truncated data: IndexError).
_READ_ERRORS = (tf.errors.OpError, ValueError, IndexError, RuntimeError, OSError)

# How `describe_extras` groups the variables a training checkpoint carries beyond the net's.
_OPTIMIZER_SLOT_SUFFIXES = ("/RMSProp", "/RMSProp_1", "/Momentum", "/Adam", "/Adam_1", "/Adagrad")
_EXTRA_KINDS = (
    ("training step", lambda name: name == "global_step"),
    ("optimizer slots", lambda name: name.endswith(_OPTIMIZER_SLOT_SUFFIXES)),
    ("moving-average shadows", lambda name: name.endswith("/ExponentialMovingAverage")),
    ("auxiliary head (AuxLogits)", lambda name: "/AuxLogits/" in name or name.startswith("aux_")),
    (
        "classification head (Logits)",
        lambda name: "/Logits/" in name or name.startswith("final_layer/"),
    ),
)


class CheckpointMismatchError(HubzooError):
    """The checkpoint lacks variables the network needs, or has them with other shapes or dtypes."""


@dataclass(frozen=True)
class CheckpointWeights:
    """The values a network needs, by TF-Slim name, and the names the checkpoint has beyond them."""

    values: dict[str, np.ndarray]
    extras: tuple[str, ...]

    def describe_extras(self) -> str:
        """A readable listing of the extra variables, grouped by kind (step, slots, heads, other)."""
        if not self.extras:
            return "no extra variables"
        groups: dict[str, list[str]] = {}
        for name in self.extras:
            kind = next((kind for kind, matches in _EXTRA_KINDS if matches(name)), "other")
            groups.setdefault(kind, []).append(name)
        lines = [f"{len(self.extras)} extra variables, not used by the network:"]
        for kind, names in groups.items():
            lines.append(f"  {kind} ({len(names)}):")
            lines.extend(f"    {name}" for name in names)
        return "\n".join(lines)


def read_checkpoint(path: str | Path, layout: Mapping[str, tuple[int, ...]]) -> CheckpointWeights:
    """Reads every variable of `layout` from the checkpoint at `path` (a prefix or a directory).

    Each name must exist with its shape as float32, otherwise `CheckpointMismatchError` lists the
    missing and mis-shaped names and, for information, the unexpected ones (first few, counts).
    A checkpoint that is missing, unreadable or corrupt raises `HubzooError` naming the path.
    """
    reader = _open(Path(path))
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    missing = [name for name in layout if name not in shapes]
    mismatched = [
        f"{name}: expected float32 {list(layout[name])}, found {dtypes[name].name} {shapes[name]}"
        for name in layout
        if name in shapes
        and (tuple(shapes[name]) != tuple(layout[name]) or dtypes[name] != tf.float32)
    ]
    extras = tuple(sorted(name for name in shapes if name not in layout))
    if missing or mismatched:
        raise CheckpointMismatchError(
            f"checkpoint {path} does not fit the network ({len(layout)} variables needed):\n"
            + _listing("missing", missing)
            + "\n"
            + _listing("wrong shape or dtype", mismatched)
            + "\n"
            + _listing("unexpected (allowed)", extras)
        )
    values = {name: _get(reader, path, name) for name in layout}
    return CheckpointWeights(values=values, extras=extras)


def _open(path: Path):
    if not path.is_dir() and not _has_checkpoint_files(path):
        raise HubzooError(
            f"no checkpoint at {path}: expected {path}.index with {path}.data-* "
            f"(or a single-file checkpoint {path})"
        )
    try:
        return tf.train.load_checkpoint(str(path))
    except _READ_ERRORS as error:
        raise HubzooError(f"cannot read checkpoint {path}: {_first_line(error)}") from None


def _has_checkpoint_files(prefix: Path) -> bool:
    index = prefix.with_name(prefix.name + ".index")
    return prefix.is_file() or index.is_file()


def _get(reader, path: str | Path, name: str) -> np.ndarray:
    try:
        return reader.get_tensor(name)
    except _READ_ERRORS as error:
        raise HubzooError(
            f"cannot read {name} from checkpoint {path} (corrupt?): {_first_line(error)}"
        ) from None


def _listing(label: str, names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(names[:SHOWN_PER_LIST])
    more = f", ... ({len(names) - SHOWN_PER_LIST} more)" if len(names) > SHOWN_PER_LIST else ""
    return f"  {label}: {len(names)}" + (f": {shown}{more}" if names else "")


def _first_line(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error)
    return message.strip().splitlines()[0] if message.strip() else type(error).__name__
