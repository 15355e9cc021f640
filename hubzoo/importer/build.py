"""Building a registry's files from tfhub.dev model pages: records, families, shared facts.

    pages --hubzoo.importer.pages--> what each page states --> facts of each record
      --hubzoo.importer.factor--> each fact written once, at the most general layer of its family
      --> shared texts, papers, collections, changelog notes (ids kept from the registry)
      --> the files of the registry the import owns (hubzoo.importer.run writes and verifies them)

What the importer knows beyond the pages:
  * a module name is FAMILY[_SIZE][_NNN[_NNN]] (hubzoo.importer.names.family_and_variant);
  * a module line other than the plain one (quantops) derives from the plain line;
  * the facts the pages do not state (hubzoo.facts.ZOO_FACTS) are the registry's: its zoo facts
    files, and the zoo facts of record files already there, which the import keeps.
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hubzoo.contract import CLASSIFICATION, FEATURE_VECTOR, TASKS
from hubzoo.eras import Era, Eras
from hubzoo.facts import MODULE_DEFAULTS, PATTERN_FACTS, TEXT_FACTS
from hubzoo.handles import deployment_handle
from hubzoo.importer.factor import MISSING, Level, Placement, canonical, factor, generalize
from hubzoo.importer.names import (
    IdRegistry,
    collection_id,
    family_and_variant,
    paper_id,
    slug,
)
from hubzoo.importer.pages import (
    OPTIONAL_METADATA,
    DeploymentPage,
    ModulePage,
    PageError,
    module_handle_parts,
    parse_deployment_page,
    parse_module_page,
    parse_publisher_page,
)
from hubzoo.importer.writing import Flow
from hubzoo.patterns import pattern_variables, placeholder
from hubzoo.tfhub_dev import model_page_path, publisher_page_path

PLAIN_LINE = "standard"
MODULE_FACTS_FACTORED = (
    "era", "format", "asset_path", "dataset", "network_architecture", "fine_tunable", "license",
    "colab", "display_name", "description", "input_kind", "input_range", "num_features",
    "num_classes", "labels_url", "signatures", "batch_norm_momentum", "checkpoint", "collection",
    "training", "quantized", "overview", "implementation", "depth_rounding", "dropout_note",
    "show_changelog", "counterpart", "module_url", "links",
)  # fmt: skip
"""The module facts a page states, factored over the family's layers."""
GENERALIZED = frozenset({"implementation"})
"""Texts about a variant: written as patterns even when one family has one variant, so that
families can share them."""
KEEP_NONE = frozenset({"counterpart"})
"""Facts whose None differs from their default (a counterpart is derived unless stated)."""
MODULE_LAYOUT = ("after_title", "before_metadata", "after_metadata", "implementation_gap",
                 "after_training", "usage_input_gap", "final_blank_lines", "quirks")  # fmt: skip
DEPLOYMENT_FACTS_FACTORED = ("era", "asset_path", "demo", "interactive_visualizer",
                             "stated_num_features")  # fmt: skip
DEPLOYMENT_LAYOUT = ("after_title", "before_metadata", "after_metadata", "final_blank_lines")
ERA_WORDS_PASSTHROUGH = {word: placeholder(word) for word in ("hub_noun", "noun")}
"""Era words in a text being factored render as themselves."""
TAGGED_FACTS = {
    "dataset": "dataset",
    "network_architecture": "network_architecture",
    "license": "license",
    "interactive_visualizer": "interactive_visualizer",
}
"""Facts whose values are vocabulary ids, and their vocabulary."""


class ImportFailed(Exception):
    """Pages that cannot be expressed: `failures` is [(page path, reason)]."""

    def __init__(self, failures: list[tuple[str, str]]) -> None:
        super().__init__(f"{len(failures)} page(s) cannot be expressed")
        self.failures = failures


@dataclass(frozen=True)
class ImportOptions:
    """What to import, and into which registry."""

    checkout: Path  # a tfhub.dev checkout, or any folder holding its assets/docs tree
    globs: Sequence[str]  # handle globs; none: every page
    registry_dir: Path  # the registry to import into
    tags_dir: Path | None = None  # tfhub.dev's vocabularies; default: CHECKOUT/tags


