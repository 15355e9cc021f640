"""The record policy: the registry validates, and each bad record gets its message at its node."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from hubzoo.paths import REGISTRY_DIR, REPO_ROOT
from hubzoo.schema import SUPPORTED_KEYWORDS, keywords_used, load_schema
from hubzoo.validate import find_record_files, validate
from hubzoo.yamlnodes import load_plain

BAD_RECORDS = Path(__file__).parent / "bad_records"
VALIDATE = [sys.executable, str(REPO_ROOT / "scripts" / "validate.py")]

# bad record file -> the problems it must produce: (line, column, part of the message)
EXPECTED = {
    "alias_bomb": [(31, 4, "anchors and aliases are not allowed")],
    "bad_sha256": [(22, 11, "checkpoint.sha256: expected a string, found integer")],
    "binary_garbage": [(3, 118, "not UTF-8 text (byte 0x80)")],
    "changelog_missing_version": [(26, 3, "changelog has no entry for this record's version 2")],
    "counterpart_missing": [
        (24, 14, "counterpart 'google/imagenet/inception_v1/classification/7'")
    ],
    "duplicate_key": [(10, 1, "duplicate key 'format'")],
    "empty": [(1, 1, "empty document")],
    "handle_absolute": [
        (3, 9, "handle: '/google/imagenet/inception_v1/feature_vector/1' is not valid")
    ],
    "handle_mismatch": [
        (3, 9, "expected 'google/imagenet/inception_v1/feature_vector/1'"),
        (26, 3, "changelog has no entry for this record's version 2"),
    ],
    "handle_traversal": [(3, 9, "handle: 'google/../../etc/passwd/1' is not valid")],
    "hparams_without_momentum": [(23, 13, "signature needs batch_norm_momentum")],
    "input_size_below_minimum": [
        (14, 11, "input_size.height 64 is below Inception ResNet V2's minimum of 75")
    ],
    "list_where_map": [(12, 13, "input_size: expected a mapping, found list")],
    "malformed_yaml": [(5, 10, "invalid YAML")],
    "map_where_list": [(24, 3, "signatures: expected a list, found mapping")],
    "python_tag": [
        (16, 15, "YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed")
    ],
    "tabs": [(14, 1, "tab character: YAML indentation must use spaces")],
    "too_large": [(1, 1, "file is larger than 256 KiB")],
    "two_documents": [(31, 1, "more than one YAML document")],
    "unknown_key_typo": [(16, 1, "unknown key 'num_feature'; did you mean 'num_features'?")],
    "unknown_references": [
        (5, 12, "publisher 'gogle' has no file in registry/publishers/; did you mean 'google'?"),
        (5, 12, "publisher 'gogle' must be the handle's first segment"),
        (6, 15, "architecture 'inception_v9' has no file in registry/architectures/"),
    ],
    "unknown_vocabulary": [
        (7, 10, "dataset 'imagenet-2012' is not an id in registry/tags/dataset.yaml")
    ],
    "wrong_task_output": [
        (8, 7, "task image-feature-vector needs num_features"),
        (16, 14, "num_classes does not apply to task image-feature-vector; use num_features"),
    ],
    "wrong_types": [
        (10, 15, "fine_tunable: expected a boolean, found string"),
        (16, 15, "num_features: expected an integer, found string"),
    ],
    "zero_features": [(16, 15, "num_features: must be at least 1, found 0")],
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


def test_every_bad_record_has_expectations():
    assert sorted(p.stem for p in BAD_RECORDS.glob("*.yaml")) == sorted(EXPECTED)


def test_registry_is_valid():
    result = validate(REGISTRY_DIR)
    assert result.problems == []
    assert len(result.records) == len(find_record_files(REGISTRY_DIR)) == 6


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_record_reports_each_problem_at_its_node(name, tmp_path):
    target = place_in_registry(BAD_RECORDS / f"{name}.yaml", tmp_path)
    result = validate(tmp_path / "registry", [target], base=tmp_path / "registry")
    found = [(p.line, p.col, p.message) for p in result.problems]
    assert result.records == []
    assert len(found) == len(EXPECTED[name]), found
    for (line, col, message), (want_line, want_col, want_part) in zip(
        found, EXPECTED[name], strict=True
    ):
        assert (line, col) == (want_line, want_col), found
        assert want_part in message


@pytest.mark.parametrize("name", ["python_tag", "alias_bomb", "binary_garbage", "tabs", "empty"])
def test_command_reports_without_traceback(name, tmp_path):
    target = place_in_registry(BAD_RECORDS / f"{name}.yaml", tmp_path)
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
    text = (BAD_RECORDS / "python_tag.yaml").read_text().replace("echo pwned", f"touch {marker}")
    bad.write_text(text)
    target = place_in_registry(bad, tmp_path)
    subprocess.run([*VALIDATE, "--registry", str(tmp_path / "registry"), str(target)], timeout=60)
    assert not marker.exists()


def test_command_reports_every_problem_of_every_file(tmp_path):
    first = place_in_registry(BAD_RECORDS / "wrong_types.yaml", tmp_path)
    second = tmp_path / "registry/google/imagenet/inception_v2/feature_vector/3.yaml"
    second.write_text(
        second.read_text().replace("dataset: imagenet-ilsvrc-2012-cls", "dataset: nope")
    )
    done = subprocess.run(
        [*VALIDATE, "--registry", str(tmp_path / "registry")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    first_display = str(first.relative_to(tmp_path))
    second_display = str(second.relative_to(tmp_path))
    assert [line.split(":")[0] for line in lines] == [first_display, first_display, second_display]
    assert "dataset 'nope'" in lines[2]


def test_command_passes_with_summary():
    done = subprocess.run(VALIDATE, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok: 6 record(s) valid")
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


def test_shared_data_problems_are_reported(tmp_path):
    registry = tmp_path / "registry"
    shutil.copytree(REGISTRY_DIR, registry)
    arch = registry / "architectures" / "inception_v1.yaml"
    arch.write_text(arch.read_text().replace("[[szegedy2015going]]", "[[nobody2020]]"))
    result = validate(registry, base=tmp_path)
    messages = [p.message for p in result.problems]
    assert "paper 'nobody2020' is not in registry/papers.yaml" in messages


# --- the schema file and the code agree -------------------------------------------------------


def test_schema_uses_only_keywords_the_code_implements():
    assert keywords_used(load_schema()) <= SUPPORTED_KEYWORDS


def _as_json(value):
    return json.loads(json.dumps(value))


def test_jsonschema_accepts_every_record_the_code_accepts():
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in find_record_files(REGISTRY_DIR):
        jsonschema.validate(_as_json(load_plain(path, str(path))), schema)


SCHEMA_LEVEL_CASES = [
    "bad_sha256", "handle_absolute", "handle_traversal", "list_where_map", "map_where_list",
    "unknown_key_typo", "wrong_types", "zero_features",
]  # fmt: skip


@pytest.mark.parametrize("name", SCHEMA_LEVEL_CASES)
def test_jsonschema_rejects_what_the_code_rejects_by_schema(name):
    data = _as_json(yaml.safe_load((BAD_RECORDS / f"{name}.yaml").read_text()))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, load_schema())


CODE_LEVEL_CASES = [
    "changelog_missing_version", "counterpart_missing", "handle_mismatch",
    "hparams_without_momentum", "input_size_below_minimum", "unknown_references",
    "unknown_vocabulary", "wrong_task_output",
]  # fmt: skip


@pytest.mark.parametrize("name", CODE_LEVEL_CASES)
def test_code_rules_cover_what_the_schema_cannot_say(name):
    data = _as_json(yaml.safe_load((BAD_RECORDS / f"{name}.yaml").read_text()))
    jsonschema.validate(data, load_schema())


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
