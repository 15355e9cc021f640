"""Hypothesis strategies for hostile YAML: the registry's real files, mutated; arbitrary documents.

The files are those of the record model: family files and zoo facts (where most facts are
written), module record and deployment files (most one line: `family: ID`, `parent: HANDLE`),
and the shared files. Mutations work on the text the way a careless or hostile editor would: a
value replaced by a YAML 1.1 oddity, a key added or renamed, a value turned into another type or
nested deep, lines dropped, repeated or re-indented, YAML syntax characters and invalid bytes
inserted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import yaml
from hypothesis import strategies as st

from hubzoo.handles import deployment_handle
from hubzoo.paths import REGISTRY_DIR
from hubzoo.validate import find_record_files


def _texts(paths: list) -> dict[str, str]:
    return {path.relative_to(REGISTRY_DIR).as_posix(): path.read_text() for path in paths}


_ALL_RECORDS = _texts(find_record_files(REGISTRY_DIR))
DEPLOYMENTS = {
    path: text
    for path, text in _ALL_RECORDS.items()
    if deployment_handle(path.removesuffix(".yaml")) is not None
}
"""The deployment record files by path relative to the registry, as text."""
MODULE_RECORDS = {path: text for path, text in _ALL_RECORDS.items() if path not in DEPLOYMENTS}
"""The module record files."""
FAMILY_FILES = _texts(
    sorted([*REGISTRY_DIR.glob("families/*.yaml"), *REGISTRY_DIR.glob("zoo_facts/*.yaml")])
)
"""The family files and zoo facts files."""
SHARED = _texts(
    [
        *sorted(REGISTRY_DIR.glob("*.yaml")),
        *sorted(REGISTRY_DIR.glob("publishers/*.yaml")),
        *sorted(REGISTRY_DIR.glob("tags/*.yaml")),
    ]
)
"""The shared files (texts, changelog, papers, collections, preprocessing, publishers, tags)."""
STATED = {path: text for path, text in MODULE_RECORDS.items() if "\nfacts:" in text}
"""The module record files that state facts of their own."""


def _family_of(relative: str) -> str:
    """The family a module record or deployment file belongs to."""
    if relative in DEPLOYMENTS:
        relative = yaml.safe_load(DEPLOYMENTS[relative])["parent"] + ".yaml"
    return str(yaml.safe_load(MODULE_RECORDS[relative])["family"])


RECORDS_OF_FAMILY: dict[str, list[str]] = {}
"""Every module record and deployment file, by family id."""
for _path in sorted(_ALL_RECORDS):
    RECORDS_OF_FAMILY.setdefault(_family_of(_path), []).append(_path)


def targets_of(relative: str) -> list[str]:
    """The record files whose validation reads `relative`: a module record with its
    deployments, a few records of a family (its first and last module record, a deployment),
    one module record and one deployment for a shared file."""
    if relative in DEPLOYMENTS:
        return [relative]
    if relative in MODULE_RECORDS:
        stem = relative.removesuffix(".yaml") + "/"
        return [relative, *(path for path in DEPLOYMENTS if path.startswith(stem))]
    stem = relative.rsplit("/", 1)[-1].removesuffix(".yaml")
    if relative in FAMILY_FILES and stem in RECORDS_OF_FAMILY:
        records = RECORDS_OF_FAMILY[stem]
        modules = [path for path in records if path in MODULE_RECORDS]
        deployments = [path for path in records if path in DEPLOYMENTS]
        return [modules[0], modules[-1], *deployments[:1]]
    return [sorted(STATED)[0], sorted(DEPLOYMENTS)[0]]


YAML_1_1_SCALARS = [
    # integers in every YAML 1.1 notation, at and beyond the 64-bit bounds
    "0xE0", "0b11100000", "3:44", "0340", "0_340", "08", "0o340", "-0", "+12", "1__0", "1:60",
    "190:20:30", "-3:44", "0b_", "0x_", "-0b_", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "0x8000000000000000", "0b" + "1" * 64, "0" + "7" * 30,
    "1" + "0" * 5000, "0x" + "f" * 3000, "1" + ":59" * 2000, "1" + "0" * 4300,
    # floats: NaN, infinities, overflow, YAML 1.1 forms
    ".nan", ".NaN", ".NAN", ".inf", "-.inf", "+.INF", "1.0e+400", "-1.0e+400", "1e5", "1.5e-3",
    "685.230_15e+03", "190:20:30.15", "0.", ".5", "1.", "1.2.3", "1:2.5", "-.5", "0.99",
    # implicit tags that are not data, null, booleans, dates
    "=", "<<", "~", "null", "NULL", "", "yes", "No", "on", "OFF", "y", "n", "True",
    "2001-12-14t21:59:43.10-05:00", "2002-12-14",
    # explicit tags, good and bad
    "!!int 12", "!!int abc", "!!int 0x_", "!!float 12", "!!float .nan", "!!bool maybe",
    "!!str 12", "!!null x", "!!timestamp x", "!!binary aGk=", "!!set {a, b}", "!!omap [a: 1]",
    "!!python/name:os.system", "!!python/object/apply:os.system [echo]", "!foo bar", "! 12",
    "!!map [a]", "!!seq {a: 1}", "!!str [a]", "!<tag:yaml.org,2002:int> 5",
    # anchors, aliases, quoting, block scalars, flow collections, complex keys
    "&a 1", "*a", "&a [*a]", "'quoted'", '"\\x00 \\u2028 \\e[31m \\N"', "|\n  block", ">-\n  folded",
    "[]", "{}", "[a, b]", "{a: 1}", "[default, {[a]: 1}]", "{? [a]: 1}", "[a: 1]", "{[a]: 1}",
    "[default, default]", "[default, {<<: {a: 1}}]", "{<<: [{a: 1}]}", "[1, 1.0, true]",
    "- x", "a: b: c", "[", "}", "'", '"', "#", "%TAG ! tag:x,2000:", "--- x", "...",
]  # fmt: skip

SYNTAX = [
    "&a ", "*a", "!", "!!", "!!int ", "!x ", "%YAML 1.1\n", "---\n", "...\n", "|", ">", '"', "'",
    "{", "}", "[", "]", ",", ":", ": ", "? ", "- ", "#", "\t", "\x00", "\ufeff", "\r", "\r\n",
    "\u2028", "\x85", "\x1b[31m", "\\", "@", "`", "<<: ", "=", " ", "\n", "\n  ", "é", "\U0001f600",
]  # fmt: skip

KEYS = [
    "family", "parent", "id", "namespace", "facts", "variants", "lines", "releases", "tasks",
    "deployments", "changes", "path", "image_size", "signatures", "batch_norm_momentum",
    "num_features", "num_classes", "min_image_size", "network", "hyperparameters", "era",
    "format", "input_kind", "counterpart", "license", "checkpoint_source", "display_name",
    "<<", "=", "? [a]", "[a]", "{a: 1}", '"a\\nb"', "1", "0x1", "~", "null", "yes", ".nan",
    "k" * 2000, "'quoted key'", "&a k", "*a", "!!int 3",
]  # fmt: skip

LINE_WITH_VALUE = re.compile(r"^(?P<head>\s*(?:- )?[^\s#:][^:#]*:[ ]|\s*- )(?P<value>\S.*)$")
DEEP = [2, 31, 32, 33, 40, 1000, 10_000, 30_000]


def plain_values() -> st.SearchStrategy[object]:
    """JSON-ish and YAML-ish Python values, nested."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats()
        | st.text(max_size=30)
        | st.sampled_from(["default", "image_feature_vector", "tf-slim", "hub", "224", "1"])
    )
    keys = st.text(max_size=10) | st.integers() | st.booleans() | st.none()
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=12,
    )


