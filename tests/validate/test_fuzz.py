"""Property-based: whatever the YAML, in whichever file of the record model (a family, its zoo
facts, a module record, a deployment, a shared file), the validator ends with exit 0 or 1,
every problem one located line, no traceback, no hang; a file it reads holds the values YAML 1.1
reads; and numbers in any YAML 1.1 notation reach the resolved records.

Most cases call the library on a copy of the registry (one file overwritten, then restored); a
sample runs the command. The cases are derandomized (CI runs the same 1,000-odd each time);
`--hypothesis-show-statistics` prints how many each property ran.
"""

import datetime
import math
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hubzoo.paths import REGISTRY_DIR, REPO_ROOT
from hubzoo.validate import ValidationResult, validate
from hubzoo.yamlnodes import YamlRejected, load_nodes, to_python
from tests.validate.mutations import (
    DEPLOYMENTS,
    FAMILY_FILES,
    MODULE_RECORDS,
    RECORDS_OF_FAMILY,
    SHARED,
    STATED,
    arbitrary_documents,
    dumped_files,
    mutated_files,
    targets_of,
    yaml_1_1_fractions,
    yaml_1_1_integers,
)

FUZZ = settings(
    deadline=None,
    database=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
VALIDATE = [sys.executable, str(REPO_ROOT / "scripts" / "validate.py")]
LOCATED = re.compile(r"^(?P<path>registry/\S+):(?P<line>[1-9][0-9]*):(?P<col>[1-9][0-9]*): \S")
SUMMARY = re.compile(r"^[1-9][0-9]* problem\(s\) in [1-9][0-9]* file\(s\)$")
RECORD_FILES = {**MODULE_RECORDS, **DEPLOYMENTS}
V1_FAMILY, V1_ZOO = "families/inception_v1.yaml", "zoo_facts/inception_v1.yaml"
V1_MIN_IMAGE_SIZE = 32  # registry/zoo_facts/inception_v1.yaml


@pytest.fixture(scope="module")
def fuzz_registry(tmp_path_factory) -> Path:
    """A copy of the registry whose files the cases overwrite (and restore)."""
    root = tmp_path_factory.mktemp("fuzz") / "registry"
    shutil.copytree(REGISTRY_DIR, root)
    return root


@contextmanager
def written(root: Path, relative: str, data: bytes) -> Iterator[Path]:
    """`relative` holds `data` for the time of the block, then its own text again."""
    path = root / relative
    original = path.read_bytes()
    path.write_bytes(data)
    try:
        yield path
    finally:
        path.write_bytes(original)


def assert_located(root: Path, result: ValidationResult) -> None:
    """Every problem is one line, `registry/PATH:LINE:COL: message`, at a line of its file."""
    for problem in result.problems:
        text = str(problem)
        assert LOCATED.match(text) and len(text.splitlines()) == 1, text
        assert problem.message.strip(), text
        path = root.parent / problem.path
        if path.is_file():  # every kind of line break counts, so the bound is generous
            lines = len(path.read_bytes().decode("utf-8", "replace").splitlines())
            assert problem.line <= lines + 1, text


def assert_as_yaml_1_1_reads_it(path: Path, data: bytes) -> None:
    """A file the validator reads holds the values libyaml's safe loader reads (YAML 1.1):
    numbers in every notation, booleans, nulls, strings; dates stay their text."""
    try:
        ours = to_python(load_nodes(path, "file")[0])
    except YamlRejected:
        return
    if b"<<" in data:
        return  # a merge key to PyYAML, a plain key here
    try:
        theirs = yaml.load(data, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, ValueError, TypeError, AttributeError):
        return  # e.g. `=`, a plain string here, has no constructor in PyYAML; PyYAML fails on
        # `!!timestamp x` with an AttributeError
    assert_same(ours, theirs)


def assert_same(ours: object, theirs: object) -> None:
    if isinstance(theirs, datetime.date):
        assert isinstance(ours, str)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs), (ours, theirs)
        for key in theirs:
            assert_same(ours[key], theirs[key])
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), (ours, theirs)
        for mine, its in zip(ours, theirs, strict=True):
            assert_same(mine, its)
    else:
        assert type(ours) is type(theirs) and ours == theirs, (ours, theirs)
        assert not (isinstance(ours, float) and not math.isfinite(ours))


def check_case(root: Path, relative: str, data: bytes) -> None:
    """Overwrite one file, validate the records that read it, check what came out."""
    targets = targets_of(relative)
    with written(root, relative, data) as path:
        result = validate(root, [root / target for target in targets], base=root.parent)
        assert_located(root, result)
        assert_as_yaml_1_1_reads_it(path, data)
    event("accepted" if not result.problems else "refused")
    if not result.problems:
        resolved = {*result.modules, *result.deployments}
        assert resolved == {target.removesuffix(".yaml") for target in targets}


