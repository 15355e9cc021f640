"""The mkdocs site: strict build, build-time facts from the store, indexes, catalog.json."""

import json
import re
import shutil
from html import unescape

import pytest

from hubzoo.errors import HubzooError
from hubzoo.paths import DOCS_DIR
from hubzoo.registry import load_registry
from hubzoo.render import page_path, renderer_of
from hubzoo.site.build import build_site, zoo_url_of
from hubzoo.store import open_store
from tests.site.conftest import (
    DEPLOYMENT_HANDLE,
    SITE_MODULES,
    SYNTHETIC_HANDLE,
    TRAINED_HANDLE,
    mkdocs_build,
)

UNPUBLISHED_HANDLE = "google/imagenet/inception_resnet_v2/feature_vector/1"


def html_of(site_dir, handle: str) -> str:
    return (site_dir / "modules" / handle / "index.html").read_text(encoding="utf-8")


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def code_blocks(html: str) -> list[str]:
    """The text of each code block, as a reader copies it."""
    blocks = re.findall(r"<pre[^>]*>(.*?)</pre>", html, re.S)
    return [unescape(re.sub(r"<[^>]+>", "", block)) for block in blocks]


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
    handle = "google/imagenet/mobilenet_v3_small_100_224/classification/5"
    text = visible_text(html_of(site_dir, handle))
    assert (
        "Family: MobileNet V3 · Variant: mobilenet_v3_small_100_224 · Version: 5 (latest) · "
        "License: not stated" in text
    )
    assert (
        "Preprocessing: the module does it: TF-Slim's Inception-style preprocessing: [0, 1] to "
        "[-1, 1]. Pass it color values in [0, 1]" in text
    )
    assert "Deployments: TF Lite · TF.js · TF Lite (metadata)" in text
    for deployment in ("lite/default/1", "tfjs/default/1", "lite/metadata/1"):
        kind, name, version = deployment.split("/")
        assert f"{handle}/{name}/{kind}/{version} " in text, deployment
    assert "Not published in this zoo yet" in text


def test_a_deployment_page_with_a_width_erratum_says_so(site_dir):
    erratum = "google/imagenet/mobilenet_v3_large_100_224/feature_vector/5/default/lite/1"
    text = visible_text(html_of(site_dir, erratum))
    assert (
        "This page states the wrong output width The page below states feature vectors of 1024, "
        "as tfhub.dev published it. The converted model, like its parent, outputs 1280 features"
    ) in text
    assert "of shape [batch_size, 1024]" in text
    correct = visible_text(html_of(site_dir, erratum.replace("large_100", "small_100")))
    assert "of shape [batch_size, 1024]" in correct and "wrong output width" not in correct


def test_model_page_loads_the_archive_from_the_zoo(site_dir):
    """The snippet and the download link point at ZOO_URL/HANDLE.tar.gz (mkdocs.yml's zoo_url);
    a TF1 Hub format module is called through its signature."""
    html = html_of(site_dir, SYNTHETIC_HANDLE)
    url = f"http://127.0.0.1:8000/{SYNTHETIC_HANDLE}.tar.gz"
    load, keras = code_blocks(html)[:2]
    assert f'url = "{url}"\nmodule = hub.load(url)\n' in load
    assert 'outputs = module.signatures["image_feature_vector"](images=images)' in load
    assert 'features = outputs["default"]  # shape [2, 1024]' in load
    assert f'url = "{url}"' in keras
    assert 'hub.KerasLayer(url, signature="image_feature_vector", output_key="default")' in keras
    assert f'href="{url}"' in html
    assert "hub.KerasLayer refuses trainable=True for it" in visible_text(html)
    tf2 = code_blocks(
        html_of(site_dir, "google/imagenet/mobilenet_v3_small_100_224/classification/5")
    )
    assert not any("127.0.0.1:8000" in block for block in tf2)  # not published: nothing to load


def test_model_page_lists_the_module_versions_with_the_latest_marked(site_dir):
    older = "google/imagenet/inception_v2/feature_vector/1"
    text = visible_text(html_of(site_dir, older))
    assert "Version: 1 (latest: 3)" in text
    assert (
        "Version Format Status 3 TF1 Hub format published latest 1 TF1 Hub format — this page"
        in (text)
    )
    assert "Published: version 3 ." in text
    assert 'href="../3/"' in html_of(site_dir, older)
    newest = visible_text(html_of(site_dir, TRAINED_HANDLE))
    assert "3 TF1 Hub format published latest this page 1 TF1 Hub format —" in newest


