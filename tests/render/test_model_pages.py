"""Model pages: the seeds come out byte for byte in their docs eras, one record renders in two
eras, facts drive the pages, no TensorFlow."""

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.seeds import SEED_PAGES, SEEDS_DIR
from hubzoo.paths import REPO_ROOT
from hubzoo.render import page_path, renderer_of
from tests.render.corpus import CORPUS, assert_same_text

DOCS_ERAS = {"relative-links", "display-metadata", "tf1"}


@pytest.mark.parametrize("seed_file", sorted(SEED_PAGES))
def test_seed_page_is_reproduced_byte_for_byte_in_its_docs_era(registry, seed_file):
    record = registry.modules[SEED_PAGES[seed_file]]
    expected = (SEEDS_DIR / seed_file).read_text(encoding="utf-8")
    page = renderer_of(registry).module_page(record, docs=True)
    assert_same_text(expected, page, seed_file)


def test_the_seeds_cover_three_docs_eras(registry):
    assert {registry.modules[handle].docs_era for handle in SEED_PAGES.values()} == DOCS_ERAS


@pytest.mark.parametrize(
    "handle",
    ["google/imagenet/inception_v1/feature_vector/1",
     "google/imagenet/inception_resnet_v2/feature_vector/1"],
)  # fmt: skip
def test_one_record_renders_its_seed_and_its_corpus_page(registry, handle):
    """The docs era and the tfhub.dev era of the same record give the two pages of the handle."""
    record = registry.modules[handle]
    renderer = renderer_of(registry)
    corpus_page = CORPUS / f"assets/docs/google/models/{handle.split('/', 1)[1]}.md"
    assert record.docs_era != record.era
    assert renderer.module_page(record) == corpus_page.read_text(encoding="utf-8")
    assert renderer.module_page(record, docs=True) != renderer.module_page(record)


def test_classification_page_states_what_its_record_serves(registry):
    record = registry.modules["google/imagenet/inception_v1/classification/1"]
    page = renderer_of(registry).module_page(record, docs=True)
    assert "logits = module(images)  # Logits with shape [batch_size, num_classes]." in page
    assert "`num_classes` = 1001 classes" in page
    assert "using the signature name `image_feature_vector`." in page
    assert record.signatures == ("default", "image_classification", "image_feature_vector")


def test_relative_links_point_inside_the_docs_folder(registry):
    """The oldest era links relatively; each link, taken from the page's place, hits docs/."""
    docs = Path("/docs-root")
    renderer = renderer_of(registry)
    targets = set()
    for record in registry.modules.values():
        if record.docs_era != "relative-links":
            continue
        path = page_path(record.handle)
        for link in re.findall(r"\]\((\.\.[^)#]*)", renderer.module_page(record, docs=True)):
            resolved = (docs / Path(path).parent / link).resolve()
            assert resolved.is_relative_to(docs), f"{path}: {link} leaves the docs folder"
            targets.add(resolved.relative_to(docs).as_posix())
    assert targets == {
        "common_signatures/images.md",
        "fine_tuning.md",
        page_path("google/imagenet/inception_v1/classification/1"),
        page_path("google/imagenet/inception_v1/feature_vector/1"),
    }


def test_page_follows_record_facts(registry):
    """Facts come from the record: change one and the page changes with it."""
    record = registry.modules["google/imagenet/inception_v2/feature_vector/3"]
    changed = dataclasses.replace(
        record, num_features=2048, input_kind="fixed", batch_norm_momentum=None
    )
    page = renderer_of(registry).module_page(changed)
    assert "`num_features` = 2048." in page
    assert "For this module, the size of the input images is fixed to" in page
    assert "batch_norm_momentum" not in page
    assert "in order to operate batch normalization in training mode.\n" in page


def test_a_variant_fills_its_family_patterns(registry):
    record = registry.modules["google/imagenet/mobilenet_v2_035_96/classification/4"]
    page = renderer_of(registry).module_page(record)
    assert record.display_name == "MobileNet V2 (depth multiplier 0.35)"
    assert "with a depth multiplier of 0.35 and an input size of\n96x96 pixels." in page
    assert "`mobilenet_v2_0.35_96/mobilenet_v2_0.35_96.ckpt`" in page


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
