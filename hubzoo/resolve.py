"""Resolving records: a record file's own facts and its family's layers -> one resolved record.

`merge_module_facts` merges the layers (see hubzoo.family) over the facts' defaults and keeps,
for each fact, the layer that stated it; `hubzoo.rules` checks the merge; `module_record` and
`deployment_record` build the resolved records of a merge that passed the rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hubzoo.contract import CLASSIFICATION, FEATURE_VECTOR
from hubzoo.facts import MERGED_FACTS, MODULE_DEFAULTS, PATTERN_FACTS, PATTERN_MAPPINGS
from hubzoo.family import Facts, Family, ModulePlace
from hubzoo.handles import DeploymentHandle
from hubzoo.lock import facts_digest, plain_fields
from hubzoo.patterns import PatternError, pattern_variables, render_pattern
from hubzoo.record import Deployment, ModuleRecord
from hubzoo.shared import Shared

TFHUB_DEV = "https://tfhub.dev/"
UNKNOWN_SHA256 = "unknown"


@dataclass(frozen=True)
class Merged:
    """The facts of one record, its layers merged; `sources` says which layer stated each."""

    facts: Mapping[str, Any]
    sources: Mapping[str, tuple[str, Facts]]  # fact -> (layer name, the layer's facts)


def merge_facts(layers: Iterable[tuple[str, Facts]], defaults: Facts) -> Merged:
    """Layers of facts merged in order over `defaults`: a later layer wins; `layout` and `links`
    merge key by key."""
    facts: dict[str, Any] = dict(defaults)
    sources: dict[str, tuple[str, Facts]] = {}
    for name, layer in layers:
        for key, value in layer.items():
            if key in MERGED_FACTS:
                facts[key] = {**facts.get(key, {}), **(value or {})}
            else:
                facts[key] = value
            sources[key] = (name, layer)
    return Merged(facts, sources)


def merge_module_facts(family: Family, place: ModulePlace, own: Facts) -> Merged:
    """The facts of a module version: its family's layers, then its record file's `own`."""
    return merge_facts([*family.layers(place), ("record", own)], MODULE_DEFAULTS)


class FactPatternError(ValueError):
    """A fact whose pattern cannot be filled in for a record; `key` names the fact."""

    def __init__(self, key: str, error: PatternError) -> None:
        super().__init__(f"{key}: cannot fill in its pattern: {error}")
        self.key = key


def rendered_patterns(place: ModulePlace, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The record's pattern facts with their patterns filled in (FactPatternError if one
    cannot be)."""
    variables = pattern_variables(place.variant, facts)
    filled: dict[str, Any] = {}
    for key in PATTERN_FACTS | PATTERN_MAPPINGS:
        value = facts.get(key)
        try:
            if isinstance(value, str):
                filled[key] = render_pattern(value, variables)
            elif isinstance(value, Mapping):
                filled[key] = {k: render_pattern(str(v), variables) for k, v in value.items()}
            else:
                filled[key] = value
        except PatternError as error:
            raise FactPatternError(key, error) from None
    return filled


def counterpart_of(family: Family, place: ModulePlace, facts: Mapping[str, Any]) -> str | None:
    """The module of the other task: stated, else derived from the handle."""
    if "counterpart" in facts:
        stated: str | None = facts["counterpart"]
        return stated
    other = FEATURE_VECTOR if place.task == CLASSIFICATION else CLASSIFICATION
    return family.handle(place.line, place.variant, other, place.version)


def parent_of(family: Family, place: ModulePlace) -> str | None:
    """The module a derived line's module comes from: same variant, task and version."""
    if place.line.parent_line is None:
        return None
    parent_line = family.lines[place.line.parent_line]
    return family.handle(parent_line, place.variant, place.task, place.version)


