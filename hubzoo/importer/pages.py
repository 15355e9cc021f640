"""Reading tfhub.dev markdown pages: the facts, prose and layout measurements each one states.

The parser knows the wording of the eras in templates/ (it reads what the templates write); it
states only what a page says. A fact a page does not state is absent from `facts` (the importer
takes it from the page's siblings); a fact a page states as absent is None (a classification page
without a labels file). Prose (overview, implementation, training, dropout note) is returned as
text; the importer shares it. A page the parser cannot read raises PageError with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hubzoo.contract import CLASSIFICATION, TASKS_BY_FOLDER

OPTIONAL_METADATA = frozenset({"colab", "license"})
MODULE_METADATA = {
    "dataset": "dataset",
    "asset-path": "asset_path",
    "task": "task",
    "network-architecture": "network_architecture",
    "fine-tunable": "fine_tunable",
    "format": "format",
    "license": "license",
    "colab": "colab",
}
"""Metadata key -> fact name, for module pages."""
DEPLOYMENT_METADATA = {
    "asset-path": "asset_path",
    "parent-model": "parent",
    "demo": "demo",
    "interactive-visualizer": "interactive_visualizer",
}
DEPLOYMENT_TITLES = {"tfjs": "Tfjs", "lite": "Lite"}
"""A deployment kind as its page's title spells it."""
DEFAULT_INPUT_LINK = "https://www.tensorflow.org/hub/common_signatures/images#input"
TF1_TEMPLATES = ("module/base.md.j2", "module/tf1.md.j2", "module/tf1-late.md.j2")
TF2_TEMPLATE = "module/tf2.md.j2"

_METADATA_LINE = re.compile(r"^<!-- ([a-z-]+): (.*) -->$")
_COUNTERPART_START = re.compile(
    r"^The (module|model) contains a trained instance of the network, packaged to (do the|get)$",
    re.M,
)
_COUNTERPART_HANDLE = re.compile(r"\[`(?P<handle>[^`]+)`\]\(https://tfhub\.dev/(?P=handle)\)")
_ROUNDING = re.compile(
    r"This implementation of (?P<network>.+) rounds feature depths to multiples of "
    r"(?P<multiple>\d+)\n\(an optimization \*not\* described in the paper\)\.\n"
    r"Depth multipliers less than 1\.0 are not applied to the last convolutional layer\n"
    r"\(from which the module takes the image feature vector\)\.\n"
)
_CHECKPOINT = re.compile(
    r"^The checkpoint exported into this (?:module|model) was `(?P<name>[^`]+)` downloaded\n"
    r"from\n\[(?P<collection>[^\]]+)\]\((?P<url>[^)\s]+)\)\.\n"
)
_CITATION = re.compile(r"^  \* .*(?:\n    .*)*", re.M)
_DESCRIPTION_C = re.compile(r"^Imagenet \(ILSVRC-2012-CLS\) classification with (?P<name>.+)\.$")
_DESCRIPTION_F = re.compile(
    r"^Feature vectors of images with (?P<name>.+) trained on ImageNet \(ILSVRC-2012-CLS\)\.$"
)


class PageError(Exception):
    """A page the parser cannot read; the message says why."""


@dataclass
class Section:
    """A `## Title` section: its body (without the heading line and the blank line after it)
    and the number of blank lines that end it."""

    title: str
    body: str
    trailing_blank_lines: int


@dataclass
class Header:
    """What comes before the first section."""

    kind: str  # "Module", "Tfjs", "Lite", "Publisher"
    handle: str
    description: str
    metadata: list[tuple[str, str]]
    after_title: int
    before_metadata: int
    after_metadata: int


@dataclass
class ModulePage:
    """What a module page states."""

    path: str
    handle: str
    template: str  # the era template its wording matches
    metadata_keys: tuple[str, ...]
    facts: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    display_name: str | None = None  # the network's name, when the description is standard
    texts: dict[str, str] = field(default_factory=dict)  # overview, implementation, ...
    citations: list[str] = field(default_factory=list)  # `[[@N]]` in the overview is citations[N]
    layout: dict[str, Any] = field(default_factory=dict)  # gaps measured, quirks seen
    raw_implementation_gap: int = 0  # blank lines after the implementation paragraph
    rounding_seen: bool = False
    changelog: list[tuple[int, list[str]]] | None = None  # None: no changelog section


