"""Factoring facts: where in a family each fact is written once.

Every record states a value per fact (or nothing: MISSING, when its page does not say). Levels
group the records, from the most general (the whole family) to the most specific (the record).
A level *agrees* when each of its groups states one value. Strings that differ only by the
variants' own facts agree as a pattern ("lifting"): `mobilenet_v2_0.35_128.ckpt` and
`mobilenet_v2_1.0_224.ckpt` are both `mobilenet_v2_{{ depth_multiplier }}_{{ image_size }}.ckpt`.

A fact is written either at one agreeing level, or as a default at a general level with
exceptions at a more specific agreeing level whose groups nest in it (the labels file of every
release, except release 1 which names none). The cheapest placement wins (fewest values written;
a value equal to the fact's default is not written unless it is an exception); ties go to the
single level, then the more general one.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from hubzoo.patterns import PatternError, pattern_forms, render_pattern

Item = TypeVar("Item")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""A record that does not state the fact (its page does not say)."""


@dataclass(frozen=True)
class Level(Generic[Item]):
    """A way to group records: all records with the same key share the level's value."""

    name: str
    key: Callable[[Item], Hashable]


def canonical(value: Any) -> str:
    """A value as a comparable, hashable string."""
    return json.dumps(value, sort_keys=True)


def _substitute(value: str, variables: Mapping[str, Any]) -> str:
    """`value` with every printed form of a variable replaced by its placeholder (a number is
    replaced only where it is not part of a longer number, a word only as a whole word)."""
    forms = pattern_forms(variables)
    if not forms:
        return value
    alternatives = "|".join(
        (r"(?<![0-9.])" + re.escape(form) + r"(?![0-9]|\.[0-9])")
        if form[:1].isdigit()
        else (r"(?<![A-Za-z0-9])" + re.escape(form) + r"(?![A-Za-z0-9])")
        if form[:1].isalpha()
        else re.escape(form) + r"(?![A-Za-z0-9])"
        for form, _ in forms
    )
    placeholders = dict(forms)
    return re.sub(alternatives, lambda match: placeholders[match.group(0)], value)


def generalize(
    value: str, samples: Sequence[Mapping[str, Any]], passthrough: Mapping[str, str]
) -> str:
    """`value` (every sample's string) as a pattern over the samples' variables when the
    pattern renders to `value` for each of them; else `value`. One family's variant, shown as a
    pattern, can share its text with other families' (`uses the TF-Slim implementation of
    `{{ name }}``)."""
    if not samples:
        return value
    candidate = _substitute(value, samples[0])
    try:
        if all(render_pattern(candidate, {**variables, **passthrough}) == value
               for variables in samples):  # fmt: skip
            return candidate
    except PatternError:
        pass
    return value


def lift(
    samples: Sequence[tuple[str, Mapping[str, Any]]], passthrough: Mapping[str, str]
) -> str | None:
    """One pattern that renders to each sample's string with the sample's variables, or None.
    `passthrough` maps placeholders the samples already contain (era words) to themselves."""
    strings = {value for value, _ in samples}
    if len(strings) == 1:
        return next(iter(strings))
    # Candidates from the samples whose variables print most distinctly come first.
    ordered = sorted(samples, key=lambda sample: -len({str(v) for v in sample[1].values()}))
    tried: set[str] = set()
    for value, _variables in ordered:
        candidate = _substitute(value, _variables)
        if candidate in tried:
            continue
        tried.add(candidate)
        try:
            if all(
                render_pattern(candidate, {**variables, **passthrough}) == expected
                for expected, variables in samples
            ):
                return candidate
        except PatternError:
            continue
    return None


@dataclass
class Placement:
    """Where one fact is written, as {level: {group key: value}}: values at a level (`base`;
    those equal to the fact's default are left out) and exceptions at a more specific level
    (`overrides`, written even when equal to the default)."""

    base: dict[str, dict[Hashable, Any]] = field(default_factory=dict)
    overrides: dict[str, dict[Hashable, Any]] = field(default_factory=dict)