@dataclass(frozen=True)
class Existing:
    """What the registry imported into already holds that the import keeps or extends."""

    texts: Mapping[str, Mapping[str, str]]  # kind -> id -> text
    changelog: Mapping[str, str]
    papers: Mapping[str, Any]  # id -> {citation: ...}
    collections: Mapping[str, Any]  # id -> {display_name, url}
    vocabularies: Mapping[str, frozenset[str]]  # vocabulary -> ids it has
    record_families: Mapping[str, str]  # handle -> family, of every module record file
    zoo_facts: Mapping[str, Mapping[str, Any]]  # handle -> the zoo facts its record file states


@dataclass
class ModuleItem:
    """A module page and the facts the importer derives for its record."""

    page: ModulePage
    family: str
    namespace: str
    variant: str
    line: str
    line_path: str
    task: str
    version: int
    era: Era
    own: dict[str, Any]  # the variant's own facts
    values: dict[str, Any] = field(default_factory=dict)  # fact -> value (absent: not stated)
    layout: dict[str, Any] = field(default_factory=dict)
    literal_texts: dict[str, str] = field(default_factory=dict)  # texts without era words

    @property
    def handle(self) -> str:
        return self.page.handle

    @property
    def variables(self) -> dict[str, Any]:
        return pattern_variables(self.variant, self.own)


@dataclass
class DeploymentItem:
    """A deployment page, with its parent's item."""

    page: DeploymentPage
    parent: ModuleItem
    kind_name: str  # "kind/name", e.g. "lite/metadata"


@dataclass(frozen=True)
class TextRef:
    """A shared text placed in a family before texts get their ids (see `_name_texts`)."""

    kind: str
    text: str


MODULE_LEVELS: list[Level[ModuleItem]] = [
    Level("family", lambda item: ()),
    Level("line", lambda item: (item.line,)),
    Level("line-task", lambda item: (item.line, item.task)),
    Level("variant", lambda item: (item.variant,)),
    Level("release", lambda item: (item.line, item.version)),
    Level("release-task", lambda item: (item.line, item.version, item.task)),
    Level("record", lambda item: (item.handle,)),
]
"""The layers of hubzoo.family, in the order they merge."""
DEPLOYMENT_LEVELS: list[Level[DeploymentItem]] = [
    Level("family-kind", lambda d: (d.kind_name,)),
    Level("family-kind-task", lambda d: (d.kind_name, d.parent.task)),
    Level("release-kind", lambda d: (d.parent.line, d.parent.version, d.kind_name)),
    Level("release-kind-task",
          lambda d: (d.parent.line, d.parent.version, d.kind_name, d.parent.task)),
    Level("record", lambda d: (d.page.handle,)),
]  # fmt: skip


# --- Names and ids -------------------------------------------------------------------------------


def discover_pages(checkout: Path, globs: Iterable[str]) -> dict[str, Path]:
    """Model pages of a checkout by handle (their path under assets/docs/PUBLISHER/models, the
    publisher first), those matching any of `globs` (all when none)."""
    patterns = list(globs) or ["*"]
    docs = checkout / "assets" / "docs"
    pages = {}
    for path in sorted(docs.glob("*/models/**/*.md")):
        publisher = path.relative_to(docs).parts[0]
        handle = f"{publisher}/{path.relative_to(docs / publisher / 'models').with_suffix('')}"
        if any(fnmatch.fnmatchcase(handle, pattern) for pattern in patterns):
            pages[handle] = path
    return pages


def module_era(page: ModulePage, eras: Mapping[str, Era]) -> Era:
    """The era whose template words the page and whose metadata keys it prints, in order."""
    keys = list(page.metadata_keys)
    for era in eras.values():
        printed = [key for key in era.metadata if key in keys]
        required = [key for key in era.metadata if key not in OPTIONAL_METADATA]
        if era.template == page.template and keys == printed and set(required) <= set(keys):
            return era
    raise PageError(f"no era of {page.template} prints the metadata keys {keys} in this order")


# --- The import ----------------------------------------------------------------------------------


