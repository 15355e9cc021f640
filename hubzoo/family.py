"""The stored model: a family of modules, its variants, lines and releases, in two files.

A family's facts are layered. Each layer is a mapping of fact name -> value, stated in the
family file (registry/families/FAMILY.yaml: what the model pages state, written by the
importer) and in its zoo facts file (registry/zoo_facts/FAMILY.yaml: what the pages do not
state). Layers merge most general first, a later layer winning; within a layer the zoo file
comes after the family file:

    family        facts of every module of the family
    line          facts of one line (e.g. mobilenet_v1's "quantops" graphs)
    line-task     one task of that line
    variant       one variant's own facts (depth multiplier, image size, ...)
    release       one module version of the line, every variant
    release-task  one task of that version
    record        the record file of the module version itself

A handle names its family's variant, line, task and version:
NAMESPACE/VARIANT/LINE_PATH/TASK_FOLDER/VERSION.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hubzoo.contract import TASKS, TASKS_BY_FOLDER

Facts = Mapping[str, Any]
"""One layer of facts: fact name -> value (the names: hubzoo.facts)."""


@dataclass(frozen=True)
class DeploymentLayer:
    """Deployment facts of one KIND/NAME (e.g. "tfjs/default"), for all tasks and by task."""

    facts: Facts = field(default_factory=dict)
    tasks: Mapping[str, Facts] = field(default_factory=dict)


@dataclass(frozen=True)
class Release:
    """One module version of a line, shared by every variant."""

    version: int
    changes: tuple[str, ...]  # ids in registry/changelog.yaml: the notes of this version
    deployments: Mapping[str, DeploymentLayer]  # "KIND/NAME" -> facts of this version's


@dataclass(frozen=True)
class Line:
    """A series of module versions of a family, e.g. the plain modules or the quantops graphs."""

    id: str
    path: str  # what the handle adds before the task folder: "" or e.g. "quantops/"
    parent_line: str | None  # its modules derive from this line's (same variant and task)
    releases: Mapping[int, Release]


@dataclass(frozen=True)
class Layers:
    """One file's facts of a family, by layer (see the module docstring)."""

    family: Facts = field(default_factory=dict)
    lines: Mapping[str, Facts] = field(default_factory=dict)
    line_tasks: Mapping[tuple[str, str], Facts] = field(default_factory=dict)
    variants: Mapping[str, Facts] = field(default_factory=dict)
    releases: Mapping[tuple[str, int], Facts] = field(default_factory=dict)
    release_tasks: Mapping[tuple[str, int, str], Facts] = field(default_factory=dict)


@dataclass(frozen=True)
class ModulePlace:
    """Where a module handle sits in its family."""

    line: Line
    variant: str
    task: str
    version: int


