"""Rules on a record's merged facts: what every module and deployment must end up with.

A problem points at the layer that stated the fact at fault (a family, zoo facts or record
file), naming the record when that is not the record's own file; a fact no layer states is
reported at the record file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hubzoo.contract import BN_HPARAMS_SUFFIX, DEFAULT_SIGNATURE, FEATURE_VECTOR, FORMATS, TASKS
from hubzoo.facts import (
    REQUIRED_DEPLOYMENT_FACTS,
    REQUIRED_MODULE_FACTS,
    STATED_MODULE_FACTS,
)
from hubzoo.family import ModulePlace
from hubzoo.located import LocatedDict
from hubzoo.record import ModuleRecord
from hubzoo.resolve import Merged
from hubzoo.yamlnodes import Problem


class _Reporter:
    """Locates a record's problems: at the layer that stated a fact, else at the record file."""

    def __init__(self, handle: str, record_file: LocatedDict, own: LocatedDict, merged: Merged):
        self.handle, self.record_file, self.own, self.merged = handle, record_file, own, merged

    def at(self, key: str, message: str) -> Problem:
        """A problem with fact `key`, at the layer that stated it."""
        source = self.merged.sources.get(key)
        layer = source[1] if source else None
        if layer is self.own:
            return self.own.problem(key, message)
        if isinstance(layer, LocatedDict):
            return layer.problem(key, f"{self.handle}: {message}")
        return self.record_file.problem(None, message)

    def whole(self, message: str) -> Problem:
        """A problem with the record as a whole, at its file."""
        return self.record_file.problem(None, message)


def fact_problem(
    handle: str, record_file: LocatedDict, own: LocatedDict, merged: Merged, key: str, message: str
) -> Problem:
    """A problem with fact `key` of a record, at the layer that stated it."""
    return _Reporter(handle, record_file, own, merged).at(key, message)


def module_problems(
    handle: str, record_file: LocatedDict, own: LocatedDict, place: ModulePlace, merged: Merged
) -> Iterator[Problem]:
    """What is wrong with a module's merged facts; `record_file` is its file's data and `own`
    the facts it states itself."""
    report = _Reporter(handle, record_file, own, merged)
    facts = merged.facts
    for key in REQUIRED_MODULE_FACTS:
        if facts.get(key) is None:
            yield report.whole(f"no layer states {key} (family, zoo facts or this record)")
    for key in STATED_MODULE_FACTS:
        if key not in facts:
            yield report.whole(f"no layer states {key}; say null where there is none (zoo facts)")
    if any(facts.get(key) is None for key in REQUIRED_MODULE_FACTS):
        return
    yield from _task_problems(place.task, facts, report)
    yield from _build_problems(facts, report)


def _task_problems(
    task_id: str, facts: dict[str, Any] | Any, report: _Reporter
) -> Iterator[Problem]:
    task = TASKS[task_id]
    if facts.get(task.width_field) is None:
        yield report.whole(f"task {task_id} needs {task.width_field}; no layer states it")
    signatures = facts["signatures"]
    if DEFAULT_SIGNATURE not in signatures:
        yield report.at("signatures", f"signatures {signatures} must include '{DEFAULT_SIGNATURE}'")
    for name in signatures:
        if name not in task.signatures:
            yield report.at("signatures", f"signature '{name}' does not belong to task {task_id}")
    fmt = FORMATS[facts["format"]]
    has_hparams = any(name.endswith(BN_HPARAMS_SUFFIX) for name in signatures)
    momentum = facts.get("batch_norm_momentum")
    if has_hparams and momentum is None:
        yield report.at("signatures", "a *_with_bn_hparams signature needs batch_norm_momentum")
    if fmt.bn_hparams_signatures and momentum is not None and not has_hparams:
        message = f"batch_norm_momentum needs a *_with_bn_hparams signature in format {fmt.name}"
        yield report.at("batch_norm_momentum", message)
    if momentum is not None and not facts["fine_tunable"]:
        yield report.at("batch_norm_momentum", "batch norm momentum needs a fine-tunable module")


def _build_problems(facts: dict[str, Any] | Any, report: _Reporter) -> Iterator[Problem]:
    network = facts.get("network")
    minimum = facts.get("min_image_size")
    if network is not None and minimum is None:
        yield report.at("network", f"network {network} needs min_image_size (zoo facts)")
    if minimum is not None and facts["image_size"] < minimum:
        message = f"image_size {facts['image_size']} is below the network's minimum of {minimum}"
        yield report.at("image_size", message)
    for name in facts["hyperparameters"]:
        if facts.get(name) is None:
            yield report.at(
                "hyperparameters", f"hyperparameter {name} is not a fact of the variant"
            )
    if (facts.get("checkpoint") is None) != (facts.get("checkpoint_source") is None):
        yield report.at(
            "checkpoint_source",
            "checkpoint (the page's) and checkpoint_source (the download) are stated together: "
            "both, or both null when there is no public checkpoint",
        )
    if (facts.get("checkpoint") is None) != (facts.get("collection") is None):
        yield report.at("collection", "a checkpoint names the collection it was downloaded from")


def deployment_problems(
    handle: str, record_file: LocatedDict, own: LocatedDict, merged: Merged, parent: ModuleRecord
) -> Iterator[Problem]:
    """What is wrong with a deployment's merged facts; `record_file` is its file's data, `own`
    its own facts and `parent` the module it converts."""
    report = _Reporter(handle, record_file, own, merged)
    for key in REQUIRED_DEPLOYMENT_FACTS:
        if merged.facts.get(key) is None:
            yield record_file.problem(None, f"no layer states {key} (family or this record)")
    stated = merged.facts.get("stated_num_features")
    if stated is None:
        return
    if parent.task != FEATURE_VECTOR:
        yield report.at(
            "stated_num_features", "only a feature vector deployment's page states "
            f"num_features; this one converts an {parent.task} module",
        )  # fmt: skip
    elif stated == parent.num_features:
        yield report.at(
            "stated_num_features", f"{stated} is what the converted model has (its parent's "
            "num_features): state it only where the page contradicts the model",
        )  # fmt: skip
