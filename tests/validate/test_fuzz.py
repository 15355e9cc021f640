"""Property-based: whatever the YAML, the validator ends with exit 0 or 1, every problem one
located line, no traceback, no hang; and a record it accepts holds the values YAML 1.1 reads.

Most cases call the library on a copy of the registry (fast); a sample runs the command.
`--hypothesis-show-statistics` prints how many cases each property ran.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hubzoo.paths import REGISTRY_DIR, REPO_ROOT
from hubzoo.record import Record
from hubzoo.shared import SharedData, load_shared
from hubzoo.validate import check_record_file
from hubzoo.yamlnodes import Problem, YamlRejected, load_nodes
from tests.validate.mutations import (
    RECORDS,
    SHARED,
    arbitrary_documents,
    dumped_records,
    mutated_files,
    yaml_1_1_fractions,
    yaml_1_1_integers,
)

FUZZ = settings(
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
VALIDATE = [sys.executable, str(REPO_ROOT / "scripts" / "validate.py")]
LOCATED = re.compile(r"^(?P<path>registry/\S+):(?P<line>[1-9][0-9]*):(?P<col>[1-9][0-9]*): \S")
SUMMARY = re.compile(r"^[1-9][0-9]* problem\(s\) in [1-9][0-9]* file\(s\)$")
ANY_RECORD = sorted(RECORDS)[0]


@pytest.fixture(scope="module")
def fuzz_registry(tmp_path_factory) -> tuple[Path, SharedData]:
    """A copy of the registry whose records the cases overwrite, and its shared data."""
    root = tmp_path_factory.mktemp("fuzz") / "registry"
    shutil.copytree(REGISTRY_DIR, root)
    shared, problems = load_shared(root, root.parent)
    assert problems == []
    return root, shared


def assert_located(problem: Problem, display: str, data: bytes) -> None:
    assert problem.path == display
    lines = len(data.decode("utf-8", "replace").splitlines())  # every kind of line break
    assert 1 <= problem.line <= lines + 1 and problem.col >= 1, problem
    assert problem.message.strip(), problem
    text = str(problem)
    assert text.startswith(f"{display}:{problem.line}:{problem.col}: ")
    assert len(text.splitlines()) == 1, text


def assert_as_yaml_reads_it(record: Record, data: bytes) -> None:
    """The record's numbers and booleans are what libyaml's safe loader reads (YAML 1.1)."""
    try:
        expected = yaml.load(data, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return  # e.g. `=`, a plain string to us, has no constructor in PyYAML
    size = expected["input_size"]
    assert record.image_size == (size["height"], size["width"])
    assert record.num_features == expected.get("num_features")
    assert record.num_classes == expected.get("num_classes")
    assert record.batch_norm_momentum == expected.get("batch_norm_momentum")
    assert record.fine_tunable is expected["fine_tunable"]
    assert record.signatures == tuple(expected["signatures"])


def check_case(root: Path, shared: SharedData, relative: str, data: bytes) -> None:
    path = root / relative
    path.write_bytes(data)
    display = f"registry/{relative}"
    handle, record, problems = check_record_file(path, display, root, shared)
    event(_outcome(path, display, problems))
    if problems:
        assert handle is None and record is None
        for problem in problems:
            assert_located(problem, display, data)
    else:
        assert record is not None and handle == record.handle
        assert_as_yaml_reads_it(record, data)


def _outcome(path: Path, display: str, problems: list[Problem]) -> str:
    if not problems:
        return "accepted"
    try:
        load_nodes(path, display)
    except YamlRejected:
        return "refused when read"
    return "refused by the schema or the code rules"


@settings(FUZZ, max_examples=600)
@given(case=mutated_files())
def test_mutated_records(fuzz_registry, case):
    check_case(*fuzz_registry, *case)


@settings(FUZZ, max_examples=150)
@given(
    relative=st.sampled_from(sorted(RECORDS)),
    height=st.integers(1, 4096),
    width=st.integers(1, 4096),
    data=st.data(),
)
def test_numbers_in_any_yaml_1_1_notation_reach_the_record(
    fuzz_registry, relative, height, width, data
):
    """One conversion: the schema's range, the code rule's minimum and the record agree."""
    root, shared = fuzz_registry
    text = RECORDS[relative]
    text = re.sub(r"height: \d+", f"height: {data.draw(yaml_1_1_integers(height))}", text)
    text = re.sub(r"width: \d+", f"width: {data.draw(yaml_1_1_integers(width))}", text)
    momentum = data.draw(st.floats(0, 1, exclude_max=True))
    fraction = data.draw(yaml_1_1_fractions(momentum))
    text = re.sub(r"batch_norm_momentum: \S+", f"batch_norm_momentum: {fraction}", text)
    path = root / relative
    path.write_text(text)
    display = f"registry/{relative}"
    _, record, problems = check_record_file(path, display, root, shared)
    minimum = shared.architectures[yaml.safe_load(text)["architecture"]].min_image_size
    below = [side for side, size in (("height", height), ("width", width)) if size < minimum]
    assert [p.message.split()[0] for p in problems] == [f"input_size.{side}" for side in below]
    if not below:
        assert record is not None and record.image_size == (height, width)
        assert_as_yaml_reads_it(record, text.encode())


@settings(FUZZ, max_examples=200)
@given(case=dumped_records())
def test_records_with_a_value_of_any_type_in_any_style(fuzz_registry, case):
    check_case(*fuzz_registry, *case)


@settings(FUZZ, max_examples=150)
@given(data=arbitrary_documents())
def test_arbitrary_documents(fuzz_registry, data):
    check_case(*fuzz_registry, ANY_RECORD, data)


@settings(FUZZ, max_examples=100)
@given(case=mutated_files(SHARED))
def test_mutated_shared_files(fuzz_registry, case):
    root, _ = fuzz_registry
    relative, data = case
    (root / relative).write_bytes(data)
    try:
        _, problems = load_shared(root, root.parent)
    finally:
        (root / relative).write_text(SHARED[relative])
    for problem in problems:
        assert LOCATED.match(str(problem)), problem
        assert len(str(problem).splitlines()) == 1


@settings(FUZZ, max_examples=8)
@given(
    cases=st.lists(
        mutated_files() | dumped_records() | mutated_files(SHARED), min_size=6, max_size=12
    )
)
def test_the_command_on_mutated_registries(tmp_path_factory, cases):
    root = tmp_path_factory.mktemp("command") / "registry"
    shutil.copytree(REGISTRY_DIR, root)
    written: set[str] = set()
    for index, (relative, data) in enumerate(cases):
        if relative in written and relative in RECORDS:
            relative = f"google/fuzz/case_{index}/1.yaml"
        written.add(relative)
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    done = subprocess.run(
        [*VALIDATE, "--registry", str(root)],
        capture_output=True, text=True, cwd=root.parent, timeout=120,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    if done.returncode == 0:
        assert done.stdout.startswith("ok: ") and done.stderr == ""
        return
    assert done.stdout and all(LOCATED.match(line) for line in done.stdout.splitlines())
    assert SUMMARY.match(done.stderr.strip()), done.stderr