@dataclass
class DeploymentPage:
    """What a deployment page states."""

    path: str
    handle: str  # PARENT/NAME/KIND/VERSION
    parent: str
    kind: str
    era: str
    facts: dict[str, Any] = field(default_factory=dict)
    layout: dict[str, Any] = field(default_factory=dict)


@dataclass
class PublisherPage:
    """What a publisher page states."""

    path: str
    facts: dict[str, str]


# --- Page structure ------------------------------------------------------------------------------


def count_blank_lines(text: str) -> int:
    """Blank lines at the end of `text`, which must end with a line's newline."""
    if not text.endswith("\n"):
        raise PageError("the page does not end with a newline")
    return len(text) - len(text.rstrip("\n")) - 1


def split_sections(text: str) -> tuple[str, list[Section]]:
    """(the text before the first `## ` heading, the sections)."""
    parts = re.split(r"(?m)^(?=## )", text)
    head, sections = parts[0], []
    for part in parts[1:]:
        title, _, rest = part.partition("\n")
        if not rest.startswith("\n"):
            raise PageError(f"section '{title}' has no blank line after its heading")
        body = rest[1:]
        stripped = body.rstrip("\n")
        trailing = len(body) - len(stripped) - 1
        sections.append(Section(title[3:], stripped + "\n", max(trailing, 0)))
        if not body.endswith("\n"):
            raise PageError(f"section '{title[3:]}' does not end with a newline")
    return head, sections


def parse_header(head: str) -> Header:
    """Title, description and metadata comments, with the blank lines between them."""
    lines = head.split("\n")
    match = re.match(r"^# (Module|Tfjs|Lite|Publisher) (\S+)$", lines[0])
    if not match:
        raise PageError(f"first line is not '# KIND HANDLE': {lines[0]!r}")
    position = 1

    def blanks() -> int:
        nonlocal position
        start = position
        while position < len(lines) and lines[position] == "":
            position += 1
        return position - start

    after_title = blanks()
    start = position
    while position < len(lines) and lines[position] and not _METADATA_LINE.match(lines[position]):
        position += 1
    if position == start:
        raise PageError("no description line")
    description = "\n".join(lines[start:position])
    before_metadata = blanks()
    metadata = []
    while position < len(lines) and (line_match := _METADATA_LINE.match(lines[position])):
        metadata.append((line_match.group(1), line_match.group(2)))
        position += 1
    rest = lines[position:]
    if any(rest):
        raise PageError(f"unexpected header line: {next(line for line in rest if line)!r}")
    # The header text ends with the newline of its last line: rest is ["", ..., ""].
    after_metadata = len(rest) - 1
    return Header(match.group(1), match.group(2), description, metadata, after_title,
                  before_metadata if metadata else 0, after_metadata)  # fmt: skip


def _section(sections: list[Section], title: str) -> Section | None:
    found = [section for section in sections if section.title == title]
    if len(found) > 1:
        raise PageError(f"two '{title}' sections")
    return found[0] if found else None


def _need(sections: list[Section], title: str) -> Section:
    section = _section(sections, title)
    if section is None:
        raise PageError(f"no '## {title}' section")
    return section


def _search(pattern: str, text: str, what: str, flags: int = 0) -> re.Match[str]:
    match = re.search(pattern, text, flags)
    if match is None:
        raise PageError(f"cannot find {what}")
    return match


# --- Module pages --------------------------------------------------------------------------------


def module_handle_parts(handle: str) -> tuple[str, str, str, str, int]:
    """(namespace, module name, line path, task, version) of a module handle; e.g.
    google/imagenet/mobilenet_v1_025_128/quantops/classification/1 ->
    ("google/imagenet", "mobilenet_v1_025_128", "quantops/", image-classification, 1)."""
    parts = handle.split("/")
    if len(parts) < 5 or not parts[-1].isdigit() or parts[-2] not in TASKS_BY_FOLDER:
        raise PageError(f"'{handle}' is not PUBLISHER/NAMESPACE/NAME/[LINE/]TASK/VERSION")
    line = "".join(part + "/" for part in parts[3:-2])
    return "/".join(parts[:2]), parts[2], line, TASKS_BY_FOLDER[parts[-2]].id, int(parts[-1])