def yaml_scalar_texts() -> st.SearchStrategy[str]:
    """A scalar or small node as a YAML author might write it, one line (mostly)."""
    return (
        st.sampled_from(YAML_1_1_SCALARS)
        | st.integers().map(str)
        | st.floats().map(repr)
        | st.text(max_size=20).map(json.dumps)
        | st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
        | plain_values().map(_flow)
    )


def _flow(value: object) -> str:
    return (
        yaml.safe_dump(value, default_flow_style=True, width=10_000)
        .strip()
        .removesuffix("...")
        .strip()
    )


Mutation = Callable[[st.DrawFn, str], str]


def _replace_value(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    candidates = [i for i, line in enumerate(lines) if LINE_WITH_VALUE.match(line)]
    if not candidates:
        return text
    index = draw(st.sampled_from(candidates))
    match = LINE_WITH_VALUE.match(lines[index])
    assert match
    lines[index] = match["head"] + draw(yaml_scalar_texts())
    return "\n".join(lines)


def _add_key(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    index = draw(st.integers(0, len(lines)))
    indent = draw(st.sampled_from(["", "", "  ", "    ", " "]))
    line = f"{indent}{draw(st.sampled_from(KEYS))}: {draw(yaml_scalar_texts())}"
    return "\n".join([*lines[:index], line, *lines[index:]])


def _rename_key(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    keyed = [i for i, line in enumerate(lines) if re.match(r"^\s*[a-z_0-9]+:", line)]
    if not keyed:
        return text
    index = draw(st.sampled_from(keyed))
    new_key = draw(st.sampled_from(KEYS) | st.text(min_size=1, max_size=8))
    lines[index] = re.sub(r"^(\s*)[a-z_0-9]+:", lambda m: f"{m[1]}{new_key}:", lines[index])
    return "\n".join(lines)


def _nest_deep(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    candidates = [i for i, line in enumerate(lines) if LINE_WITH_VALUE.match(line)]
    if not candidates:
        return text
    index = draw(st.sampled_from(candidates))
    match = LINE_WITH_VALUE.match(lines[index])
    assert match
    levels = draw(st.sampled_from(DEEP))
    opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ("[a: ", "]")]))
    deep = opener * levels + match["value"] + closer * levels
    if draw(st.booleans()):
        deep = "\n" + "  - " * min(levels, 500) + match["value"]
    lines[index] = match["head"] + deep
    return "\n".join(lines)


def _edit_lines(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    index = draw(st.integers(0, len(lines) - 1))
    action = draw(st.sampled_from(["drop", "repeat", "indent", "dedent", "swap", "tab"]))
    if action == "drop":
        del lines[index]
    elif action == "repeat":
        lines.insert(index, lines[index])
    elif action == "indent":
        lines[index] = " " * draw(st.integers(1, 5)) + lines[index]
    elif action == "dedent":
        lines[index] = lines[index].lstrip()
    elif action == "tab":
        lines[index] = "\t" + lines[index]
    else:
        other = draw(st.integers(0, len(lines) - 1))
        lines[index], lines[other] = lines[other], lines[index]
    return "\n".join(lines)


def _insert_syntax(draw: st.DrawFn, text: str) -> str:
    offset = draw(st.integers(0, len(text)))
    inserted = draw(st.sampled_from(SYNTAX) | st.text(max_size=3))
    return text[:offset] + inserted + text[offset:]


MUTATIONS: list[Mutation] = [
    _replace_value, _replace_value, _replace_value, _add_key, _rename_key, _nest_deep,
    _edit_lines, _insert_syntax,
]  # fmt: skip


def _mutate_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    action = draw(st.sampled_from(["none"] * 8 + ["truncate", "garbage"]))
    if action == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if action == "garbage":
        offset = draw(st.integers(0, len(data)))
        return data[:offset] + draw(st.binary(min_size=1, max_size=4)) + data[offset:]
    return data


@st.composite
def mutated_files(draw: st.DrawFn, originals: dict[str, str]) -> tuple[str, bytes]:
    """(path relative to the registry, mutated bytes) for one of `originals`."""
    path = draw(st.sampled_from(sorted(originals)))
    text = originals[path]
    for _ in range(draw(st.integers(1, 3))):
        text = draw(st.sampled_from(MUTATIONS))(draw, text)
    return path, _mutate_bytes(draw, text.encode("utf-8", "surrogatepass"))


@st.composite
def dumped_files(draw: st.DrawFn, originals: dict[str, str]) -> tuple[str, bytes]:
    """A real file loaded, one value at any depth replaced by an arbitrary value (or removed),
    dumped in some style."""
    path = draw(st.sampled_from(sorted(originals)))
    data = yaml.safe_load(originals[path])
    target = data
    while True:
        key = draw(st.sampled_from(sorted(target, key=str)))
        if not isinstance(target[key], dict) or not target[key] or draw(st.booleans()):
            break
        target = target[key]
    if draw(st.integers(0, 9)) == 0:
        del target[key]
    else:
        target[key] = draw(plain_values())
    return path, _dump(draw, data)


@st.composite
def arbitrary_documents(draw: st.DrawFn) -> bytes:
    """Any document PyYAML can write, in some style, or arbitrary YAML-ish text."""
    if draw(st.booleans()):
        return _dump(draw, draw(plain_values()))
    alphabet = st.sampled_from(SYNTAX) | st.characters(codec="utf-8")
    return "".join(draw(st.lists(alphabet, max_size=40))).encode("utf-8", "surrogatepass")


def _dump(draw: st.DrawFn, data: object) -> bytes:
    text = yaml.safe_dump(
        data,
        default_flow_style=draw(st.sampled_from([False, True, None])),
        allow_unicode=draw(st.booleans()),
        canonical=draw(st.sampled_from([False, False, True])),
        explicit_start=draw(st.booleans()),
        sort_keys=False,
    )
    return text.encode("utf-8")


@st.composite
def yaml_1_1_integers(draw: st.DrawFn, value: int) -> str:
    """`value` (positive) in one of YAML 1.1's integer notations, maybe with underscores."""
    forms = [str(value), f"+{value}", f"0{value:o}", f"0x{value:x}", f"0x{value:X}", f"0b{value:b}"]
    if value >= 60 and draw(st.booleans()):
        return f"{value // 60}:{value % 60:02d}"  # sexagesimal: no underscores after a colon
    text = draw(st.sampled_from(forms))
    for _ in range(draw(st.integers(0, 2))):
        offset = draw(st.integers(2, len(text))) if len(text) > 2 else len(text)
        text = text[:offset] + "_" + text[offset:]
    return text


@st.composite
def yaml_1_1_fractions(draw: st.DrawFn, value: float) -> str:
    """`value` (in [0, 1)) in one of YAML 1.1's float notations."""
    text = f"{value:.6f}"  # 0.xxxxxx
    forms = [text, text + "_0", text[1:], f"0:00{text[1:]}", f"{value * 10:.5f}e-1", f"+{text}"]
    return draw(st.sampled_from(forms))
