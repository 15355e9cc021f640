"""Which module records the downstream tests publish: every one the zoo can build (the sweep),
and a small CI subset chosen by a rule.

The CI rule: for each family, its cheapest buildable record (cost = the network's weights times
the input's pixels, the record's own hyperparameters and size), provided that cost is at most
CI_COST_LIMIT; families are taken in name order, each in the next (format, task) turn of
CI_TURNS (falling back to any record of the family when it has none in its turn), so both
formats, both clients and both kinds of page are covered. The rest run under the `sweep` marker.
"""

from __future__ import annotations

import math
from functools import cache

from hubzoo.contract import CLASSIFICATION, FEATURE_VECTOR, HUB, SAVED_MODEL_2
from hubzoo.errors import HubzooError
from hubzoo.record import ModuleRecord
from hubzoo.registry import load_registry
from pipeline.publish import buildable_network

CI_COST_LIMIT = 2.5e12
"""Weights x pixels of the largest CI pick (inception_v3 at 299: ~2.1e12); leaves out
inception_resnet_v2, nasnet_large and pnasnet_large (~5e12 to ~1e13), which the sweep covers."""
CI_TURNS = (
    (HUB, CLASSIFICATION),
    (SAVED_MODEL_2, FEATURE_VECTOR),
    (HUB, FEATURE_VECTOR),
    (SAVED_MODEL_2, CLASSIFICATION),
)


@cache
def publishable_records() -> tuple[ModuleRecord, ...]:
    """Every module record of the registry the zoo can build, in handle order."""
    records = []
    for record in load_registry().modules.values():
        try:
            buildable_network(record)
        except HubzooError:
            continue
        records.append(record)
    return tuple(sorted(records, key=lambda record: record.handle))


def unpublishable_records() -> tuple[ModuleRecord, ...]:
    """The module records the zoo cannot build (no network, or a quantops graph)."""
    publishable = {record.handle for record in publishable_records()}
    return tuple(
        sorted(
            (r for r in load_registry().modules.values() if r.handle not in publishable),
            key=lambda record: record.handle,
        )
    )


@cache
def _weights(network: str, num_classes: int | None, hyperparameters: tuple) -> int:
    from modules.nets import net_layout

    layout = net_layout(network, num_classes, **dict(hyperparameters))
    return sum(math.prod(shape) for shape in layout.values())


def cost(record: ModuleRecord) -> float:
    """The network's weights times the input's pixels: how heavy publishing the record is."""
    hyperparameters = tuple(sorted(record.hyperparameters.items()))
    weights = _weights(buildable_network(record), record.num_classes, hyperparameters)
    return float(weights * record.image_size[0] * record.image_size[1])


def cheapest(records: list[ModuleRecord]) -> ModuleRecord:
    """The cheapest of `records` (ties: the lowest version, then the handle)."""
    return min(records, key=lambda r: (cost(r), r.version, r.handle))


@cache
def ci_records() -> tuple[ModuleRecord, ...]:
    """One record per family by the rule in the module docstring."""
    by_family: dict[str, list[ModuleRecord]] = {}
    for record in publishable_records():
        by_family.setdefault(record.family, []).append(record)
    chosen, turn = [], 0
    for family in sorted(by_family):
        records = by_family[family]
        if cost(cheapest(records)) > CI_COST_LIMIT:
            continue
        module_format, task = CI_TURNS[turn % len(CI_TURNS)]
        in_turn = [r for r in records if (r.format, r.task) == (module_format, task)]
        chosen.append(cheapest(in_turn or records))
        turn += 1
    return tuple(chosen)


def sweep_records() -> tuple[ModuleRecord, ...]:
    """Every publishable record not in the CI subset."""
    ci = {record.handle for record in ci_records()}
    return tuple(record for record in publishable_records() if record.handle not in ci)
