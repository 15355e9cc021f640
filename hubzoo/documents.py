"""The kinds of YAML document in the registry, and the schema policy of each.

Each kind's shape is one JSON Schema file in `registry/schema/`, the files editors use through
the YAML language server. A kind's policy is its file with every `$ref` replaced by what it
points at and the module contract's names filled in (tasks, formats and signature names come
from `hubzoo.contract`, their one definition); `hubzoo.schema.check` applies it.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from hubzoo.contract import ALL_SIGNATURES, MODULE_FORMATS, TASKS
from hubzoo.paths import REGISTRY_DIR
from hubzoo.schema import check
from hubzoo.yamlnodes import Node, Problem

SCHEMA_DIR = REGISTRY_DIR / "schema"
FACTS_SCHEMA = "facts.schema.json"

SCHEMA_FILES = {
    "family": "family.schema.json",
    "zoo_facts": "zoo_facts.schema.json",
    "record": "record.schema.json",
    "deployment": "deployment.schema.json",
    "texts": "texts.schema.json",
    "changelog": "changelog.schema.json",
    "papers": "papers.schema.json",
    "collections": "collections.schema.json",
    "preprocessing": "preprocessing.schema.json",
    "publisher": "publisher.schema.json",
    "vocabulary": "vocabulary.schema.json",
    "eras": "eras.schema.json",
}
"""Document kind -> its schema file in registry/schema/."""


@cache
def schema_file(name: str) -> dict[str, Any]:
    """A schema file as written, with the contract's names filled into the fact definitions."""
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    if name == FACTS_SCHEMA:
        definitions = schema["$defs"]
        facts = definitions["module_facts"]["properties"]
        definitions["task"]["enum"] = list(TASKS)
        facts["format"]["enum"] = list(MODULE_FORMATS)
        facts["signatures"]["items"]["enum"] = list(ALL_SIGNATURES)
    return schema


def definition(name: str) -> dict[str, Any]:
    """One definition of the facts schema (`$defs` of facts.schema.json), e.g. "module_facts"."""
    found: dict[str, Any] = schema_file(FACTS_SCHEMA)["$defs"][name]
    return found


@cache
def policy(kind: str) -> dict[str, Any]:
    """The schema of a document kind, ready for `hubzoo.schema.check` (no `$ref` left)."""
    name = SCHEMA_FILES[kind]
    inlined: dict[str, Any] = _inlined(schema_file(name), name)
    return inlined


def check_document(node: Node, kind: str, display: str) -> list[Problem]:
    """Every way a document of `kind` departs from its schema, located at its nodes."""
    return [
        Problem(display, line, col, message) for line, col, message in check(node, policy(kind))
    ]


def _inlined(schema: Any, file: str) -> Any:
    """`schema` (from `file`) with each `{"$ref": ...}` replaced by its target, the reference's
    sibling keywords (a description) kept; `$defs` dropped once inlined."""
    if isinstance(schema, list):
        return [_inlined(item, file) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: _inlined(value, file) for key, value in schema.items() if key != "$defs"}
    reference = result.pop("$ref", None)
    if reference is None:
        return result
    target_file, _, pointer = reference.partition("#")
    target_file = target_file or file
    target: Any = schema_file(target_file)
    for part in pointer.strip("/").split("/"):
        target = target[part]
    return {**_inlined(copy.deepcopy(target), target_file), **result}


def schema_path(kind: str) -> Path:
    """The schema file of a document kind."""
    return SCHEMA_DIR / SCHEMA_FILES[kind]
