"""The seed pages (the brief's three model pages, kept in tests/render/seeds) and the modules
they document: what the page tests check byte for byte, and what the export tests and the
benchmarks start from."""

from hubzoo.paths import REPO_ROOT
from hubzoo.registry import Registry

SEEDS_DIR = REPO_ROOT / "tests" / "render" / "seeds"
SEED_PAGES = {
    "000_22fb8ee699b3c1a9.txt": "google/imagenet/inception_v2/feature_vector/3",
    "001_836568f227d077a8.txt": "google/imagenet/inception_resnet_v2/feature_vector/1",
    "003_83db91d0e773e4f8.txt": "google/imagenet/inception_v1/feature_vector/1",
}
"""Each seed page's file name -> the handle of the module it documents."""
SEED_MODULES = tuple(sorted(SEED_PAGES.values()))
"""The seed pages' modules, by handle."""


def seeds_and_classifiers(registry: Registry) -> tuple[str, ...]:
    """The seed modules and their classifiers (each one's counterpart), sorted by handle."""
    counterparts = (registry.modules[handle].counterpart for handle in SEED_MODULES)
    return tuple(sorted({*SEED_MODULES, *(other for other in counterparts if other)}))
