"""Shared fixtures of the page tests: the real registry, loaded once."""

import pytest

from hubzoo.registry import Registry, load_registry


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The repository's registry."""
    return load_registry()
