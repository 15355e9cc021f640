"""The registry as a tensorflow/tfhub.dev repository tree, every page in the current format.

assets/docs/PUBLISHER/PUBLISHER.md                 the publisher page
assets/docs/PUBLISHER/models/NAME/VERSION.md       one model page per record
tags/VOCABULARY.yaml                               the tag vocabularies the pages use
"""

from __future__ import annotations

from pathlib import Path

from hubzoo.paths import REGISTRY_DIR
from hubzoo.record import Record
from hubzoo.registry import Registry
from hubzoo.render import render_current_page, template_environment

TAG_VOCABULARIES = ("dataset", "license", "network_architecture", "task")
"""Vocabularies tfhub.dev keeps under tags/ (the format values are fixed by its validator)."""


def model_page_path(record: Record) -> str:
    """Where tfhub.dev keeps the page of `record`."""
    return f"assets/docs/{record.publisher}/models/{record.name}/{record.version}.md"


def publisher_page_path(publisher: str) -> str:
    """Where tfhub.dev keeps the page of `publisher`."""
    return f"assets/docs/{publisher}/{publisher}.md"


def tfhub_dev_files(registry: Registry, registry_dir: Path = REGISTRY_DIR) -> dict[str, str]:
    """Every file of the tree, by path relative to its root."""
    shared = registry.shared
    files = {
        model_page_path(record): render_current_page(record, shared)
        for record in registry.records.values()
    }
    publisher_template = template_environment().get_template("tfhub_dev/publisher.md.j2")
    for publisher in sorted({record.publisher for record in registry.records.values()}):
        files[publisher_page_path(publisher)] = publisher_template.render(
            publisher=shared.publishers[publisher]
        )
    for vocabulary in TAG_VOCABULARIES:
        source = registry_dir / "tags" / f"{vocabulary}.yaml"
        files[f"tags/{vocabulary}.yaml"] = source.read_text(encoding="utf-8")
    return dict(sorted(files.items()))
