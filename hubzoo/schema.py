"""Check YAML nodes against the committed JSON Schema, with positions and actionable messages.

The schema file is the single statement of a record's shape; editors use it through the YAML
language server, and this module applies the same file to every record in CI. It implements the
subset of JSON Schema the file uses (`SUPPORTED_KEYWORDS`); a test keeps the two in step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from hubzoo.paths import REGISTRY_DIR
from hubzoo.yamlnodes import (
    BOOL,
    FLOAT,
    INT,
    NULL,
    STR,
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    number,
    position,
    shown,
    to_python,
    type_name,
)

RECORD_SCHEMA_PATH = REGISTRY_DIR / "schema" / "record.schema.json"

SUPPORTED_KEYWORDS = frozenset(
    {
        "$schema", "$id", "title", "description",
        "type", "properties", "required", "additionalProperties", "propertyNames",
        "minProperties", "enum", "pattern", "minLength", "minimum", "maximum",
        "items", "minItems", "uniqueItems",
    }
)  # fmt: skip

Finding = tuple[int, int, str]
"""(line, column, message) found in one document."""


@cache
def load_schema(path: Path = RECORD_SCHEMA_PATH) -> dict[str, Any]:
    """The parsed schema file."""
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def check(node: Node, schema: dict[str, Any], where: str = "") -> Iterator[Finding]:
    """Every way `node` departs from `schema`; `where` names the node in messages.

    `node` comes from `hubzoo.yamlnodes.load_nodes`: its numbers convert and it is nested at
    most MAX_DEPTH deep. As in JSON Schema, a keyword applies only to the kind of value it is
    about (`minimum` to numbers, `items` to lists, ...), so a schema without `type` is safe.
    """
    expected = schema.get("type")
    if expected and not _has_type(node, expected):
        yield _at(node, f"{_label(where)}expected {_article(expected)}, found {type_name(node)}")
        return
    for keyword, rule in schema.items():
        checker = _CHECKERS.get(keyword)
        applies_to = _APPLIES_TO.get(keyword)
        if checker and (applies_to is None or _has_type(node, applies_to)):
            yield from checker(node, rule, schema, where)


def _has_type(node: Node, expected: str | list[str]) -> bool:
    if isinstance(expected, list):
        return any(_has_type(node, one) for one in expected)
    if expected == "object":
        return isinstance(node, MappingNode)
    if expected == "array":
        return isinstance(node, SequenceNode)
    if not isinstance(node, ScalarNode):
        return False
    if expected == "string":
        return node.tag not in (INT, FLOAT, BOOL, NULL)
    if expected == "integer":
        return node.tag == INT
    if expected == "number":
        return node.tag in (INT, FLOAT)
    if expected == "boolean":
        return node.tag == BOOL
    return expected == "null" and node.tag == NULL


def _check_properties(
    node: Node, rule: dict[str, Any], schema: dict[str, Any], where: str
) -> Iterator[Finding]:
    if not isinstance(node, MappingNode):
        return
    seen: set[str] = set()
    known = list(rule)
    extra = schema.get("additionalProperties", True)
    for key_node, value in node.value:
        key = str(key_node.value)
        path = f"{where}.{key}" if where else key
        read_as = key if key_node.tag == STR else str(to_python(key_node))
        if read_as in seen:  # `1` and `0x1`, `yes` and `True`: one key once read (hubzoo.located)
            yield _at(key_node, f"duplicate key '{shown(path)}'")
            continue
        seen.add(read_as)
        if key in rule:
            yield from check(value, rule[key], path)
        elif extra is False:
            yield _at(key_node, _unknown_key_message(path, key, known))
        elif isinstance(extra, dict):
            yield from check(value, extra, path)


def _closest(text: str, options: list[str]) -> list[str]:
    """The option closest to `text`, if any is close (as a list of 0 or 1)."""
    import difflib  # here: only a problem needs it, and it slows validation's start

    return difflib.get_close_matches(text, options, n=1, cutoff=0.6)


def _unknown_key_message(path: str, key: str, known: list[str]) -> str:
    close = _closest(key, known)
    hint = f"; did you mean '{close[0]}'?" if close else f"; expected one of: {', '.join(known)}"
    return f"unknown key '{shown(path)}'{hint}"


def _check_required(
    node: Node, rule: list[Any], schema: dict[str, Any], where: str
) -> Iterator[Finding]:
    if not isinstance(node, MappingNode):
        return
    present = {str(key.value) for key, _ in node.value}
    for key in rule:
        if key not in present:
            yield _at(node, f"missing required key '{where + '.' if where else ''}{key}'")


def _check_additional(
    node: Node, rule: Any, schema: dict[str, Any], where: str
) -> Iterator[Finding]:
    if not isinstance(node, MappingNode) or "properties" in schema or not isinstance(rule, dict):
        return
    yield from _check_properties(node, {}, schema, where)


def _check_property_names(
    node: Node, rule: dict[str, Any], schema: dict[str, Any], where: str
) -> Iterator[Finding]:
    if not isinstance(node, MappingNode):
        return
    for key_node, _ in node.value:
        for line, col, message in check(key_node, rule, where):
            yield line, col, f"{message} (a key of '{where}')"


def _check_min_properties(
    node: Node, rule: int, schema: dict[str, Any], where: str
) -> Iterator[Finding]:
    if not isinstance(node, MappingNode):
        return
    if len(node.value) < rule:
        yield _at(node, f"{_label(where)}expected at least {rule} entries")


def _check_enum(
    node: Node, rule: list[Any], schema: dict[str, Any], where: str
) -> Iterator[Finding]:
    value = to_python(node)
    if value not in rule:
        text = shown(repr(value))
        close = _closest(str(value), [str(v) for v in rule])
        hint = f"; did you mean '{close[0]}'?" if close else ""
        options = ", ".join(str(v) for v in rule)
        yield _at(node, f"{_label(where)}{text} is not one of: {options}{hint}")


def _check_pattern(node: Node, rule: str, schema: dict[str, Any], where: str) -> Iterator[Finding]:
    if not isinstance(node, ScalarNode):
        return
    if not _compiled(rule).search(node.value):
        meaning = schema.get("description", f"a string matching {rule}")
        yield _at(
            node, f"{_label(where)}{shown(repr(node.value))} is not valid: expected {meaning}"
        )


def _check_min_length(
    node: Node, rule: int, schema: dict[str, Any], where: str
) -> Iterator[Finding]:
    if not isinstance(node, ScalarNode):
        return
    if len(node.value) < rule:
        yield _at(node, f"{_label(where)}must not be empty")


def _check_minimum(
    node: Node, rule: float, schema: dict[str, Any], where: str
) -> Iterator[Finding]:
    if node.tag not in (INT, FLOAT):
        return
    if number(node) < rule:
        yield _at(node, f"{_label(where)}must be at least {rule}, found {number_text(node)}")


def _check_maximum(
    node: Node, rule: float, schema: dict[str, Any], where: str
) -> Iterator[Finding]:
    if node.tag not in (INT, FLOAT):
        return
    if number(node) > rule:
        yield _at(node, f"{_label(where)}must be at most {rule}, found {number_text(node)}")


def number_text(node: Node) -> str:
    """A number node as messages show it: as written, and as read when that differs."""
    value, text = number(node), shown(node.value)
    return text if text == repr(value) else f"{text} (= {value!r})"


def _check_items(
    node: Node, rule: dict[str, Any], schema: dict[str, Any], where: str
) -> Iterator[Finding]:
    if not isinstance(node, SequenceNode):
        return
    for index, item in enumerate(node.value):
        yield from check(item, rule, f"{where}[{index}]")


def _check_min_items(
    node: Node, rule: int, schema: dict[str, Any], where: str
) -> Iterator[Finding]:
    if not isinstance(node, SequenceNode):
        return
    if len(node.value) < rule:
        yield _at(node, f"{_label(where)}expected at least {rule} item(s)")


def _check_unique_items(
    node: Node, rule: bool, schema: dict[str, Any], where: str
) -> Iterator[Finding]:
    if not isinstance(node, SequenceNode):
        return
    seen: set[str] = set()
    for item in node.value:
        text = repr(to_python(item))
        if rule and text in seen:
            yield _at(item, f"{_label(where)}{shown(text)} is listed twice")
        seen.add(text)


_CHECKERS: dict[str, Callable[[Node, Any, dict[str, Any], str], Iterator[Finding]]] = {
    "properties": _check_properties,
    "required": _check_required,
    "additionalProperties": _check_additional,
    "propertyNames": _check_property_names,
    "minProperties": _check_min_properties,
    "enum": _check_enum,
    "pattern": _check_pattern,
    "minLength": _check_min_length,
    "minimum": _check_minimum,
    "maximum": _check_maximum,
    "items": _check_items,
    "minItems": _check_min_items,
    "uniqueItems": _check_unique_items,
}


_APPLIES_TO = {
    "properties": "object", "required": "object", "additionalProperties": "object",
    "propertyNames": "object", "minProperties": "object",
    "pattern": "string", "minLength": "string",
    "minimum": "number", "maximum": "number",
    "items": "array", "minItems": "array", "uniqueItems": "array",
}  # fmt: skip
"""The type a keyword constrains (as in JSON Schema); a value of another type passes it."""


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """`pattern` as JSON Schema (ECMA-262) reads it: a final `$` ends the text, where Python's
    would also match before a final line break (`^[^\\n]+$` would accept "a line\\n")."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _at(node: Node, message: str) -> Finding:
    line, col = position(node)
    return line, col, message


def _label(where: str) -> str:
    return f"{where}: " if where else ""


def _article(type_: str | list[str]) -> str:
    if isinstance(type_, list):
        return " or ".join(_article(one) for one in type_)
    names = {"object": "a mapping", "array": "a list", "integer": "an integer"}
    return names.get(type_, f"a {type_}")


def keywords_used(schema: Any) -> set[str]:
    """Every JSON Schema keyword appearing in `schema` (property names excluded)."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key == "properties":
                for sub in value.values():
                    found |= keywords_used(sub)
            elif isinstance(value, dict):
                found |= keywords_used(value)
    return found
