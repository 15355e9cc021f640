"""The record policy: the JSON Schema plus the rules a schema cannot say.

Every problem is reported (not only the first) as `path:line:col: message`, pointing at the
YAML node at fault. Nothing here imports TensorFlow: this runs on every change.
"""

from __future__ import annotations

import copy
import difflib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from hubzoo.contract import (
    ALL_SIGNATURES,
    BN_HPARAMS_SUFFIX,
    DEFAULT_SIGNATURE,
    MODULE_FORMATS,
    TASKS,
)
from hubzoo.paths import display_path
from hubzoo.record import Record, record_from_node
from hubzoo.schema import Finding, check, load_schema
from hubzoo.shared import PAPERS_FILE, SHARED_FOLDERS, Architecture, SharedData, load_shared
from hubzoo.yamlnodes import Node, Problem, YamlRejected, load_nodes, position

RECORD_SUFFIXES = (".yaml", ".yml")
VOCABULARY_OF_KEY = {"dataset": "dataset", "task": "task", "license": "license", "format": "format"}


@dataclass
class ValidationResult:
    """What a validation run found: the good records and every problem."""

    records: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files_checked: int = 0
    shared: SharedData | None = None


def find_record_files(registry_dir: Path) -> list[Path]:
    """Every record file under the registry (shared-data folders excluded), sorted."""
    found: list[Path] = []
    for root, dirs, files in os.walk(registry_dir):
        if Path(root) == registry_dir:
            dirs[:] = [d for d in dirs if d not in SHARED_FOLDERS]
        dirs.sort()
        found.extend(
            Path(root) / name
            for name in sorted(files)
            if name.endswith(RECORD_SUFFIXES)
            and not (Path(root) == registry_dir and name == PAPERS_FILE)
        )
    return found


PARALLEL_THRESHOLD = 2000
"""From this many files on, records are checked in one process per core."""


def validate(
    registry_dir: Path,
    paths: Iterable[Path] | None = None,
    base: Path | None = None,
    build_records: bool = True,
) -> ValidationResult:
    """Validate the given record files, or every record in the registry.

    `base` is the folder paths in messages are relative to (default: the working folder);
    without `build_records`, only problems are collected (the command-line check).
    """
    registry_dir = Path(os.path.abspath(registry_dir))
    base = Path(os.path.abspath(base or Path.cwd()))
    shared, shared_problems = load_shared(registry_dir, base)
    result = ValidationResult(problems=list(shared_problems), shared=shared)
    files = list(paths) if paths is not None else find_record_files(registry_dir)
    handles: dict[str, str] = {}
    checked = _check_all(files, registry_dir, base, shared, build_records)
    for display, handle, record, problems in checked:
        result.files_checked += 1
        result.problems.extend(problems)
        if handle is None:
            continue
        if handle in handles:
            message = f"handle '{handle}' is also used by {handles[handle]}"
            result.problems.append(Problem(display, 1, 1, message))
            continue
        handles[handle] = display
        if record is not None:
            result.records.append(record)
    result.problems.sort()
    return result


Checked = tuple[str, str | None, Record | None, list[Problem]]
"""(path as displayed, handle if valid, record if valid and asked for, problems)."""