class Importer:
    """Turns a checkout's pages into the files of a registry (hubzoo.importer.run writes them)."""

    def __init__(self, options: ImportOptions, existing: Existing, eras: Eras) -> None:
        self.options, self.existing, self.eras = options, existing, eras
        self.failures: list[tuple[str, str]] = []  # (page or family, why it cannot be imported)
        self.papers = IdRegistry(
            {paper: entry["citation"] for paper, entry in existing.papers.items()}
        )
        self.collections = IdRegistry(dict(existing.collections))
        self.notes = IdRegistry(dict(existing.changelog))
        self.text_users: dict[TextRef, list[tuple[int, str, str, str]]] = {}
        self.tags_used: dict[str, dict[str, str]] = defaultdict(dict)  # vocabulary -> id -> page
        self.sources: dict[str, str] = {}  # tfhub.dev path -> page text

    def run(self) -> dict[str, Any]:
        """The registry's files the import writes, by path relative to the registry, for the
        pages that could be read; `failures` lists the others."""
        pages = discover_pages(self.options.checkout, self.options.globs)
        if not pages:
            raise ImportFailed([(str(self.options.checkout), "no model page matches the globs")])
        modules: dict[str, ModuleItem] = {}
        deployment_pages: list[DeploymentPage] = []
        for handle, path in pages.items():
            relative = model_page_path(handle)
            try:
                text = self.sources[relative] = path.read_text(encoding="utf-8")
                if deployment_handle(handle) is not None:
                    deployment_pages.append(parse_deployment_page(relative, handle, text))
                else:
                    item = self._module_item(parse_module_page(relative, text))
                    modules[handle] = item
            except (PageError, OSError, UnicodeDecodeError) as error:
                self.failures.append((relative, f"cannot be read: {error}"))
        deployments = []
        for page in deployment_pages:
            parent = modules.get(page.parent)
            if parent is None:
                self.failures.append((page.path, f"its parent {page.parent} is not imported"))
                continue
            _stated_width(page, parent)
            _, name, kind, _ = page.handle.rsplit("/", 3)
            deployments.append(DeploymentItem(page, parent, f"{kind}/{name}"))

        files: dict[str, Any] = {}
        by_family: dict[str, list[ModuleItem]] = defaultdict(list)
        for item in modules.values():
            by_family[item.family].append(item)
        self._whole_families(by_family)
        for family_id, items in sorted(by_family.items()):
            mine = [d for d in deployments if d.parent.family == family_id]
            try:
                files.update(self._family_files(family_id, items, mine))
            except PageError as error:
                self.failures.append((f"family {family_id} ({items[0].page.path}...)", str(error)))
        files.update(self._shared_files({item.handle.split("/")[0] for item in modules.values()}))
        return _name_texts(files, self.text_users, self.existing.texts)

    # --- one page ---

    def _whole_families(self, by_family: Mapping[str, list[ModuleItem]]) -> None:
        """An import rewrites the families it touches: each must be imported whole, every
        module the registry has of it included."""
        for family_id, items in sorted(by_family.items()):
            imported = {item.handle for item in items}
            kept = [
                handle for handle, family in self.existing.record_families.items()
                if family == family_id and handle not in imported
            ]  # fmt: skip
            if kept:
                self.failures.append((
                    f"family {family_id}",
                    f"the import rewrites it, but its pages of {len(kept)} module(s) the registry "
                    f"has are not imported (e.g. {sorted(kept)[0]}); import the whole family",
                ))  # fmt: skip

    def _module_item(self, page: ModulePage) -> ModuleItem:
        """A module page's item: the facts its record states (hubzoo.facts)."""
        namespace, name, line_path, task, version = module_handle_parts(page.handle)
        family, own = family_and_variant(name)
        era = module_era(page, self.eras.module)
        own["image_size"] = page.facts["image_size"]
        item = ModuleItem(page, family, namespace, name, line_path.strip("/") or PLAIN_LINE,
                          line_path, task, version, era, own, layout=dict(page.layout))  # fmt: skip
        values = item.values
        derived = ("image_size", "collection", "counterpart", "module_url")
        values.update((key, value) for key, value in page.facts.items() if key not in derived)
        for key in OPTIONAL_METADATA:  # license, colab: unstated by an era not printing them
            if key not in era.metadata:
                values.pop(key, None)
        values["era"] = era.id
        for fact, vocabulary in TAGGED_FACTS.items():
            if values.get(fact) is not None:
                self.tags_used[vocabulary].setdefault(values[fact], page.path)
        collection = page.facts["collection"]
        values["collection"] = None if collection is None else self.collections.id_for(
            {"display_name": collection[0], "url": collection[1]}, collection_id(collection[0])
        )  # fmt: skip
        other = FEATURE_VECTOR if task == CLASSIFICATION else CLASSIFICATION
        if page.facts["counterpart"] != (
            f"{namespace}/{name}/{line_path}{TASKS[other].folder}/{version}"
        ):
            values["counterpart"] = page.facts["counterpart"]
        if page.facts["module_url"] != f"https://tfhub.dev/{page.handle}":
            values["module_url"] = page.facts["module_url"]
        texts = dict(page.texts)
        for number, citation in enumerate(page.citations):
            identifier = self.papers.id_for(citation, paper_id(citation))
            texts["overview"] = texts["overview"].replace(f"[[@{number}]]", f"[[{identifier}]]")
        for kind, text in texts.items():
            item.literal_texts[kind] = text
            values[kind] = era_words_as_placeholders(text, era)
        return item

    # --- one family ---

    def _family_files(
        self, family_id: str, items: list[ModuleItem], deployments: list[DeploymentItem]
    ) -> dict[str, Any]:
        """The family file, its records' files and its deployments' files."""
        namespaces = {item.namespace for item in items}
        if len(namespaces) > 1:
            raise PageError(f"its modules are in several namespaces: {sorted(namespaces)}")
        _check_variants(items)
        _choose_display_names(items)
        _place_depth_rounding(items)
        family: dict[str, Any] = {"id": family_id, "namespace": items[0].namespace, "facts": {},
                                  "variants": {}, "lines": {}, "deployments": {}}  # fmt: skip
        for item in sorted(items, key=lambda item: item.variant):
            family["variants"].setdefault(item.variant, Flow(item.own))
        lines = {item.line: item.line_path for item in items}
        for line, path in sorted(lines.items(), key=lambda kv: (kv[0] != PLAIN_LINE, kv[0])):
            family["lines"][line] = {"path": path, "facts": {}, "tasks": {}, "releases": {}}
            if line != PLAIN_LINE and PLAIN_LINE in lines:
                family["lines"][line]["parent_line"] = PLAIN_LINE
        for item in sorted(items, key=lambda item: item.version):
            _release(family, item.line, item.version)
        records: dict[str, dict[str, Any]] = {item.handle: {} for item in items}
        place = _ModulePlacer(family, records)

        for fact in MODULE_FACTS_FACTORED:
            for level, key, value, _ in self._factor_module_fact(fact, items):
                place(level, key, fact, value)
        for key in MODULE_LAYOUT:
            placement = factor(items, _layout_of(key), MODULE_LEVELS, _era_default(key))
            for level, group, value, _ in _placed(placement, items, MODULE_LEVELS):
                place(level, group, key, value, layout=True)
        for item in items:
            records[item.handle].update(self.existing.zoo_facts.get(item.handle, {}))
        self._changelog(items, family)
        deployment_records = self._deployments(deployments, family)

        files: dict[str, Any] = {f"families/{family_id}.yaml": _prune_family(family)}
        for handle, facts in records.items():
            files[f"{handle}.yaml"] = {"family": family_id, **_facts_entry(facts)}
        for deployment in deployments:
            handle, facts = deployment.page.handle, deployment_records[deployment.page.handle]
            files[f"{handle}.yaml"] = {"parent": deployment.page.parent, **_facts_entry(facts)}
        return files

    def _factor_module_fact(
        self, fact: str, items: list[ModuleItem]
    ) -> list[tuple[str, Hashable, Any, list[ModuleItem]]]:
        """Where one module fact is written: (level, group key, value, the group's items); a
        text's value is a TextRef."""
        variables = _variables if fact in PATTERN_FACTS or fact in TEXT_FACTS else None
        placement = factor(items, _stated(fact), MODULE_LEVELS, _default_of(fact), variables,
                           ERA_WORDS_PASSTHROUGH)  # fmt: skip
        if fact in TEXT_FACTS:  # a text may read the same in every era: no era words then
            literal = factor(items, _literal_text(fact), MODULE_LEVELS, _default_of(fact),
                             _variables)  # fmt: skip
            if _size(literal) < _size(placement):
                placement = literal
        placed = []
        for level, key, value, members in _placed(placement, items, MODULE_LEVELS):
            if fact in GENERALIZED and isinstance(value, str):
                samples = [member.variables for member in members]
                value = generalize(value, samples, ERA_WORDS_PASSTHROUGH)
            if fact in TEXT_FACTS and value is not None:
                value = self._text_ref(fact, value, members, level)
            placed.append((level, key, value, members))
        return placed

    def _text_ref(self, kind: str, text: str, members: Sequence[ModuleItem], level: str) -> TextRef:
        """A reference to a shared text, noting who uses it (for its id)."""
        ref = TextRef(kind, text)
        rank = [level_.name for level_ in MODULE_LEVELS].index(level)
        variants = {member.variant for member in members}
        for member in members:
            variant = next(iter(variants)) if len(variants) == 1 else ""
            self.text_users.setdefault(ref, []).append((rank, member.family, member.line, variant))
        return ref

    def _changelog(self, items: list[ModuleItem], family: dict[str, Any]) -> None:
        """Each release's own notes, which every page showing them must agree on."""
        notes: dict[tuple[str, int], tuple[list[str], str]] = {}
        for item in items:
            for version, entry in item.page.changelog or []:
                previous = notes.setdefault((item.line, version), (entry, item.handle))
                if previous[0] != entry:
                    raise PageError(f"{item.handle} and {previous[1]} disagree on the changelog "
                                    f"of version {version}")  # fmt: skip
        for (line, version), (entry, _) in sorted(notes.items()):
            _release(family, line, version)["changes"] = [
                self.notes.id_for(note, slug(note)) for note in entry
            ]

    def _deployments(
        self, deployments: list[DeploymentItem], family: dict[str, Any]
    ) -> dict[str, dict[str, Any]]:
        """Factors the deployments' facts into the family; returns their own facts by handle."""
        records: dict[str, dict[str, Any]] = {d.page.handle: {} for d in deployments}
        place = _DeploymentPlacer(family, records)
        eras = self.eras.deployment
        for deployment in deployments:
            visualizer = deployment.page.facts.get("interactive_visualizer")
            if visualizer is not None:
                self.tags_used["interactive_visualizer"].setdefault(
                    visualizer, deployment.page.path
                )
        for fact in DEPLOYMENT_FACTS_FACTORED:
            placement = factor(deployments, _deployment_fact(fact), DEPLOYMENT_LEVELS, _is_none)
            for level, key, value, _ in _placed(placement, deployments, DEPLOYMENT_LEVELS):
                place(level, key, fact, value)
        for key in DEPLOYMENT_LAYOUT:
            is_default = _deployment_era_default(key, eras)
            placement = factor(deployments, _deployment_layout(key), DEPLOYMENT_LEVELS, is_default)
            for level, group, value, _ in _placed(placement, deployments, DEPLOYMENT_LEVELS):
                place(level, group, key, value, layout=True)
        return records

    # --- shared files ---

    def _shared_files(self, publishers: Iterable[str]) -> dict[str, Any]:
        """The shared files, the registry's entries kept and the import's added; the publishers'
        pages; the vocabularies grown by the ids the pages use."""
        existing = self.existing
        files: dict[str, Any] = {
            "changelog.yaml": _merged(existing.changelog, self.notes.values),
            "papers.yaml": _merged(
                existing.papers,
                {key: {"citation": value} for key, value in self.papers.values.items()},
            ),
            "collections.yaml": _merged(existing.collections, self.collections.values),
        }
        for publisher in sorted(publishers):
            relative = publisher_page_path(publisher)
            path = self.options.checkout / relative
            try:
                if not path.is_file():
                    raise PageError("the publisher has no page")
                text = self.sources[relative] = path.read_text(encoding="utf-8")
                files[f"publishers/{publisher}.yaml"] = parse_publisher_page(relative, text).facts
            except (PageError, OSError, UnicodeDecodeError) as error:
                self.failures.append((relative, str(error)))
        files.update(self._grown_vocabularies())
        return files

    def _grown_vocabularies(self) -> dict[str, Any]:
        """tags/NAME.yaml -> VocabularyGrowth for each vocabulary lacking ids the pages use."""
        tags_dir = self.options.tags_dir or self.options.checkout / "tags"
        grown: dict[str, Any] = {}
        for vocabulary, used in sorted(self.tags_used.items()):
            missing = {tag: page for tag, page in used.items()
                       if tag not in self.existing.vocabularies.get(vocabulary, frozenset())}  # fmt: skip
            if not missing:
                continue
            source = _vocabulary_entries(tags_dir / f"{vocabulary}.yaml")
            entries = []
            for tag, page in sorted(missing.items()):
                if tag in source:
                    entries.append(source[tag])
                else:
                    why = f"{vocabulary} '{tag}' is in no vocabulary (registry/tags/, {tags_dir})"
                    self.failures.append((page, why))
            grown[f"tags/{vocabulary}.yaml"] = VocabularyGrowth(entries)
        return grown