def parse_module_page(path: str, text: str) -> ModulePage:
    """What a module page states (see ModulePage)."""
    head, sections = split_sections(text)
    header = parse_header(head)
    if header.kind != "Module":
        raise PageError(f"a '{header.kind}' page where a Module page was expected")
    handle = header.handle
    _, _, _, task, _ = module_handle_parts(handle)
    titles = [section.title for section in sections]
    overview = _need(sections, "Overview")
    if "TF2 SavedModel" in titles:
        template = TF2_TEMPLATE
    elif "hub.Module for TF1" in titles:
        late = overview.body.count("\nThe model contains a trained instance") > 0
        template = TF1_TEMPLATES[2] if late else TF1_TEMPLATES[1]
    else:
        template = TF1_TEMPLATES[0]
    page = ModulePage(path, handle, template, tuple(key for key, _ in header.metadata))
    page.description = header.description
    page.layout.update(after_title=header.after_title, before_metadata=header.before_metadata,
                       after_metadata=header.after_metadata)  # fmt: skip
    facts = page.facts
    for key, value in header.metadata:
        if key not in MODULE_METADATA:
            raise PageError(f"unknown metadata key '{key}'")
        facts[MODULE_METADATA[key]] = value == "true" if key == "fine-tunable" else value
    for key in OPTIONAL_METADATA:
        facts.setdefault(MODULE_METADATA[key], None)
    if facts.get("task", task) != task:
        raise PageError(f"metadata task '{facts['task']}' disagrees with the handle")
    facts.pop("task", None)
    match = (_DESCRIPTION_C if task == CLASSIFICATION else _DESCRIPTION_F).match(header.description)
    page.display_name = match.group("name") if match else None

    _parse_overview(page, overview.body)
    quantization = _section(sections, "Quantization")
    facts["quantized"] = quantization is not None
    training = _need(sections, "Training")
    _parse_training(page, training.body)
    page.layout["after_training"] = training.trailing_blank_lines
    _parse_usage(page, _need(sections, "Usage").body, task)
    fine_tuning = _need(sections, "Fine-tuning")
    _parse_fine_tuning(page, fine_tuning.body)
    changelog = _section(sections, "Changelog")
    if changelog is None:
        facts["show_changelog"] = False
        if sections[-1] is fine_tuning:
            page.layout["final_blank_lines"] = count_blank_lines(text)
    else:
        facts["show_changelog"] = True
        page.changelog = parse_changelog(changelog.body)
    expected = {"hub.Module for TF1", "TF2 SavedModel", "Overview", "Quantization", "Training",
                "Usage", "Fine-tuning", "Changelog"}  # fmt: skip
    unknown = [title for title in titles if title not in expected]
    if unknown:
        raise PageError(f"unknown section '## {unknown[0]}'")
    return page


def _parse_overview(page: ModulePage, body: str) -> None:
    """Prose, implementation paragraph, rounding note and counterpart."""
    start = _COUNTERPART_START.search(body)
    if start is None:
        raise PageError("no 'The module contains a trained instance' paragraph in the Overview")
    before, counterpart = body[: start.start()], body[start.start() :]
    handle = _COUNTERPART_HANDLE.search(counterpart)
    page.facts["counterpart"] = handle.group("handle") if handle else None
    rounding = _ROUNDING.search(before)
    if rounding:
        page.rounding_seen = True
        page.facts["depth_rounding"] = {
            "network": rounding.group("network"),
            "multiple": int(rounding.group("multiple")),
        }
        gap_text = before[: rounding.start()]
        residue = before[rounding.end() :]
        if residue != "\n":
            raise PageError("the depth rounding note is not followed by one blank line")
        before = gap_text
    stripped = before.rstrip("\n")
    page.raw_implementation_gap = len(before) - len(stripped) - 1
    prose, separator, implementation = stripped.rpartition("\n\n")
    if not separator:
        raise PageError("the Overview has no paragraph before the implementation paragraph")
    page.texts["implementation"] = implementation
    citations: list[str] = []

    def cite(match: re.Match[str]) -> str:
        lines = match.group(0).split("\n")
        citations.append("\n".join([lines[0][4:], *(line[4:] for line in lines[1:])]))
        return f"[[@{len(citations) - 1}]]"

    page.texts["overview"] = _CITATION.sub(cite, prose)
    page.citations = citations