IsDefault = Callable[[Any, Sequence[Any]], bool]
"""Whether a value is the fact's default for every one of the given records."""


def factor(
    items: Sequence[Item],
    value_of: Callable[[Item], Any],
    levels: Sequence[Level[Item]],
    is_default: IsDefault,
    variables_of: Callable[[Item], Mapping[str, Any]] | None = None,
    passthrough: Mapping[str, str] | None = None,
) -> Placement:
    """Where to write one fact of `items` (see the module docstring). The last level must group
    by record. `variables_of` enables lifting strings into patterns."""
    stated = [(item, value_of(item)) for item in items]
    stated = [(item, value) for item, value in stated if value is not MISSING]
    if not stated:
        return Placement()
    agreed: dict[str, dict[Hashable, tuple[Any, list[Item]]]] = {}
    for level in levels:
        groups = _agree(stated, level, variables_of, passthrough or {})
        if groups is not None:
            agreed[level.name] = groups
    candidates: list[tuple[tuple[int, int, int], Placement]] = []
    for position, level in enumerate(levels):
        groups = agreed.get(level.name)
        if groups is None:
            continue
        written = {key: value for key, (value, members) in groups.items()
                   if not is_default(value, members)}  # fmt: skip
        candidates.append(((len(written), 0, position), Placement(base={level.name: written})))
        for general_position, general in enumerate(levels[:position]):
            found = _with_exceptions(general, level, groups, is_default)
            if found is not None:
                candidates.append(((found[0], 1, general_position), found[1]))
    return min(candidates, key=lambda candidate: candidate[0])[1]  # the record level agrees


def _agree(
    stated: Sequence[tuple[Item, Any]],
    level: Level[Item],
    variables_of: Callable[[Item], Mapping[str, Any]] | None,
    passthrough: Mapping[str, str],
) -> dict[Hashable, tuple[Any, list[Item]]] | None:
    """{group key: (its one value, its records)} of a level, or None if a group disagrees."""
    groups: dict[Hashable, list[tuple[Item, Any]]] = defaultdict(list)
    for item, value in stated:
        groups[level.key(item)].append((item, value))
    agreed = {}
    for key, members in groups.items():
        records = [item for item, _ in members]
        if len({canonical(value) for _, value in members}) == 1:
            agreed[key] = (members[0][1], records)
            continue
        if variables_of is None or not all(isinstance(value, str) for _, value in members):
            return None
        pattern = lift([(value, variables_of(item)) for item, value in members], passthrough)
        if pattern is None:
            return None
        agreed[key] = (pattern, records)
    return agreed


def _with_exceptions(
    general: Level[Item],
    specific: Level[Item],
    groups: Mapping[Hashable, tuple[Any, list[Item]]],
    is_default: IsDefault,
) -> tuple[int, Placement] | None:
    """(cost, placement) of defaults at `general` (each group's most common value among its
    `specific` groups, by records) and exceptions at `specific`; None if `specific` does not
    nest in `general`."""
    parents: dict[Hashable, Hashable] = {}
    for key, (_, members) in groups.items():
        keys = {general.key(item) for item in members}
        if len(keys) != 1:
            return None
        parents[key] = keys.pop()
    votes: dict[Hashable, Counter[str]] = defaultdict(Counter)
    values: dict[str, Any] = {}
    members_of: dict[Hashable, list[Item]] = defaultdict(list)
    for key, (value, members) in groups.items():
        votes[parents[key]][canonical(value)] += len(members)
        values[canonical(value)] = value
        members_of[parents[key]].extend(members)
    base = {parent: values[counter.most_common(1)[0][0]] for parent, counter in votes.items()}
    overrides = {
        key: value for key, (value, _) in groups.items()
        if canonical(value) != canonical(base[parents[key]])
    }  # fmt: skip
    if not overrides:
        return None  # the general level agrees on its own
    written = {parent: value for parent, value in base.items()
               if not is_default(value, members_of[parent])}  # fmt: skip
    placement = Placement(base={general.name: written}, overrides={specific.name: overrides})
    return len(written) + len(overrides), placement