def era_words_as_placeholders(text: str, era: Era) -> str:
    """`text` with the era's words as placeholders: `This TF-Hub module uses` ->
    `This {{ hub_noun }} uses`, so that one text serves pages of several eras."""
    for key, word in sorted(era.words.items(), key=lambda kv: -len(kv[1])):
        text = re.sub(r"(?<![A-Za-z-])" + re.escape(word) + r"(?![A-Za-z])",
                      placeholder(key), text)  # fmt: skip
    return text


# --- Facts of a family ---------------------------------------------------------------------------


def _check_variants(items: list[ModuleItem]) -> None:
    """A variant's own facts must agree across its pages."""
    seen: dict[str, ModuleItem] = {}
    for item in items:
        first = seen.setdefault(item.variant, item)
        if first.own != item.own:
            raise PageError(f"{item.handle} and {first.handle} disagree on their variant's "
                            f"facts: {item.own} vs {first.own}")  # fmt: skip


def _choose_display_names(items: list[ModuleItem]) -> None:
    """Each variant's display name, from its descriptions; a description that is not its
    task's standard wording with that name is stated as its record's own."""
    by_variant: dict[str, list[ModuleItem]] = defaultdict(list)
    for item in items:
        by_variant[item.variant].append(item)
    for variant, members in by_variant.items():
        names = {item.task: item.page.display_name for item in members if item.page.display_name}
        by_c, by_f = names.get(CLASSIFICATION), names.get(FEATURE_VECTOR)
        # When the classification pages' name extends the feature vector pages', it added words.
        name = by_f if by_c and by_f and by_c.startswith(by_f) else (by_c or by_f)
        if name is None:
            raise PageError(f"no description of variant {variant} names its network")
        for item in members:
            item.values["display_name"] = name
            same = item.page.display_name == name
            item.values["description"] = None if same else item.page.description


