"""The mkdocs site: strict build, build-time facts from the store, indexes, catalog.json."""

import json
import re
import shutil

import pytest

from hubzoo.paths import DOCS_DIR
from hubzoo.registry import load_registry
from hubzoo.render import page_path, renderer_of
from hubzoo.store import open_store
from tests.site.conftest import SITE_MODULES, SYNTHETIC_HANDLE, TRAINED_HANDLE, mkdocs_build

UNPUBLISHED_HANDLE = "google/imagenet/inception_resnet_v2/feature_vector/1"


def html_of(site_dir, handle: str) -> str:
    return (site_dir / "modules" / handle / "index.html").read_text(encoding="utf-8")


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture(scope="module")
def registry(site_project):
    """The small project's registry."""
    return load_registry(site_project.parent / "registry")


def test_every_page_is_built(site_dir, registry):
    assert sorted(registry.modules) == sorted(SITE_MODULES)
    everything = load_registry()
    assert set(registry.deployments) == {
        handle for handle, d in everything.deployments.items() if d.parent in SITE_MODULES
    }
    for handle in [*registry.modules, *registry.deployments]:
        assert (site_dir / "modules" / handle / "index.html").is_file()
    for page in ("browse/task", "browse/architecture", "browse/dataset", "browse/publisher",
                 "compare", "common_signatures/images", "fine_tuning"):  # fmt: skip
        assert (site_dir / page / "index.html").is_file(), page
    assert (site_dir / "search" / "search_index.json").is_file()


def test_building_leaves_the_committed_pages_as_records_render_them(site_dir, registry):
    renderer = renderer_of(registry)
    for handle, record in registry.modules.items():
        committed = (DOCS_DIR / page_path(handle)).read_text(encoding="utf-8")
        assert committed == renderer.module_page(record, docs=True)
        assert "At a glance" not in committed
        assert "At a glance" in html_of(site_dir, handle)


def test_model_page_shows_family_preprocessing_license_and_deployments(site_dir):
    text = visible_text(
        html_of(site_dir, "google/imagenet/mobilenet_v3_small_100_224/classification/5")
    )
    assert "Family: mobilenet_v3 · Variant: mobilenet_v3_small_100_224 · Version: 5" in text
    assert "License: not stated" in text
    assert (
        "Preprocessing: [0, 1]; TF-Slim's Inception-style preprocessing: [0, 1] to [-1, 1]" in text
    )
    assert "Deployments: lite/default/1 · tfjs/default/1 · lite/metadata/1" in text


def test_synthetic_artifact_is_flagged_with_its_facts(site_dir, store_dir):
    manifest = open_store(str(store_dir)).get_manifest(SYNTHETIC_HANDLE).to_json()
    text = visible_text(html_of(site_dir, SYNTHETIC_HANDLE))
    assert "Built from a SYNTHETIC checkpoint" in text
    assert f"sha256: {manifest['sha256']}" in text
    assert f"{SYNTHETIC_HANDLE}.tar.gz , {manifest['bytes']} bytes" in text
    assert "Smoke test: passed on CPU, TensorFlow 2.21.0" in text
    assert "batch 1: 41.2 ms · batch 8: 230.5 ms" in text


def test_trained_artifact_shows_its_failed_smoke_test(site_dir):
    html = html_of(site_dir, TRAINED_HANDLE)
    assert "SYNTHETIC" not in html
    assert 'class="admonition failure"' in html
    assert "Smoke test: failed on CPU" in visible_text(html)


def test_unpublished_module_says_so(site_dir):
    text = visible_text(html_of(site_dir, UNPUBLISHED_HANDLE))
    assert "Not published yet" in text and "Published artifact" not in text
    assert "Parameters: 54,276,192" in text


def test_model_page_links_to_its_indexes(site_dir):
    html = html_of(site_dir, SYNTHETIC_HANDLE)
    root = "../../../../../../"
    for link in ("browse/task/#image-feature-vector", "browse/architecture/#inception-v1",
                 "browse/dataset/#imagenet-ilsvrc-2012-cls", "browse/publisher/#google"):  # fmt: skip
        assert f'href="{root}{link}"' in html
        target, anchor = link.split("#")
        assert f'id="{anchor}"' in (site_dir / target / "index.html").read_text()


def test_signature_page_has_the_anchors_the_oldest_pages_link(site_dir):
    html = (site_dir / "common_signatures" / "images" / "index.html").read_text()
    for anchor in ("image-input", "image-feature-vector", "image-classification"):
        assert f'id="{anchor}"' in html


def test_catalog_lists_every_module_with_artifacts(site_dir, store_dir, registry):
    catalog = json.loads((site_dir / "catalog.json").read_text())
    modules = {module["handle"]: module for module in catalog["modules"]}
    assert set(modules) == set(registry.modules)
    manifests = {m.handle: m.to_json() for m in open_store(str(store_dir)).list_manifests()}
    for handle, module in modules.items():
        artifact = module["artifact"]
        if handle in manifests:
            assert artifact["sha256"] == manifests[handle]["sha256"]
            assert artifact["bytes"] == manifests[handle]["bytes"]
            assert artifact["synthetic_checkpoint"] == (handle == SYNTHETIC_HANDLE)
        else:
            assert artifact is None
        assert (site_dir / module["page"] / "index.html").is_file()
    classifier = modules["google/imagenet/inception_v1/classification/1"]
    assert classifier["parameters"] == 5_592_624 + 1001 * (1024 + 1)
    assert classifier["input"] == {"kind": "fixed", "height": 224, "width": 224, "range": [0, 1]}
    assert (classifier["family"], classifier["variant"], classifier["version"]) == (
        "inception_v1",
        "inception_v1",
        1,
    )
    assert classifier["format"] == "hub" and classifier["license"] is None
    assert classifier["preprocessing"] == {
        "id": "inception",
        "description": "TF-Slim's Inception-style preprocessing: [0, 1] to [-1, 1]",
        "scale": 2.0,
        "offset": [-1.0, -1.0, -1.0],
        "output_range": [-1.0, 1.0],
    }
    assert [d["handle"] for d in classifier["deployments"]] == [
        "google/imagenet/inception_v1/classification/1/default/tfjs/1"
    ]
    for deployment in classifier["deployments"]:
        assert (site_dir / deployment["page"] / "index.html").is_file()


def test_comparison_table_has_a_row_per_module(site_dir, registry):
    html = (site_dir / "compare" / "index.html").read_text()
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>", html, re.S)
    assert len(rows) == len(registry.modules)
    text = visible_text(html)
    assert "193 bytes SYNTHETIC passed on CPU 41.2 ms @ batch 1" in text
    assert text.count("not published") == len(registry.modules) - 2


def test_strict_build_fails_on_a_broken_anchor(tmp_path, site_project, store_dir):
    """--strict means something: rename the heading the oldest pages link to and the build fails."""
    project = tmp_path / "project"
    shutil.copytree(site_project.parent, project)
    signatures = project / "docs" / "common_signatures" / "images.md"
    signatures.write_text(signatures.read_text().replace("## Image Input", "## Image Inputs"))
    result = mkdocs_build(project / "mkdocs.yml", tmp_path / "site", store_dir)
    assert result.returncode != 0
    assert "images.md#image-input" in result.stderr
