"""What the facts of a record are and how they behave when layers merge.

The name, type and meaning of every fact are in `registry/schema/facts.schema.json`
(`module_facts`, `deployment_facts`): its one definition. This module says how facts behave:
their defaults, which ones are patterns or name a shared text, which a variant owns, which only
the zoo states (pages do not), which a record must end up with.
"""

from __future__ import annotations

from typing import Any

from hubzoo.documents import definition

MODULE_FACTS: frozenset[str] = frozenset(definition("module_facts")["properties"])
"""Every fact a module record may state."""
DEPLOYMENT_FACTS: frozenset[str] = frozenset(definition("deployment_facts")["properties"])
"""Every fact a deployment record may state."""

MODULE_DEFAULTS: dict[str, Any] = {
    "fine_tunable": True,
    "input_range": [0, 1],
    "signatures": [],
    "quantized": False,
    "show_changelog": True,
    "links": {},
    "layout": {},
    "hyperparameters": [],
}
"""What a module fact is when no layer states it (None for a fact not listed here)."""

MERGED_FACTS = frozenset({"layout", "links"})
"""Facts whose mappings merge key by key across layers instead of replacing each other."""

PATTERN_FACTS = frozenset({"display_name", "description", "checkpoint", "network"})
"""String facts that may be patterns over the variant's facts (`hubzoo.patterns`)."""
PATTERN_MAPPINGS = frozenset({"checkpoint_source"})
"""Mapping facts whose string values may be patterns."""

TEXT_FACTS = ("overview", "implementation", "training", "dropout_note")
"""Facts naming a text in registry/texts.yaml; the fact's name is the text's kind."""

VARIANT_FACTS = ("depth_multiplier", "image_size", "layers", "size")
"""A variant's own facts: what its module name and its pages say about it alone."""

ZOO_FACTS = frozenset(
    {
        "network", "hyperparameters", "min_image_size", "parameters", "checkpoint_source",
        "preprocessing", "docs_era", "docs_module_url",
    }
)  # fmt: skip
"""Facts the tfhub.dev pages do not state: registry/zoo_facts/ (and record files) state them,
the importer never writes them."""
ZOO_FILE_FACTS = ZOO_FACTS | {"signatures"}
"""What a zoo facts file may state: the zoo facts, and the signatures of releases whose pages
do not print them (TF2 SavedModels)."""

REQUIRED_MODULE_FACTS = (
    "era", "format", "asset_path", "dataset", "network_architecture", "display_name",
    "image_size", "input_kind", "preprocessing", "training", "overview", "implementation",
)  # fmt: skip
"""Facts some layer must state (not null) for every module."""
STATED_MODULE_FACTS = ("network", "checkpoint_source")
"""Facts some layer must state for every module, null included (null says "there is none")."""

REQUIRED_DEPLOYMENT_FACTS = ("era", "asset_path")
"""Facts some layer must state for every deployment."""