@dataclass(frozen=True)
class Family:
    """Modules of one architecture in several variants, lines and releases."""

    id: str
    namespace: str  # every handle of the family starts with it, e.g. "google/imagenet"
    variants: tuple[str, ...]  # module names
    lines: Mapping[str, Line]
    deployments: Mapping[str, DeploymentLayer]  # "KIND/NAME" -> facts of every version's
    page: Layers  # the family file's facts
    zoo: Layers  # the zoo facts file's

    def place(self, handle: str) -> ModulePlace | None:
        """Where a module handle of this family sits, or None when it is not one of its handles
        (another namespace, an unknown variant, line, task folder or release)."""
        prefix = self.namespace + "/"
        if not handle.startswith(prefix):
            return None
        rest, _, version = handle[len(prefix) :].rpartition("/")
        name, _, line_and_task = rest.partition("/")
        if name not in self.variants or not (version.isascii() and version.isdigit()):
            return None
        for line in self.lines.values():
            if line_and_task.startswith(line.path):
                task = TASKS_BY_FOLDER.get(line_and_task[len(line.path) :])
                if task is not None and int(version) in line.releases:
                    return ModulePlace(line, name, task.id, int(version))
        return None

    def handle(self, line: Line, variant: str, task: str, version: int) -> str:
        """The handle of one module version."""
        return f"{self.namespace}/{variant}/{line.path}{TASKS[task].folder}/{version}"

    def layers(self, place: ModulePlace) -> list[tuple[str, Facts]]:
        """(layer name, facts) of one module version, most general first, the zoo file's after
        the family file's in each layer; empty layers left out."""
        found: list[tuple[str, Facts]] = []
        for name, lookup in _LAYER_LOOKUPS:
            for layers in (self.page, self.zoo):
                facts = lookup(layers, place)
                if facts:
                    found.append((name, facts))
        return found

    def deployment_layers(self, place: ModulePlace, kind_name: str) -> list[Facts]:
        """The facts of a deployment KIND/NAME of a module, most general first: the family's for
        every task, then for the module's; the release's, then for the module's task."""
        release = place.line.releases[place.version]
        layers: list[Facts] = []
        for entries in (self.deployments, release.deployments):
            entry = entries.get(kind_name, DeploymentLayer())
            layers += [entry.facts, entry.tasks.get(place.task, {})]
        return layers


_LAYER_LOOKUPS: tuple[tuple[str, Callable[[Layers, ModulePlace], Facts]], ...] = (
    ("family", lambda layers, place: layers.family),
    ("line", lambda layers, place: layers.lines.get(place.line.id, {})),
    ("line-task", lambda layers, place: layers.line_tasks.get((place.line.id, place.task), {})),
    ("variant", lambda layers, place: layers.variants.get(place.variant, {})),
    ("release", lambda layers, place: layers.releases.get((place.line.id, place.version), {})),
    (
        "release-task",
        lambda layers, place: layers.release_tasks.get(
            (place.line.id, place.version, place.task), {}
        ),
    ),
)
"""Each layer's name and where a file's Layers keep it for a module."""


def family_from_data(data: Mapping[str, Any], zoo: Mapping[str, Any] | None) -> Family:
    """A Family from its file's data and its zoo facts file's (None: it has none), both checked
    against their schemas already."""
    lines = {}
    for line_id, entry in data["lines"].items():
        releases = {
            int(version): Release(
                int(version),
                tuple((release or {}).get("changes", ())),
                _deployment_layers((release or {}).get("deployments", {})),
            )
            for version, release in entry["releases"].items()
        }
        lines[line_id] = Line(line_id, entry["path"], entry.get("parent_line"), releases)
    return Family(
        id=data["id"],
        namespace=data["namespace"],
        variants=tuple(data["variants"]),
        lines=lines,
        deployments=_deployment_layers(data.get("deployments", {})),
        page=_layers(data),
        zoo=_layers(zoo or {}),
    )


def _layers(data: Mapping[str, Any]) -> Layers:
    lines, line_tasks, releases, release_tasks = {}, {}, {}, {}
    for line_id, line in (data.get("lines") or {}).items():
        lines[line_id] = line.get("facts", {})
        for task, facts in line.get("tasks", {}).items():
            line_tasks[line_id, task] = facts
        for version, release in (line.get("releases") or {}).items():
            releases[line_id, int(version)] = (release or {}).get("facts", {})
            for task, facts in (release or {}).get("tasks", {}).items():
                release_tasks[line_id, int(version), task] = facts
    return Layers(
        family=data.get("facts", {}),
        lines=lines,
        line_tasks=line_tasks,
        variants={name: facts or {} for name, facts in (data.get("variants") or {}).items()},
        releases=releases,
        release_tasks=release_tasks,
    )


def _deployment_layers(data: Mapping[str, Any]) -> dict[str, DeploymentLayer]:
    return {
        kind_name: DeploymentLayer(entry.get("facts", {}), entry.get("tasks", {}))
        for kind_name, entry in data.items()
    }