def _parse_training(page: ModulePage, body: str) -> None:
    """Checkpoint and collection, or how the weights were obtained without one."""
    match = _CHECKPOINT.match(body)
    if match:
        page.facts["checkpoint"] = match.group("name")
        page.facts["collection"] = (match.group("collection"), match.group("url"))
        body = body[match.end() :]
    else:
        page.facts["checkpoint"] = None
        page.facts["collection"] = None
    page.texts["training"] = body.rstrip("\n")


def _parse_usage(page: ModulePage, body: str, task: str) -> None:
    """Module URL, outputs, labels file, signatures, input size and range."""
    facts = page.facts
    tf2 = page.template == TF2_TEMPLATE
    url = _search(r'hub\.(?:Module|KerasLayer)\("([^"]+)"', body, "the usage example's URL")
    facts["module_url"] = url.group(1)
    if task == CLASSIFICATION:
        facts["num_classes"] = int(_search(r"`num_classes` = (\d+)", body, "num_classes")[1])
        labels = re.search(r"can be found in the file at \[[^\]]+\]\(([^)\s]+)\)", body)
        facts["labels_url"] = labels.group(1) if labels else None
    else:
        facts["num_features"] = int(_search(r"`num_features` = (\d+)", body, "num_features")[1])
    if not tf2:
        signature = _search(r"using the signature name `([a-z_]+)`", body, "the signature name")
        signatures = ["default", signature.group(1)]
        if task == CLASSIFICATION and "using the signature name `image_feature_vector`" in body:
            signatures.append("image_feature_vector")
        facts["signatures"] = signatures
    low, high = _search(
        r"color values in the range \[(\d+),(\d+)\]", body, "the input range"
    ).groups()
    facts["input_range"] = [int(low), int(high)]
    fixed = re.search(
        r"the size of the input images? is fixed to\n`height` x `width` = (\d+) x (\d+) pixels",
        body,
    )
    variable = re.search(
        r"The expected size of the input images is\n`height` x `width` = (\d+) x (\d+) pixels\n"
        r"by default",
        body,
    )
    if (fixed is None) == (variable is None):
        raise PageError("the Usage section states neither a fixed nor a default input size")
    size = fixed or variable
    assert size is not None
    if size.group(1) != size.group(2):
        raise PageError("non-square input sizes are not supported")
    facts["input_kind"] = "fixed" if fixed else "variable"
    facts["image_size"] = int(size.group(1))
    link = _search(r"\[common image input\]\(([^)\s]+)\)", body, "the common image input link")
    facts["links"] = {} if link.group(1) == DEFAULT_INPUT_LINK else {"input": link.group(1)}
    if tf2:
        outputs_end = re.search(r"\n(\n+)The input `images` are expected", body)
        if outputs_end is None:
            raise PageError("no input paragraph in the Usage section")
        page.layout["usage_input_gap"] = len(outputs_end.group(1)) - 1


def _parse_fine_tuning(page: ModulePage, body: str) -> None:
    """Fine-tunability, batch norm momentum, dropout note, quirks."""
    facts = page.facts
    if body.startswith("The current version of this module only provides an inference graph"):
        if facts.get("fine_tunable", False):
            raise PageError("metadata says fine-tunable but the page says it cannot be")
        facts.update(batch_norm_momentum=None, dropout_note=None)  # nothing to tune
        return
    momentum = re.search(r"averages defaults to ([0-9.]+) for this (?:module|model)", body)
    facts["batch_norm_momentum"] = float(momentum.group(1)) if momentum else None
    if page.template != TF2_TEMPLATE and momentum:
        signature = _search(r'signature="([a-z_]+)"\)', body, "the bn_hparams signature")
        facts.setdefault("signatures", []).append(signature.group(1))
        if "...or analogously for signature `image_feature_vector_with_bn_hparams`." in body:
            facts["signatures"].append("image_feature_vector_with_bn_hparams")
    dropout = re.search(r"(?m)^The dropout probability.*(?:\n.+)*", body)
    if dropout:
        page.texts["dropout_note"] = dropout.group(0)
    else:
        facts["dropout_note"] = None
    quirks = []
    if re.search(r"\) it\.\nby passing `trainable=True`", body):
        quirks.append("fine-tune-it-period")
    page.layout["quirks"] = quirks


