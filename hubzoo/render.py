"""Pages rendered from resolved records with the Jinja2 templates in `templates/` (no TensorFlow).

A module renders in its tfhub.dev era (`record.era`) or, for the zoo's own docs/ page, in its
docs era (`record.docs_era`, the same unless the record states another). The era picks the
template (a child of `module/base.md.j2`) and the layout defaults, which the record's `layout`
overrides. Deployments render in their era (`deployment/*.md.j2`), publishers with
`publisher.md.j2`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from hubzoo.eras import Era, Eras
from hubzoo.paths import TEMPLATES_DIR
from hubzoo.patterns import pattern_variables, render_pattern
from hubzoo.record import Deployment, ModuleRecord
from hubzoo.registry import Registry
from hubzoo.shared import PAPER_PLACEHOLDER, Publisher, Shared

PAGES_FOLDER = "modules"
"""Model pages live at `docs/modules/HANDLE.md`: one folder deeper than the handle, so the
oldest era's links (`../` once per folder, up to the docs root) resolve inside the docs."""
DEFAULT_LINKS = {
    "feature_vector": "https://www.tensorflow.org/hub/common_signatures/images#feature-vector",
    "classification": "https://www.tensorflow.org/hub/common_signatures/images#classification",
    "input": "https://www.tensorflow.org/hub/common_signatures/images#input",
    "fine_tuning": "https://www.tensorflow.org/hub/tf1_hub_module#fine-tuning",
}
"""Where the pages' wording links to, unless the era or the record says otherwise."""
LABELS_HOST = "https://storage.googleapis.com/"


def page_path(handle: str) -> str:
    """The docs/ page of a module or deployment handle, relative to the docs root."""
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


def thousands(number: int | None) -> str:
    """A count with thousands separators, e.g. "5,592,624"; "—" when unknown."""
    return "—" if number is None else f"{number:,}"


def labels_title(url: str) -> str:
    """A labels file's link text: its URL without the storage host."""
    return url.removeprefix(LABELS_HOST)


def range_text(value_range: tuple[float, float]) -> str:
    """An input range as the pages print it: `[0,1]`."""
    low, high = value_range
    return f"[{low},{high}]"


def gap(blank_lines: int) -> str:
    """`blank_lines` newlines: after a line's own newline, that many blank lines."""
    return "\n" * blank_lines


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
    environment.filters.update(
        bullet=bullet,
        thousands=thousands,
        labels_title=labels_title,
        range_text=range_text,
        page_of=page_path,
    )
    environment.globals["gap"] = gap
    return environment


@dataclass(frozen=True)
class Renderer:
    """Renders the pages of records that share `shared`, in the eras of `eras`."""

    shared: Shared
    eras: Eras
    templates_dir: Path = TEMPLATES_DIR

    @property
    def environment(self) -> jinja2.Environment:
        """The templates' environment."""
        return template_environment(self.templates_dir)

    def module_page(self, record: ModuleRecord, docs: bool = False) -> str:
        """The page of `record`: on tfhub.dev, or (`docs`) in the zoo's docs/."""
        era = self.eras.module[record.docs_era if docs else record.era]
        texts = self.texts(record, era)
        counterpart_page = (
            relative_page_link(record.handle, record.counterpart) if record.counterpart else ""
        )
        collection = self.shared.collections[record.collection] if record.collection else None
        changelog = [
            {"version": version, "notes": [self.shared.changelog[note] for note in notes]}
            for version, notes in record.changes
        ]
        return self.environment.get_template(era.template).render(
            r=record,
            description=self.description(record),
            layout=self.layout(era, record.layout),
            words=era.words,
            links={**DEFAULT_LINKS, "counterpart": f"https://tfhub.dev/{record.counterpart}"},
            module_url=record.docs_module_url if docs else record.module_url,
            overview=self.overview_markdown(texts["overview"]),
            implementation=texts["implementation"],
            training=texts["training"],
            dropout_note=texts.get("dropout_note"),
            collection=collection,
            changelog=changelog,
            tags=self.shared,
            docs_root=docs_root(record.handle),
            counterpart_page=counterpart_page,
        )

    def texts(self, record: ModuleRecord, era: Era) -> dict[str, str]:
        """The record's shared texts, their patterns filled with its variant and era words."""
        words = {**pattern_variables(record.variant, record.variant_facts), **era.words}
        ids = {
            "overview": record.overview,
            "implementation": record.implementation,
            "training": record.training,
            "dropout_note": record.dropout_note,
        }
        return {
            kind: render_pattern(self.shared.texts[kind][text_id], words)
            for kind, text_id in ids.items()
            if text_id is not None
        }

    def description(self, record: ModuleRecord) -> str:
        """The record's one-line description: its own, or its task's standard wording."""
        if record.description is not None:
            return record.description
        template = self.environment.get_template("module/description.md.j2")
        return template.render(r=record, tags=self.shared)

    def overview_markdown(self, overview: str) -> str:
        """An overview text with each `[[paper-id]]` line replaced by its citation bullet."""
        return PAPER_PLACEHOLDER.sub(
            lambda match: bullet(self.shared.papers[match.group("paper")]), overview
        )

    @staticmethod
    def layout(era: Era, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The era's layout with a record's overrides, and the era's metadata keys."""
        return {**era.layout, **overrides, "metadata": era.metadata}

    def deployment_page(self, deployment: Deployment, parent: ModuleRecord) -> str:
        """The page of a deployment of `parent`."""
        era = self.eras.deployment[deployment.era]
        template = self.environment.get_template(era.template)
        return template.render(d=deployment, p=parent, layout=self.layout(era, deployment.layout))

    def publisher_page(self, publisher: Publisher) -> str:
        """The page of a publisher."""
        return self.environment.get_template("publisher.md.j2").render(publisher=publisher)


def renderer_of(registry: Registry) -> Renderer:
    """The renderer of a registry's records, with the repository's templates."""
    return Renderer(registry.shared, registry.eras)


def render_pages(registry: Registry) -> dict[str, str]:
    """The zoo's docs/ pages of every module (in its docs era) and deployment, by path relative
    to the docs root."""
    renderer = renderer_of(registry)
    pages = {
        page_path(handle): renderer.module_page(record, docs=True)
        for handle, record in registry.modules.items()
    }
    for handle, deployment in registry.deployments.items():
        parent = registry.modules[deployment.parent]
        pages[page_path(handle)] = renderer.deployment_page(deployment, parent)
    return dict(sorted(pages.items()))
