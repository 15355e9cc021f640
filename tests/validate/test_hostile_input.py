"""Issue 10's "What was seen" for the validator, one test each, plus the special files around them.

Each edits one real record of a copy of the registry and checks what the validator makes of it:
the value YAML 1.1 reads (in the schema check, the code rules and the record alike), or one
located line; never a traceback, never a hang.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hubzoo.paths import REGISTRY_DIR, REPO_ROOT
from hubzoo.validate import ValidationResult, validate
from hubzoo.yamlnodes import MAX_DEPTH

VALIDATE = [sys.executable, str(REPO_ROOT / "scripts" / "validate.py")]
V2 = "google/imagenet/inception_v2/feature_vector/3"  # has batch_norm_momentum
RESNET = "google/imagenet/inception_resnet_v2/feature_vector/1"  # min_image_size 75
LOCATED = re.compile(r"^registry/\S+\.yaml:[1-9][0-9]*:[1-9][0-9]*: \S")


@pytest.fixture
def registry(tmp_path) -> Path:
    """A copy of the real registry."""
    copy = tmp_path / "registry"
    shutil.copytree(REGISTRY_DIR, copy)
    return copy


def edit(registry: Path, handle: str, old: str, new: str) -> Path:
    """Replace `old` (which must occur) by `new` in the record of `handle`."""
    path = registry / f"{handle}.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return path


def check(registry: Path, path: Path) -> ValidationResult:
    return validate(registry, [path], base=registry.parent)


def run_command(registry: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    arguments = [*VALIDATE, "--registry", str(registry), *map(str, paths)]
    return subprocess.run(
        arguments, capture_output=True, text=True, cwd=registry.parent, timeout=60
    )


def only_problem(result: ValidationResult) -> tuple[int, int, str]:
    assert result.records == []
    assert len(result.problems) == 1, result.problems
    problem = result.problems[0]
    return problem.line, problem.col, problem.message


def assert_one_located_line(done: subprocess.CompletedProcess[str], ending: str) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and LOCATED.match(lines[0]), lines
    assert lines[0].endswith(ending), lines[0]
    return lines[0]


# --- numbers as YAML 1.1 reads them: one conversion for schema, code rules and record ---------


@pytest.mark.parametrize("written", ["0xE0", "0b11100000", "3:44", "0340", "0_340", "224"])
def test_yaml_1_1_integers_are_read_as_yaml_reads_them(registry, written):
    path = edit(registry, V2, "height: 224", f"height: {written}")
    result = validate(registry, [path], base=registry.parent)
    assert result.problems == []
    assert result.records[0].image_size == (224, 224)
    done = run_command(registry, path)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stdout + done.stderr


def test_octal_0340_is_224_to_the_code_rule_too(registry):
    """`0100` is 64: below Inception ResNet V2's minimum of 75 (decimal text 100 would pass)."""
    path = edit(registry, RESNET, "height: 299", "height: 0100")
    line, col, message = only_problem(check(registry, path))
    assert (line, col) == (13, 11)
    assert message == "input_size.height 0100 (= 64) is below Inception ResNet V2's minimum of 75"


def test_sexagesimal_height_is_checked_by_its_value(registry):
    path = edit(registry, RESNET, "height: 299", "height: 1:04")
    assert "input_size.height 1:04 (= 64) is below" in only_problem(check(registry, path))[2]


def test_hex_height_beyond_the_maximum_is_refused_with_its_value(registry):
    path = edit(registry, V2, "height: 224", "height: 0x1001")
    message = only_problem(check(registry, path))[2]
    assert message == "input_size.height: must be at most 4096, found 0x1001 (= 4097)"


def test_a_5000_digit_integer_is_one_located_line(registry):
    path = edit(registry, V2, "height: 224", "height: 1" + "0" * 5000)
    line, col, message = only_problem(check(registry, path))
    assert (line, col) == (13, 11)
    assert message.startswith("integer 1000") and "is out of range" in message
    assert len(message) < 200
    assert_one_located_line(run_command(registry, path), "in size")


@pytest.mark.parametrize("written", ["0x" + "f" * 5000, "0b" + "1" * 64, "1" + ":59" * 3000])
def test_integers_beyond_64_bits_are_refused_in_any_notation(registry, written):
    path = edit(registry, V2, "height: 224", f"height: {written}")
    assert "is out of range" in only_problem(check(registry, path))[2]


@pytest.mark.parametrize("written", ["0b_", "0x__", "-0b_"])
def test_an_integer_without_digits_is_refused(registry, written):
    path = edit(registry, V2, "height: 224", f"height: {written}")
    assert (
        only_problem(check(registry, path))[2] == f"'{written}' is not an integer: it has no digits"
    )


