"""The registry as a tensorflow/tfhub.dev repository tree: every page in its tfhub.dev era.

assets/docs/PUBLISHER/PUBLISHER.md                  the publisher page
assets/docs/PUBLISHER/models/NAME/VERSION.md        a module's page (NAME: the handle's middle)
assets/docs/PUBLISHER/models/NAME/VERSION/D/K/V.md  a deployment's page
tags/VOCABULARY.yaml                                the tag vocabularies the pages use
"""

from __future__ import annotations

from pathlib import Path

from hubzoo.paths import REGISTRY_DIR
from hubzoo.registry import Registry
from hubzoo.render import renderer_of
from hubzoo.shared import TAGS_FOLDER

TAG_VOCABULARIES = ("dataset", "license", "network_architecture", "task")
"""Vocabularies tfhub.dev keeps under tags/ (the format values are fixed by its validator)."""


def model_page_path(handle: str) -> str:
    """Where tfhub.dev keeps the page of a module or deployment handle."""
    publisher, rest = handle.split("/", 1)
    return f"assets/docs/{publisher}/models/{rest}.md"


def publisher_page_path(publisher: str) -> str:
    """Where tfhub.dev keeps the page of `publisher`."""
    return f"assets/docs/{publisher}/{publisher}.md"


def tfhub_dev_files(registry: Registry, registry_dir: Path = REGISTRY_DIR) -> dict[str, str]:
    """Every file of the tree, by path relative to its root."""
    renderer = renderer_of(registry)
    files = {
        model_page_path(handle): renderer.module_page(record)
        for handle, record in registry.modules.items()
    }
    for handle, deployment in registry.deployments.items():
        parent = registry.modules[deployment.parent]
        files[model_page_path(handle)] = renderer.deployment_page(deployment, parent)
    for publisher in sorted({record.publisher for record in registry.modules.values()}):
        files[publisher_page_path(publisher)] = renderer.publisher_page(
            registry.shared.publishers[publisher]
        )
    for vocabulary in TAG_VOCABULARIES:
        source = registry_dir / TAGS_FOLDER / f"{vocabulary}.yaml"
        files[f"tags/{vocabulary}.yaml"] = source.read_text(encoding="utf-8")
    return dict(sorted(files.items()))
