"""Issue 10's "What was seen" for the validator, one test each, in the files of the record model.

Each test edits one file of a copy of the registry (a family, a zoo facts file, a record or
deployment file, a shared file) where the case matters now, and checks what the validator makes
of it: the value YAML 1.1 reads (in the schema check, the code rules and the resolved record
alike), or one located line; never a traceback, never a hang. The last part covers the records
read without the YAML parser (`RecordChecker._bare`): it must refuse nothing the parser accepts
differently, and accept nothing the parser refuses.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubzoo.paths import REGISTRY_DIR, REPO_ROOT
from hubzoo.validate import ValidationResult, validate

VALIDATE = [sys.executable, str(REPO_ROOT / "scripts" / "validate.py")]
COMMAND_TIMEOUT = 60
MAX_DEPTH = 32  # hubzoo.yamlnodes.MAX_DEPTH, as the messages state it
LOCATED = re.compile(r"^registry/\S+:[1-9][0-9]*:[1-9][0-9]*: \S")

V1 = "families/inception_v1.yaml"  # variant image_size 224, num_features 1024
V1_ZOO = "zoo_facts/inception_v1.yaml"  # min_image_size 32
V2 = "families/inception_v2.yaml"  # batch_norm_momentum 0.99, TF1 signatures by release
IRV2 = "families/inception_resnet_v2.yaml"  # image_size 299; its zoo facts: minimum 75
V1_MODULE = "google/imagenet/inception_v1/feature_vector/3"
V1_RECORD = "google/imagenet/inception_v1/classification/1.yaml"  # states facts: itself
V1_DEPLOYMENT = "google/imagenet/inception_v1/feature_vector/1/default/tfjs/1.yaml"
BARE_RECORD = "google/imagenet/mobilenet_v2_075_224/feature_vector/4.yaml"  # `family:` only
ELSEWHERE = "google/imagenet/resnet_v1_50/feature_vector/1.yaml"  # another family's record


@pytest.fixture(scope="module")
def registry_copy(tmp_path_factory) -> Path:
    """One copy of the real registry for the module's tests (made once: copying 800 files is
    most of what a test would cost)."""
    copy = tmp_path_factory.mktemp("hostile") / "registry"
    shutil.copytree(REGISTRY_DIR, copy)
    return copy


@pytest.fixture
def registry(registry_copy) -> Iterator[Path]:
    """A copy of the real registry, as the real one again after the test."""
    yield registry_copy
    restore(registry_copy)


ORIGINALS = {
    path.relative_to(REGISTRY_DIR): None if path.is_dir() else path.read_bytes()
    for path in sorted(REGISTRY_DIR.rglob("*"))
}
"""The real registry: each folder (None) and file (its bytes) by path relative to it."""


def restore(copy: Path) -> None:
    """Make `copy` the real registry again: what a test added goes (files, links, FIFOs,
    sockets, folders), what it changed or removed comes back."""
    for root, folders, files in os.walk(copy):
        for name in [*files, *folders]:
            path = Path(root, name)
            relative = path.relative_to(copy)
            real_folder = path.is_dir() and not path.is_symlink()
            kept = real_folder or (path.is_file() and not path.is_symlink())
            if kept and relative in ORIGINALS and real_folder == (ORIGINALS[relative] is None):
                continue
            if real_folder:
                shutil.rmtree(path)
            else:
                path.unlink()
        folders[:] = [name for name in folders if Path(root, name).is_dir()]
    for relative, data in ORIGINALS.items():
        target = copy / relative
        if data is None:
            target.mkdir(exist_ok=True)
        elif not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)


def edit(registry: Path, relative: str, old: str, new: str) -> tuple[int, int]:
    """Replace `old` (which must occur) by `new` in one file; the (line, column) where `new`
    starts."""
    path = registry / relative
    text = path.read_text()
    assert old in text, f"{relative} has no {old!r}"
    before = text[: text.index(old)]
    path.write_text(text.replace(old, new, 1))
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def check(registry: Path, *records: str, check_lock: bool = True) -> ValidationResult:
    """Validate the given record files (every record if none), messages relative to the
    registry's folder."""
    paths = [registry / record for record in records] or None
    return validate(registry, paths, base=registry.parent, check_lock=check_lock)


