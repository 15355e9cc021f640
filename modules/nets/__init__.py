"""TF-Slim-compatible Inception networks written on TensorFlow 2 `tf.nn` ops.

Each net is defined once and works eagerly (a TF2 `tf.Module`, for tf.function and
tf.saved_model.save) and inside `with tf.Graph().as_default():` (for TF1 Hub format export).
"""

from __future__ import annotations

from hubzoo.errors import HubzooError
from modules.nets.base import DEFAULT_BATCH_NORM_DECAY, WEIGHT_DECAY, SlimNet
from modules.nets.inception_resnet_v2 import InceptionResnetV2
from modules.nets.inception_v1 import InceptionV1
from modules.nets.inception_v2 import InceptionV2
from modules.nets.layers import VariableSpec

NET_CLASSES: dict[str, type[SlimNet]] = {
    "inception_v1": InceptionV1,
    "inception_v2": InceptionV2,
    "inception_resnet_v2": InceptionResnetV2,
}
NET_NAMES: tuple[str, ...] = tuple(NET_CLASSES)

__all__ = [
    "DEFAULT_BATCH_NORM_DECAY",
    "NET_NAMES",
    "WEIGHT_DECAY",
    "SlimNet",
    "VariableSpec",
    "create_net",
    "net_class",
    "net_layout",
]


def net_class(name: str) -> type[SlimNet]:
    """The SlimNet subclass for a net name; unknown names raise HubzooError listing the known ones."""
    try:
        return NET_CLASSES[name]
    except KeyError:
        raise HubzooError(
            f"unknown network {name!r}; known networks: {', '.join(NET_NAMES)}"
        ) from None


def create_net(name: str, num_classes: int | None = None) -> SlimNet:
    """Builds the named net with its variables (in the current graph, or eagerly)."""
    return net_class(name)(num_classes)


def net_layout(name: str, num_classes: int | None = None) -> dict[str, tuple[int, ...]]:
    """What `create_net(name, num_classes).layout()` returns, without creating variables."""
    return {spec.name: spec.shape for spec in net_class(name).variable_specs(num_classes)}
