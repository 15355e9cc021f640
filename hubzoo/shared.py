"""Facts that several records share, each written once in the registry.

registry/tags/*.yaml         vocabularies (id + display name), seeded from tfhub.dev
registry/architectures/*.yaml an architecture's names, papers and overview prose
registry/publishers/*.yaml   a publisher's names
registry/collections/*.yaml  where a family of checkpoints comes from
registry/papers.yaml         papers by id, as the pages cite them
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubzoo.paths import display_path
from hubzoo.schema import check
from hubzoo.yamlnodes import Problem, YamlRejected, load_nodes, to_python

VOCABULARIES = ("dataset", "network_architecture", "task", "license", "format")
SHARED_FOLDERS = ("architectures", "publishers", "collections", "tags", "schema")
PAPERS_FILE = "papers.yaml"

_ID = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]*$", "description": "a lowercase id"}
_TEXT = {"type": "string", "minLength": 1}
_URL = {"type": "string", "pattern": "^https?://[^\\s]+$", "description": "an http(s) URL"}

VOCABULARY_POLICY = {
    "type": "object",
    "required": ["values"],
    "properties": {
        "values": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "display_name"],
                "properties": {"id": _ID, "display_name": _TEXT},
            },
        }
    },
}
ARCHITECTURE_POLICY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "display_name", "network_architecture", "slim_name", "min_image_size",
                 "papers", "overview"],
    "properties": {
        "id": _ID,
        "display_name": _TEXT,
        "network_architecture": _ID,
        "slim_name": _ID,
        "min_image_size": {"type": "integer", "minimum": 1},
        "papers": {"type": "array", "items": _ID, "uniqueItems": True},
        "overview": _TEXT,
        "parameters": {"type": "integer", "minimum": 1},
    },
}  # fmt: skip
PUBLISHER_POLICY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "display_name", "homepage", "description"],
    "properties": {"id": _ID, "display_name": _TEXT, "homepage": _URL, "description": _TEXT},
}
COLLECTION_POLICY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "display_name", "url", "training_note"],
    "properties": {"id": _ID, "display_name": _TEXT, "url": _URL, "training_note": _TEXT},
}
PAPER_POLICY = {
    "type": "object",
    "propertyNames": _ID,
    "additionalProperties": {
        "type": "object",
        "additionalProperties": False,
        "required": ["citation"],
        "properties": {"citation": _TEXT},
    },
}

CITATION = re.compile(
    r"^(?P<authors>.+?):\s+\[(?P<title>.+)\]\((?P<url>https?://\S+)\), (?P<year>\d{4})\.$", re.S
)
PAPER_PLACEHOLDER = re.compile(r"^\[\[(?P<paper>[a-z0-9_.-]+)\]\]$", re.M)


@dataclass(frozen=True)
class Paper:
    """A paper, cited as `citation` (markdown, line breaks as the pages print them).

    The citation must read `AUTHORS: [TITLE](URL), YEAR.` (checked by `load_shared`).
    """

    id: str
    citation: str


@dataclass(frozen=True)
class Architecture:
    """A network architecture as TF-Slim implements it."""

    id: str  # also the network's name in modules.nets
    display_name: str  # "Inception V1"
    network_architecture: str  # id in the network_architecture vocabulary
    slim_name: str  # TF-Slim's function name, e.g. "inception_v1"
    min_image_size: int  # smallest height/width the network accepts
    papers: tuple[str, ...]  # paper ids, in citation order
    overview: str  # markdown; a line "[[paper-id]]" cites a paper
    parameters: int | None = None  # trainable weights of the feature extractor (TF-Slim *_base)


@dataclass(frozen=True)
class Publisher:
    """Who publishes modules under the handle's first segment."""

    id: str
    display_name: str
    homepage: str
    description: str


@dataclass(frozen=True)
class Collection:
    """A family of checkpoints, as the pages credit it."""

    id: str
    display_name: str
    url: str
    training_note: str  # markdown paragraph on how the weights were obtained


