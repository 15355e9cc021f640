"""Model pages: the seeds come out byte for byte, every era and task renders, no TensorFlow."""

import difflib
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from hubzoo.paths import REPO_ROOT
from hubzoo.render import page_path, render_page

SEEDS_DIR = Path(__file__).parent / "seeds"
SEEDS = {
    "000_22fb8ee699b3c1a9.txt": "google/imagenet/inception_v2/feature_vector/3",
    "001_836568f227d077a8.txt": "google/imagenet/inception_resnet_v2/feature_vector/1",
    "003_83db91d0e773e4f8.txt": "google/imagenet/inception_v1/feature_vector/1",
}
ERAS = ("relative-links", "display-metadata", "tfhub-dev")


def assert_same_text(expected: str, actual: str, name: str) -> None:
    """Fail with a unified diff (line ends shown) when the texts differ in any byte."""
    if expected != actual:
        diff = difflib.unified_diff(
            [line + "⏎\n" for line in expected.split("\n")],
            [line + "⏎\n" for line in actual.split("\n")],
            f"{name} (expected)",
            f"{name} (rendered)",
        )
        pytest.fail("rendered page differs:\n" + "".join(diff), pytrace=False)


@pytest.mark.parametrize("seed_file", sorted(SEEDS))
def test_seed_page_is_reproduced_byte_for_byte(registry, seed_file):
    record = registry.records[SEEDS[seed_file]]
    expected = (SEEDS_DIR / seed_file).read_text(encoding="utf-8")
    assert_same_text(expected, render_page(record, registry.shared), seed_file)


def test_the_seeds_cover_all_three_eras(registry):
    assert sorted(registry.records[h].page_era for h in SEEDS.values()) == sorted(ERAS)


def test_diff_names_the_differing_line():
    with pytest.raises(pytest.fail.Exception) as failure:
        assert_same_text("a\nb\n", "a\nb \n", "page")
    assert "-b⏎" in str(failure.value) and "+b ⏎" in str(failure.value)


@pytest.mark.parametrize("era", ERAS)
def test_classification_page_in_each_era(registry, era):
    record = registry.records["google/imagenet/inception_v1/classification/1"]
    page = render_page(record, registry.shared, era=era)
    assert "logits = module(images)  # Logits with shape [batch_size, num_classes]." in page
    assert "`num_classes` = 1001 classes" in page
    assert "...or using the signature name `image_classification`." in page
    assert "[`google/imagenet/inception_v1/feature_vector/1`](" in page
    assert "instead, and save the space occupied by the classification layer." in page
    assert "num_features" not in page


def test_each_record_renders_in_its_own_era_style(registry):
    for record in registry.records.values():
        page = render_page(record, registry.shared)
        first_line = page.split("\n", 1)[0]
        if record.page_era == "relative-links":
            assert f"**Module URL:** {record.module_url}\n" in page
            assert "<!--" not in page
        elif record.page_era == "display-metadata":
            assert "&zwnj;" in first_line
            assert f"<!-- module-type: {record.task} -->" in page
        else:
            assert first_line == f"# Module {record.handle}"
            assert f"<!-- task: {record.task} -->" in page
            assert "\n## Changelog\n" in page


def test_relative_links_point_inside_the_docs_folder(registry):
    """The oldest era links relatively; each link, taken from the page's place, hits docs/."""
    docs = Path("/docs-root")
    targets = set()
    for record in registry.records.values():
        if record.page_era != "relative-links":
            continue
        path = page_path(record.handle)
        for link in re.findall(r"\]\((\.\.[^)#]*)", render_page(record, registry.shared)):
            resolved = (docs / Path(path).parent / link).resolve()
            assert resolved.is_relative_to(docs), f"{path}: {link} leaves the docs folder"
            targets.add(resolved.relative_to(docs).as_posix())
    assert targets == {
        "common_signatures/images.md",
        "fine_tuning.md",
        page_path("google/imagenet/inception_v1/classification/1"),
        page_path("google/imagenet/inception_v1/feature_vector/1"),
    }


def test_page_follows_record_data(registry):
    """Facts come from the record: change one and the page changes with it."""
    record = registry.records["google/imagenet/inception_v2/feature_vector/3"]
    changed = replace(record, num_features=2048, input_kind="fixed", batch_norm_momentum=None)
    page = render_page(changed, registry.shared)
    assert "`num_features` = 2048." in page
    assert "the size of the input image is fixed to\n`height` x `width` = 224 x 224" in page
    assert "batch_norm_momentum" not in page
    assert "in order to operate batch normalization in training mode.\n" in page


def test_rendering_imports_no_tensorflow():
    code = (
        "import sys\n"
        "from hubzoo.registry import load_registry\n"
        "from hubzoo.render import render_pages\n"
        "from hubzoo.tfhub_dev import tfhub_dev_files\n"
        "registry = load_registry()\n"
        "assert render_pages(registry) and tfhub_dev_files(registry)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tf_keras')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
