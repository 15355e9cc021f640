"""Every page of the tfhub.dev corpus, byte for byte, from the registry's records."""

import pytest

from hubzoo.tfhub_dev import tfhub_dev_files
from tests.render.corpus import (
    CORPUS,
    MODEL_PAGES,
    assert_same_text,
    corpus_files,
    unified_diff,
)


@pytest.fixture(scope="module")
def rendered(registry) -> dict[str, str]:
    return tfhub_dev_files(registry)


def test_every_corpus_page_is_rendered_byte_for_byte(rendered):
    paths = corpus_files()
    differing = [
        path for path in paths if rendered.get(path) != (CORPUS / path).read_text(encoding="utf-8")
    ]
    if differing:
        first = differing[0]
        diff = unified_diff(
            (CORPUS / first).read_text(encoding="utf-8"), rendered.get(first, ""), first
        )
        pytest.fail(
            f"{len(paths) - len(differing)}/{len(paths)} corpus files identical; "
            f"{len(differing)} differ, the first:\n{diff}",
            pytrace=False,
        )
    assert len(paths) == MODEL_PAGES + 1  # and the publisher page


def test_the_export_holds_exactly_the_corpus_and_the_tag_files(rendered):
    pages = {path for path in rendered if path.startswith("assets/")}
    assert pages == set(corpus_files())
    assert sorted(path for path in rendered if not path.startswith("assets/")) == [
        "tags/dataset.yaml", "tags/license.yaml", "tags/network_architecture.yaml",
        "tags/task.yaml",
    ]  # fmt: skip


def test_the_comparison_shows_the_difference():
    with pytest.raises(pytest.fail.Exception) as failure:
        assert_same_text("a\nb\n", "a\nb \n", "page")
    assert "-b⏎" in str(failure.value) and "+b ⏎" in str(failure.value)
