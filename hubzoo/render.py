"""Model pages rendered from records with the Jinja2 templates in `templates/` (no TensorFlow).

`templates/page/base.md.j2` holds the page; one small child per page era
(`templates/page/ERA.md.j2`) fills in what that era did differently. A record's `page_era` picks
the child; the tfhub.dev export renders every record with the current era instead.
"""

from __future__ import annotations

import posixpath
from functools import cache
from pathlib import Path

import jinja2

from hubzoo.contract import FEATURE_VECTOR, TASKS
from hubzoo.paths import TEMPLATES_DIR
from hubzoo.record import DEFAULT_MODULE_URL, Record
from hubzoo.registry import Registry
from hubzoo.shared import PAPER_PLACEHOLDER, SharedData

PAGES_FOLDER = "modules"
"""Model pages live at `docs/modules/HANDLE.md`: one folder deeper than the handle, so the
oldest era's links (`../` once per folder, up to the docs root) resolve inside the docs."""
CURRENT_ERA = "tfhub-dev"


def page_path(handle: str) -> str:
    """The model page of `handle`, relative to the docs root."""
    return f"{PAGES_FOLDER}/{handle}.md"


def docs_root(handle: str) -> str:
    """The relative link from the folder of `handle`'s page up to the docs root, e.g. `../../`."""
    return "../" * page_path(handle).count("/")


def relative_page_link(from_handle: str, to_handle: str) -> str:
    """A relative link from the page of `from_handle` to the page of `to_handle`."""
    return posixpath.relpath(page_path(to_handle), posixpath.dirname(page_path(from_handle)))


def bullet(text: str) -> str:
    """A markdown bullet as the pages print it: `  * ` first, continuation lines indented."""
    first, *rest = text.split("\n")
    return "\n".join(["  * " + first, *("    " + line for line in rest)])


def overview_markdown(overview: str, shared: SharedData) -> str:
    """An architecture's overview with each `[[paper-id]]` line replaced by its citation bullet."""
    return PAPER_PLACEHOLDER.sub(
        lambda match: bullet(shared.papers[match.group("paper")].citation), overview
    )


def thousands(number: int | None) -> str:
    """A count with thousands separators, e.g. "5,592,624"; "—" when unknown."""
    return "—" if number is None else f"{number:,}"


@cache
def template_environment(templates_dir: Path = TEMPLATES_DIR) -> jinja2.Environment:
    """The Jinja2 environment of every template: markdown, strict, trailing newlines kept."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["bullet"] = bullet
    environment.filters["thousands"] = thousands
    environment.globals["feature_vector_signature"] = TASKS[FEATURE_VECTOR].signature
    return environment


def render_page(
    record: Record, shared: SharedData, era: str | None = None, module_url: str | None = None
) -> str:
    """The model page of `record` in `era` (default: its own), loading `module_url` in usage."""
    architecture = shared.architectures[record.architecture]
    template = template_environment().get_template(f"page/{era or record.page_era}.md.j2")
    return template.render(
        record=record,
        shared=shared,
        architecture=architecture,
        collection=shared.collections[record.checkpoint.collection],
        overview=overview_markdown(architecture.overview, shared),
        module_url=module_url or record.module_url,
        docs_root=docs_root(record.handle),
        counterpart_page=(
            relative_page_link(record.handle, record.counterpart) if record.counterpart else ""
        ),
    )


def render_current_page(record: Record, shared: SharedData) -> str:
    """The page of `record` in the current tfhub.dev format, loading it from tfhub.dev."""
    return render_page(
        record, shared, era=CURRENT_ERA, module_url=DEFAULT_MODULE_URL.format(handle=record.handle)
    )


def render_pages(registry: Registry) -> dict[str, str]:
    """Every record's model page, by path relative to the docs root."""
    return {
        page_path(handle): render_page(record, registry.shared)
        for handle, record in sorted(registry.records.items())
    }
