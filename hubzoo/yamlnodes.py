"""Read YAML files safely into position-carrying nodes, and turn nodes into plain values.

Only the JSON-like core of YAML is accepted: maps with plain keys, lists, strings, numbers,
booleans and null. Explicit tags (`!!python/object` and friends), anchors and aliases are refused
before anything is constructed, so no input can run code or expand into a bomb. Scalars read as
YAML 1.1 reads them (`0xE0`, `0340` and `3:44` are all 224), except that `<<` and `=` are plain
strings rather than merge keys and "value" tags. Every problem is located at a line and column:
only regular files are read, nesting is bounded before anything recurses, and every number is
converted once at load (`number`), finite and within `MAX_INT`, so later conversions cannot fail.
"""

from __future__ import annotations

import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml
import yaml.reader
import yaml.resolver

try:
    from yaml import CSafeLoader as _BaseLoader

    _COMPOSER_IS_C = True
except ImportError:  # pragma: no cover - the pinned wheel ships libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

    _COMPOSER_IS_C = False

MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 32
"""Deepest nesting of lists and mappings a document may have (a record needs 3)."""
MAX_INT = 2**63 - 1
"""Largest magnitude of an integer (a signed 64-bit integer, as JSON tools keep them)."""

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
MAP, SEQ, TIMESTAMP = _TAG + "map", _TAG + "seq", _TAG + "timestamp"
_SCALAR_TAGS = {STR, INT, FLOAT, BOOL, NULL, TIMESTAMP}

Node = yaml.Node
MappingNode = yaml.MappingNode
SequenceNode = yaml.SequenceNode
ScalarNode = yaml.ScalarNode

_IMPLICIT: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    first: kept
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    if first is not None and (kept := [(t, p) for t, p in resolvers if t in _SCALAR_TAGS])
}
"""YAML 1.1's implicit scalar types by first character, without merge (`<<`) and value (`=`)."""
_FORM = {tag: pattern for resolvers in _IMPLICIT.values() for tag, pattern in resolvers}
"""How YAML 1.1 writes an integer, a float, a boolean: explicitly tagged scalars must match."""
_BOOLEANS = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}

_NESTING_CHARS = "[{-?:"
"""Every list or mapping a parser opens starts at one of these characters (`[`, `{`, a `-`
entry, a `?` key, or the `:` after its first key), so their count bounds the nesting depth."""
_SAFE_TO_COMPOSE = 256 if _COMPOSER_IS_C else MAX_DEPTH
"""Nesting bound up to which composing cannot exhaust a stack; above it, the parser's events are
scanned first. libyaml's composer recurses in C: a segmentation fault past about 20,000 levels
on an 8 MiB stack, 400 on a 128 KiB thread stack. PyYAML's recurses in Python. A record's bound
is about 50."""


def plain_tag(text: str) -> str:
    """The tag YAML 1.1 gives `text` written as a plain (unquoted) scalar: INT for `0xE0`, NULL
    for `~`, STR for `=` and `<<`, ..."""
    for tag, pattern in _IMPLICIT.get(text[:1], ()):
        if pattern.match(text):
            return tag
    return STR


class _Loader(_BaseLoader):
    """libyaml's safe loader, resolving plain scalars through `plain_tag` only."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            return plain_tag(value) if implicit[0] else STR
        return SEQ if kind is SequenceNode else MAP


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a file, at a 1-based line and column."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{one_line(self.path)}:{self.line}:{self.col}: {one_line(self.message)}"


class YamlRejected(Exception):
    """The file cannot be read as a record document; `.problem` says where and why."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


class NumberError(ValueError):
    """A scalar that YAML types as a number but that is no usable number; the text says why."""


_ESCAPES = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in [
        *range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F),
        *range(0x2066, 0x206A), *range(0xD800, 0xE000),
    ]
} | {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}  # fmt: skip


def one_line(text: str) -> str:
    """`text` with line breaks, control characters, bidi overrides and lone surrogates (from
    undecodable file names) escaped: one line that prints safely."""
    return text.translate(_ESCAPES)


def shown(text: str, limit: int = 80) -> str:
    """`text` as messages quote it: at most `limit` characters, its length told if cut."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 20]}... ({len(text):,} characters)"


def position(node: Node) -> tuple[int, int]:
    """1-based (line, column) where `node` starts."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def load_nodes(path: Path, display: str) -> tuple[Node, bytes]:
    """Read the regular file `path` and compose its single YAML document, refusing anything
    unsafe or odd. Returns the document's root node and the file's bytes."""
    data = read_regular_file(path, display, MAX_FILE_BYTES)
    return compose_text(decode_text(data, display), display), data