def parse_changelog(body: str) -> list[tuple[int, list[str]]]:
    """[(version, [note markdown])] of a Changelog section's body."""
    entries: list[tuple[int, list[str]]] = []
    for chunk in re.split(r"(?m)^(?=#### )", body):
        if not chunk.strip():
            continue
        match = re.match(r"#### Version (\d+)\n\n((?:  \* .*\n(?:    .*\n)*)+)\n?$", chunk)
        if match is None:
            raise PageError(f"cannot read changelog entry {chunk.splitlines()[0]!r}")
        notes = [
            "\n".join([item.split("\n")[0][4:], *(line[4:] for line in item.split("\n")[1:])])
            for item in re.findall(r"^  \* .*(?:\n    .*)*", match.group(2), re.M)
        ]
        entries.append((int(match.group(1)), notes))
    return entries


# --- Deployment and publisher pages --------------------------------------------------------------


def parse_deployment_page(path: str, handle: str, text: str) -> DeploymentPage:
    """What a deployment page at `handle` (PARENT/NAME/KIND/VERSION) states."""
    head = re.split(r"(?m)^(?=## )", text)[0]
    header = parse_header(head)
    parent, name, kind, version = handle.rsplit("/", 3)
    if header.kind != DEPLOYMENT_TITLES.get(kind):
        raise PageError(f"a '{header.kind}' page at a {kind} deployment's path")
    if header.handle != f"{parent}/{name}/{version}":
        raise PageError(f"title handle {header.handle} disagrees with the page's path")
    titles = re.findall(r"(?m)^## (.+)$", text)
    era = "lite" if kind == "lite" else ("tfjs" if "Inputs" in titles else "tfjs-legacy")
    page = DeploymentPage(path, handle, parent, kind, era)
    for key, value in header.metadata:
        if key not in DEPLOYMENT_METADATA:
            raise PageError(f"unknown metadata key '{key}'")
        page.facts[DEPLOYMENT_METADATA[key]] = value
    if page.facts.pop("parent", None) != parent:
        raise PageError("parent-model metadata disagrees with the page's path")
    for key in ("demo", "interactive_visualizer"):
        page.facts.setdefault(key, None)
    features = re.search(r"feature vectors.*of shape `\[batch_size,\s(\d+)\]`", text, re.DOTALL)
    if features:
        page.facts["num_features"] = int(features.group(1))
    page.layout.update(after_title=header.after_title, before_metadata=header.before_metadata,
                       after_metadata=header.after_metadata,
                       final_blank_lines=count_blank_lines(text))  # fmt: skip
    return page


def parse_publisher_page(path: str, text: str) -> PublisherPage:
    """What a publisher page states."""
    match = re.fullmatch(
        r"# Publisher (?P<id>\S+)\n(?P<display_name>.+)\n\n\[!\[Icon URL\]\]\((?P<icon_url>\S+)\)\n"
        r"\n## \[(?P<homepage_title>[^\]]+)\]\((?P<homepage>\S+)\)\n\n(?P<description>(?:.+\n)+)",
        text,
    )
    if match is None:
        raise PageError("not a publisher page of the form this importer knows")
    facts = match.groupdict()
    facts["description"] = facts["description"].rstrip("\n")
    return PublisherPage(path, facts)


__all__ = [
    "DeploymentPage",
    "ModulePage",
    "PageError",
    "PublisherPage",
    "module_handle_parts",
    "parse_deployment_page",
    "parse_module_page",
    "parse_publisher_page",
]
