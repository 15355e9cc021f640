"""Patterns: strings written once for many variants, with placeholders for a variant's facts.

`MobileNet V2 (depth multiplier {{ depth_multiplier_2f }})` names every MobileNet V2 variant.
A placeholder is `{{ NAME }}` (one space inside each pair of braces); it prints the variable as
Python prints it. Shared texts are patterns too, and may also use the page era's words
(`{{ hub_noun }}`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{ ([a-z_][a-z0-9_]*) \}\}|(\{\{|\}\})")
"""A placeholder `{{ NAME }}`, or (group 2) braces that are none."""


class PatternError(ValueError):
    """A pattern that names a variable the variant lacks, or has braces that are no placeholder."""


def render_pattern(pattern: str, variables: Mapping[str, Any]) -> str:
    """`pattern` with its `{{ name }}` placeholders filled from `variables`."""
    if "{{" not in pattern and "}}" not in pattern:
        return pattern
    return _filled(pattern, tuple(variables.items()))


@lru_cache(maxsize=65536)
def _filled(pattern: str, items: tuple[tuple[str, Any], ...]) -> str:
    """`render_pattern` of one pattern and set of variables, computed once: the variants of a
    family fill the same few patterns for each of their records."""
    variables = dict(items)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            raise PatternError(f"braces that are not a placeholder {{{{ NAME }}}} in {pattern!r}")
        if name not in variables:
            raise PatternError(
                f"{{{{ {name} }}}} names no variable (known: {', '.join(variables)})"
            )
        return str(variables[name])

    return _PLACEHOLDER.sub(fill, pattern)


def pattern_variables(name: str, own_facts: Mapping[str, Any]) -> dict[str, Any]:
    """What a pattern may say about a variant: its module name and own facts, in the forms the
    pages print them. A depth multiplier 0.25 prints as `0.25` (also `depth_multiplier_2f`),
    `025` (`depth_token`, as in module names) and `_025` (`depth_suffix`, as TF-Slim names its
    networks: `mobilenet_v1_025`, but `mobilenet_v1` for the default multiplier 1.0)."""
    variables: dict[str, Any] = {"name": name}
    for key in ("image_size", "layers", "size"):
        if own_facts.get(key) is not None:
            variables[key] = own_facts[key]
    multiplier = own_facts.get("depth_multiplier")
    if multiplier is not None:
        variables["depth_multiplier"] = multiplier
        variables["depth_multiplier_2f"] = f"{multiplier:.2f}"
        variables["depth_token"] = f"{round(multiplier * 100):03d}"
        variables["depth_suffix"] = "" if multiplier == 1.0 else "_" + variables["depth_token"]
    return variables


def placeholder(name: str) -> str:
    """How a pattern names a variable: `{{ name }}`."""
    return "{{ " + name + " }}"


def pattern_forms(variables: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(printed form, placeholder) of every variable, longest printed form first: what the
    importer replaces to turn a variant's string into a pattern."""
    forms = [(str(value), placeholder(key)) for key, value in variables.items() if str(value)]
    return sorted(forms, key=lambda form: (-len(form[0]), form[1]))
