"""TF-Slim-compatible networks written on TensorFlow 2 `tf.nn` ops.

Each architecture is one file here that defines a `NetDefinition` subclass and a `NETS` table
(network name -> a callable returning its definition, taking the variant's hyperparameters as
keyword arguments). This package finds those tables itself: adding a network is adding its file.
A net works eagerly (a TF2 `tf.Module`, for tf.function and tf.saved_model.save) and inside
`with tf.Graph().as_default():` (for TF1 Hub format export).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from functools import cache
from typing import Any

from hubzoo.errors import HubzooError
from modules.nets.base import NetDefinition, SlimNet
from modules.nets.layers import ArgScope, VariableSpec

_SUPPORT_MODULES = frozenset({"base", "layers"})
"""Files of this package that define no network."""

__all__ = [
    "ArgScope",
    "NetDefinition",
    "SlimNet",
    "VariableSpec",
    "create_net",
    "net_definition",
    "net_layout",
    "net_names",
]


@cache
def _nets() -> dict[str, Callable[..., NetDefinition]]:
    found: dict[str, Callable[..., NetDefinition]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in _SUPPORT_MODULES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, factory in module.NETS.items():
            if name in found:
                raise RuntimeError(
                    f"network {name!r} is defined twice (again in {module.__name__})"
                )
            found[name] = factory
    return dict(sorted(found.items()))


def net_names() -> tuple[str, ...]:
    """Every network this package can build, sorted."""
    return tuple(_nets())


def net_definition(name: str, **hyperparameters: Any) -> NetDefinition:
    """The definition of network `name` with the given hyperparameters (e.g. depth_multiplier).

    Unknown names and hyperparameters raise HubzooError naming what is known.
    """
    nets = _nets()
    if name not in nets:
        raise HubzooError(f"unknown network {name!r}; known networks: {', '.join(nets)}")
    try:
        return nets[name](**hyperparameters)
    except TypeError as error:
        raise HubzooError(f"network {name!r} does not take {hyperparameters}: {error}") from None


def create_net(name: str, num_classes: int | None = None, **hyperparameters: Any) -> SlimNet:
    """Builds the named net with its variables (in the current graph, or eagerly)."""
    return SlimNet(net_definition(name, **hyperparameters), num_classes)


def net_layout(
    name: str, num_classes: int | None = None, **hyperparameters: Any
) -> dict[str, tuple[int, ...]]:
    """What `create_net(name, num_classes, ...).layout()` returns, without creating variables."""
    specs = net_definition(name, **hyperparameters).variable_specs(num_classes)
    return {spec.name: spec.shape for spec in specs}