@pytest.mark.parametrize("written", [".nan", ".NaN", ".inf", "-.inf", "+.INF"])
def test_nan_and_infinities_are_refused(registry, written):
    path = edit(registry, V2, "batch_norm_momentum: 0.99", f"batch_norm_momentum: {written}")
    line, col, message = only_problem(check(registry, path))
    assert (line, col) == (23, 22)
    assert message == f"{written} is not allowed: numbers must be finite (no NaN or infinity)"
    assert_one_located_line(run_command(registry, path), "(no NaN or infinity)")


def test_a_float_that_overflows_is_refused(registry):
    path = edit(registry, V2, "batch_norm_momentum: 0.99", "batch_norm_momentum: 1.0e+400")
    assert "is out of range" in only_problem(check(registry, path))[2]


def test_yaml_1_1_floats_reach_the_record(registry):
    path = edit(registry, V2, "batch_norm_momentum: 0.99", "batch_norm_momentum: 0.9_9")
    result = check(registry, path)
    assert result.problems == [] and result.records[0].batch_norm_momentum == 0.99


def test_yaml_1_1_booleans_are_read_by_the_code_rules(registry):
    """`yes` is true: the bn-hparams rule reads the value, not the text `true`."""
    path = edit(registry, V2, "fine_tunable: true", "fine_tunable: yes")
    result = check(registry, path)
    assert result.problems == [] and result.records[0].fine_tunable is True


# --- implicit tags of YAML 1.1 that are not data: `=` and `<<` are plain strings -------------


def test_a_value_equals_sign_is_a_plain_string(registry):
    path = edit(registry, V2, "asset_path: legacy", "asset_path: =")
    result = check(registry, path)
    assert result.problems == [] and result.records[0].asset_path == "="


def test_an_equals_sign_in_a_list_is_checked_as_a_string(registry):
    path = edit(registry, V2, "signatures: [default,", "signatures: [default, =,")
    line, col, message = only_problem(check(registry, path))
    assert (line, col) == (22, 23)
    assert message.startswith("signatures[1]: '=' is not one of: default, ")
    assert_one_located_line(run_command(registry, path), "image_classification_with_bn_hparams")


def test_a_merge_key_is_a_plain_key(registry):
    path = edit(registry, V2, "signatures: [default,", "signatures: [default, {<<: {a: 1}},")
    line, col, message = only_problem(check(registry, path))
    assert (line, col, message) == (22, 23, "signatures[1]: expected a string, found mapping")
    assert_one_located_line(run_command(registry, path), "found mapping")


def test_a_top_level_merge_key_is_an_unknown_key(registry):
    path = edit(registry, V2, "page:\n", "<<: {page: {era: tfhub-dev}}\npage:\n")
    assert only_problem(check(registry, path))[2].startswith("unknown key '<<'")


def test_a_merge_key_in_shared_data_is_plain_data(registry):
    """Shared files are converted without a schema for every key: `<<` must convert too."""
    tags = registry / "tags" / "format.yaml"
    tags.write_text(tags.read_text() + "extra: {<<: {a: =}}\n")
    assert validate(registry, base=registry.parent).problems == []


# --- unhashable values, nesting, sizes ---------------------------------------------------------


def test_a_list_as_a_key_is_one_located_line(registry):
    """`signatures: [default, {[a]: 1}]` made uniqueItems hash a list."""
    path = edit(registry, V2, "signatures: [default,", "signatures: [default, {[a]: 1},")
    line, col, message = only_problem(check(registry, path))
    assert (line, col, message) == (22, 24, "a key must be a plain value, not a list")
    assert_one_located_line(run_command(registry, path), "not a list")


def test_a_mapping_as_a_key_is_refused(registry):
    path = edit(registry, V2, "page:\n", "? {a: 1}\n: x\npage:\n")
    assert only_problem(check(registry, path))[2] == "a key must be a plain value, not a mapping"


