"""The tfhub.dev corpus (tests/data/tfhub_dev_corpus): its files, and how a rendering of it is
compared with it."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
CORPUS = DATA / "tfhub_dev_corpus"
TAGS = DATA / "tfhub_dev_tags"
MODEL_PAGES = 784


def corpus_files() -> list[str]:
    """Every file MANIFEST.tsv lists (784 model pages and the publisher page), by path."""
    lines = (CORPUS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[0] for line in lines]


def unified_diff(expected: str, actual: str, name: str) -> str:
    """A unified diff of two texts, each line's end shown as ⏎ (so trailing spaces and blank
    lines are visible)."""
    return "".join(
        difflib.unified_diff(
            [line + "⏎\n" for line in expected.split("\n")],
            [line + "⏎\n" for line in actual.split("\n")],
            f"{name} (expected)",
            f"{name} (rendered)",
        )
    )


def assert_same_text(expected: str, actual: str, name: str) -> None:
    """Fail with a unified diff when the texts differ in any byte."""
    if expected != actual:
        pytest.fail(
            "rendered page differs:\n" + unified_diff(expected, actual, name), pytrace=False
        )