def module_record(
    handle: str, family: Family, place: ModulePlace, merged: Merged, shared: Shared
) -> ModuleRecord:
    """The resolved record of a merge that passed `hubzoo.rules.module_problems`
    (FactPatternError when a pattern fact cannot be filled in)."""
    facts = merged.facts
    patterns = rendered_patterns(place, facts)
    fact = patterns.__getitem__
    size = facts["image_size"]
    source = fact("checkpoint_source") or {}
    sha256 = source.get("sha256")
    rounding = facts.get("depth_rounding") or {}
    low, high = facts["input_range"]
    line = place.line
    changes = tuple(
        (release.version, release.changes)
        for version, release in sorted(line.releases.items())
        if version <= place.version and release.changes
    )
    module_url = facts.get("module_url") or TFHUB_DEV + handle
    resolved: dict[str, Any] = {
        "handle": handle,
        "publisher": handle.split("/", 1)[0],
        "family": family.id,
        "variant": place.variant,
        "line": line.id,
        "task": place.task,
        "version": place.version,
        "parent": parent_of(family, place),
        "counterpart": counterpart_of(family, place, facts),
        "format": facts["format"],
        "fine_tunable": bool(facts["fine_tunable"]),
        "quantized": bool(facts["quantized"]),
        "dataset": facts["dataset"],
        "network_architecture": facts["network_architecture"],
        "license": facts.get("license"),
        "input_kind": facts["input_kind"],
        "image_size": (size, size),
        "input_range": (low, high),
        "preprocessing": shared.input_mappings[facts["preprocessing"]],
        "num_features": facts.get("num_features"),
        "num_classes": facts.get("num_classes"),
        "labels_url": facts.get("labels_url"),
        "signatures": tuple(facts["signatures"]),
        "batch_norm_momentum": facts.get("batch_norm_momentum"),
        "network": fact("network"),
        "hyperparameters": {name: facts[name] for name in facts["hyperparameters"]},
        "min_image_size": facts.get("min_image_size"),
        "parameters": facts.get("parameters"),
        "checkpoint": fact("checkpoint"),
        "collection": facts.get("collection"),
        "checkpoint_url": source.get("url"),
        "checkpoint_member": source.get("member"),
        "checkpoint_sha256": None if sha256 == UNKNOWN_SHA256 else sha256,
        "era": facts["era"],
        "docs_era": facts.get("docs_era") or facts["era"],
        "module_url": module_url,
        "docs_module_url": facts.get("docs_module_url") or module_url,
        "asset_path": facts["asset_path"],
        "colab": facts.get("colab"),
        "display_name": fact("display_name"),
        "description": fact("description"),
        "overview": facts["overview"],
        "implementation": facts["implementation"],
        "training": facts["training"],
        "dropout_note": facts.get("dropout_note"),
        "depth_rounding_network": rounding.get("network"),
        "depth_rounding_multiple": rounding.get("multiple"),
        "changes": changes if facts["show_changelog"] else (),
        "show_changelog": bool(facts["show_changelog"]),
        "links": dict(facts["links"]),
        "layout": dict(facts["layout"]),
        "depth_multiplier": facts.get("depth_multiplier"),
        "layers": facts.get("layers"),
        "size": facts.get("size"),
    }
    digest = facts_digest({**resolved, "preprocessing": plain_fields(resolved["preprocessing"])})
    return ModuleRecord(**resolved, digest=digest)


def merge_deployment_facts(
    family: Family, place: ModulePlace, kind_name: str, own: Facts
) -> Merged:
    """The facts of a deployment of a module: its family's deployment layers, then its own."""
    layers = [("family", layer) for layer in family.deployment_layers(place, kind_name)]
    return merge_facts([*layers, ("record", own)], {"layout": {}})


def deployment_record(handle: str, parts: DeploymentHandle, merged: Merged) -> Deployment:
    """The resolved deployment of a merge that passed `hubzoo.rules.deployment_problems`."""
    facts = merged.facts
    resolved: dict[str, Any] = {
        "handle": handle,
        "parent": parts.parent,
        "kind": parts.kind,
        "name": parts.name,
        "version": parts.version,
        "era": facts["era"],
        "asset_path": facts["asset_path"],
        "demo": facts.get("demo"),
        "interactive_visualizer": facts.get("interactive_visualizer"),
        "stated_num_features": facts.get("stated_num_features"),
        "layout": dict(facts["layout"]),
    }
    return Deployment(**resolved, digest=facts_digest(resolved))