def read_regular_file(path: Path | str, display: str, limit: int) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them (YamlRejected, located at
    1:1, for a larger file); a FIFO, device, socket or folder is refused without waiting (opened
    non-blocking, its type checked before any read)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        kind = _file_kind(path)
        reason = f"not a regular file but {kind}" if kind else f"cannot read file: {error.strerror}"
        raise YamlRejected(Problem(display, 1, 1, reason)) from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        kind = _KINDS.get(stat.S_IFMT(mode), "a special file")
        raise YamlRejected(Problem(display, 1, 1, f"not a regular file but {kind}"))
    with os.fdopen(descriptor, "rb") as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as error:
            raise YamlRejected(
                Problem(display, 1, 1, f"cannot read file: {error.strerror}")
            ) from None
    if len(data) > limit:
        raise YamlRejected(Problem(display, 1, 1, f"file is larger than {limit // 1024:,} KiB"))
    return data


_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def _file_kind(path: Path | str) -> str | None:
    """What `path` is when it exists and is not a regular file (as messages name it)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    return None if stat.S_ISREG(mode) else _KINDS.get(stat.S_IFMT(mode), "a special file")


def decode_text(data: bytes, display: str) -> str:
    """`data` as UTF-8 text without NUL characters; YamlRejected, at the byte, otherwise."""
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
        line, col = _line_and_column(text[: text.index("\x00")])
        raise YamlRejected(Problem(display, line, col, "binary data (a NUL byte) in a text file"))
    return text


_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
"""What YAML counts as a line break."""


def _line_and_column(before: str) -> tuple[int, int]:
    """1-based line and column of the character that follows `before`, as YAML counts them."""
    lines = _LINE_BREAK.split(before)
    return len(lines), len(lines[-1]) + 1


def compose_text(text: str, display: str) -> Node:
    """Compose one YAML document from `text`; see `load_nodes`."""
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        raise YamlRejected(Problem(display, 1, 1, "empty document: expected a YAML mapping"))
    has_anchors = "&" in text or "*" in text
    if has_anchors or sum(map(text.count, _NESTING_CHARS)) > _SAFE_TO_COMPOSE:
        _scan_events(text, display)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as error:
        raise YamlRejected(_problem_from_yaml_error(error, text, display)) from None
    if node is None:
        raise YamlRejected(Problem(display, 1, 1, "empty document: expected a YAML mapping"))
    _check_tree(node, display)
    return node


def _scan_events(text: str, display: str) -> None:
    """Refuse anchors, aliases and nesting deeper than MAX_DEPTH from the parser's events,
    before composing (the parser keeps its own stack; composing recurses)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                message = "YAML anchors and aliases are not allowed in the registry"
                raise YamlRejected(Problem(display, *_mark(event.start_mark), message))
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlRejected(Problem(display, *_mark(event.start_mark), _TOO_DEEP))
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as error:
        raise YamlRejected(_problem_from_yaml_error(error, text, display)) from None


_TOO_DEEP = f"lists and mappings nested deeper than {MAX_DEPTH} levels"


class _Mark(Protocol):
    line: int
    column: int


def _mark(mark: _Mark | None) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark else (1, 1)


def _check_tree(root: Node, display: str) -> None:
    """Refuse what a JSON-like document cannot hold: foreign tags, lists or mappings as keys,
    numbers that are not finite or not within MAX_INT, booleans YAML 1.1 cannot read, and
    nesting deeper than MAX_DEPTH."""
    found = _first_problem(root)
    if found:
        node, message = found
        line, col = position(node)
        raise YamlRejected(Problem(display, line, col, message))


def _first_problem(root: Node) -> tuple[Node, str] | None:
    """The first node `_check_tree` refuses, and why; iterative, so safe at any depth."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        problem = _tag_problem(node)
        if problem:
            return node, problem
        if isinstance(node, ScalarNode):
            continue
        if depth > MAX_DEPTH:
            return node, _TOO_DEEP
        children = node.value
        if isinstance(node, MappingNode):
            for key, _ in children:
                if not isinstance(key, ScalarNode):
                    return key, f"a key must be a plain value, not a {type_name(key)}"
            children = [child for pair in children for child in pair]
        for child in children:
            if not isinstance(child, ScalarNode):
                stack.append((child, depth + 1))
            elif child.tag not in _PLAIN_TAGS:
                problem = _tag_problem(child)
                if problem:
                    return child, problem
    return None


_PLAIN_TAGS = {STR, NULL}
"""Scalar tags whose every text is valid (and which need no conversion)."""
_TAG_OF_KIND = {ScalarNode: _SCALAR_TAGS, SequenceNode: {SEQ}, MappingNode: {MAP}}


def _tag_problem(node: Node) -> str | None:
    """What is wrong with a node's tag, or with its text for that tag."""
    tag = node.tag
    if tag not in _TAG_OF_KIND[type(node)]:
        if tag in _SCALAR_TAGS or tag in (MAP, SEQ):
            return f"YAML tag {tag!r} does not fit a {type_name(node)}"
        return f"YAML tag {shown(tag)!r} is not allowed; use plain values"
    if tag in _PLAIN_TAGS or not isinstance(node, ScalarNode):
        return None
    text = node.value
    if not _FORM[tag].fullmatch(text):
        return f"{shown(text)!r} is not {_ARTICLE_TYPE[tag]} as YAML writes one"
    if tag in (BOOL, TIMESTAMP):
        return None
    try:
        number(node)
    except NumberError as error:
        return str(error)
    return None


