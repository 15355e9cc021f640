"""Validation: the registry validates, and each bad file gets its message at its YAML node."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from hubzoo.contract import ALL_SIGNATURES, MODULE_FORMATS, TASKS
from hubzoo.documents import SCHEMA_FILES, policy, schema_path
from hubzoo.facts import MODULE_FACTS, ZOO_FILE_FACTS
from hubzoo.lock import LOCK_FILE
from hubzoo.paths import REGISTRY_DIR, REPO_ROOT
from hubzoo.schema import SUPPORTED_KEYWORDS, keywords_used
from hubzoo.validate import find_record_files, validate
from hubzoo.yamlnodes import load_plain

BAD = Path(__file__).parent / "bad"
VALIDATE = [sys.executable, str(REPO_ROOT / "scripts" / "validate.py")]
MODEL_PAGES = 784

# bad record file -> the problems it must produce: (line, column, part of the message)
EXPECTED = {
    "alias_bomb": [(2, 9, "anchors and aliases are not allowed")],
    "binary_garbage": [(4, 8, "not UTF-8 text (byte 0x80)")],
    "changed_published_facts": [
        (2, 1, "its resolved facts no longer match records.lock line"),
    ],
    "counterpart_missing": [
        (2, 1, "its counterpart google/imagenet/inception_v1/classification/7 has no record"),
    ],
    "deployment_bad_facts": [(4, 9, "facts.demo: 'not a url' is not valid")],
    "deployment_unknown_era": [(4, 8, "era 'tfjs-9' is not in templates/eras.yaml")],
    "deployment_wrong_parent": [
        (2, 9, "parent must be the module the path names, google/imagenet/inception_v1/"),
    ],
    "duplicate_key": [(3, 1, "duplicate key 'family'")],
    "empty": [(1, 1, "empty document")],
    "hparams_without_momentum": [(4, 15, "signature needs batch_norm_momentum")],
    "input_size_below_minimum": [(4, 15, "image_size 64 is below the network's minimum of 75")],
    "malformed_yaml": [(3, 1, "invalid YAML")],
    "not_a_release": [
        (2, 9, "feature_vector/2 is not a release of family inception_v1: its lines and releases"),
    ],
    "pattern_without_variable": [
        (4, 17, "display_name: cannot fill in its pattern: {{ layers }} names no variable"),
    ],
    "python_tag": [
        (4, 8, "YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed")
    ],
    "tabs": [(4, 1, "found character that cannot start any token")],
    "too_large": [(1, 1, "file is larger than 256 KiB")],
    "two_documents": [(3, 1, "more than one YAML document")],
    "unknown_fact_typo": [(4, 3, "unknown key 'facts.num_feature'; did you mean 'num_features'?")],
    "unknown_family": [(2, 9, "family 'inception_v9' is not in the valid families")],
    "unknown_key_typo": [(3, 1, "unknown key 'fact'; did you mean 'facts'?")],
    "unknown_references": [
        (4, 12, "dataset 'imagenet-2012' is not in registry/tags/dataset.yaml"),
        (5, 8, "era 'tf9' is not in templates/eras.yaml; did you mean 'tf2'?"),
        (6, 13, "overview text 'no-such-text' is not in texts.yaml (overview)"),
    ],
    "unknown_variant": [(2, 9, "variant 'inception_v9' is not in family inception_v1")],
    "wrong_task_signature": [
        (4, 15, "signature 'image_classification' does not belong to task image-feature-vector")
    ],
    "wrong_types": [
        (4, 17, "facts.fine_tunable: expected a boolean, found string"),
        (5, 17, "facts.num_features: expected an integer, found string"),
    ],
    "zero_features": [(4, 17, "facts.num_features: must be at least 1, found 0")],
}


def place_in_registry(bad_file: Path, root: Path) -> Path:
    """Copy the real registry to `root` and put `bad_file` at the path its first line names."""
    registry = root / "registry"
    shutil.copytree(REGISTRY_DIR, registry)
    first_line = bad_file.read_bytes().split(b"\n", 1)[0].decode()
    target = registry / first_line.removeprefix("# path: ")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(bad_file, target)
    return target


def edited_registry(root: Path, relative: str, old: str, new: str) -> tuple[Path, int]:
    """A copy of the registry with `old` replaced by `new` in one file; returns the registry and
    the line (1-based) where `new` starts."""
    registry = root / "registry"
    shutil.copytree(REGISTRY_DIR, registry)
    path = registry / relative
    text = path.read_text()
    assert old in text, f"{relative} has no {old!r}"
    edited = text.replace(old, new, 1)
    path.write_text(edited)
    return registry, edited[: edited.index(new)].count("\n") + 1


def test_every_bad_file_has_expectations():
    assert sorted(p.stem for p in BAD.glob("*.yaml")) == sorted(EXPECTED)


def test_registry_is_valid():
    result = validate(REGISTRY_DIR)
    assert result.problems == []
    assert len(result.modules) + len(result.deployments) == MODEL_PAGES
    assert len(find_record_files(REGISTRY_DIR)) == MODEL_PAGES


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_record_reports_each_problem_at_its_node(name, tmp_path):
    target = place_in_registry(BAD / f"{name}.yaml", tmp_path)
    registry = tmp_path / "registry"
    result = validate(registry, [target], base=registry)
    found = [(p.line, p.col, p.message) for p in result.problems]
    assert result.modules == {} and result.deployments == {}
    assert {p.path for p in result.problems} == {str(target.relative_to(registry))}
    assert len(found) == len(EXPECTED[name]), found
    for (line, col, message), (want_line, want_col, want_part) in zip(
        found, EXPECTED[name], strict=True
    ):
        assert (line, col) == (want_line, want_col), found
        assert want_part in message, message


# --- family, zoo facts and shared files: (file, text replaced, replacement, message part) ---

EDITS = {
    "zoo_fact_in_family": (
        "families/inception_v1.yaml", "  num_classes: 1001\n", "  network: inception_v9\n",
        "network is a zoo fact (the pages do not state it): write it in "
        "registry/zoo_facts/inception_v1.yaml",
    ),
    "page_fact_in_zoo_facts": (
        "zoo_facts/inception_v1.yaml", "  min_image_size: 32\n", "  num_features: 12\n",
        "num_features is stated by the pages: it belongs in registry/families/inception_v1.yaml",
    ),
    "zoo_facts_of_an_unknown_release": (
        "zoo_facts/inception_v1.yaml", "      4:\n", "      6:\n",
        "release '6' is not in line standard of family inception_v1",
    ),
    "unknown_changelog_note": (
        "families/inception_v1.yaml", "changes: [initial-release]", "changes: [initial-releases]",
        "changelog note 'initial-releases' is not in changelog.yaml",
    ),
    "unknown_collection": (
        "families/inception_v1.yaml", "  collection: tf-slim\n", "  collection: tf-slimm\n",
        "collection 'tf-slimm' is not in collections.yaml; did you mean 'tf-slim'?",
    ),
    "citation_without_link": (
        "papers.yaml", "(https://arxiv.org/abs/1512.03385)", " (arXiv:1512.03385)",
        "paper 'he2015deep': a citation links the paper, as [TEXT](URL)",
    ),
    "overview_cites_unknown_paper": (
        "texts.yaml", "[[szegedy2016inception]]", "[[nobody2020]]",
        "cites paper 'nobody2020', not in papers.yaml",
    ),
    "missing_required_fact": (
        "families/inception_v1.yaml", "  dataset: imagenet-ilsvrc-2012-cls\n", "  colab: null\n",
        "no layer states dataset (family, zoo facts or this record)",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EDITS))
def test_shared_files_report_each_problem_at_its_node(name, tmp_path):
    relative, old, new, part = EDITS[name]
    registry, line = edited_registry(tmp_path, relative, old, new)
    problems = validate(registry, base=registry).problems
    assert problems, f"{name}: no problem found"
    matching = [p for p in problems if part in p.message]
    assert matching, [str(p) for p in problems]
    located = [p for p in matching if p.path == relative]
    if located:  # a problem of the edited file points at the edit, or at the text or mapping
        # that holds it (a few lines up), or at a mapping value starting on the next line
        assert all(line - 10 <= p.line <= line + 1 for p in located), [str(p) for p in located]
    else:  # a problem the edit causes in the records, at their files
        assert all(p.path.startswith("google/") and (p.line, p.col) == (2, 1) for p in matching)


def test_a_missing_template_is_reported_at_its_era(tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(REPO_ROOT / "templates", templates)
    (templates / "module" / "tf2.md.j2").unlink()
    result = validate(REGISTRY_DIR, base=tmp_path, templates_dir=templates)
    messages = {(p.path, p.message) for p in result.problems}
    assert (
        "templates/eras.yaml",
        "era 'tf2': template module/tf2.md.j2 does not exist",
    ) in messages


# --- the lock ---------------------------------------------------------------------------------


def test_a_record_without_a_lock_line_is_reported_with_the_command_to_lock_it(tmp_path):
    handle = "google/imagenet/inception_v1/feature_vector/1"
    registry, _ = edited_registry(tmp_path, LOCK_FILE, f"{handle} ", f"{handle}-gone ")
    problems = [str(p) for p in validate(registry, base=registry).problems]
    lock_line = next(n for n, line in enumerate((registry / LOCK_FILE).read_text().split("\n"), 1)
                     if line.startswith(f"{handle}-gone "))  # fmt: skip
    assert problems == [
        f"{handle}.yaml:2:1: not in records.lock: lock this new version with "
        f"scripts/lock_records.py {handle}",
        f"records.lock:{lock_line}:1: {handle}-gone is locked but has no record file: published "
        "versions stay",
    ]


def test_a_malformed_lock_line_is_located(tmp_path):
    registry, line = edited_registry(tmp_path, LOCK_FILE, "# The sha256", "not a lock line\n#")
    problems = [str(p) for p in validate(registry, base=registry).problems]
    assert f"records.lock:{line}:1: expected 'HANDLE SHA256'" in problems


def test_a_change_to_a_family_fails_every_published_record_it_changes(tmp_path):
    registry, _ = edited_registry(
        tmp_path, "zoo_facts/inception_v1.yaml", "min_image_size: 32", "min_image_size: 16"
    )
    problems = validate(registry, base=registry).problems
    assert len(problems) == 8  # inception_v1's modules; its deployments' facts did not change
    assert all("published versions are immutable" in p.message for p in problems)


def test_relocking_accepts_unpublished_versions_and_refuses_published_ones(tmp_path):
    registry, _ = edited_registry(
        tmp_path, "zoo_facts/inception_v1.yaml", "min_image_size: 32", "min_image_size: 16"
    )
    store = tmp_path / "store" / "google/imagenet/inception_v1/feature_vector"
    store.mkdir(parents=True)
    manifest = {
        "handle": "google/imagenet/inception_v1/feature_vector/1", "sha256": "ab" * 32,
        "bytes": 1, "published_at": "2026-11-24T10:00:00Z", "format": "hub", "record_digest": "cd" * 32,
        "checkpoint_sha256": "synthetic", "hubzoo_version": "0.1.0",
        "tensorflow_version": "2.21.0", "smoke": {},
    }  # fmt: skip
    (store / "1.json").write_text(json.dumps(manifest))
    command = [sys.executable, str(REPO_ROOT / "scripts" / "lock_records.py")]
    done = subprocess.run(
        [*command, "--registry", str(registry), "--store", str(tmp_path / "store"),
         "google/imagenet/inception_v1/*"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == (
        "refused: google/imagenet/inception_v1/feature_vector/1: published in "
        f"{tmp_path / 'store'}; published versions are immutable, publish a new version\n"
    )
    assert "locked 7 record(s), 4 already current, 1 refused" in done.stdout  # 4 deployments
    problems = validate(registry, base=registry).problems
    assert [p.path for p in problems] == ["google/imagenet/inception_v1/feature_vector/1.yaml"]


# --- the command ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["python_tag", "alias_bomb", "binary_garbage", "tabs", "empty"])
def test_command_reports_without_traceback(name, tmp_path):
    target = place_in_registry(BAD / f"{name}.yaml", tmp_path)
    done = subprocess.run(
        [*VALIDATE, "--registry", str(tmp_path / "registry"), str(target)],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    line, col, part = EXPECTED[name][0]
    assert f"registry/{target.relative_to(tmp_path / 'registry')}:{line}:{col}: " in done.stdout
    assert part in done.stdout


def test_python_tag_is_never_constructed(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "bad.yaml"
    text = (BAD / "python_tag.yaml").read_text().replace("echo pwned", f"touch {marker}")
    bad.write_text(text)
    target = place_in_registry(bad, tmp_path)
    subprocess.run([*VALIDATE, "--registry", str(tmp_path / "registry"), str(target)], timeout=60)
    assert not marker.exists()


def test_a_file_outside_the_registry_is_not_a_record(tmp_path):
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("family: inception_v1\n")
    result = validate(REGISTRY_DIR, [outside], base=tmp_path)
    assert [(p.path, p.message) for p in result.problems] == [
        ("elsewhere.yaml", f"not a record: its path is not a handle ({REGISTRY_DIR})")
    ]


def test_command_passes_with_summary():
    done = subprocess.run(VALIDATE, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"ok: {MODEL_PAGES} record(s) valid")
    assert len(done.stdout.splitlines()) == 1


def test_command_does_not_import_tensorflow():
    script = REPO_ROOT / "scripts" / "validate.py"
    probe = (
        f"import runpy, sys\nsys.argv = [{str(script)!r}]\n"
        "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "assert 'tensorflow' not in sys.modules, 'validate imported tensorflow'\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_two_records_with_one_handle_are_refused(tmp_path):
    registry = tmp_path / "registry"
    shutil.copytree(REGISTRY_DIR, registry)
    record = registry / "google/imagenet/inception_v1/feature_vector/1.yaml"
    shutil.copyfile(record, record.with_suffix(".yml"))
    result = validate(registry, base=tmp_path)
    assert [p.message for p in result.problems] == [
        "handle 'google/imagenet/inception_v1/feature_vector/1' is also used by "
        "registry/google/imagenet/inception_v1/feature_vector/1.yaml"
    ]


# --- the schema files and the code agree ------------------------------------------------------


def test_policies_use_only_keywords_the_code_implements():
    for kind in SCHEMA_FILES:
        assert keywords_used(policy(kind)) <= SUPPORTED_KEYWORDS, kind


def test_the_schema_files_list_the_contract_names_for_editors():
    facts_schema = json.loads(schema_path("record").with_name("facts.schema.json").read_text())
    definitions = facts_schema["$defs"]
    assert definitions["task"]["enum"] == list(TASKS)
    module_facts = definitions["module_facts"]["properties"]
    assert module_facts["format"]["enum"] == list(MODULE_FORMATS)
    assert module_facts["signatures"]["items"]["enum"] == list(ALL_SIGNATURES)


def test_every_fact_the_code_names_is_a_fact_of_the_schema():
    from hubzoo import facts

    named = {*facts.MODULE_DEFAULTS, *facts.PATTERN_FACTS, *facts.TEXT_FACTS,
             *facts.VARIANT_FACTS, *ZOO_FILE_FACTS, *facts.REQUIRED_MODULE_FACTS,
             *facts.STATED_MODULE_FACTS}  # fmt: skip
    assert named <= MODULE_FACTS


def _as_json(value):
    return json.loads(json.dumps(value))


def _jsonschema_validator(kind: str) -> jsonschema.Draft202012Validator:
    """The schema file of `kind`, as jsonschema reads it (its $refs resolved from the folder)."""
    from referencing import Registry, Resource

    folder = schema_path("record").parent
    schemas = [json.loads(path.read_text()) for path in sorted(folder.glob("*.schema.json"))]
    resources = [(schema["$id"], Resource.from_contents(schema)) for schema in schemas]
    schema = json.loads(schema_path(kind).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=Registry().with_resources(resources))


def test_jsonschema_accepts_every_record_the_code_accepts():
    validators = {kind: _jsonschema_validator(kind) for kind in ("record", "deployment")}
    for path in find_record_files(REGISTRY_DIR):
        data = _as_json(load_plain(path, str(path)))
        validators["deployment" if "parent" in data else "record"].validate(data)
    family = _jsonschema_validator("family")
    for path in sorted((REGISTRY_DIR / "families").glob("*.yaml")):
        family.validate(_as_json(load_plain(path, str(path))))


SCHEMA_LEVEL_CASES = [
    "deployment_bad_facts", "unknown_fact_typo", "unknown_key_typo", "wrong_types",
    "zero_features",
]  # fmt: skip


@pytest.mark.parametrize("name", SCHEMA_LEVEL_CASES)
def test_jsonschema_rejects_what_the_code_rejects_by_schema(name):
    data = _as_json(yaml.safe_load((BAD / f"{name}.yaml").read_text()))
    kind = "deployment" if "parent" in data else "record"
    with pytest.raises(jsonschema.ValidationError):
        _jsonschema_validator(kind).validate(data)


# --- checking in forked processes -------------------------------------------------------------


@pytest.fixture
def registry_with_problems(tmp_path) -> Path:
    """A registry copy whose inception_resnet_v2 modules (and so their deployments) and one
    mobilenet record have problems."""
    registry, _ = edited_registry(
        tmp_path, "families/inception_resnet_v2.yaml", "{image_size: 299}", "{image_size: 64}"
    )
    record = registry / "google/imagenet/mobilenet_v2_035_96/feature_vector/4.yaml"
    record.write_text(record.read_text() + "facts: {num_features: .nan}\n")
    return registry


def test_records_checked_in_forked_processes_are_those_checked_in_one(
    registry_with_problems, monkeypatch
):
    import hubzoo.validate

    serial = validate(registry_with_problems, base=registry_with_problems)
    assert len(serial.problems) == 9 and len(serial.modules) > 500
    monkeypatch.setattr(hubzoo.validate, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)  # this process and two children
    parallel = validate(registry_with_problems, base=registry_with_problems)
    assert parallel.problems == serial.problems
    assert parallel.modules == serial.modules and parallel.deployments == serial.deployments
    assert (
        parallel.files_checked
        == serial.files_checked
        == len(find_record_files(registry_with_problems))
    )


def test_a_failing_child_is_replaced_by_its_parent(registry_with_problems, monkeypatch):
    """What a forked child fails to check, its parent checks: the same results."""
    import hubzoo.validate

    serial = validate(registry_with_problems, base=registry_with_problems)
    parent, check_all = os.getpid(), hubzoo.validate.RecordChecker.check_all

    def failing_in_children(self, files):
        if os.getpid() != parent:
            raise RuntimeError("a child fails")
        return check_all(self, files)

    monkeypatch.setattr(hubzoo.validate.RecordChecker, "check_all", failing_in_children)
    monkeypatch.setattr(hubzoo.validate, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    parallel = validate(registry_with_problems, base=registry_with_problems)
    assert parallel.problems == serial.problems and parallel.modules == serial.modules


def test_no_process_to_fork_leaves_the_parent_checking_everything(
    registry_with_problems, monkeypatch
):
    import hubzoo.validate

    serial = validate(registry_with_problems, base=registry_with_problems)

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.setattr(hubzoo.validate, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    parallel = validate(registry_with_problems, base=registry_with_problems)
    assert parallel.problems == serial.problems and parallel.modules == serial.modules