def _place_depth_rounding(items: list[ModuleItem]) -> None:
    """A family's depth rounding note shows on its variants whose multiplier is not 1.0; on the
    others, two blank lines hold its place (so those pages do not state the rounding)."""
    rounding_family = any(item.page.rounding_seen for item in items)
    for item in items:
        gap = item.page.raw_implementation_gap
        if rounding_family and item.own.get("depth_multiplier") == 1.0:
            item.layout["implementation_gap"] = gap - 2
        else:
            item.values["depth_rounding"] = item.page.facts.get("depth_rounding")
            item.layout["implementation_gap"] = gap


def _stated(fact: str) -> Callable[[ModuleItem], Any]:
    def value_of(item: ModuleItem) -> Any:
        return item.values.get(fact, MISSING)

    return value_of


def _literal_text(kind: str) -> Callable[[ModuleItem], Any]:
    def value_of(item: ModuleItem) -> Any:
        return item.literal_texts.get(kind, item.values.get(kind, MISSING))

    return value_of


def _variables(item: ModuleItem) -> Mapping[str, Any]:
    return item.variables


def _layout_of(key: str) -> Callable[[ModuleItem], Any]:
    def value_of(item: ModuleItem) -> Any:
        return item.layout.get(key, MISSING)

    return value_of