def deep_lists(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_10000_nested_lists_inside_a_field_are_one_located_line(registry):
    path = edit(registry, V2, "signatures: [default,", f"signatures: [{deep_lists(10_000)},")
    line, col, message = only_problem(check(registry, path))
    assert (line, col) == (22, 12 + MAX_DEPTH)
    assert message == f"lists and mappings nested deeper than {MAX_DEPTH} levels"
    assert_one_located_line(run_command(registry, path), f"deeper than {MAX_DEPTH} levels")


@pytest.mark.parametrize(
    "nesting",
    [deep_lists(100_000), "{a: " * 40_000 + "}" * 40_000, "\n" + "- " * 100_000 + "x"],
    ids=["flow-lists", "flow-mappings", "block-lists"],
)
def test_nesting_that_crashed_the_c_composer_is_refused(registry, nesting):
    """100,000 levels overflowed libyaml's recursive composer (a segmentation fault)."""
    path = edit(registry, V2, "asset_path: legacy", f"asset_path: {nesting}")
    assert_one_located_line(run_command(registry, path), f"deeper than {MAX_DEPTH} levels")


def test_nesting_up_to_the_limit_reaches_the_schema(registry):
    path = edit(registry, V2, "asset_path: legacy", f"asset_path: {deep_lists(MAX_DEPTH - 1)}")
    assert only_problem(check(registry, path))[2] == "asset_path: expected a string, found list"


def test_long_values_are_cut_in_messages(registry):
    path = edit(registry, V2, "dataset: imagenet-ilsvrc-2012-cls", "dataset: " + "x" * 100_000)
    message = only_problem(check(registry, path))[2]
    assert "(100,000 characters)" in message and len(message) < 200


def test_line_breaks_and_escape_codes_in_values_stay_on_one_line(registry):
    path = edit(
        registry, V2, "dataset: imagenet-ilsvrc-2012-cls", 'dataset: "a\\nb\\e[31mc\\u2028"'
    )
    line = assert_one_located_line(run_command(registry, path), "registry/tags/dataset.yaml")
    assert "dataset 'a\\nb\\x1b[31mc\\u2028' is not an id" in line


def test_a_long_counterpart_is_a_missing_record_not_an_os_error(registry):
    counterpart = "google/" + "a" * 300 + "/1"
    old = "counterpart: google/imagenet/inception_v2/classification/3"
    path = edit(registry, V2, old, f"counterpart: {counterpart}")
    assert "has no record in the registry" in only_problem(check(registry, path))[2]


def test_a_version_beyond_64_bits_is_refused(registry):
    key = '"1' + "0" * 5000 + '"'  # a long key needs `?`: plain keys stop at 1024 characters
    path = edit(registry, V2, "page:\n", f"  ? {key}\n  : [Later.]\npage:\n")
    assert "changelog version: integer 1000" in only_problem(check(registry, path))[2]


# --- regular files only: nothing hangs on a FIFO, a device, a socket or a folder -------------
# (FIFOs only through the command, which has a timeout: reading one in-process would hang the test)


def test_a_fifo_named_yaml_in_the_registry_does_not_hang(registry):
    fifo = registry / "google" / "imagenet" / "fifo" / "1.yaml"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    line = assert_one_located_line(
        run_command(registry), "not a regular file but a FIFO (named pipe)"
    )
    assert line.startswith("registry/google/imagenet/fifo/1.yaml:1:1: ")


def test_a_fifo_given_as_a_path_does_not_hang(registry, tmp_path):
    fifo = tmp_path / "record.yaml"
    os.mkfifo(fifo)
    done = run_command(registry, fifo)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == "record.yaml:1:1: not a regular file but a FIFO (named pipe)\n"


def test_a_fifo_among_the_shared_files_does_not_hang(registry):
    os.mkfifo(registry / "architectures" / "pipe.yaml")
    done = run_command(registry)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        done.stdout
        == "registry/architectures/pipe.yaml:1:1: not a regular file but a FIFO (named pipe)\n"
    )


def test_a_device_named_yaml_is_refused(registry):
    device = registry / "google" / "zero.yaml"
    device.symlink_to("/dev/zero")
    assert only_problem(check(registry, device)) == (
        1,
        1,
        "not a regular file but a character device",
    )


def test_a_socket_named_yaml_is_refused(registry, tmp_path):
    path = tmp_path / "s.yaml"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        assert only_problem(check(registry, path)) == (1, 1, "not a regular file but a socket")


def test_a_folder_named_yaml_is_refused(registry, tmp_path):
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    assert only_problem(check(registry, folder)) == (1, 1, "not a regular file but a folder")
    assert (
        run_command(registry, folder).stdout == "folder.yaml:1:1: not a regular file but a folder\n"
    )


def test_a_missing_file_is_one_located_line(registry, tmp_path):
    result = check(registry, tmp_path / "absent.yaml")
    assert only_problem(result) == (1, 1, "cannot read file: No such file or directory")


def test_an_undecodable_file_name_prints_escaped(registry):
    path = registry / "google" / os.fsdecode(b"bad\xff.yaml")
    shutil.copyfile(registry / f"{V2}.yaml", path)
    done = run_command(registry)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stdout.startswith("registry/google/bad\\udcff.yaml:2:9: handle ")


# --- what YAML itself refuses, located ---------------------------------------------------------


def test_a_control_character_is_located(registry):
    path = edit(registry, V2, "asset_path: legacy", "asset_path: leg\x07acy")
    assert only_problem(check(registry, path)) == (
        10,
        16,
        "character U+0007 is not allowed: control characters are not allowed",
    )


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("!!map [a]", "YAML tag 'tag:yaml.org,2002:map' does not fit a list"),
        ("!!str {a: 1}", "YAML tag 'tag:yaml.org,2002:str' does not fit a mapping"),
        ("!!int abc", "'abc' is not an integer as YAML writes one"),
        ("!!bool maybe", "'maybe' is not a boolean as YAML writes one"),
        ("!!binary aGk=", "YAML tag 'tag:yaml.org,2002:binary' is not allowed; use plain values"),
    ],
)
def test_explicit_tags_must_fit_their_value(registry, written, message):
    path = edit(registry, V2, "asset_path: legacy", f"asset_path: {written}")
    assert only_problem(check(registry, path)) == (10, 13, message)
