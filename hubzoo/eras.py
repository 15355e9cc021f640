"""Page eras: the generations of page wording and layout, from templates/eras.yaml.

An era names the template that words its pages, the metadata keys its header prints (in order)
and its layout defaults (blank lines between parts, named quirks of wording), which a record's
`layout` facts override; `words` are how its pages name the module in shared texts
(`{{ hub_noun }}`: "TF-Hub module" or "TF Hub model"). Eras are presentation: they live beside
the templates, and a record only names its era.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubzoo.paths import TEMPLATES_DIR
from hubzoo.shared import read_document
from hubzoo.yamlnodes import Problem, shown

ERAS_FILE = "eras.yaml"


@dataclass(frozen=True)
class Era:
    """A page era: its template, the metadata keys it prints, its layout defaults and words."""

    id: str
    template: str  # path under templates/
    metadata: tuple[str, ...]  # metadata keys the header prints, in order
    layout: Mapping[str, Any]  # layout defaults, merged with the common ones
    words: Mapping[str, str]  # how shared texts name the module: hub_noun, noun


@dataclass(frozen=True)
class Eras:
    """Every era of module pages and of deployment pages, by id."""

    module: Mapping[str, Era]
    deployment: Mapping[str, Era]


def load_eras(
    templates_dir: Path = TEMPLATES_DIR, base: Path | None = None
) -> tuple[Eras, list[Problem]]:
    """The eras of templates/eras.yaml, and its problems (none: every template exists)."""
    problems: list[Problem] = []
    data = read_document(templates_dir / ERAS_FILE, "eras", base or Path.cwd(), problems)
    if data is None:
        return Eras({}, {}), problems
    defaults = data["layout_defaults"]

    def eras(kind: str) -> dict[str, Era]:
        return {
            era_id: Era(
                id=era_id,
                template=entry["template"],
                metadata=tuple(entry.get("metadata", ())),
                layout={**defaults, **entry.get("layout", {})},
                words=entry.get("words", {}),
            )
            for era_id, entry in data[kind].items()
        }

    problems.extend(_missing_templates(data, templates_dir))
    return Eras(eras("module"), eras("deployment")), problems


def _missing_templates(data: Any, templates_dir: Path) -> Iterator[Problem]:
    for kind in ("module", "deployment"):
        for era_id, entry in data[kind].items():
            if not os.path.isfile(templates_dir / entry["template"]):  # False for any OSError
                message = (
                    f"era '{shown(era_id)}': template {shown(entry['template'])} does not exist"
                )
                yield entry.problem("template", message)
