"""Class label files: the registry's copy of the file a classifier record's `labels_url` names.

`registry/labels/NAME` holds the content of the labels file whose URL ends with `/NAME` (e.g.
ImageNetLabels.txt: "background" and ImageNet's 1000 classes, one per line), so a deployment
that packs its labels (a TF Lite metadata deployment) takes them from the registry, offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hubzoo.errors import HubzooError
from hubzoo.paths import REGISTRY_DIR, display_path

LABELS_FOLDER = "labels"
"""The registry folder of label files, named as the last segment of their URL."""


@dataclass(frozen=True)
class Labels:
    """A labels file: its name and its lines (one label per class index)."""

    file_name: str
    labels: tuple[str, ...]


def read_labels(labels_url: str, registry_dir: Path = REGISTRY_DIR) -> Labels:
    """The registry's copy of the labels file at `labels_url`; HubzooError if there is none."""
    file_name = labels_url.rstrip("/").rsplit("/", 1)[-1]
    path = Path(registry_dir) / LABELS_FOLDER / file_name
    if not path.is_file():
        raise HubzooError(
            f"no copy of {labels_url} in the registry: expected "
            f"{display_path(path, Path(registry_dir).parent)}"
        )
    return Labels(file_name, tuple(path.read_text(encoding="utf-8").splitlines()))
