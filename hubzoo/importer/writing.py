"""Writing the registry's YAML files: readable, deterministic, never folding long lines."""

from __future__ import annotations

import re
from typing import Any

import yaml


class Flow(dict):  # type: ignore[type-arg]
    """A mapping written in flow style when short: `{depth_multiplier: 0.35, image_size: 128}`."""


FLOW_LIMIT = 100
"""A Flow mapping longer than this (keys and values, printed) is written in block style."""


class _Dumper(yaml.SafeDumper):
    """Block style; multi-line strings as literal blocks; lists of scalars and short Flow
    mappings in flow style."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    literal = "\n" in value and not re.search(r" \n| $", value)  # literal blocks keep bytes
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if literal else None)


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    scalars = all(isinstance(item, (str, int, float, bool)) and "\n" not in str(item)
                  for item in value)  # fmt: skip
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=scalars)


def _represent_flow(dumper: yaml.SafeDumper, value: Flow) -> yaml.Node:
    short = sum(len(str(key)) + len(str(item)) + 4 for key, item in value.items()) < FLOW_LIMIT
    scalars = all(not isinstance(item, (dict, list)) for item in value.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=short and scalars)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(Flow, _represent_flow)


def dump_yaml(data: Any, schema: str | None = None) -> str:
    """`data` as YAML, mapping keys in insertion order; with `schema` (a path relative to the
    file), a first line pointing editors at the file's JSON Schema."""
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096,
                     default_flow_style=False)  # fmt: skip
    return text if schema is None else f"# yaml-language-server: $schema={schema}\n{text}"
