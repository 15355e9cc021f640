"""Facts that records share, each written once in the registry and looked up by id.

registry/texts.yaml              prose by kind and id (overviews, implementation and training
                                 paragraphs, dropout notes): patterns over a variant's facts
registry/changelog.yaml          changelog notes by id
registry/papers.yaml             citations by paper id
registry/collections.yaml        where the pages say checkpoints were downloaded from
registry/preprocessing.yaml      input mappings (what a module does to its input values)
registry/publishers/*.yaml       what a publisher page states
registry/tags/*.yaml             vocabularies: id + display name, seeded from tfhub.dev's
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubzoo.documents import check_document
from hubzoo.located import located
from hubzoo.paths import display_path
from hubzoo.preprocessing import InputMapping
from hubzoo.yamlnodes import Problem, YamlRejected, load_nodes, shown

TEXTS_FILE = "texts.yaml"
CHANGELOG_FILE = "changelog.yaml"
PAPERS_FILE = "papers.yaml"
COLLECTIONS_FILE = "collections.yaml"
PREPROCESSING_FILE = "preprocessing.yaml"
PUBLISHERS_FOLDER = "publishers"
TAGS_FOLDER = "tags"
SHARED_FILES = (TEXTS_FILE, CHANGELOG_FILE, PAPERS_FILE, COLLECTIONS_FILE, PREPROCESSING_FILE)
VOCABULARIES = (
    "dataset", "network_architecture", "task", "license", "format", "interactive_visualizer",
)  # fmt: skip
"""The vocabularies the registry's facts use (registry/tags/NAME.yaml)."""

CITATION_LINK = re.compile(r"\[[^\[\]]+\]\(https?://[^)\[\s]+\)")
"""A citation links the paper: [TEXT](URL). Neither part holds a `[`, so that a search costs
linear time, however large the text."""
PAPER_PLACEHOLDER = re.compile(r"^\[\[(?P<paper>[a-z0-9_.-]+)\]\]$", re.M)
"""A line of an overview text citing a paper by id."""


@dataclass(frozen=True)
class Collection:
    """Where a set of checkpoints comes from, as the pages credit it."""

    id: str
    display_name: str
    url: str


@dataclass(frozen=True)
class Publisher:
    """What a publisher page states."""

    id: str
    display_name: str
    icon_url: str
    homepage: str
    homepage_title: str
    description: str  # markdown paragraph


@dataclass(frozen=True)
class Shared:
    """Every shared fact of the registry, by id."""

    texts: Mapping[str, Mapping[str, str]]  # kind -> id -> text (a pattern)
    changelog: Mapping[str, str]  # note id -> markdown
    papers: Mapping[str, str]  # paper id -> citation (markdown, line breaks as printed)
    collections: Mapping[str, Collection]
    input_mappings: Mapping[str, InputMapping]
    publishers: Mapping[str, Publisher]
    vocabularies: Mapping[str, Mapping[str, str]]  # vocabulary -> id -> display name

    def display_name(self, vocabulary: str, tag_id: str) -> str:
        """The display name of a tag id."""
        return self.vocabularies[vocabulary][tag_id]


def read_document(path: Path, kind: str, base: Path, problems: list[Problem]) -> Any:
    """A document's located data when it reads and passes its kind's schema, else None (its
    problems added to `problems`)."""
    display = display_path(path, base)
    try:
        node, _ = load_nodes(path, display)
    except YamlRejected as rejected:
        problems.append(rejected.problem)
        return None
    found = check_document(node, kind, display)
    problems.extend(found)
    return None if found else located(node, display)


def load_shared(registry_dir: Path, base: Path) -> tuple[Shared, list[Problem]]:
    """Load and check every shared file; problems are reported, never raised."""
    problems: list[Problem] = []

    def read(name: str, kind: str) -> Any:
        path = registry_dir / name
        if not os.path.lexists(path):  # anything else there (a FIFO, a folder) is read and refused
            problems.append(Problem(display_path(path, base), 1, 1, "missing shared file"))
            return {}
        return read_document(path, kind, base, problems) or {}

    texts = read(TEXTS_FILE, "texts")
    paper_entries = read(PAPERS_FILE, "papers")
    papers = {key: entry["citation"] for key, entry in paper_entries.items()}
    mappings = read(PREPROCESSING_FILE, "preprocessing")
    shared = Shared(
        texts={kind: dict(entries) for kind, entries in texts.items()},
        changelog=dict(read(CHANGELOG_FILE, "changelog")),
        papers=papers,
        collections={
            key: Collection(key, entry["display_name"], entry["url"])
            for key, entry in read(COLLECTIONS_FILE, "collections").items()
        },
        input_mappings={key: _input_mapping(key, entry) for key, entry in mappings.items()},
        publishers=_publishers(registry_dir, base, problems),
        vocabularies=_vocabularies(registry_dir, base, problems),
    )
    problems.extend(_citation_problems(texts, paper_entries))
    problems.extend(_input_mapping_problems(mappings))
    return shared, problems


def _input_mapping(key: str, entry: Any) -> InputMapping:
    offset, output_range = entry["offset"], entry["output_range"]
    return InputMapping(
        id=key,
        description=entry["description"],
        scale=float(entry["scale"]),
        offset=(float(offset[0]), float(offset[1]), float(offset[2])),
        output_range=(float(output_range[0]), float(output_range[1])),
    )


def _publishers(registry_dir: Path, base: Path, problems: list[Problem]) -> dict[str, Publisher]:
    publishers = {}
    for path in sorted((registry_dir / PUBLISHERS_FOLDER).glob("*.yaml")):
        data = read_document(path, "publisher", base, problems)
        if data is None:
            continue
        if data["id"] != path.stem:
            message = f"id '{shown(data['id'])}' must equal the file name"
            problems.append(data.problem("id", message))
            continue
        publishers[data["id"]] = Publisher(**data)
    return publishers


def _vocabularies(
    registry_dir: Path, base: Path, problems: list[Problem]
) -> dict[str, dict[str, str]]:
    vocabularies: dict[str, dict[str, str]] = {}
    for name in VOCABULARIES:
        path = registry_dir / TAGS_FOLDER / f"{name}.yaml"
        if not os.path.lexists(path):  # an empty vocabulary: any id a record uses is reported
            vocabularies[name] = {}
            continue
        data = read_document(path, "vocabulary", base, problems) or {"values": []}
        vocabularies[name] = {
            value["id"]: value.get("display_name", value["id"]) for value in data["values"]
        }
    return vocabularies


def _citation_problems(texts: Any, papers: Any) -> Iterator[Problem]:
    """Each overview cites known papers; each paper's citation has its form."""
    overviews = texts.get("overview", {})
    for text_id, text in overviews.items():
        for match in PAPER_PLACEHOLDER.finditer(text):
            if match["paper"] not in papers:
                message = f"overview '{shown(text_id)}' cites paper '{shown(match['paper'])}', not in {PAPERS_FILE}"
                yield overviews.problem(text_id, message)
    for paper, entry in papers.items():
        if not CITATION_LINK.search(entry["citation"]):
            message = f"paper '{shown(paper)}': a citation links the paper, as [TEXT](URL)"
            yield entry.problem("citation", message)


def _input_mapping_problems(mappings: Any) -> Iterator[Problem]:
    for key, entry in mappings.items():
        if len(entry["offset"]) != 3:
            message = f"input mapping '{shown(key)}': offset needs 3 values (RGB)"
            yield entry.problem("offset", message)
        if len(entry["output_range"]) != 2:
            yield entry.problem(
                "output_range", f"input mapping '{shown(key)}': output_range is [low, high]"
            )