def _default_of(fact: str) -> Callable[[Any, Sequence[ModuleItem]], bool]:
    def is_default(value: Any, members: Sequence[ModuleItem]) -> bool:
        return _is_default(fact, value)

    return is_default


def _era_default(key: str) -> Callable[[Any, Sequence[ModuleItem]], bool]:
    """Whether a layout value is the era's default for every one of the records."""

    def is_default(value: Any, members: Sequence[ModuleItem]) -> bool:
        return all(canonical(item.era.layout[key]) == canonical(value) for item in members)

    return is_default


def _stated_width(page: DeploymentPage, parent: ModuleItem) -> None:
    """Replaces the feature vector length a deployment's page states by what the record keeps
    of it, `stated_num_features`: None when it is the parent's (a conversion keeps its widths),
    the page's when it contradicts the parent (a page erratum)."""
    stated = page.facts.pop("num_features", None)
    erratum = stated is not None and stated != parent.values.get("num_features")
    page.facts["stated_num_features"] = stated if erratum else None


def _deployment_fact(fact: str) -> Callable[[DeploymentItem], Any]:
    def value_of(deployment: DeploymentItem) -> Any:
        return deployment.page.era if fact == "era" else deployment.page.facts.get(fact, MISSING)

    return value_of


def _deployment_layout(key: str) -> Callable[[DeploymentItem], Any]:
    def value_of(deployment: DeploymentItem) -> Any:
        return deployment.page.layout.get(key, MISSING)

    return value_of


