"""scripts/build_docs.py: writes docs/, --check names stale files, --tfhub-dev exports a tree
that tfhub.dev's rules accept."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.seeds import SEEDS_DIR
from hubzoo.paths import DOCS_DIR, REPO_ROOT
from hubzoo.render import page_path
from hubzoo.tfhub_dev import model_page_path
from tests.render.corpus import CORPUS, MODEL_PAGES
from tests.render.tfhub_dev_rules import check_tree

BUILD_DOCS = [sys.executable, str(REPO_ROOT / "scripts" / "build_docs.py")]
CURRENT_ERA_HANDLE = "google/imagenet/inception_v2/feature_vector/3"


def build_docs(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*BUILD_DOCS, *args], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT
    )


@pytest.fixture(scope="module")
def tfhub_tree(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tfhub.dev")
    result = build_docs("--tfhub-dev", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_committed_docs_are_current():
    result = build_docs("--check")
    assert result.returncode == 0, result.stderr
    assert f"current ({MODEL_PAGES} model page(s))" in result.stdout


def test_check_names_each_stale_file(tmp_path):
    docs = tmp_path / "docs"
    (docs / "index.md").parent.mkdir()
    (docs / "index.md").write_text("# hand-written\n")
    assert build_docs("--docs", str(docs)).returncode == 0
    assert build_docs("--docs", str(docs), "--check").returncode == 0

    edited = docs / page_path("google/imagenet/inception_v1/feature_vector/1")
    edited.write_text(edited.read_text() + "\n")
    removed = docs / page_path("google/imagenet/inception_v1/classification/1")
    removed.unlink()
    extra = docs / page_path("google/imagenet/inception_v9/feature_vector/1")
    extra.parent.mkdir(parents=True)
    extra.write_text("# orphan\n")

    result = build_docs("--docs", str(docs), "--check")
    assert result.returncode == 1
    assert f"stale: {edited}: differs from what its record renders" in result.stderr
    assert f"stale: {removed}: missing" in result.stderr
    assert f"stale: {extra}: no record renders it" in result.stderr
    assert "3 stale file(s)" in result.stderr

    result = build_docs("--docs", str(docs))
    assert "2 written, 1 removed" in result.stdout
    assert build_docs("--docs", str(docs), "--check").returncode == 0
    assert (docs / "index.md").read_text() == "# hand-written\n"


def test_user_errors_are_one_line(tmp_path):
    result = build_docs("--registry", str(tmp_path / "nowhere"), "--check")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_tfhub_dev_tree_obeys_every_rule(tfhub_tree):
    assert check_tree(tfhub_tree) == []


def test_tfhub_dev_tree_layout(tfhub_tree, registry):
    files = {p.relative_to(tfhub_tree).as_posix() for p in tfhub_tree.rglob("*") if p.is_file()}
    pages = {model_page_path(handle) for handle in [*registry.modules, *registry.deployments]}
    assert len(pages) == MODEL_PAGES
    assert files == pages | {
        "assets/docs/google/google.md",
        "tags/dataset.yaml",
        "tags/license.yaml",
        "tags/network_architecture.yaml",
        "tags/task.yaml",
    }
    for record in registry.modules.values():
        page = (tfhub_tree / model_page_path(record.handle)).read_text()
        assert page.startswith(f"# Module {record.handle}\n")
        assert f'("{record.module_url}"' in page


def test_current_era_page_is_identical_to_its_model_page(tfhub_tree):
    relative = model_page_path(CURRENT_ERA_HANDLE)
    committed = DOCS_DIR / page_path(CURRENT_ERA_HANDLE)
    seed = SEEDS_DIR / "000_22fb8ee699b3c1a9.txt"
    assert (tfhub_tree / relative).read_bytes() == committed.read_bytes() == seed.read_bytes()
    assert (CORPUS / relative).read_bytes() == seed.read_bytes()


def test_rule_checker_rejects_old_era_pages_and_missing_publisher(tfhub_tree, tmp_path):
    """The checker can fail: the display-metadata seed and a missing publisher page break rules."""
    tree = tmp_path / "tree"
    shutil.copytree(tfhub_tree, tree)
    old_page = tree / "assets/docs/google/models/imagenet/inception_resnet_v2/feature_vector/1.md"
    shutil.copyfile(SEEDS_DIR / "001_836568f227d077a8.txt", old_page)
    relative_links_page = (
        tree / "assets/docs/google/models/imagenet/inception_v1/feature_vector/1.md"
    )
    shutil.copyfile(SEEDS_DIR / "003_83db91d0e773e4f8.txt", relative_links_page)
    (tree / "assets/docs/google/google.md").unlink()
    problems = "\n".join(check_tree(tree))
    old = "assets/docs/google/models/imagenet/inception_resnet_v2/feature_vector/1.md"
    assert f"{old}: unknown metadata key 'module-type'" in problems
    assert (
        f"{old}: dataset 'ImageNet (ILSVRC-2012-CLS)' is not an id in tags/dataset.yaml" in problems
    )
    assert f"{old}: required metadata key 'task' is missing" in problems
    oldest = "assets/docs/google/models/imagenet/inception_v1/feature_vector/1.md"
    assert f"{oldest}: required metadata key 'format' is missing" in problems
    assert "assets/docs/google/google.md: missing publisher page" in problems


def test_rule_checker_rejects_a_deployment_page_naming_another_parent(tfhub_tree, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(tfhub_tree, tree)
    page = (
        tree / "assets/docs/google/models/imagenet/inception_v1/feature_vector/1/default/tfjs/1.md"
    )
    page.write_text(page.read_text().replace("feature_vector/1 -->", "feature_vector/3 -->"))
    relative = page.relative_to(tree).as_posix()
    assert check_tree(tree) == [
        f"{relative}: parent-model must be google/imagenet/inception_v1/feature_vector/1, "
        "found 'google/imagenet/inception_v1/feature_vector/3'"
    ]