@settings(FUZZ, max_examples=300)
@given(case=mutated_files(FAMILY_FILES))
def test_mutated_family_and_zoo_facts_files(fuzz_registry, case):
    check_case(fuzz_registry, *case)


@settings(FUZZ, max_examples=120)
@given(case=mutated_files(STATED) | mutated_files(MODULE_RECORDS) | mutated_files(DEPLOYMENTS))
def test_mutated_record_and_deployment_files(fuzz_registry, case):
    check_case(fuzz_registry, *case)


@settings(FUZZ, max_examples=150)
@given(case=dumped_files(FAMILY_FILES) | dumped_files(STATED) | dumped_files(DEPLOYMENTS))
def test_files_with_a_value_of_any_type_in_any_style(fuzz_registry, case):
    check_case(fuzz_registry, *case)


@settings(FUZZ, max_examples=120)
@given(
    relative=st.sampled_from([V1_FAMILY, sorted(STATED)[0], sorted(DEPLOYMENTS)[0]]),
    data=arbitrary_documents(),
)
def test_arbitrary_documents(fuzz_registry, relative, data):
    check_case(fuzz_registry, relative, data)


@settings(FUZZ, max_examples=120)
@given(case=mutated_files(SHARED) | dumped_files(SHARED))
def test_mutated_shared_files(fuzz_registry, case):
    check_case(fuzz_registry, *case)


@settings(FUZZ, max_examples=200)
@given(size=st.integers(1, 4096), momentum=st.floats(0, 1, exclude_max=True), data=st.data())
def test_numbers_in_any_yaml_1_1_notation_reach_the_records(fuzz_registry, size, momentum, data):
    """One conversion: the schema's range, the code rule's minimum and the resolved records
    agree on what `image_size` and `batch_norm_momentum` are, written in any YAML 1.1 notation
    in the family, and `min_image_size` in its zoo facts."""
    size_text = data.draw(yaml_1_1_integers(size))
    fraction = data.draw(yaml_1_1_fractions(momentum))
    assert yaml.safe_load(f"[{size_text}]") == [size]
    family = FAMILY_FILES[V1_FAMILY].replace("{image_size: 224}", f"{{image_size: {size_text}}}")
    family = family.replace("  batch_norm_momentum: 0.99", f"  batch_norm_momentum: {fraction}")
    zoo = FAMILY_FILES[V1_ZOO].replace(
        f"min_image_size: {V1_MIN_IMAGE_SIZE}",
        f"min_image_size: {data.draw(yaml_1_1_integers(V1_MIN_IMAGE_SIZE))}",
    )
    modules = [path for path in RECORDS_OF_FAMILY["inception_v1"] if path in MODULE_RECORDS]
    root = fuzz_registry
    with written(root, V1_FAMILY, family.encode()), written(root, V1_ZOO, zoo.encode()):
        result = validate(root, [root / path for path in modules], base=root.parent,
                          check_lock=False)  # fmt: skip
    assert_located(root, result)
    if size < V1_MIN_IMAGE_SIZE:
        assert {p.message.split(": ", 1)[1] for p in result.problems} == {
            f"image_size {size} is below the network's minimum of {V1_MIN_IMAGE_SIZE}"
        }
        assert len(result.problems) == len(modules)
        return
    assert result.problems == [], [str(p) for p in result.problems]
    for record in result.modules.values():
        assert record.image_size == (size, size)
        assert record.batch_norm_momentum in (None, yaml.safe_load(f"[{fraction}]")[0])
    assert any(record.batch_norm_momentum is not None for record in result.modules.values())


@settings(FUZZ, max_examples=4)
@given(
    cases=st.lists(
        mutated_files(FAMILY_FILES) | mutated_files(RECORD_FILES) | mutated_files(SHARED)
        | dumped_files(FAMILY_FILES),
        min_size=4, max_size=8,
    )
)  # fmt: skip
def test_the_command_on_mutated_registries(tmp_path_factory, cases):
    root = tmp_path_factory.mktemp("command") / "registry"
    shutil.copytree(REGISTRY_DIR, root)
    for index, (relative, data) in enumerate(cases):
        if relative in RECORD_FILES and index % 2:
            relative = f"google/fuzz/case_{index}/1.yaml"  # a new record beside the old ones
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


@pytest.mark.sweep
@settings(FUZZ, derandomize=False, max_examples=20_000)
@given(
    case=mutated_files(FAMILY_FILES) | mutated_files(RECORD_FILES) | mutated_files(SHARED)
    | dumped_files(FAMILY_FILES) | dumped_files(RECORD_FILES) | dumped_files(SHARED)
)  # fmt: skip
def test_sweep_of_new_random_cases_in_every_kind_of_file(fuzz_registry, case):
    """Out of CI: 20,000 cases drawn anew each run, every kind of file."""
    check_case(fuzz_registry, *case)