def _deployment_era_default(
    key: str, eras: Mapping[str, Era]
) -> Callable[[Any, Sequence[DeploymentItem]], bool]:
    def is_default(value: Any, members: Sequence[DeploymentItem]) -> bool:
        return all(eras[d.page.era].layout[key] == value for d in members)

    return is_default


def _is_none(value: Any, members: Sequence[Any]) -> bool:
    return value is None


def _is_default(fact: str, value: Any) -> bool:
    """Whether a module fact's value is what a record gets when no layer states it."""
    if value is None:
        return fact not in KEEP_NONE
    return canonical(value) == canonical(MODULE_DEFAULTS.get(fact))


def _placed(
    placement: Placement, items: Sequence[Any], levels: Sequence[Level[Any]]
) -> list[tuple[str, Hashable, Any, list[Any]]]:
    """(level, group key, value, the group's items) of every value a placement writes."""
    key_of = {level.name: level.key for level in levels}
    return [
        (level, key, value, [item for item in items if key_of[level](item) == key])
        for part in (placement.base, placement.overrides)
        for level, groups in part.items()
        for key, value in groups.items()
    ]


def _size(placement: Placement) -> tuple[int, int]:
    """(values written, distinct values): how much a placement of a text writes."""
    values = [value for part in (placement.base, placement.overrides)
              for groups in part.values() for value in groups.values()]  # fmt: skip
    return len(values), len({canonical(value) for value in values})


def _release(family: dict[str, Any], line: str, version: int) -> dict[str, Any]:
    """A release's entry in a family being built (created empty)."""
    releases: dict[int, dict[str, Any]] = family["lines"][line]["releases"]
    return releases.setdefault(
        version, {"facts": {}, "tasks": {}, "changes": [], "deployments": {}}
    )


def _set(target: dict[str, Any], fact: str, value: Any, layout: bool) -> None:
    if layout:
        target.setdefault("layout", Flow())[fact] = value
    else:
        target[fact] = Flow(value) if isinstance(value, dict) else value


@dataclass
class _ModulePlacer:
    """Writes a factored module fact at its level's place in the family or a record."""

    family: dict[str, Any]
    records: dict[str, dict[str, Any]]

    def __call__(self, level: str, key: Any, fact: str, value: Any, layout: bool = False) -> None:
        lines = self.family["lines"]
        targets: dict[str, Callable[[], dict[str, Any]]] = {
            "family": lambda: self.family["facts"],
            "line": lambda: lines[key[0]]["facts"],
            "line-task": lambda: lines[key[0]]["tasks"].setdefault(key[1], {}),
            "variant": lambda: self.family["variants"][key[0]],
            "release": lambda: _release(self.family, key[0], key[1])["facts"],
            "release-task": lambda: _release(self.family, *key[:2])["tasks"].setdefault(key[2], {}),
            "record": lambda: self.records[key[0]],
        }
        _set(targets[level](), fact, value, layout)


