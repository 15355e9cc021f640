"""The rule checker itself: each rule, broken once, is reported."""

import pytest

from tests.render.tfhub_dev_rules import check_page

VOCABULARIES = {"task": {"image-feature-vector", "text-embedding"}, "dataset": {"imagenet"}}
HANDLE = "google/net/1"
GOOD = """# Module google/net/1
Feature vectors.

<!-- asset-path: legacy -->
<!-- fine-tunable: true -->
<!-- format: hub -->
<!-- task: image-feature-vector -->
<!-- dataset: imagenet -->

## Overview
"""


def broken(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


def test_good_page_passes():
    assert check_page(GOOD, HANDLE, VOCABULARIES) == []


def test_blank_lines_may_precede_the_description():
    assert check_page(GOOD.replace("\nFeature", "\n\nFeature"), HANDLE, VOCABULARIES) == []


def test_zwnj_is_ignored_in_the_title():
    assert check_page(GOOD.replace("google/", "google/&zwnj;"), HANDLE, VOCABULARIES) == []


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        (broken("# Module google/net/1", "# Module google/net/2"), "first line must be"),
        (broken("<!-- format: hub -->", "<!-- format: onnx -->"), "format 'onnx' is not one of"),
        (broken("<!-- format: hub -->\n", ""), "required metadata key 'format' is missing"),
        (broken("image-feature-vector -->", "text-embedding -->\n<!-- task: image-feature-vector -->"), None),
        (broken("<!-- dataset: imagenet -->", "<!-- dataset: cifar -->"), "dataset 'cifar' is not an id"),
        (broken("<!-- asset-path: legacy -->", "<!-- asset-path: legacy -->\n<!-- asset-path: x -->"),
         "metadata key 'asset-path' may appear only once"),
        (broken("<!-- dataset: imagenet -->", "<!-- colour: blue -->"), "unknown metadata key 'colour'"),
        (broken("<!-- dataset: imagenet -->", "Some prose."), "only metadata comments may precede"),
        (broken("Feature vectors.", ""), "the title must be followed by a one-line description"),
    ],
)  # fmt: skip
def test_each_rule(page, problem):
    problems = check_page(page, HANDLE, VOCABULARIES)
    if problem is None:  # repeating a repeatable key is allowed
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_task_must_have_a_known_domain_prefix():
    vocabularies = {**VOCABULARIES, "task": {"image-feature-vector", "robot-arm"}}
    page = broken("image-feature-vector -->", "robot-arm -->")
    assert check_page(page, HANDLE, vocabularies) == [
        "task 'robot-arm' must start with one of ('image-', 'text-', 'audio-', 'video-')"
    ]