def test_published_deployment_has_its_download_link(site_dir, store_dir):
    manifest = open_store(str(store_dir)).get_manifest(DEPLOYMENT_HANDLE).to_json()
    url = f"http://127.0.0.1:8000/{DEPLOYMENT_HANDLE}.tar.gz"
    parent = html_of(site_dir, SYNTHETIC_HANDLE)
    assert f'<a href="{url}" title="sha256 {manifest["sha256"]}">download</a>' in parent
    assert f"{DEPLOYMENT_HANDLE} TF.js synthetic download ({manifest['bytes']} B)" in (
        visible_text(parent)
    )
    page = visible_text(html_of(site_dir, DEPLOYMENT_HANDLE))
    assert f"Deployment of: {SYNTHETIC_HANDLE} · Runtime: TF.js" in page
    assert "Built from a SYNTHETIC checkpoint" in page
    assert f"sha256: {manifest['sha256']}" in page
    other = visible_text(
        html_of(site_dir, "google/imagenet/inception_v1/classification/1/default/tfjs/1")
    )
    assert "Not published in this zoo yet" in other and "Published archive" not in other


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
    assert "Not published in this zoo yet" in text and "Published artifact" not in text
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
    assert "inception_v1 features 1 latest TF1 Hub 224 fixed 1024 5.6 M synthetic 193 B passed" in (
        text
    )
    assert "inception_v2 features 3 latest TF1 Hub 224 any 1024 10.2 M published 193 B failed" in (
        text
    )
    assert text.count("hz-status--unpublished") == 0
    assert html.count("hz-status--unpublished") == len(registry.modules) - 2


def test_family_pages_list_their_module_versions(site_dir, registry):
    index = visible_text((site_dir / "families" / "index.html").read_text())
    assert "Inception V2 Inception V2 1 1, 3 4 4 1" in index
    page = (site_dir / "families" / "inception_v2" / "index.html").read_text()
    linked = set(re.findall(r'title="(google/[^"]+)"', page))
    assert linked == {h for h in registry.modules if "/inception_v2/" in h} | {
        h for h in registry.deployments if "/inception_v2/" in h
    }
    home = (site_dir / "index.html").read_text()
    menu = re.findall(r'href="families/(\w+)/"', home)
    assert sorted(set(menu)) == [
        "inception_resnet_v2",
        "inception_v1",
        "inception_v2",
        "mobilenet_v3",
    ]
    assert "modules/google" not in re.sub(r"<article.*</article>", "", home, flags=re.S)


def test_sitemap_lists_every_page_at_the_site_url(site_dir, registry):
    sitemap = (site_dir / "sitemap.xml").read_text()
    locations = set(re.findall(r"<loc>(.*?)</loc>", sitemap))
    for handle in [*registry.modules, *registry.deployments]:
        assert f"http://127.0.0.1:8000/modules/{handle}/" in locations
    assert {"http://127.0.0.1:8000/compare/", "http://127.0.0.1:8000/families/"} <= locations


def test_not_found_page_is_the_sites_own(site_dir):
    html = (site_dir / "404.html").read_text()
    assert "Page not found" in html
    assert 'href="/families/"' in html and 'href="/compare/"' in html
    assert 'href="/assets/stylesheets/' in html  # absolute: it works at any depth


def test_strict_build_fails_on_a_broken_anchor(tmp_path, site_project, store_dir):
    """--strict means something: rename the heading the oldest pages link to and the build fails."""
    project = tmp_path / "project"
    shutil.copytree(site_project.parent, project)
    signatures = project / "docs" / "common_signatures" / "images.md"
    signatures.write_text(signatures.read_text().replace("## Image Input", "## Image Inputs"))
    result = mkdocs_build(project / "mkdocs.yml", tmp_path / "site", store_dir)
    assert result.returncode != 0
    assert "images.md#image-input" in result.stderr


def test_zoo_url_is_the_builds_else_an_http_store_else_mkdocs_yml():
    configured = "http://127.0.0.1:8000/"
    assert zoo_url_of("https://zoo.example/", "https://bucket.example/z/", configured) == (
        "https://zoo.example/"
    )
    assert zoo_url_of(None, "https://bucket.example/z/", configured) == "https://bucket.example/z/"
    assert zoo_url_of(None, "s3://bucket/z", configured) == configured
    assert zoo_url_of(None, None, configured) == configured
    with pytest.raises(HubzooError, match="no zoo URL"):
        zoo_url_of(None, "/srv/store", None)


def test_build_site_uses_the_site_and_zoo_urls_it_is_given(tmp_path, site_project, store_dir):
    site = tmp_path / "site"
    build_site(
        site,
        str(store_dir),
        site_project.parent / "registry",
        site_project,
        site_url="https://example.org/zoo-site/",
        zoo_url="https://models.example.org/zoo",
    )
    url = f"https://models.example.org/zoo/{SYNTHETIC_HANDLE}.tar.gz"
    assert f'url = "{url}"' in code_blocks(html_of(site, SYNTHETIC_HANDLE))[0]
    catalog = json.loads((site / "catalog.json").read_text())
    module = next(m for m in catalog["modules"] if m["handle"] == SYNTHETIC_HANDLE)
    assert module["artifact"]["url"] == url
    assert module["deployments"][0]["artifact"]["url"] == (
        f"https://models.example.org/zoo/{DEPLOYMENT_HANDLE}.tar.gz"
    )
    locations = re.findall(r"<loc>(.*?)</loc>", (site / "sitemap.xml").read_text())
    assert locations and all(loc.startswith("https://example.org/zoo-site/") for loc in locations)
    assert 'href="/zoo-site/compare/"' in (site / "404.html").read_text()
