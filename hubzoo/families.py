"""Loading and checking the families: registry/families/*.yaml and registry/zoo_facts/*.yaml.

A family file states what the model pages say (the importer writes it); its zoo facts file what
they do not. Each is checked against its schema, then: the id is the file's name, each layer
states only the facts its file may state, what the facts refer to exists (hubzoo.references),
lines, releases and changelog notes are known, and a zoo facts file names only the variants,
lines and releases of its family.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hubzoo.eras import Eras
from hubzoo.facts import ZOO_FACTS, ZOO_FILE_FACTS
from hubzoo.family import Family, family_from_data
from hubzoo.located import LocatedDict
from hubzoo.references import deployment_fact_problems, module_fact_problems, unknown
from hubzoo.shared import CHANGELOG_FILE, Shared, read_document
from hubzoo.yamlnodes import Problem, shown

FAMILIES_FOLDER = "families"
ZOO_FACTS_FOLDER = "zoo_facts"


def load_families(
    registry_dir: Path, base: Path, shared: Shared, eras: Eras
) -> tuple[dict[str, Family], list[Problem]]:
    """Every family whose files pass their checks, by id, and every problem found."""
    problems: list[Problem] = []
    zoo_files = {
        path.stem: path for path in sorted((registry_dir / ZOO_FACTS_FOLDER).glob("*.yaml"))
    }
    families: dict[str, Family] = {}
    for path in sorted((registry_dir / FAMILIES_FOLDER).glob("*.yaml")):
        data = read_document(path, "family", base, problems)
        zoo_path = zoo_files.pop(path.stem, None)  # its family refused: checked on its own
        zoo = None if zoo_path is None else read_document(zoo_path, "zoo_facts", base, problems)
        if data is None:
            continue
        found = [*family_problems(data, path.stem, shared, eras)]
        if zoo is not None:
            found += zoo_facts_problems(zoo, data, path.stem, shared, eras)
        problems.extend(found)
        if not found and (zoo_path is None or zoo is not None):
            families[data["id"]] = family_from_data(data, zoo)
    for stem, path in zoo_files.items():
        data = read_document(path, "zoo_facts", base, problems)
        if data is not None:
            message = f"no family '{stem}' in registry/{FAMILIES_FOLDER}/ for these zoo facts"
            problems.append(data.problem(None, message))
    return families, problems


def layer_facts(data: Any) -> Iterator[tuple[str, LocatedDict]]:
    """(where, facts) of every layer of module facts in a family or zoo facts file."""
    if "facts" in data:
        yield "facts", data["facts"]
    for name, facts in (data.get("variants") or {}).items():
        yield f"variant {name}", facts
    for line_id, line in (data.get("lines") or {}).items():
        if "facts" in line:
            yield f"line {line_id}", line["facts"]
        for task, facts in line.get("tasks", {}).items():
            yield f"line {line_id}, {task}", facts
        for version, release in (line.get("releases") or {}).items():
            if "facts" in (release or {}):
                yield f"release {line_id}/{version}", release["facts"]
            for task, facts in (release or {}).get("tasks", {}).items():
                yield f"release {line_id}/{version}, {task}", facts


def family_problems(data: Any, stem: str, shared: Shared, eras: Eras) -> Iterator[Problem]:
    """What is wrong with a family file that passed its schema."""
    if data["id"] != stem:
        yield data.problem("id", f"id '{shown(data['id'])}' must equal the file name '{stem}'")
    for _, facts in layer_facts(data):
        for key in facts:
            if key in ZOO_FACTS:
                message = (
                    f"{key} is a zoo fact (the pages do not state it): write it in "
                    f"registry/zoo_facts/{stem}.yaml"
                )
                yield facts.problem(key, message)
        yield from module_fact_problems(facts, shared, eras)
    for line_id, line in data["lines"].items():
        parent = line.get("parent_line")
        if parent is not None and (parent not in data["lines"] or parent == line_id):
            yield line.problem(
                "parent_line", unknown("parent_line", parent, data["lines"], "lines")
            )
        for version, release in line["releases"].items():
            if not str(version).isdigit() or int(version) < 1:
                yield line["releases"].problem(
                    version, f"release '{shown(version)}' is not 1, 2, ..."
                )
            release = release or {}
            changes = release.get("changes", [])
            for index, note in enumerate(changes):
                if note not in shared.changelog:
                    message = unknown("changelog note", note, shared.changelog, CHANGELOG_FILE)
                    yield changes.problem(index, message)
            for entry in release.get("deployments", {}).values():
                yield from _deployment_layer_problems(entry, shared, eras)
    for entry in data.get("deployments", {}).values():
        yield from _deployment_layer_problems(entry, shared, eras)


def _deployment_layer_problems(entry: Any, shared: Shared, eras: Eras) -> Iterator[Problem]:
    if "facts" in entry:
        yield from deployment_fact_problems(entry["facts"], shared, eras)
    for facts in entry.get("tasks", {}).values():
        yield from deployment_fact_problems(facts, shared, eras)


def zoo_facts_problems(
    zoo: Any, family: Any, stem: str, shared: Shared, eras: Eras
) -> Iterator[Problem]:
    """What is wrong with a zoo facts file that passed its schema, given its family's data."""
    if zoo["family"] != stem:
        message = f"family '{shown(zoo['family'])}' must equal the file name '{stem}'"
        yield zoo.problem("family", message)
    for name in zoo.get("variants", {}):
        if name not in family["variants"]:
            message = unknown("variant", name, family["variants"], f"family {stem}")
            yield zoo["variants"].problem(name, message)
    for line_id, line in zoo.get("lines", {}).items():
        if line_id not in family["lines"]:
            yield zoo["lines"].problem(line_id, unknown("line", line_id, family["lines"], stem))
            continue
        known = {str(version) for version in family["lines"][line_id]["releases"]}
        for version in line.get("releases", {}):
            if str(version) not in known:
                message = unknown("release", version, known, f"line {line_id} of family {stem}")
                yield line["releases"].problem(version, message)
    for _, facts in layer_facts(zoo):
        for key in facts:
            if key not in ZOO_FILE_FACTS:
                message = (
                    f"{key} is stated by the pages: it belongs in registry/{FAMILIES_FOLDER}/"
                    f"{stem}.yaml (zoo facts are {', '.join(sorted(ZOO_FILE_FACTS))})"
                )
                yield facts.problem(key, message)
        yield from module_fact_problems(facts, shared, eras)
