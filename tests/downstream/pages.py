"""A record's model page as page-worker jobs: its python blocks pointed at the zoo's URL."""

import re

from hubzoo.contract import CLASSIFICATION, HUB
from hubzoo.record import ModuleRecord
from tests.export.page_snippets import IMAGES_EXPRESSION, page_text, python_blocks

_URL = {
    "tf1": re.compile(r'hub\.Module\("([^"]+)"'),
    "tf2": re.compile(r'hub\.KerasLayer\("([^"]+)"'),
}
_IMAGES_PLACEHOLDER = re.compile(r"^(\s*)images = \.\.\..*$", re.MULTILINE)


def page_kind(record: ModuleRecord) -> str:
    """'tf1' for a hub-format page (`hub.Module`), 'tf2' for a saved_model_2 page (KerasLayer)."""
    return "tf1" if record.format == HUB else "tf2"


def page_job(record: ModuleRecord, url: str) -> dict:
    """The job running `record`'s page against `url`: the page's module URL replaced by `url`
    and (TF1) its `images = ...` placeholder by real images; nothing else changes."""
    kind = page_kind(record)
    text = page_text(record.handle)
    urls = set(_URL[kind].findall(text))
    assert len(urls) == 1, f"{record.handle}: expected one module URL on the page, found {urls}"
    (page_url,) = urls
    blocks = [block.replace(page_url, url) for block in python_blocks(text)]
    assert blocks, f"{record.handle}: the page has no python blocks"
    job: dict = {"label": record.handle, "blocks": blocks}
    if kind == "tf1":
        placeholders = sum(len(_IMAGES_PLACEHOLDER.findall(block)) for block in blocks)
        assert placeholders == 1, f"{record.handle}: {placeholders} `images = ...` lines"
        job["blocks"] = [
            _IMAGES_PLACEHOLDER.sub(rf"\1images = {IMAGES_EXPRESSION}", block) for block in blocks
        ]
        job["module"] = url
        job["output"] = "logits" if record.task == CLASSIFICATION else "features"
    return job