@dataclass
class _DeploymentPlacer:
    """Writes a factored deployment fact at its level's place in the family or a record."""

    family: dict[str, Any]
    records: dict[str, dict[str, Any]]

    def __call__(self, level: str, key: Any, fact: str, value: Any, layout: bool = False) -> None:
        if level == "record":
            target = self.records[key[0]]
        else:
            if level.startswith("family"):
                entries, rest = self.family["deployments"], key
            else:
                entries, rest = _release(self.family, key[0], key[1])["deployments"], key[2:]
            entry = entries.setdefault(rest[0], {"facts": {}, "tasks": {}})
            if level.endswith("task"):
                target = entry["tasks"].setdefault(rest[1], {})
            else:
                target = entry["facts"]
        _set(target, fact, value, layout)


def _prune(data: Any) -> Any:
    """`data` without empty mappings and lists (recursively)."""
    if not isinstance(data, dict):
        return data
    pruned = {key: _prune(value) for key, value in data.items()}
    kept = {k: v for k, v in pruned.items() if not (isinstance(v, (dict, list)) and not v)}
    return Flow(kept) if isinstance(data, Flow) else kept


def _prune_family(family: dict[str, Any]) -> dict[str, Any]:
    """A family without empty parts, but with every release listed (a release with nothing of
    its own still says the version exists)."""
    pruned: dict[str, Any] = _prune(family)
    for line_id, line in family["lines"].items():
        pruned["lines"].setdefault(line_id, {"path": line["path"]})["releases"] = {
            version: _prune(release) for version, release in sorted(line["releases"].items())
        }
    return pruned


def _facts_entry(facts: dict[str, Any]) -> dict[str, Any]:
    pruned = _prune(facts)
    return {"facts": pruned} if pruned else {}


def _name_texts(
    files: dict[str, Any],
    users: Mapping[TextRef, list[tuple[int, str, str, str]]],
    existing: Mapping[str, Mapping[str, str]],
) -> dict[str, Any]:
    """`files` with each TextRef replaced by its id in texts.yaml (added). A text used by one
    variant is named after it, one used by one family's line or one family after those, one
    shared by several families after its first words; the most general text gets the plain
    name, others `-2`, `-3`..."""
    texts: dict[str, IdRegistry] = {
        kind: IdRegistry(dict(existing.get(kind, {}))) for kind in TEXT_FACTS
    }
    for ref, uses in sorted(users.items(), key=lambda kv: (min(kv[1]), kv[0].kind, kv[0].text)):
        families = {family for _, family, _, _ in uses}
        lines = {(family, line) for _, family, line, _ in uses}
        variants = {variant for _, _, _, variant in uses}
        family = next(iter(families))
        if len(variants) == 1 and "" not in variants:
            proposal = next(iter(variants))
        elif len(lines) == 1 and next(iter(lines))[1] != PLAIN_LINE:
            proposal = f"{family}-{next(iter(lines))[1]}"
        elif len(families) == 1:
            proposal = family
        else:
            proposal = slug(ref.text.replace("{{ hub_noun }}", "").replace("{{ noun }}", ""), 4)
        texts[ref.kind].id_for(ref.text, proposal)

    def resolve(data: Any) -> Any:
        if isinstance(data, TextRef):
            return texts[data.kind].ids[canonical(data.text)]
        if isinstance(data, dict):
            resolved = {key: resolve(value) for key, value in data.items()}
            return Flow(resolved) if isinstance(data, Flow) else resolved
        if isinstance(data, list):
            return [resolve(value) for value in data]
        return data

    resolved = {path: resolve(data) for path, data in files.items()}
    resolved["texts.yaml"] = {
        kind: _merged(existing.get(kind, {}), registry.values)
        for kind, registry in sorted(texts.items())
        if registry.values or existing.get(kind)
    }
    return resolved


def _merged(existing: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A shared file's entries: the registry's and the import's, by id."""
    return dict(sorted({**existing, **new}.items()))


@dataclass(frozen=True)
class VocabularyGrowth:
    """Entries a vocabulary file gains (appended to it, its other lines kept as they are)."""

    entries: list[dict[str, Any]]


def _vocabulary_entries(path: Path) -> dict[str, dict[str, Any]]:
    """The entries of one of tfhub.dev's vocabulary files by id (none when it is missing)."""
    try:
        data = yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
    except (OSError, yaml.YAMLError):
        return {}
    values = data.get("values") if isinstance(data, dict) else None
    return {
        entry["id"]: entry for entry in values or [] if isinstance(entry, dict) and "id" in entry
    }