def _check_all(
    files: list[Path], registry_dir: Path, base: Path, shared: SharedData, build_records: bool
) -> Iterator[Checked]:
    workers = os.cpu_count() or 1
    args = (registry_dir, base, shared, build_records)
    if len(files) < PARALLEL_THRESHOLD or workers < 2:
        yield from _check_chunk(files, *args)
        return
    size = -(-len(files) // workers)
    chunks = [files[i : i + size] for i in range(0, len(files), size)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        jobs = [pool.submit(_check_chunk, chunk, *args) for chunk in chunks]
        for job in jobs:
            yield from job.result()


def _check_chunk(
    files: list[Path], registry_dir: Path, base: Path, shared: SharedData, build_records: bool
) -> list[Checked]:
    checked = []
    for path in files:
        display = display_path(path, base)
        checked.append(
            (display, *check_record_file(path, display, registry_dir, shared, build_records))
        )
    return checked


def check_record_file(
    path: Path, display: str, registry_dir: Path, shared: SharedData, build_record: bool = True
) -> tuple[str | None, Record | None, list[Problem]]:
    """Check one record file: (handle, Record, []) when it is valid, else (None, None, problems)."""
    try:
        node, raw = load_nodes(path, display)
    except YamlRejected as rejected:
        return None, None, [rejected.problem]
    findings = list(check(node, record_policy()))
    if not findings:
        findings = list(_code_rules(node, path, registry_dir, shared))
    if findings:
        return None, None, [Problem(display, line, col, message) for line, col, message in findings]
    handle = next(str(value.value) for key, value in node.value if key.value == "handle")
    return handle, record_from_node(node, raw) if build_record else None, []


@cache
def record_policy() -> dict[str, Any]:
    """The record schema with the module contract's names filled in: the tasks, formats and
    signature names a record may state come from `hubzoo.contract`, their one definition."""
    policy = copy.deepcopy(load_schema())
    properties = policy["properties"]
    properties["task"]["enum"] = list(TASKS)
    properties["format"]["enum"] = list(MODULE_FORMATS)
    properties["signatures"]["items"]["enum"] = list(ALL_SIGNATURES)
    return policy


def _code_rules(
    node: Node, path: Path, registry_dir: Path, shared: SharedData
) -> Iterator[tuple[int, int, str]]:
    """The rules the schema cannot say; runs on documents the schema accepted."""
    fields: dict[str, Node] = {str(key.value): value for key, value in node.value}
    text = {
        key: str(value.value) for key, value in fields.items() if not isinstance(value.value, list)
    }

    def at(key: str, message: str) -> tuple[int, int, str]:
        line, col = position(fields[key])
        return line, col, message

    handle = text["handle"]
    expected_handle = _handle_of_path(path, registry_dir)
    if expected_handle is None:
        yield at("handle", f"record file is not inside the registry {registry_dir}")
    elif handle != expected_handle:
        yield at(
            "handle", f"handle '{handle}' must equal the file's path: expected '{expected_handle}'"
        )

    if text["publisher"] != handle.split("/", 1)[0]:
        yield at("publisher", f"publisher '{text['publisher']}' must be the handle's first segment")
    if text["publisher"] not in shared.publishers:
        yield at(
            "publisher", _unknown("publisher", text["publisher"], shared.publishers, "publishers/")
        )

    architecture = shared.architectures.get(text["architecture"])
    if architecture is None:
        known = shared.architectures
        message = _unknown("architecture", text["architecture"], known, "architectures/")
        yield at("architecture", message)
    for key, vocabulary in VOCABULARY_OF_KEY.items():
        if key in text and text[key] not in shared.vocabularies[vocabulary]:
            close = difflib.get_close_matches(text[key], list(shared.vocabularies[vocabulary]), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            yield at(
                key, f"{key} '{text[key]}' is not an id in registry/tags/{vocabulary}.yaml{hint}"
            )

    collection = str(_child(fields["checkpoint"], "collection").value)
    if collection not in shared.collections:
        line, col = position(_child(fields["checkpoint"], "collection"))
        yield line, col, _unknown("collection", collection, shared.collections, "collections/")

    yield from _input_size_rules(fields["input_size"], architecture)
    yield from _task_rules(fields, text, at)
    yield from _changelog_rules(fields["changelog"], handle)

    if "counterpart" in text:
        counterpart = text["counterpart"]
        if counterpart == handle:
            yield at("counterpart", "counterpart must be another module, not this one")
        elif not any(
            (registry_dir / f"{counterpart}{suffix}").is_file() for suffix in RECORD_SUFFIXES
        ):
            yield at("counterpart", f"counterpart '{counterpart}' has no record in the registry")


def _input_size_rules(
    size: Node, architecture: Architecture | None
) -> Iterator[tuple[int, int, str]]:
    if architecture is None:
        return
    for key in ("height", "width"):
        value = _child(size, key)
        if int(value.value) < architecture.min_image_size:
            line, col = position(value)
            yield (
                line,
                col,
                (
                    f"input_size.{key} {value.value} is below "
                    f"{architecture.display_name}'s minimum "
                    f"of {architecture.min_image_size}"
                ),
            )


def _task_rules(
    fields: dict[str, Node], text: dict[str, str], at: Callable[[str, str], Finding]
) -> Iterator[Finding]:
    task = text["task"]
    own_key = TASKS[task].width_field
    for key in (other.width_field for other in TASKS.values()):
        if key == own_key and key not in fields:
            yield at("task", f"task {task} needs {key}")
        elif key != own_key and key in fields:
            yield at(key, f"{key} does not apply to task {task}; use {own_key}")

    signatures = [str(item.value) for item in fields["signatures"].value]
    if DEFAULT_SIGNATURE not in signatures:
        yield at("signatures", f"signatures must include '{DEFAULT_SIGNATURE}'")
    allowed = TASKS[task].signatures
    for item in fields["signatures"].value:
        if item.value not in allowed:
            line, col = position(item)
            yield line, col, f"signature '{item.value}' does not belong to task {task}"
    has_hparams = any(name.endswith(BN_HPARAMS_SUFFIX) for name in signatures)
    if has_hparams and "batch_norm_momentum" not in fields:
        yield at("signatures", "a *_with_bn_hparams signature needs batch_norm_momentum")
    if "batch_norm_momentum" in fields and not has_hparams:
        yield at("batch_norm_momentum", "batch_norm_momentum needs a *_with_bn_hparams signature")
    if has_hparams and text["fine_tunable"] != "true":
        yield at("fine_tunable", "batch norm hparams only make sense for a fine-tunable module")


def _changelog_rules(changelog: Node, handle: str) -> Iterator[tuple[int, int, str]]:
    version = int(handle.rsplit("/", 1)[1])
    versions = []
    for key, _ in changelog.value:
        number = int(key.value)
        versions.append(number)
        if number > version:
            line, col = position(key)
            yield (
                line,
                col,
                f"changelog has version {number}, newer than this record's version {version}",
            )
    if version not in versions:
        line, col = position(changelog)
        yield line, col, f"changelog has no entry for this record's version {version}"
    if versions != sorted(versions):
        line, col = position(changelog)
        yield line, col, "changelog versions must be in increasing order"


def _child(mapping: Node, key: str) -> Node:
    for key_node, value in mapping.value:
        if key_node.value == key:
            child: Node = value
            return child
    raise KeyError(key)


def _handle_of_path(path: Path, registry_dir: Path) -> str | None:
    relative = os.path.relpath(os.path.abspath(path), registry_dir)
    if relative.startswith(".."):
        return None
    return Path(relative).with_suffix("").as_posix()


def _unknown(kind: str, value: str, known: Mapping[str, object], folder: str) -> str:
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"{kind} '{value}' has no file in registry/{folder}{hint}"
