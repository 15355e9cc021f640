"""Read YAML files safely into position-carrying nodes, and turn nodes into plain values.

Only the JSON-like core of YAML is accepted: maps, lists, strings, numbers, booleans and null.
Explicit tags (`!!python/object` and friends), anchors and aliases are refused before anything
is constructed, so no input can run code or expand into a bomb.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
import yaml.constructor

_Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)
"""libyaml's loader (in the pinned wheel); the pure-Python one where libyaml is missing."""

MAX_FILE_BYTES = 256 * 1024

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
MAP, SEQ, TIMESTAMP = _TAG + "map", _TAG + "seq", _TAG + "timestamp"
_ALLOWED_TAGS = {STR, INT, FLOAT, BOOL, NULL, MAP, SEQ, TIMESTAMP}

Node = yaml.Node
MappingNode = yaml.MappingNode
SequenceNode = yaml.SequenceNode
ScalarNode = yaml.ScalarNode


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a file, at a 1-based line and column."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class YamlRejected(Exception):
    """The file cannot be read as a record document; `.problem` says where and why."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def position(node: Node) -> tuple[int, int]:
    """1-based (line, column) where `node` starts."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def load_nodes(path: Path, display: str) -> tuple[Node, bytes]:
    """Read `path` and compose its single YAML document, refusing anything unsafe or odd.

    Returns the document's root node and the file's bytes.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise YamlRejected(Problem(display, 1, 1, f"cannot read file: {error.strerror}")) from None
    if len(data) > MAX_FILE_BYTES:
        raise YamlRejected(
            Problem(display, 1, 1, f"file is larger than {MAX_FILE_BYTES // 1024} KiB")
        )
    return compose_text(_decode(data, display), display), data


def _decode(data: bytes, display: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        col = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        byte = data[error.start]
        raise YamlRejected(
            Problem(display, line, col, f"not UTF-8 text (byte 0x{byte:02x})")
        ) from None
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        col = offset - (text.rfind("\n", 0, offset) + 1) + 1
        raise YamlRejected(Problem(display, line, col, "binary data (a NUL byte) in a text file"))
    return text


def compose_text(text: str, display: str) -> Node:
    """Compose one YAML document from `text`; see `load_nodes`."""
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        raise YamlRejected(Problem(display, 1, 1, "empty document: expected a YAML mapping"))
    if "&" in text or "*" in text:
        _refuse_anchors(text, display)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        raise YamlRejected(_problem_from_yaml_error(error, display)) from None
    except yaml.YAMLError as error:
        raise YamlRejected(Problem(display, 1, 1, f"invalid YAML: {error}")) from None
    if node is None:
        raise YamlRejected(Problem(display, 1, 1, "empty document: expected a YAML mapping"))
    if "!" in text:
        _refuse_foreign_tags(node, display)
    return node


def _refuse_anchors(text: str, display: str) -> None:
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                mark = event.start_mark
                line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
                raise YamlRejected(
                    Problem(
                        display,
                        line,
                        col,
                        "YAML anchors and aliases are not allowed in the registry",
                    )
                )
    except yaml.MarkedYAMLError as error:
        raise YamlRejected(_problem_from_yaml_error(error, display)) from None


def _refuse_foreign_tags(root: Node, display: str) -> None:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.tag not in _ALLOWED_TAGS:
            line, col = position(node)
            raise YamlRejected(
                Problem(
                    display, line, col, f"YAML tag {node.tag!r} is not allowed; use plain values"
                )
            )
        if isinstance(node, MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)


def _problem_from_yaml_error(error: yaml.MarkedYAMLError, display: str) -> Problem:
    mark = error.problem_mark or error.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = error.problem or "invalid YAML"
    if "tab" in problem or "\\t" in problem:
        message = "tab character: YAML indentation must use spaces"
    elif "expected a single document" in problem or "but found another document" in str(error):
        message = "more than one YAML document: a record is a single mapping"
    else:
        context = f"{error.context}: " if error.context else ""
        message = f"invalid YAML: {context}{problem}"
    return Problem(display, line, col, message)


def type_name(node: Node) -> str:
    """The JSON-ish type of a node, as messages name it."""
    if isinstance(node, MappingNode):
        return "mapping"
    if isinstance(node, SequenceNode):
        return "list"
    return {
        STR: "string",
        INT: "integer",
        FLOAT: "number",
        BOOL: "boolean",
        NULL: "null",
        TIMESTAMP: "date",
    }.get(node.tag, "string")


_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def to_python(node: Node) -> Any:
    """Plain Python value of a node tree that passed `load_nodes` (dates stay as their text)."""
    if isinstance(node, MappingNode):
        return {to_python(key): to_python(value) for key, value in node.value}
    if isinstance(node, SequenceNode):
        return [to_python(item) for item in node.value]
    if node.tag in (STR, TIMESTAMP):
        return node.value
    return _CONSTRUCTOR.yaml_constructors[node.tag](_CONSTRUCTOR, node)


def load_plain(path: Path, display: str) -> Any:
    """Safely load a YAML file to plain values (for shared registry data)."""
    return to_python(load_nodes(path, display)[0])
