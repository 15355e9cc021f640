"""Export a network and its weights as a TF Hub module or a deployment, one file per format.

Each format of `hubzoo.contract.FORMATS` names its module here (`tf1_hub`, `saved_model2`, and
the deployments `tfjs`, `tflite`), which provides the three things a format needs, as
`FormatImplementation` says: `export` writes the artifact, `diff` lists how an artifact read by
`modules.inspect` departs from the record, and `load_calls` loads it as a consumer does (once
where the format allows), for the smoke test. A deployment also reads its own folder (`describe`), which is not a SavedModel.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from hubzoo.contract import FORMATS
from hubzoo.errors import HubzooError

if TYPE_CHECKING:
    import numpy as np

    from modules.export.spec import ExportSpec
    from modules.inspect import ModuleDescription

SignatureCall = Callable[..., dict]
"""A loaded signature bound to its extra inputs: call(images) -> {output name: tensor}."""


def _no_training_path() -> dict[str, SignatureCall]:
    return {}


@dataclass(frozen=True)
class ConsumerCalls:
    """A module as its consumer loads it: the signatures it serves at inference, and `training()`
    giving the calls of its training path (loading again only where the format keeps a separate
    training graph; a deployment has none)."""

    inference: dict[str, SignatureCall]
    training: Callable[[], dict[str, SignatureCall]] = _no_training_path


class FormatImplementation(Protocol):
    """What the module named by a format's `implementation` provides."""

    def export(
        self, spec: ExportSpec, weights: Mapping[str, np.ndarray], out_dir: Path
    ) -> Path: ...

    def diff(self, desc: ModuleDescription, spec: ExportSpec) -> list[str]: ...

    def load_calls(self, module_dir: Path, spec: ExportSpec) -> ConsumerCalls: ...


class DeploymentImplementation(FormatImplementation, Protocol):
    """What a deployment format's module provides besides: reading its own folder."""

    def describe(self, folder: Path) -> ModuleDescription: ...


def format_implementation(format_name: str) -> FormatImplementation:
    """The exporter, check and loader of `format_name`; HubzooError for an unknown format."""
    if format_name not in FORMATS:
        raise HubzooError(f"unknown module format {format_name!r}; known: {', '.join(FORMATS)}")
    module = importlib.import_module(FORMATS[format_name].implementation)
    return cast(FormatImplementation, module)


def deployment_implementation(format_name: str) -> DeploymentImplementation:
    """The module of deployment format `format_name`."""
    if not FORMATS[format_name].deployment:
        raise HubzooError(f"{format_name!r} is a module format, not a deployment")
    return cast(DeploymentImplementation, format_implementation(format_name))


def missing_signature(name: str) -> SignatureCall:
    """A stand-in for a signature the module lacks: calling it raises KeyError naming it."""

    def call(images: object) -> dict:
        raise KeyError(f"the module has no signature {name!r}")

    return call
