"""The importer: the registry is exactly what it makes of the corpus; a page it cannot express is
one line, and nothing is written; its naming and lifting rules."""

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hubzoo.importer.build import ImportFailed, ImportOptions
from hubzoo.importer.factor import generalize, lift
from hubzoo.importer.names import family_and_variant, paper_id
from hubzoo.importer.run import import_checkout
from hubzoo.paths import REGISTRY_DIR, REPO_ROOT
from hubzoo.patterns import pattern_variables
from tests.render.corpus import CORPUS, MODEL_PAGES, TAGS

MODELS = "assets/docs/google/models/imagenet"
IMPORT = [sys.executable, str(REPO_ROOT / "scripts" / "import_tfhub_dev.py")]


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` by relative path, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def differences(left: Path, right: Path) -> list[str]:
    """Files only in one tree or different in the two."""
    found: list[str] = []

    def walk(comparison: filecmp.dircmp, prefix: str = "") -> None:
        names = comparison.left_only + comparison.right_only + comparison.diff_files
        found.extend(prefix + name for name in names)
        for name, sub in comparison.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(left, right))
    return sorted(found)


def checkout_of(tmp_path: Path, names: list[str]) -> Path:
    """A checkout holding the pages of some module names, and the publisher page."""
    checkout = tmp_path / "checkout"
    for name in names:
        shutil.copytree(CORPUS / MODELS / name, checkout / MODELS / name)
    shutil.copy(CORPUS / "assets/docs/google/google.md", checkout / "assets/docs/google/google.md")
    return checkout


@pytest.fixture
def registry_copy(tmp_path) -> Path:
    copy = tmp_path / "registry"
    shutil.copytree(REGISTRY_DIR, copy)
    return copy


def test_the_registry_is_what_the_importer_makes_of_the_corpus(registry_copy):
    """Round trip: import -> validate -> render gives the same bytes, and the same files."""
    options = ImportOptions(CORPUS, (), registry_copy, TAGS)
    assert import_checkout(options) == MODEL_PAGES + 1
    assert differences(registry_copy, REGISTRY_DIR) == []


def test_a_fresh_registry_gets_a_whole_family(tmp_path):
    """Migrating: an empty registry with the facts the pages do not state gains a family."""
    registry = tmp_path / "fresh"
    for shared in ("schema", "tags", "preprocessing.yaml", "zoo_facts/mobilenet_v2.yaml"):
        source, target = REGISTRY_DIR / shared, registry / shared
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copyfile)(source, target)
    options = ImportOptions(CORPUS, ("google/imagenet/mobilenet_v2_*",), registry, TAGS)
    assert import_checkout(options) == 352 + 1  # and the publisher page
    assert sorted(path.name for path in (registry / "families").iterdir()) == ["mobilenet_v2.yaml"]
    assert len((registry / "records.lock").read_text().splitlines()) == 352 + 3  # + header


def test_an_inexpressible_page_is_named_and_nothing_is_written(tmp_path):
    checkout = checkout_of(tmp_path, ["inception_v1"])
    page = checkout / MODELS / "inception_v1/feature_vector/3.md"
    page.write_text(page.read_text().replace("conventions.\n", "conventions, usually.\n"))
    broken = checkout / MODELS / "inception_v1/classification/5.md"
    broken.write_text(broken.read_text().replace("# Module ", "# Modul ", 1))
    registry = tmp_path / "registry"
    shutil.copytree(REGISTRY_DIR, registry)
    before = tree(registry)
    with pytest.raises(ImportFailed) as failed:
        import_checkout(ImportOptions(checkout, (), registry, TAGS))
    assert failed.value.failures == [
        (f"{MODELS}/inception_v1/classification/5.md",
         "cannot be read: first line is not '# KIND HANDLE': "
         "'# Modul google/imagenet/inception_v1/classification/5'"),
        ("family inception_v1",
         "the import rewrites it, but its pages of 1 module(s) the registry has are not "
         "imported (e.g. google/imagenet/inception_v1/classification/5); import the whole family"),
    ]  # fmt: skip
    broken.write_text(broken.read_text().replace("# Modul ", "# Module ", 1))
    with pytest.raises(ImportFailed) as failed:
        import_checkout(ImportOptions(checkout, (), registry, TAGS))
    assert failed.value.failures == [
        (f"{MODELS}/inception_v1/feature_vector/3.md",
         "cannot be expressed: line 66 reads 'conventions, usually.', its records give "
         "'conventions.'"),
    ]  # fmt: skip
    assert tree(registry) == before
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_a_changed_page_of_a_published_version_is_refused(tmp_path, registry_copy):
    checkout = checkout_of(tmp_path, ["inception_v1"])
    page = checkout / MODELS / "inception_v1/classification/5.md"
    page.write_text(page.read_text().replace("ImageNetLabels.txt", "ImageNetLabels2.txt"))
    with pytest.raises(ImportFailed) as failed:
        import_checkout(ImportOptions(checkout, (), registry_copy, TAGS))
    where = [where for where, _ in failed.value.failures]
    assert "registry/google/imagenet/inception_v1/classification/5.yaml:2:1" in where
    assert all("published versions are immutable" in why for _, why in failed.value.failures)
    assert differences(registry_copy, REGISTRY_DIR) == []


def test_part_of_a_family_is_refused_with_one_line(registry_copy):
    glob = "google/imagenet/inception_v1/*/5"
    with pytest.raises(ImportFailed) as failed:
        import_checkout(ImportOptions(CORPUS, (glob,), registry_copy, TAGS))
    assert failed.value.failures == [
        ("family inception_v1",
         "the import rewrites it, but its pages of 6 module(s) the registry has are not "
         "imported (e.g. google/imagenet/inception_v1/classification/1); import the whole family"),
    ]  # fmt: skip


def test_a_deployment_needs_its_parent(tmp_path, registry_copy):
    glob = "google/imagenet/inception_v1/feature_vector/1/default/tfjs/1"
    with pytest.raises(ImportFailed) as failed:
        import_checkout(ImportOptions(CORPUS, (glob,), registry_copy, TAGS))
    assert failed.value.failures == [
        (f"{MODELS}/inception_v1/feature_vector/1/default/tfjs/1.md",
         "its parent google/imagenet/inception_v1/feature_vector/1 is not imported"),
    ]  # fmt: skip


def test_the_command_prints_one_line_per_page_and_writes_nothing(tmp_path, registry_copy):
    checkout = checkout_of(tmp_path, ["inception_v1"])
    page = checkout / MODELS / "inception_v1/feature_vector/3.md"
    page.write_text(page.read_text().replace("conventions.\n", "conventions, usually.\n"))
    done = subprocess.run(
        [*IMPORT, str(checkout), "--registry", str(registry_copy), "--tags", str(TAGS)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"{MODELS}/inception_v1/feature_vector/3.md: cannot be expressed: line 66 reads "
        "'conventions, usually.', its records give 'conventions.'",
        f"import failed: 1 problem(s); nothing written to {registry_copy}",
    ]
    assert differences(registry_copy, REGISTRY_DIR) == []


def test_the_command_refuses_a_folder_without_pages(tmp_path):
    done = subprocess.run([*IMPORT, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == f"error: {tmp_path} has no assets/docs folder\n"


def test_module_names_name_families_and_variants():
    assert family_and_variant("mobilenet_v2_035_96") == ("mobilenet_v2", {"depth_multiplier": 0.35})
    assert family_and_variant("mobilenet_v3_small_100_224") == (
        "mobilenet_v3",
        {"size": "small", "depth_multiplier": 1.0},
    )
    assert family_and_variant("resnet_v1_152") == ("resnet_v1", {"layers": 152})
    assert family_and_variant("nasnet_mobile") == ("nasnet", {"size": "mobile"})
    assert family_and_variant("amoebanet_a_n18_f448") == ("amoebanet_a_n18_f448", {})
    assert family_and_variant("inception_resnet_v2") == ("inception_resnet_v2", {})


def test_strings_of_variants_lift_into_one_pattern():
    def variables(name: str, multiplier: float, size: int) -> dict[str, object]:
        return pattern_variables(name, {"depth_multiplier": multiplier, "image_size": size})

    samples = [
        ("mobilenet_v1_1.0_128/mobilenet_v1_1.0_128.ckpt", variables("m_100_128", 1.0, 128)),
        ("mobilenet_v1_0.25_224/mobilenet_v1_0.25_224.ckpt", variables("m_025_224", 0.25, 224)),
    ]
    pattern = (
        "mobilenet_v1_{{ depth_multiplier }}_{{ image_size }}/"
        "mobilenet_v1_{{ depth_multiplier }}_{{ image_size }}.ckpt"
    )
    assert lift(samples, {}) == pattern
    # TF-Slim names the default multiplier's network without a suffix.
    assert lift([("`mobilenet_v1`", variables("m_100_128", 1.0, 128)),
                 ("`mobilenet_v1_025`", variables("m_025_128", 0.25, 128))], {}) == (
        "`mobilenet_v1{{ depth_suffix }}`")  # fmt: skip
    assert lift([("18 cells", variables("a", 1.0, 331)), ("12 cells", variables("b", 1.0, 224))],
                {}) is None  # fmt: skip
    assert generalize("`resnet_v1_50` with 50 layers", [pattern_variables("resnet_v1_50",
                      {"layers": 50})], {}) == "`{{ name }}` with {{ layers }} layers"  # fmt: skip


def test_paper_ids():
    citation = (
        'Barret Zoph, Quoc V. Le: ["Neural Architecture Search\nwith Reinforcement '
        'Learning"](https://arxiv.org/abs/1611.01578), 2017.'
    )
    assert paper_id(citation) == "zoph2017neural"
