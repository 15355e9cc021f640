"""Handles: the name of a module version or deployment, which is also its record's path.

    PUBLISHER/NAMESPACE.../NAME/[LINE/]TASK/VERSION       a module, e.g.
        google/imagenet/mobilenet_v1_025_128/quantops/classification/1
    MODULE_HANDLE/NAME/KIND/VERSION                        a deployment of that module, e.g.
        google/imagenet/mobilenet_v3_large_100_224/classification/5/metadata/lite/1

A handle's form is the `handle` pattern of registry/schema/facts.schema.json.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from hubzoo.documents import definition

DEPLOYMENT_KINDS = ("tfjs", "lite")
"""Runtimes a deployment converts a module for: TensorFlow.js and TensorFlow Lite."""


@cache
def _handle_pattern() -> re.Pattern[str]:
    return re.compile(definition("handle")["pattern"])


def is_handle(text: object) -> bool:
    """Whether `text` is a well-formed handle: publisher/name.../version (1, 2, ...)."""
    return isinstance(text, str) and _handle_pattern().fullmatch(text) is not None


@dataclass(frozen=True)
class DeploymentHandle:
    """The parts of a deployment's handle."""

    parent: str  # the handle of the module it converts
    name: str  # "default", or e.g. "metadata" (a TF Lite model with metadata)
    kind: str  # one of DEPLOYMENT_KINDS
    version: int


def deployment_handle(handle: str) -> DeploymentHandle | None:
    """The parts of `handle` when it names a deployment, else None."""
    parts = handle.rsplit("/", 3)
    if len(parts) != 4 or parts[2] not in DEPLOYMENT_KINDS or not _is_number(parts[3]):
        return None
    return DeploymentHandle(parts[0], parts[1], parts[2], int(parts[3]))


def version_of(handle: str) -> int:
    """The version, a handle's last segment."""
    return int(handle.rsplit("/", 1)[1])


def _is_number(text: str) -> bool:
    """Whether `text` is written in the digits 0-9 only (`str.isdigit` also takes `²`)."""
    return text.isascii() and text.isdigit()
