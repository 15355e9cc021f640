"""Check a set of weights against the variables a network declares."""

from collections.abc import Mapping

import numpy as np

from hubzoo.errors import HubzooError


def check_weights(
    expected_shapes: Mapping[str, tuple[int, ...]], weights: Mapping[str, np.ndarray], what: str
) -> None:
    """Raise HubzooError naming missing or misshapen weights; names beyond the net are ignored
    (a training checkpoint's heads and leftovers)."""
    missing = sorted(set(expected_shapes) - set(weights))
    problems = [f"missing {len(missing)} weights, e.g. {', '.join(missing[:3])}"] if missing else []
    for name in sorted(set(expected_shapes) & set(weights)):
        shape = tuple(np.shape(weights[name]))
        if shape != tuple(expected_shapes[name]):
            problems.append(f"{name} has shape {shape}, expected {tuple(expected_shapes[name])}")
    if problems:
        raise HubzooError(f"{what}: weights do not fit the network: " + "; ".join(problems[:5]))
