"""An import from start to end: read the registry, build its new files, write them into a copy
of it, lock the new versions, validate and render the copy, and put it in place.

Every imported page must render back byte for byte from the copy, and the copy must validate
(published versions keep their facts: hubzoo.lock). If any page cannot be read or expressed,
or the copy has any problem, ImportFailed lists them, one line each, and the registry is left
as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hubzoo.documents import SCHEMA_FILES
from hubzoo.eras import Eras, load_eras
from hubzoo.facts import ZOO_FACTS
from hubzoo.handles import deployment_handle
from hubzoo.importer.build import (
    Existing,
    Importer,
    ImportFailed,
    ImportOptions,
    VocabularyGrowth,
)
from hubzoo.importer.writing import dump_yaml
from hubzoo.lock import LOCK_FILE, read_lock, write_lock
from hubzoo.registry import Registry, load_registry
from hubzoo.shared import (
    CHANGELOG_FILE,
    COLLECTIONS_FILE,
    PAPERS_FILE,
    TAGS_FOLDER,
    TEXTS_FILE,
    VOCABULARIES,
)
from hubzoo.tfhub_dev import tfhub_dev_files
from hubzoo.validate import find_record_files, validate
from hubzoo.yamlnodes import Problem, YamlRejected, load_plain

SCHEMA_OF_FILE = {
    TEXTS_FILE: "texts",
    CHANGELOG_FILE: "changelog",
    PAPERS_FILE: "papers",
    COLLECTIONS_FILE: "collections",
    "families": "family",
    "publishers": "publisher",
}
"""The document kind of each file (or folder of files) the importer writes besides records."""


def import_checkout(options: ImportOptions) -> int:
    """Import the pages of `options` into its registry, verified, in one step; returns how many
    pages were imported. ImportFailed lists each page (or file) that stops it."""
    registry_dir = Path(os.path.abspath(options.registry_dir))
    eras = _eras()
    importer = Importer(options, read_existing(registry_dir), eras)
    files = importer.run()
    if importer.failures:
        raise ImportFailed(sorted(importer.failures))
    registry_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{registry_dir.name}.import.", dir=registry_dir.parent)
    )
    try:
        shutil.rmtree(staging)
        if registry_dir.is_dir():
            shutil.copytree(registry_dir, staging)
        write_files(staging, files)
        lock_new_versions(staging, registry_dir.name)
        registry = _validated(staging, registry_dir.name)
        failures = compare_pages(registry, staging, importer.sources)
        if failures:
            raise ImportFailed(failures)
        retired = registry_dir.with_name(f".{registry_dir.name}.retired")
        shutil.rmtree(retired, ignore_errors=True)
        if registry_dir.exists():
            registry_dir.rename(retired)
        staging.rename(registry_dir)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(importer.sources)


def _eras() -> Eras:
    eras, problems = load_eras()
    if problems:
        raise ImportFailed(_located(problems, ""))
    return eras


def _located(problems: list[Problem], prefix: str) -> list[tuple[str, str]]:
    """Problems as (where, why) failures, their paths under `prefix`."""
    return [(f"{prefix}{p.path}:{p.line}:{p.col}", p.message) for p in problems]


def read_existing(registry_dir: Path) -> Existing:
    """What the registry already holds that an import keeps (nothing, when it does not exist)."""

    def plain(path: Path) -> Any:
        if not path.is_file():
            return {}
        try:
            return load_plain(path, str(path)) or {}
        except YamlRejected as rejected:
            raise ImportFailed([(str(path), rejected.problem.message)]) from None

    vocabularies = {}
    for name in VOCABULARIES:
        data = plain(registry_dir / TAGS_FOLDER / f"{name}.yaml")
        values = data.get("values") if isinstance(data, dict) else None
        vocabularies[name] = frozenset(
            str(value["id"]) for value in values or [] if isinstance(value, dict) and "id" in value
        )
    record_families: dict[str, str] = {}
    zoo_facts: dict[str, dict[str, Any]] = {}
    for path in find_record_files(registry_dir) if registry_dir.is_dir() else []:
        handle = path.relative_to(registry_dir).with_suffix("").as_posix()
        data = plain(path)
        if deployment_handle(handle) is None and isinstance(data, dict) and "family" in data:
            record_families[handle] = str(data["family"])
            facts = data.get("facts")
            own = facts if isinstance(facts, dict) else {}
            zoo_facts[handle] = {key: value for key, value in own.items() if key in ZOO_FACTS}
    return Existing(
        texts=plain(registry_dir / TEXTS_FILE),
        changelog=plain(registry_dir / CHANGELOG_FILE),
        papers=plain(registry_dir / PAPERS_FILE),
        collections=plain(registry_dir / COLLECTIONS_FILE),
        vocabularies=vocabularies,
        record_families=record_families,
        zoo_facts=zoo_facts,
    )


def write_files(root: Path, files: Mapping[str, Any]) -> None:
    """Write the import's files under `root`: YAML documents, each pointing editors at its
    schema, and vocabulary entries appended to their files."""
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, VocabularyGrowth):
            existing = path.read_text(encoding="utf-8") if path.is_file() else "values:\n"
            entries = dump_yaml(data.entries)
            indented = "".join(f"  {line}" if line else line for line in entries.splitlines(True))
            path.write_text(existing + indented, encoding="utf-8")
            continue
        kind = _kind_of(relative)
        depth = relative.count("/")
        schema = "../" * depth + "schema/" + SCHEMA_FILES[kind]
        path.write_text(dump_yaml(data, schema), encoding="utf-8")


def _kind_of(relative: str) -> str:
    """The document kind of a file the import writes."""
    first = relative.split("/", 1)[0]
    if first in SCHEMA_OF_FILE:
        return SCHEMA_OF_FILE[first]
    handle = relative.removesuffix(".yaml")
    return "record" if deployment_handle(handle) is None else "deployment"


def lock_new_versions(root: Path, name: str) -> None:
    """Add a lock line for each record of the registry at `root` that has none yet (versions
    new to it); the lines of the others stay, so changed published versions are refused."""
    result = validate(root, base=root, check_lock=False)
    if result.problems:
        raise ImportFailed(_located(result.problems, f"{name}/"))
    lock_path = root / LOCK_FILE
    lock, problems = read_lock(lock_path, LOCK_FILE)
    if problems:
        raise ImportFailed(_located(problems, f"{name}/"))
    digests = {handle: digest for handle, (digest, _) in lock.entries.items()}
    for records in (result.modules, result.deployments):
        for handle, record in records.items():
            digests.setdefault(handle, record.digest)
    write_lock(lock_path, digests)


def _validated(root: Path, name: str) -> Registry:
    """The registry at `root`, lock included, or ImportFailed listing its problems."""
    result = validate(root, base=root)
    if result.problems:
        raise ImportFailed(_located(result.problems, f"{name}/"))
    return load_registry(root)


def compare_pages(
    registry: Registry, root: Path, sources: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(page, why) for every imported page the registry does not render byte for byte."""
    rendered = tfhub_dev_files(registry, root)
    failures = []
    for path, text in sorted(sources.items()):
        got = rendered.get(path)
        if got is None:
            failures.append((path, "no record renders this page"))
        elif got != text:
            failures.append((path, first_difference(text, got)))
    return failures


def first_difference(expected: str, got: str) -> str:
    """Where a page and its rendering first differ, in one line."""
    expected_lines, got_lines = expected.split("\n"), got.split("\n")
    for number, (want, have) in enumerate(zip(expected_lines, got_lines, strict=False), start=1):
        if want != have:
            return f"cannot be expressed: line {number} reads {want!r}, its records give {have!r}"
    return (
        f"cannot be expressed: the page has {len(expected_lines)} lines, its records give "
        f"{len(got_lines)}"
    )
