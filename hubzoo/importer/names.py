"""Names the importer gives: a module name's family and variant facts, and ids of shared values."""

from __future__ import annotations

import re
from typing import Any

from hubzoo.importer.factor import canonical

SIZE_WORDS = ("large", "small", "mobile")
"""Words a module name may end with that name a size class."""


def family_and_variant(name: str) -> tuple[str, dict[str, Any]]:
    """(family id, the variant's own facts its name states) of a module name: trailing numbers
    and size words name the variant; two numbers are a depth multiplier (x100) and a resolution,
    one number is a layer count."""
    tokens = name.split("_")
    suffix: list[str] = []
    while len(tokens) > 1 and (tokens[-1].isdigit() or tokens[-1] in SIZE_WORDS):
        suffix.insert(0, tokens.pop())
    own: dict[str, Any] = {}
    numbers = [token for token in suffix if token.isdigit()]
    words = [token for token in suffix if not token.isdigit()]
    if words:
        own["size"] = words[0]
    if len(numbers) == 2:
        own["depth_multiplier"] = int(numbers[0]) / 100
    elif len(numbers) == 1:
        own["layers"] = int(numbers[0])
    return "_".join(tokens), own


def slug(text: str, words: int = 5) -> str:
    """A lowercase id of the first words of `text`."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower())[:words]) or "text"


def paper_id(citation: str) -> str:
    """An id for a citation: first author's last name, year, first title word."""
    authors, _, rest = citation.partition(":")
    first_author = re.split(r",| and ", authors)[0].split()
    years = re.findall(r"\b(?:19|20)\d\d\b", rest)
    title = re.search(r"[A-Za-z]+", rest)
    return "".join([first_author[-1].lower() if first_author else "paper",
                    years[-1] if years else "", title.group(0).lower() if title else ""])  # fmt: skip


def collection_id(display_name: str) -> str:
    """An id for a checkpoint collection: `TF-Slim's pre-trained models` -> `tf-slim`."""
    return slug(display_name.replace("'s ", " ").replace("pre-trained models", ""))


class IdRegistry:
    """Ids of shared values: a value keeps its id (its existing one in the registry, when it
    has one); a new value gets the proposed id, or the proposal with `-2`, `-3`... when another
    value has it."""

    def __init__(self, existing: dict[str, Any] | None = None) -> None:
        self.preferred: dict[str, str] = {}  # canonical value -> its id in the registry
        self.ids: dict[str, str] = {}  # canonical value -> id
        self.values: dict[str, Any] = {}  # id -> value
        for identifier, value in (existing or {}).items():
            self.preferred.setdefault(canonical(value), identifier)
        self.taken = set(existing or {})  # ids the registry already uses

    def id_for(self, value: Any, proposal: str) -> str:
        """The id of `value`, given one if it has none."""
        key = canonical(value)
        if key not in self.ids:
            identifier = base = self.preferred.get(key, proposal)
            number = 2
            while identifier in self.values or (
                identifier in self.taken and self.preferred.get(key) != identifier
            ):
                identifier, number = f"{base}-{number}", number + 1
            self.ids[key], self.values[identifier] = identifier, value
        return self.ids[key]
