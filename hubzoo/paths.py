"""Where things live in the repository, and how paths are shown to people."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REGISTRY_DIR = REPO_ROOT / "registry"
TEMPLATES_DIR = REPO_ROOT / "templates"
DOCS_DIR = REPO_ROOT / "docs"
SITE_DIR = REPO_ROOT / "site"
DEFAULT_STORE_DIR = REPO_ROOT / "store"
CACHE_DIR = REPO_ROOT / ".cache"


def display_path(path: Path | str, base: Path | str) -> str:
    """`path` relative to `base` when it lies inside it (as messages show it), else as given."""
    absolute, root = os.path.abspath(path), os.path.abspath(base)
    if absolute.startswith(root + os.sep):
        return absolute[len(root) + 1 :]
    return "." if absolute == root else str(path)
