"""Where things live in the repository."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REGISTRY_DIR = REPO_ROOT / "registry"
TEMPLATES_DIR = REPO_ROOT / "templates"
DOCS_DIR = REPO_ROOT / "docs"
SITE_DIR = REPO_ROOT / "site"
DEFAULT_STORE_DIR = REPO_ROOT / "store"
CACHE_DIR = REPO_ROOT / ".cache"
