"""Rules on what facts refer to: ids of eras, vocabulary tags, texts, collections and input
mappings that must exist, checked where each fact is written (any layer of any file)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from hubzoo.eras import Eras
from hubzoo.facts import TEXT_FACTS
from hubzoo.located import LocatedDict
from hubzoo.shared import COLLECTIONS_FILE, PREPROCESSING_FILE, Shared
from hubzoo.yamlnodes import Problem, shown

VOCABULARY_OF_FACT = {
    "dataset": "dataset",
    "network_architecture": "network_architecture",
    "license": "license",
    "interactive_visualizer": "interactive_visualizer",
}
"""Facts whose values are ids of a vocabulary in registry/tags/."""


HINT_LENGTH = 100
"""The longest value, and known id, `unknown` compares for a hint."""


def unknown(kind: str, value: object, known: Collection[str], where: str) -> str:
    """ "KIND 'VALUE' is not in WHERE", with the closest known id as a hint. Hints are looked for
    among short ids only: comparing two strings costs the product of their lengths."""
    text = str(value)
    close: list[str] = []
    if len(text) <= HINT_LENGTH:
        import difflib  # here: only a problem needs it, and it slows validation's start

        candidates = [one for one in known if len(one) <= HINT_LENGTH]
        close = difflib.get_close_matches(text, candidates, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"{kind} '{shown(text)}' is not in {where}{hint}"


def module_fact_problems(facts: LocatedDict, shared: Shared, eras: Eras) -> Iterator[Problem]:
    """What the module facts of one layer refer to and is not there."""
    for key in ("era", "docs_era"):
        if facts.get(key) is not None and facts[key] not in eras.module:
            yield facts.problem(key, unknown(key, facts[key], eras.module, "templates/eras.yaml"))
    yield from _vocabulary_problems(facts, shared)
    for kind in TEXT_FACTS:
        text_id = facts.get(kind)
        known: Mapping[str, Any] = shared.texts.get(kind, {})
        if text_id is not None and text_id not in known:
            message = unknown(f"{kind} text", text_id, known, f"texts.yaml ({kind})")
            yield facts.problem(kind, message)
    collection = facts.get("collection")
    if collection is not None and collection not in shared.collections:
        yield facts.problem(
            "collection", unknown("collection", collection, shared.collections, COLLECTIONS_FILE)
        )
    mapping = facts.get("preprocessing")
    if mapping is not None and mapping not in shared.input_mappings:
        message = unknown("preprocessing", mapping, shared.input_mappings, PREPROCESSING_FILE)
        yield facts.problem("preprocessing", message)
    if "input_range" in facts and len(facts["input_range"]) != 2:
        yield facts.problem("input_range", "input_range is [low, high]")


def deployment_fact_problems(facts: LocatedDict, shared: Shared, eras: Eras) -> Iterator[Problem]:
    """What the deployment facts of one layer refer to and is not there."""
    era = facts.get("era")
    if era is not None and era not in eras.deployment:
        yield facts.problem("era", unknown("era", era, eras.deployment, "templates/eras.yaml"))
    yield from _vocabulary_problems(facts, shared)


def _vocabulary_problems(facts: LocatedDict, shared: Shared) -> Iterator[Problem]:
    for key, vocabulary in VOCABULARY_OF_FACT.items():
        value = facts.get(key)
        known = shared.vocabularies.get(vocabulary, {})
        if value is not None and value not in known:
            yield facts.problem(key, unknown(key, value, known, f"registry/tags/{vocabulary}.yaml"))