@dataclass(frozen=True)
class SharedData:
    """All shared registry facts, looked up by id."""

    vocabularies: dict[str, dict[str, str]]  # vocabulary name -> id -> display name
    architectures: dict[str, Architecture]
    publishers: dict[str, Publisher]
    collections: dict[str, Collection]
    papers: dict[str, Paper]

    def display_name(self, vocabulary: str, tag_id: str) -> str:
        """Display name of a tag id."""
        return self.vocabularies[vocabulary][tag_id]


def load_shared(registry_dir: Path, base: Path) -> tuple[SharedData, list[Problem]]:
    """Load and check every shared file; problems are reported, never raised."""
    problems: list[Problem] = []

    def read(path: Path, policy: dict[str, Any]) -> Any:
        display = display_path(path, base)
        try:
            node, _ = load_nodes(path, display)
        except YamlRejected as rejected:
            problems.append(rejected.problem)
            return None
        findings = list(check(node, policy))
        problems.extend(Problem(display, line, col, message) for line, col, message in findings)
        return None if findings else to_python(node)

    vocabularies = {}
    for name in VOCABULARIES:
        data = read(registry_dir / "tags" / f"{name}.yaml", VOCABULARY_POLICY)
        vocabularies[name] = {v["id"]: v["display_name"] for v in (data or {}).get("values", [])}

    architectures = _by_id(
        registry_dir / "architectures", ARCHITECTURE_POLICY, read, problems, base
    )
    publishers = _by_id(registry_dir / "publishers", PUBLISHER_POLICY, read, problems, base)
    collections = _by_id(registry_dir / "collections", COLLECTION_POLICY, read, problems, base)
    paper_data = read(registry_dir / PAPERS_FILE, PAPER_POLICY) or {}
    papers = {pid: Paper(pid, entry["citation"]) for pid, entry in paper_data.items()}

    shared = SharedData(
        vocabularies=vocabularies,
        architectures={k: Architecture(**{**v, "papers": tuple(v["papers"])})
                       for k, v in architectures.items()},
        publishers={k: Publisher(**v) for k, v in publishers.items()},
        collections={k: Collection(**v) for k, v in collections.items()},
        papers=papers,
    )  # fmt: skip
    problems.extend(_cross_check(shared, registry_dir, base))
    return shared, problems


def _by_id(
    folder: Path,
    policy: dict[str, Any],
    read: Callable[[Path, dict[str, Any]], Any],
    problems: list[Problem],
    base: Path,
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for path in sorted(folder.glob("*.yaml")):
        data = read(path, policy)
        if data is None:
            continue
        if data["id"] != path.stem:
            problems.append(
                Problem(
                    display_path(path, base),
                    1,
                    1,
                    f"id '{data['id']}' must equal the file name '{path.stem}'",
                )
            )
            continue
        found[data["id"]] = data
    return found


def _cross_check(shared: SharedData, registry_dir: Path, base: Path) -> list[Problem]:
    problems = []
    for paper in shared.papers.values():
        if not CITATION.match(paper.citation):
            problems.append(
                Problem(
                    display_path(registry_dir / PAPERS_FILE, base),
                    1,
                    1,
                    f"paper '{paper.id}': citation must read 'AUTHORS: [TITLE](URL), YEAR.'",
                )
            )
    for arch in shared.architectures.values():
        display = display_path(registry_dir / "architectures" / f"{arch.id}.yaml", base)
        if arch.network_architecture not in shared.vocabularies["network_architecture"]:
            message = (
                f"network_architecture '{arch.network_architecture}' is not in "
                "registry/tags/network_architecture.yaml"
            )
            problems.append(Problem(display, 1, 1, message))
        cited = PAPER_PLACEHOLDER.findall(arch.overview)
        for paper in [*arch.papers, *cited]:
            if paper not in shared.papers:
                problems.append(
                    Problem(display, 1, 1, f"paper '{paper}' is not in registry/papers.yaml")
                )
        if sorted(set(cited)) != sorted(arch.papers):
            problems.append(
                Problem(
                    display, 1, 1, "the overview must cite exactly the papers listed in 'papers'"
                )
            )
    return problems
