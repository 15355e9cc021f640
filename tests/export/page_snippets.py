"""The python code blocks of a module's page, pointed at a local export so the docs get run."""

import re
from pathlib import Path

from hubzoo.paths import DOCS_DIR
from hubzoo.render import page_path

IMAGES_EXPRESSION = "hubzoo_test_images(height, width)"
"""What the page's `images = ...` placeholder becomes; the legacy harness defines the function."""

_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
_MODULE_URL = re.compile(r'hub\.Module\("([^"]+)"')
_IMAGES_PLACEHOLDER = re.compile(r"^(\s*)images = \.\.\..*$", re.MULTILINE)


def page_text(handle: str) -> str:
    """The committed model page of `handle` (generated from its record)."""
    return (DOCS_DIR / page_path(handle)).read_text()


def python_blocks(text: str) -> list[str]:
    """The ```python fenced blocks of a markdown page, in order."""
    return _BLOCK.findall(text)


def runnable_blocks(text: str, module_path: Path) -> list[str]:
    """The page's python blocks with its module URL replaced by `module_path` and the
    `images = ...` placeholder by real images; nothing else changes."""
    urls = set(_MODULE_URL.findall(text))
    if len(urls) != 1:
        raise ValueError(f"expected one hub.Module URL on the page, found {sorted(urls)}")
    (url,) = urls
    blocks = [block.replace(url, str(module_path)) for block in python_blocks(text)]
    placeholders = sum(len(_IMAGES_PLACEHOLDER.findall(block)) for block in blocks)
    if placeholders != 1:
        raise ValueError(f"expected one `images = ...` line on the page, found {placeholders}")
    return [_IMAGES_PLACEHOLDER.sub(rf"\1images = {IMAGES_EXPRESSION}", block) for block in blocks]