_ARTICLE_TYPE = {INT: "an integer", FLOAT: "a number", BOOL: "a boolean", TIMESTAMP: "a date"}


def number(node: Node) -> int | float:
    """The value of an integer or float node as YAML 1.1 reads it: the one conversion the
    schema check, the code rules and the records use. Raises NumberError for a value that is
    not finite or beyond MAX_INT, which a loaded document never holds."""
    if node.tag == INT:
        return read_int(node.value)
    if node.tag == FLOAT:
        return _read_float(node.value)
    raise NumberError(f"{shown(str(node.value))!r} is not a number")


def read_int(text: str) -> int:
    """An integer written as YAML 1.1 writes one (`224`, `0340`, `0xE0`, `0b11100000`, `3:44`,
    `1_000`), within MAX_INT; NumberError otherwise."""
    if text.isdigit() and text.isascii() and len(text) < 19 and text[0] != "0":
        return int(text)  # the common case: plain decimal, within MAX_INT
    digits = text.replace("_", "")
    sign = -1 if digits[:1] == "-" else 1
    digits = digits.lstrip("+-")
    base, body = 10, digits
    if digits[:2] in ("0b", "0x"):
        base, body = (2 if digits[1] == "b" else 16), digits[2:]
    elif digits[:1] == "0" and len(digits) > 1:
        base = 8
    significant = body.lstrip("0:")
    if len(significant) > 70:  # beyond MAX_INT in any base; never converted
        raise NumberError(f"integer {shown(text)} is out of range: at most {MAX_INT:,} in size")
    try:
        if ":" in body and base == 10:
            value = 0
            for part in body.split(":"):
                value = value * 60 + int(part)
        else:
            value = int(body, base)
    except ValueError:
        reason = "" if body.strip(":") else ": it has no digits"
        raise NumberError(f"{shown(text)!r} is not an integer{reason}") from None
    if value > MAX_INT:
        raise NumberError(f"integer {shown(text)} is out of range: at most {MAX_INT:,} in size")
    return sign * value


def _read_float(text: str) -> float:
    digits = text.replace("_", "").lower()
    sign = -1.0 if digits[:1] == "-" else 1.0
    digits = digits.lstrip("+-")
    if digits in (".nan", ".inf"):
        raise NumberError(f"{text} is not allowed: numbers must be finite (no NaN or infinity)")
    try:
        if ":" in digits:  # summed from the seconds up, as PyYAML does: the same rounding
            value, base = 0.0, 1
            for part in reversed(digits.split(":")):
                value += float(part) * base
                base *= 60
        else:
            value = float(digits)
    except ValueError:
        raise NumberError(f"{shown(text)!r} is not a number") from None
    if not math.isfinite(value):
        raise NumberError(f"number {shown(text)} is out of range: too large to be finite")
    return sign * value


def _problem_from_yaml_error(error: yaml.YAMLError, text: str, display: str) -> Problem:
    if isinstance(error, yaml.reader.ReaderError):
        return _problem_from_reader_error(error, text, display)
    if not isinstance(error, yaml.MarkedYAMLError):
        return Problem(display, 1, 1, f"invalid YAML: {error}")
    line, col = _mark(error.problem_mark or error.context_mark)
    problem = error.problem or "invalid YAML"
    if "tab" in problem or "\\t" in problem:
        message = "tab character: YAML indentation must use spaces"
    elif "expected a single document" in problem or "but found another document" in str(error):
        message = "more than one YAML document: a record is a single mapping"
    else:
        context = f"{error.context}: " if error.context else ""
        message = f"invalid YAML: {context}{problem}"
    return Problem(display, line, col, message)


def _problem_from_reader_error(error: yaml.reader.ReaderError, text: str, display: str) -> Problem:
    """A character YAML refuses (a control character, say), at its line and column; libyaml
    gives its offset in the UTF-8 bytes."""
    before = text.encode("utf-8")[: error.position].decode("utf-8", "ignore")
    line, col = _line_and_column(before)
    character = error.character if isinstance(error.character, int) else ord(error.character)
    return Problem(
        display, line, col, f"character U+{character:04X} is not allowed: {error.reason}"
    )


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


def to_python(node: Node) -> Any:
    """Plain Python value of a node tree that passed `load_nodes` (dates stay as their text)."""
    if isinstance(node, MappingNode):
        return {to_python(key): to_python(value) for key, value in node.value}
    if isinstance(node, SequenceNode):
        return [to_python(item) for item in node.value]
    tag = node.tag
    if tag in (INT, FLOAT):
        return number(node)
    if tag == BOOL:
        return _BOOLEANS[node.value.lower()]
    if tag == NULL:
        return None
    return node.value


def load_plain(path: Path, display: str) -> Any:
    """Safely load a YAML file to plain values (for shared registry data)."""
    return to_python(load_nodes(path, display)[0])
