"""An independent checker of tfhub.dev's model-page rules (as /work/shared/FACTS.md lists them),
and of the form the corpus's deployment pages (TF.js, TF Lite) share.

It reads the tree the way tfhub.dev's validator does and shares no code with hubzoo's renderer.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REQUIRED_KEYS = {"asset-path", "fine-tunable", "format", "task"}
OPTIONAL_KEYS = {
    "network-architecture",
    "dataset",
    "language",
    "license",
    "colab",
    "interactive-visualizer",
}
REPEATABLE_KEYS = {"dataset", "language", "task", "network-architecture"}
TAGGED_KEYS = {
    "dataset": "dataset",
    "language": "language",
    "license": "license",
    "network-architecture": "network_architecture",
    "task": "task",
}
FORMATS = {"hub", "saved_model", "saved_model_2"}
TASK_PREFIXES = ("image-", "text-", "audio-", "video-")
METADATA_LINE = re.compile(r"^<!-- (?P<key>[a-z-]+): (?P<value>.*\S) -->$")
MODEL_PAGE = re.compile(
    r"^assets/docs/(?P<publisher>[^/]+)/models/(?P<name>.+)/(?P<version>\d+)\.md$"
)
PUBLISHER_PAGE = re.compile(r"^assets/docs/(?P<publisher>[^/]+)/(?P=publisher)\.md$")
DEPLOYMENT_PAGE = re.compile(
    r"^assets/docs/(?P<publisher>[^/]+)/models/(?P<parent>.+/\d+)/(?P<name>[a-z_]+)/"
    r"(?P<kind>tfjs|lite)/(?P<version>\d+)\.md$"
)
DEPLOYMENT_TITLES = {"tfjs": "Tfjs", "lite": "Lite"}
DEPLOYMENT_KEYS = {"asset-path", "parent-model", "demo", "interactive-visualizer"}


def load_vocabularies(root: Path) -> dict[str, set[str]]:
    """tags/NAME.yaml -> the set of its ids."""
    vocabularies = {}
    for path in sorted((root / "tags").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        vocabularies[path.stem] = {value["id"] for value in data["values"]}
    return vocabularies


def check_tree(root: Path) -> list[str]:
    """Every rule broken anywhere under `root`, as "PATH: problem" strings."""
    problems = []
    vocabularies = load_vocabularies(root)
    publishers_with_models = set()
    publisher_pages = set()
    for path in sorted((root / "assets" / "docs").rglob("*.md")):
        relative = path.relative_to(root).as_posix()
        if match := PUBLISHER_PAGE.match(relative):
            publisher_pages.add(match["publisher"])
            continue
        if match := DEPLOYMENT_PAGE.match(relative):
            text = path.read_text(encoding="utf-8")
            problems += [f"{relative}: {p}" for p in check_deployment_page(text, match)]
            continue
        match = MODEL_PAGE.match(relative)
        if not match:
            problems.append(f"{relative}: not at assets/docs/PUBLISHER/models/NAME/VERSION.md")
            continue
        publishers_with_models.add(match["publisher"])
        handle = f"{match['publisher']}/{match['name']}/{match['version']}"
        text = path.read_text(encoding="utf-8")
        problems += [f"{relative}: {p}" for p in check_page(text, handle, vocabularies)]
    for publisher in sorted(publishers_with_models - publisher_pages):
        problems.append(f"assets/docs/{publisher}/{publisher}.md: missing publisher page")
    return problems


def check_page(text: str, handle: str, vocabularies: dict[str, set[str]]) -> list[str]:
    """The rules one model page breaks."""
    lines = text.split("\n")
    problems = []
    if lines[0].replace("&zwnj;", "") != f"# Module {handle}":
        problems.append(f"first line must be '# Module {handle}', found {lines[0]!r}")
    start = next((n for n, line in enumerate(lines[1:], 1) if line.strip()), len(lines))
    if start >= len(lines) or lines[start].startswith(("#", "<!--")):
        problems.append("the title must be followed by a one-line description")
    seen: dict[str, list[str]] = {}
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if not line.strip():
            continue
        match = METADATA_LINE.match(line)
        if not match:
            problems.append(f"only metadata comments may precede the first heading: {line!r}")
            continue
        seen.setdefault(match["key"], []).append(match["value"])
    for key in sorted(REQUIRED_KEYS - set(seen)):
        problems.append(f"required metadata key '{key}' is missing")
    for key, values in sorted(seen.items()):
        if key not in REQUIRED_KEYS | OPTIONAL_KEYS:
            problems.append(f"unknown metadata key '{key}'")
            continue
        if len(values) > 1 and key not in REPEATABLE_KEYS:
            problems.append(f"metadata key '{key}' may appear only once")
        vocabulary = TAGGED_KEYS.get(key)
        for value in values:
            if vocabulary and value not in vocabularies.get(vocabulary, set()):
                problems.append(f"{key} '{value}' is not an id in tags/{vocabulary}.yaml")
            if key == "task" and not value.startswith(TASK_PREFIXES):
                problems.append(f"task '{value}' must start with one of {TASK_PREFIXES}")
            if key == "format" and value not in FORMATS:
                problems.append(f"format '{value}' is not one of {sorted(FORMATS)}")
    return problems


def check_deployment_page(text: str, where: re.Match) -> list[str]:
    """The rules one deployment page breaks: its title names its kind and its parent's handle
    with its own name and version; its metadata names the parent and the asset path."""
    parent = f"{where['publisher']}/{where['parent']}"
    title = f"# {DEPLOYMENT_TITLES[where['kind']]} {parent}/{where['name']}/{where['version']}"
    lines = text.split("\n")
    problems = [] if lines[0] == title else [f"first line must be {title!r}, found {lines[0]!r}"]
    seen: dict[str, str] = {}
    for line in lines[1:]:
        if line.startswith("#"):
            break
        if match := METADATA_LINE.match(line):
            if match["key"] not in DEPLOYMENT_KEYS or match["key"] in seen:
                problems.append(f"metadata key '{match['key']}' is unknown or repeated")
            seen[match["key"]] = match["value"]
    if seen.get("parent-model") != parent:
        problems.append(f"parent-model must be {parent}, found {seen.get('parent-model')!r}")
    if "asset-path" not in seen:
        problems.append("required metadata key 'asset-path' is missing")
    return problems