def run_command(registry: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    arguments = [*VALIDATE, "--registry", str(registry), *map(str, paths)]
    return subprocess.run(
        arguments, capture_output=True, text=True, cwd=registry.parent, timeout=COMMAND_TIMEOUT
    )


def only_problem(result: ValidationResult) -> tuple[str, int, int, str]:
    assert len(result.problems) == 1, [str(p) for p in result.problems]
    problem = result.problems[0]
    return problem.path, problem.line, problem.col, problem.message


def assert_one_located_line(done: subprocess.CompletedProcess[str], ending: str) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and LOCATED.match(lines[0]), lines
    assert lines[0].endswith(ending), lines[0]
    return lines[0]


# --- numbers as YAML 1.1 reads them: one conversion for schema, code rules and record ---------

# (written for 224, written for 4097: beyond image_size's maximum of 4096)
NOTATIONS = {
    "hexadecimal": ("0xE0", "0x1001"),
    "binary": ("0b11100000", "0b1000000000001"),
    "sexagesimal": ("3:44", "1:08:17"),
    "octal": ("0340", "010001"),
    "underscores": ("0_340", "4_097"),
}


@pytest.mark.parametrize("notation", sorted(NOTATIONS))
def test_yaml_1_1_integers_in_a_family_are_read_as_yaml_reads_them(registry, notation):
    """`image_size: 0xE0` is 224: every record of the family still resolves to its locked
    facts; the same notation beyond the maximum is refused with the value it reads as."""
    written, beyond = NOTATIONS[notation]
    edit(registry, V1, "{image_size: 224}", f"{{image_size: {written}}}")
    result = check(registry)
    assert result.problems == [], [str(p) for p in result.problems]
    assert result.modules[V1_MODULE].image_size == (224, 224)
    line, col = edit(registry, V1, f"{{image_size: {written}}}", f"{{image_size: {beyond}}}")
    assert only_problem(check(registry, ELSEWHERE)) == (
        f"registry/{V1}",
        line,
        col + len("{image_size: "),
        f"variants.inception_v1.image_size: must be at most 4096, found {beyond} (= 4097)",
    )


@pytest.mark.parametrize(("written", "shown"), [("0x20", "0x0"), ("0b100000", "0b0"),
                                                ("+3_2", "-0"), ("040", "00")])  # fmt: skip
def test_yaml_1_1_integers_in_zoo_facts_reach_the_code_rule(registry, written, shown):
    """min_image_size 32 in any notation keeps every record; 0 is refused with its value.
    (`0:32` is no number to YAML 1.1: a sexagesimal integer starts with 1-9.)"""
    edit(registry, V1_ZOO, "min_image_size: 32", f"min_image_size: {written}")
    assert check(registry).problems == []
    line, col = edit(registry, V1_ZOO, f"min_image_size: {written}", f"min_image_size: {shown}")
    assert only_problem(check(registry, ELSEWHERE)) == (
        f"registry/{V1_ZOO}",
        line,
        col + len("min_image_size: "),
        f"facts.min_image_size: must be at least 1, found {shown} (= 0)",
    )


def test_octal_0340_is_224_to_the_code_rule_too(registry):
    """`0100` is 64: below Inception ResNet V2's minimum of 75 (decimal text 100 would pass),
    at the family's variant, once per module of the family."""
    line, col = edit(registry, IRV2, "{image_size: 299}", "{image_size: 0100}")
    result = check(registry, check_lock=False)
    messages = {(p.path, p.line, p.col, p.message.split(": ", 1)[1]) for p in result.problems}
    assert messages == {
        (
            f"registry/{IRV2}",
            line,
            col + len("{image_size: "),
            "image_size 64 is below the network's minimum of 75",
        )
    }
    assert len(result.problems) == 8  # the family's 8 module versions


@pytest.mark.parametrize("written", ["0340", "0xE0", "3:44"])
def test_yaml_1_1_integers_in_a_record_file_reach_the_record(registry, written):
    edit(registry, V1_RECORD, "facts:\n", f"facts:\n  num_features: {written}\n")
    result = check(registry, V1_RECORD, check_lock=False)
    assert result.problems == []
    assert result.modules["google/imagenet/inception_v1/classification/1"].num_features == 224


def test_a_5000_digit_integer_is_one_located_line(registry):
    line, col = edit(
        registry, V1_RECORD, "facts:\n", "facts:\n  num_features: 1" + "0" * 5000 + "\n"
    )
    path, at_line, at_col, message = only_problem(check(registry, V1_RECORD))
    assert (path, at_line, at_col) == (f"registry/{V1_RECORD}", line + 1, col + 16)
    assert message.startswith("integer 1000") and message.endswith(
        "(5,001 characters) is out of range: at most 9,223,372,036,854,775,807 in size"
    )
    assert_one_located_line(run_command(registry, registry / V1_RECORD), "in size")


@pytest.mark.parametrize("written", ["0x" + "f" * 5000, "0b" + "1" * 64, "1" + ":59" * 3000])
def test_integers_beyond_64_bits_are_refused_in_any_notation(registry, written):
    edit(registry, V1, "  num_features: 1024", f"  num_features: {written}")
    assert "is out of range" in only_problem(check(registry, ELSEWHERE))[3]


@pytest.mark.parametrize("written", ["0b_", "0x__", "-0b_"])
def test_an_integer_without_digits_is_refused(registry, written):
    edit(registry, V1, "  num_features: 1024", f"  num_features: {written}")
    message = only_problem(check(registry, ELSEWHERE))[3]
    assert message == f"'{written}' is not an integer: it has no digits"


def test_a_release_number_beyond_64_bits_is_refused(registry):
    key = "1" + "0" * 5000  # a long key needs `?`: plain keys stop at 1024 characters
    edit(registry, V1, "      3:\n", f"      ? {key}\n      : {{}}\n      3:\n")
    assert "is out of range" in only_problem(check(registry, ELSEWHERE))[3]


@pytest.mark.parametrize("written", [".nan", ".NaN", ".inf", "-.inf", "+.INF"])
def test_nan_and_infinities_are_refused_in_a_family(registry, written):
    """`batch_norm_momentum: .nan` was accepted: NaN is no number between 0 and 1."""
    line, col = edit(
        registry, V2, "  batch_norm_momentum: 0.99", f"  batch_norm_momentum: {written}"
    )
    assert only_problem(check(registry, ELSEWHERE)) == (
        f"registry/{V2}",
        line,
        col + len("  batch_norm_momentum: "),
        f"{written} is not allowed: numbers must be finite (no NaN or infinity)",
    )
    assert_one_located_line(run_command(registry, registry / ELSEWHERE), "(no NaN or infinity)")


def test_nan_is_refused_in_a_record_file(registry):
    line, _ = edit(registry, V1_RECORD, "facts:\n", "facts:\n  batch_norm_momentum: .nan\n")
    assert only_problem(check(registry, V1_RECORD))[1:] == (
        line + 1,
        24,
        ".nan is not allowed: numbers must be finite (no NaN or infinity)",
    )


def test_a_float_that_overflows_is_refused(registry):
    edit(registry, V2, "  batch_norm_momentum: 0.99", "  batch_norm_momentum: 1.0e+400")
    message = only_problem(check(registry, ELSEWHERE))[3]
    assert message == "number 1.0e+400 is out of range: too large to be finite"


def test_yaml_1_1_floats_reach_the_record(registry):
    edit(registry, V2, "  batch_norm_momentum: 0.99", "  batch_norm_momentum: 0:00.99")
    result = check(registry)
    assert result.problems == []  # the same facts as locked
    assert (
        result.modules["google/imagenet/inception_v2/feature_vector/3"].batch_norm_momentum == 0.99
    )


def test_yaml_1_1_booleans_are_read_by_the_code_rules(registry):
    """`no` is false: the rule "batch norm momentum needs a fine-tunable module" reads it."""
    edit(
        registry,
        V2,
        "  batch_norm_momentum: 0.99",
        "  batch_norm_momentum: 0.99\n  fine_tunable: no",
    )
    result = check(registry, check_lock=False)
    assert result.problems and all(
        p.message.endswith("batch norm momentum needs a fine-tunable module")
        for p in result.problems
    )


# --- implicit tags of YAML 1.1 that are not data: `=` and `<<` are plain strings -------------


def test_a_value_equals_sign_is_a_plain_string(registry):
    edit(registry, V1, "  asset_path: legacy", "  asset_path: =")
    result = check(registry, check_lock=False)
    assert result.problems == []
    assert result.modules["google/imagenet/inception_v1/feature_vector/1"].asset_path == "="


def test_an_equals_sign_in_a_list_is_checked_as_a_string(registry):
    line, col = edit(
        registry, V2, "signatures: [default, image_feature_vector]", "signatures: [default, =]"
    )
    path, at_line, at_col, message = only_problem(check(registry, ELSEWHERE))
    assert (path, at_line, at_col) == (f"registry/{V2}", line, col + len("signatures: [default, "))
    assert message.startswith(
        "lines.standard.releases.1.tasks.image-feature-vector.signatures[1]: '=' is not one of: "
    )
    assert_one_located_line(run_command(registry, registry / ELSEWHERE), "with_bn_hparams")


def test_a_merge_key_in_a_list_is_a_plain_key(registry):
    line, col = edit(
        registry, V2, "signatures: [default, image_feature_vector]",
        "signatures: [default, {<<: {a: 1}}]",
    )  # fmt: skip
    assert only_problem(check(registry, ELSEWHERE)) == (
        f"registry/{V2}",
        line,
        col + len("signatures: [default, "),
        "lines.standard.releases.1.tasks.image-feature-vector.signatures[1]: expected a string, "
        "found mapping",
    )


def test_a_merge_key_in_a_record_file_is_an_unknown_key(registry):
    edit(registry, V1_RECORD, "facts:\n", "<<: {facts: {num_features: 1}}\nfacts:\n")
    assert only_problem(check(registry, V1_RECORD))[3].startswith("unknown key '<<'")


def test_a_merge_key_in_shared_data_is_plain_data(registry):
    """A vocabulary keeps keys it does not know (for tfhub.dev): `<<` and `=` are data there."""
    tags = registry / "tags" / "format.yaml"
    tags.write_text(tags.read_text() + "extra: {<<: {a: =}}\n")
    assert check(registry).problems == []


# --- unhashable values, nesting, sizes ---------------------------------------------------------


def test_a_list_as_a_key_in_signatures_is_one_located_line(registry):
    """`signatures: [default, {[a]: 1}]` made uniqueItems hash a list."""
    line, col = edit(
        registry, V2, "signatures: [default, image_feature_vector]",
        "signatures: [default, {[a]: 1}]",
    )  # fmt: skip
    assert only_problem(check(registry, ELSEWHERE)) == (
        f"registry/{V2}",
        line,
        col + len("signatures: [default, {"),
        "a key must be a plain value, not a list",
    )
    assert_one_located_line(run_command(registry, registry / ELSEWHERE), "not a list")


def test_a_list_as_a_key_in_a_record_file_is_refused(registry):
    edit(registry, V1_RECORD, "facts:\n", "facts:\n  signatures: [default, {[a]: 1}]\n")
    assert only_problem(check(registry, V1_RECORD))[3] == "a key must be a plain value, not a list"


def test_a_mapping_as_a_key_is_refused(registry):
    edit(registry, V1_ZOO, "facts:\n", "? {a: 1}\n: x\nfacts:\n")
    assert only_problem(check(registry, ELSEWHERE))[3] == (
        "a key must be a plain value, not a mapping"
    )


def test_keys_that_read_alike_are_duplicates(registry):
    """`3` and `0x3` are one release once read: refused, not one silently dropped."""
    line, col = edit(registry, V1, "      4:\n", "      0x3: {}\n      4:\n")
    path, at_line, at_col, message = only_problem(check(registry, ELSEWHERE))
    assert (path, at_line, at_col) == (f"registry/{V1}", line, col + 6)
    assert message == "duplicate key 'lines.standard.releases.0x3'"


def deep_lists(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_10000_nested_lists_inside_a_field_are_one_located_line(registry):
    """Located at the list that goes one level too deep in the file: the list of signatures is
    at level 8 (root, lines, standard, releases, 1, tasks, image-feature-vector, signatures)."""
    line, col = edit(
        registry, V2, "signatures: [default, image_feature_vector]",
        f"signatures: [default, {deep_lists(10_000)}]",
    )  # fmt: skip
    assert only_problem(check(registry, ELSEWHERE)) == (
        f"registry/{V2}",
        line,
        col + len("signatures: [default, ") + MAX_DEPTH - 8,
        f"lists and mappings nested deeper than {MAX_DEPTH} levels",
    )
    run = run_command(registry, registry / ELSEWHERE)
    assert_one_located_line(run, f"deeper than {MAX_DEPTH} levels")


@pytest.mark.parametrize(
    "nesting",
    [deep_lists(100_000), "{a: " * 40_000 + "}" * 40_000, "\n    " + "- " * 100_000 + "x"],
    ids=["flow-lists", "flow-mappings", "block-lists"],
)
def test_nesting_that_crashed_the_c_composer_is_refused(registry, nesting):
    """100,000 levels overflowed libyaml's recursive composer (a segmentation fault)."""
    edit(registry, V1_RECORD, "facts:\n", f"facts:\n  display_name: {nesting}\n")
    run = run_command(registry, registry / V1_RECORD)
    assert_one_located_line(run, f"deeper than {MAX_DEPTH} levels")


def test_nesting_up_to_the_limit_reaches_the_schema(registry):
    edit(registry, V1, "  asset_path: legacy", f"  asset_path: {deep_lists(MAX_DEPTH - 2)}")
    message = only_problem(check(registry, ELSEWHERE))[3]
    assert message == "facts.asset_path: expected a string, found list"


def test_long_values_are_cut_in_messages(registry):
    edit(registry, V1, "  dataset: imagenet-ilsvrc-2012-cls", "  dataset: " + "x" * 100_000)
    message = only_problem(check(registry, ELSEWHERE))[3]
    assert "(100,000 characters)" in message and len(message) < 200


def test_line_breaks_and_escape_codes_in_values_stay_on_one_line(registry):
    edit(registry, V1, "  dataset: imagenet-ilsvrc-2012-cls", '  dataset: "a\\nb\\e[31mc\\u2028"')
    line = assert_one_located_line(
        run_command(registry, registry / ELSEWHERE), "expected Id in registry/tags/dataset.yaml."
    )
    assert "facts.dataset: 'a\\nb\\x1b[31mc\\u2028' is not valid" in line


# --- regular files only: nothing hangs on a FIFO, a device, a socket or a folder -------------

PLACES = {
    "record tree": "google/imagenet/odd/feature_vector/1.yaml",
    "families": "families/odd.yaml",
    "zoo facts": "zoo_facts/odd.yaml",
    "shared files": "publishers/odd.yaml",
}


def make_special(kind: str, path: Path) -> None:
    """A FIFO, a character device (a link to /dev/zero), a socket or a folder at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "FIFO (named pipe)":
        os.mkfifo(path)
    elif kind == "character device":
        path.symlink_to("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    else:  # bound from its folder: a socket's path is limited to 107 bytes
        server = socket.socket(socket.AF_UNIX)
        here = os.getcwd()
        os.chdir(path.parent)
        try:
            server.bind(path.name)
        finally:
            os.chdir(here)
        server.close()  # the socket file stays


@pytest.mark.parametrize("place", sorted(PLACES))
def test_a_fifo_named_yaml_does_not_hang(registry, place):
    """A FIFO named `*.yaml` hung the validator (through the command: it has a timeout)."""
    make_special("FIFO (named pipe)", registry / PLACES[place])
    line = assert_one_located_line(
        run_command(registry), "not a regular file but a FIFO (named pipe)"
    )
    assert line.startswith(f"registry/{PLACES[place]}:1:1: ")


@pytest.mark.parametrize("place", sorted(PLACES))
def test_a_link_to_a_fifo_does_not_hang(registry, place):
    """A symbolic link named `*.yaml` to a FIFO elsewhere: refused as the FIFO it leads to."""
    fifo = registry.parent / "fifo"
    os.mkfifo(fifo)
    try:
        link = registry / PLACES[place]
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(fifo)
        line = assert_one_located_line(
            run_command(registry), "not a regular file but a FIFO (named pipe)"
        )
    finally:
        fifo.unlink()
    assert line.startswith(f"registry/{PLACES[place]}:1:1: ")


def test_a_fifo_given_as_a_path_does_not_hang(registry):
    fifo = registry / PLACES["record tree"]
    make_special("FIFO (named pipe)", fifo)
    done = run_command(registry, fifo)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == (
        f"registry/{PLACES['record tree']}:1:1: not a regular file but a FIFO (named pipe)\n"
    )


def test_a_fifo_outside_the_registry_is_not_read(registry):
    fifo = registry.parent / "record.yaml"
    os.mkfifo(fifo)
    try:
        done = run_command(registry, fifo)
    finally:
        fifo.unlink()
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("record.yaml:1:1: not a record: its path is not a handle")


@pytest.mark.parametrize(
    "shared", ["texts.yaml", "tags/dataset.yaml", "records.lock"], ids=["texts", "tags", "lock"]
)
def test_a_fifo_in_place_of_a_shared_file_does_not_hang(registry, shared):
    """Refused at its path (not "missing", not an empty vocabulary); what refers to it fails."""
    (registry / shared).unlink()
    make_special("FIFO (named pipe)", registry / shared)
    done = run_command(registry)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"registry/{shared}:1:1: not a regular file but a FIFO (named pipe)\n" in done.stdout
    assert all(LOCATED.match(line) for line in done.stdout.splitlines())


@pytest.mark.parametrize("kind", ["character device", "socket", "folder"])
@pytest.mark.parametrize("place", sorted(PLACES))
def test_a_special_file_named_yaml_is_refused(registry, kind, place):
    make_special(kind, registry / PLACES[place])
    assert (
        only_problem(check(registry, ELSEWHERE))
        == (
            f"registry/{PLACES[place]}",
            1,
            1,
            f"not a regular file but a {kind}",
        )
        if place != "record tree"
        else True
    )
    if place == "record tree":
        result = check(registry, PLACES[place])
        assert only_problem(result) == (
            f"registry/{PLACES[place]}",
            1,
            1,
            f"not a regular file but a {kind}",
        )


@pytest.mark.parametrize("kind", ["character device", "socket", "folder"])
def test_a_special_file_given_as_a_path_is_refused(registry, kind):
    path = registry / PLACES["record tree"]
    make_special(kind, path)
    done = run_command(registry, path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == f"registry/{PLACES['record tree']}:1:1: not a regular file but a {kind}\n"


def test_a_missing_file_given_as_a_path_is_one_located_line(registry):
    result = check(registry, "google/imagenet/absent/feature_vector/1.yaml")
    assert only_problem(result)[1:] == (1, 1, "cannot read file: No such file or directory")


def test_an_undecodable_file_name_prints_escaped(registry):
    path = registry / "google" / os.fsdecode(b"bad\xff") / "1.yaml"
    path.parent.mkdir()
    shutil.copyfile(registry / V1_RECORD, path)
    done = run_command(registry)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stdout == (
        "registry/google/bad\\udcff/1.yaml:1:1: not a record: google/bad\\udcff/1 is not a handle "
        "(lowercase PUBLISHER/NAME.../VERSION, VERSION 1, 2, ...)\n"
    )


def test_a_folder_tree_deeper_than_the_stack_is_walked(registry):
    top = registry / "google" / "a"
    folders = [top / "/".join(["a"] * depth) for depth in range(1200)]
    try:
        for folder in folders:  # made (and removed) one by one: pathlib and shutil recurse
            folder.mkdir()
        (folders[-1] / "1.yaml").write_text("family: inception_v1\n")
        line = assert_one_located_line(
            run_command(registry), "family inception_v1's handles start with google/imagenet/"
        )
        assert line.startswith("registry/google/a/a/a/")
    finally:
        (folders[-1] / "1.yaml").unlink(missing_ok=True)
        for folder in reversed(folders):
            if folder.exists():
                folder.rmdir()


@pytest.mark.parametrize("version", ["²", "١"], ids=["superscript", "arabic-indic"])
def test_a_version_in_other_digits_is_not_a_handle(registry, version):
    path = f"google/imagenet/inception_v1/feature_vector/{version}.yaml"
    (registry / path).write_text("family: inception_v1\n")
    deployment = f"google/imagenet/inception_v1/feature_vector/1/default/tfjs/{version}.yaml"
    (registry / deployment).write_text("parent: google/imagenet/inception_v1/feature_vector/1\n")
    messages = [p.message for p in check(registry, path, deployment).problems]
    assert messages == [
        f"not a record: {handle.removesuffix('.yaml')} is not a handle (lowercase "
        "PUBLISHER/NAME.../VERSION, VERSION 1, 2, ...)"
        for handle in sorted([path, deployment])
    ]


def test_a_deployment_of_a_deployment_is_refused(registry):
    parent = V1_DEPLOYMENT.removesuffix(".yaml")
    path = registry / parent / "default" / "tfjs" / "1.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(f"parent: {parent}\n")
    assert only_problem(check(registry, str(path.relative_to(registry)))) == (
        f"registry/{parent}/default/tfjs/1.yaml",
        1,
        9,
        f"{parent} is not a module handle: a deployment converts a module",
    )


ERRATUM = "google/imagenet/mobilenet_v3_large_100_224/feature_vector/5/default/lite/1.yaml"
"""A Lite deployment whose page states 1024 features; the network, like its parent, has 1280."""


def test_a_stated_width_that_is_the_models_is_refused_where_it_is_written(registry):
    path = registry / ERRATUM
    path.write_text(
        path.read_text().replace("stated_num_features: 1024", "stated_num_features: 1280")
    )
    assert only_problem(check(registry, ERRATUM, check_lock=False)) == (
        f"registry/{ERRATUM}",
        4,
        len("  stated_num_features: ") + 1,
        "1280 is what the converted model has (its parent's num_features): state it only where "
        "the page contradicts the model",
    )


def test_a_stated_width_on_a_classifiers_deployment_is_refused(registry):
    classifier = ERRATUM.replace("/feature_vector/", "/classification/")
    (registry / classifier).write_text((registry / ERRATUM).read_text().replace(
        "/feature_vector/", "/classification/"
    ))  # fmt: skip
    assert only_problem(check(registry, classifier, check_lock=False)) == (
        f"registry/{classifier}",
        4,
        len("  stated_num_features: ") + 1,
        "only a feature vector deployment's page states num_features; this one converts an "
        "image-classification module",
    )


# --- what YAML itself refuses, located ---------------------------------------------------------


def test_a_control_character_is_located(registry):
    line, col = edit(registry, V1, "  asset_path: legacy", "  asset_path: leg\x07acy")
    assert only_problem(check(registry, ELSEWHERE)) == (
        f"registry/{V1}",
        line,
        col + len("  asset_path: leg"),
        "character U+0007 is not allowed: control characters are not allowed",
    )


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("!!map [a]", "YAML tag 'tag:yaml.org,2002:map' does not fit a list"),
        ("!!str {a: 1}", "YAML tag 'tag:yaml.org,2002:str' does not fit a mapping"),
        ("!!int abc", "'abc' is not an integer as YAML writes one"),
        ("!!bool maybe", "'maybe' is not a boolean as YAML writes one"),
        ("!!timestamp x", "'x' is not a date as YAML writes one"),
        ("!!binary aGk=", "YAML tag 'tag:yaml.org,2002:binary' is not allowed; use plain values"),
    ],
)
def test_explicit_tags_must_fit_their_value(registry, written, message):
    line, col = edit(registry, V1, "  asset_path: legacy", f"  asset_path: {written}")
    assert only_problem(check(registry, ELSEWHERE)) == (
        f"registry/{V1}",
        line,
        col + len("  asset_path: "),
        message,
    )


def test_a_line_of_text_ends_before_a_line_break(registry):
    """JSON Schema's `$` ends the text: `^[^\\n]+$` does not take "legacy\\n"."""
    edit(registry, V1, "  asset_path: legacy", '  asset_path: "legacy\\n"')
    assert "asset_path: 'legacy\\n' is not valid" in only_problem(check(registry, ELSEWHERE))[3]


def test_a_citation_without_a_link_is_found_in_linear_time(registry):
    """A paper's citation of 200,000 `[` took quadratic time to search for its link."""
    edit(registry, "papers.yaml", "  citation: |-\n", f"  citation: '{'[' * 200_000}'\n  x: |-\n")
    # the old citation's text is now an unknown key: two problems, both at the entry
    done = run_command(registry, registry / ELSEWHERE)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert all(LOCATED.match(line) for line in done.stdout.splitlines())
    assert "a citation links the paper" not in done.stdout or len(done.stdout) < 10_000


def test_a_template_name_too_long_for_the_system_is_a_missing_template(tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(REPO_ROOT / "templates", templates)
    eras = templates / "eras.yaml"
    name = "a" * 300 + ".j2"
    eras.write_text(eras.read_text().replace("template: module/tf2.md.j2", f"template: {name}", 1))
    result = validate(REGISTRY_DIR, base=tmp_path, templates_dir=templates)
    assert [p.message for p in result.problems] == [
        f"era 'tf2': template {name[:60]}... (303 characters) does not exist"
    ]


# --- records read without the YAML parser: the same outcome as the parser's --------------------


def parsed_only(registry: Path, record: str, monkeypatch) -> ValidationResult:
    """`check` with the fast path turned off: what the parser makes of the file."""
    from hubzoo.validate import RecordChecker

    with monkeypatch.context() as patch:
        patch.setattr(RecordChecker, "_bare", lambda self, path, display, parts: None)
        return check(registry, record)


@pytest.mark.parametrize(
    "data",
    [
        b"family: mobilenet_v2\n",
        b"# a comment\nfamily: mobilenet_v2\n",
        b"\xef\xbb\xbffamily: mobilenet_v2\n",  # a byte order mark
        b"family: mobilenet_v2\r\n",
        b"family: mobilenet_v2",  # no final line break
        b"# caf\xc3\xa9\nfamily: mobilenet_v2\n",
        b"# \x85\nfamily: mobilenet_v2\n",
        b"# \x7f\nfamily: mobilenet_v2\n",
        b"#\x07\nfamily: mobilenet_v2\n",
        b"family: mobile\x07net_v2\n",
        b"family: mobilenet_v2\n\x00",
        b"family: mobilenet_v2\n\xff",
        b"family: mobilenet_v2 \n",
        b"family: mobilenet_v2 # comment\n",
        b"family:  mobilenet_v2\n",
        b"family: mobilenet_v2\nfamily: mobilenet_v2\n",
        b"family: mobilenet_v2\n---\n",
        b"family: 'mobilenet_v2'\n",
        b"family: mobilenet_v3\n",
        b"family: mobilenet_v2\nfacts: {num_features: .nan}\n",
        b"#" * 1022 + b"\nfamily: mobilenet_v2\n",
        b"#" * 1002 + b"\nfamily: mobilenet_v2\n",  # 1,024 bytes
    ],
)
def test_a_record_read_without_the_parser_is_what_the_parser_reads(registry, monkeypatch, data):
    (registry / BARE_RECORD).write_bytes(data)
    fast = check(registry, BARE_RECORD)
    assert fast.problems == parsed_only(registry, BARE_RECORD, monkeypatch).problems
    if not fast.problems:
        assert fast.modules[BARE_RECORD.removesuffix(".yaml")].family == "mobilenet_v2"


def test_a_large_file_that_starts_as_a_bare_record_is_read_whole(registry):
    """The fast path reads 1,025 bytes: a file that only starts as `family: ID` is parsed."""
    head = b"family: mobilenet_v2\n"
    comment = b"#" + b"x" * (1024 - len(head) - 2) + b"\n"
    data = comment + head + b"facts: {num_features: .nan}\n"
    (registry / BARE_RECORD).write_bytes(data)
    assert only_problem(check(registry, BARE_RECORD))[1:] == (
        3,
        23,
        ".nan is not allowed: numbers must be finite (no NaN or infinity)",
    )
    (registry / BARE_RECORD).write_bytes(comment + head + b"#" * 300_000 + b"\n")
    assert only_problem(check(registry, BARE_RECORD))[1:] == (
        1,
        1,
        "file is larger than 256 KiB",
    )


def test_a_deployment_that_starts_as_a_bare_one_is_read_whole(registry):
    parent = V1_DEPLOYMENT.rsplit("/default/", 1)[0]
    head = f"parent: {parent}\n".encode()
    comment = b"#" + b"x" * (1024 - len(head) - 2) + b"\n"
    (registry / V1_DEPLOYMENT).write_bytes(comment + head + b"facts: {num_features: 0x_}\n")
    assert (
        only_problem(check(registry, V1_DEPLOYMENT))[3]
        == "'0x_' is not an integer: it has no digits"
    )


def test_a_family_named_like_a_boolean_is_read_as_the_parser_reads_it(registry):
    """`family: yes` is true to YAML: the fast path must not read it as the family 'yes'."""
    for folder, key in (("families", "id"), ("zoo_facts", "family")):
        text = (registry / folder / "inception_v1.yaml").read_text()
        text = text.replace(f"{key}: inception_v1\n", f"{key}: 'yes'\n")
        (registry / folder / "yes.yaml").write_text(text)
    record = "google/imagenet/inception_v1/feature_vector/4.yaml"
    (registry / record).write_text("family: yes\n")
    assert only_problem(check(registry, record))[1:] == (
        1,
        9,
        "family: expected a string, found boolean",
    )
