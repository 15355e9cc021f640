"""Validating the registry: every file of every kind, every problem as `path:line:col: message`.

First the shared files, the page eras and the families (each with its schema and rules, see
hubzoo.shared, hubzoo.eras, hubzoo.families), then each record file: its schema, its place in
its family, the references of its own facts, the rules on its merged facts (hubzoo.rules), the
records it names, and its lock line (hubzoo.lock). Nothing here imports TensorFlow: this runs
on every change.
"""

from __future__ import annotations

import os
import pickle
import re
import signal
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from hubzoo.documents import check_document
from hubzoo.eras import Eras, load_eras
from hubzoo.families import FAMILIES_FOLDER, ZOO_FACTS_FOLDER, load_families
from hubzoo.family import Family, ModulePlace
from hubzoo.handles import DeploymentHandle, deployment_handle, is_handle
from hubzoo.labels import LABELS_FOLDER
from hubzoo.located import LocatedDict, located
from hubzoo.lock import LOCK_FILE, Lock, read_lock
from hubzoo.paths import TEMPLATES_DIR, display_path
from hubzoo.record import Deployment, ModuleRecord
from hubzoo.references import deployment_fact_problems, module_fact_problems, unknown
from hubzoo.resolve import (
    FactPatternError,
    deployment_record,
    merge_deployment_facts,
    merge_module_facts,
    module_record,
)
from hubzoo.rules import deployment_problems, fact_problem, module_problems
from hubzoo.shared import PUBLISHERS_FOLDER, SHARED_FILES, TAGS_FOLDER, Shared, load_shared
from hubzoo.yamlnodes import STR, Problem, YamlRejected, load_nodes, plain_tag, shown

RECORD_SUFFIXES = (".yaml", ".yml")
SHARED_FOLDERS = (
    FAMILIES_FOLDER, ZOO_FACTS_FOLDER, PUBLISHERS_FOLDER, TAGS_FOLDER, LABELS_FOLDER, "schema",
)  # fmt: skip
"""Folders of registry/ that hold no records."""
PARALLEL_THRESHOLD = 2000
"""From this many files on, records are checked in one process per core."""
MAX_WORKERS = 8
"""The most processes that check records."""
LOCK_COMMAND = "scripts/lock_records.py"
_BARE_RECORD = re.compile(
    rb"(?:#[ -~]*\n)*(?P<key>family|parent): (?P<value>[a-z0-9][a-z0-9_./-]*)\n"
)
"""A record file that only names its family (or a deployment its parent): comment lines, then
`family: ID` (`parent: HANDLE`)."""
_BARE_RECORD_MAX_BYTES = 1024


@dataclass
class ValidationResult:
    """What a validation run found: the valid records and every problem."""

    modules: dict[str, ModuleRecord] = field(default_factory=dict)
    deployments: dict[str, Deployment] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files_checked: int = 0
    shared: Shared | None = None
    eras: Eras | None = None
    families: dict[str, Family] = field(default_factory=dict)


def find_record_files(registry_dir: Path) -> list[Path]:
    """Every record file under the registry (shared folders and files excluded), sorted."""
    return [Path(path) for path in _record_file_names(str(registry_dir))]


def _record_file_names(registry_dir: str) -> list[str]:
    """`find_record_files` as strings: paths of thousands of files, made cheaply. Each folder's
    files, then its subfolders', walked without recursion (no depth of folders exhausts the
    stack); links are never followed into folders (a link named *.yaml is listed, and refused
    when read unless it leads to a regular file); unreadable folders are skipped."""
    found: list[str] = []
    pending = [registry_dir]
    while pending:
        root = pending.pop()
        top = root == registry_dir
        folders, files = _folder_entries(root)
        if top:
            folders = [name for name in folders if name not in SHARED_FOLDERS]
        found.extend(
            os.path.join(root, name)
            for name in sorted(files)
            if name.endswith(RECORD_SUFFIXES) and not (top and name in SHARED_FILES)
        )
        pending.extend(os.path.join(root, name) for name in sorted(folders, reverse=True))
    return found


def _folder_entries(folder: str) -> tuple[list[str], list[str]]:
    """The names in `folder`: (real subfolders to walk into, everything else); nothing when it
    cannot be read."""
    folders: list[str] = []
    files: list[str] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    is_folder = entry.is_dir(follow_symlinks=False)
                except OSError:
                    is_folder = False
                (folders if is_folder else files).append(entry.name)
    except OSError:
        return [], []
    return folders, files


@dataclass(frozen=True)
class Context:
    """What checking one record file needs besides the file."""

    registry_dir: Path
    base: Path
    shared: Shared
    eras: Eras
    families: dict[str, Family]
    lock: Lock | None  # None: the lock is not checked
    handles: frozenset[str]  # every record file's handle
    handle_of: dict[str, str | None]  # every record file's path -> its handle
    build_records: bool
    refused_families: frozenset[str]  # families whose files are there but have problems
    in_run: frozenset[str]  # the handles of the files this run checks (and reports on)


@dataclass(frozen=True)
class Checked:
    """One record file checked: its handle if its path names one, its record if valid and asked
    for, its problems."""

    display: str
    handle: str | None
    record: ModuleRecord | Deployment | None
    problems: list[Problem]


def validate(
    registry_dir: Path,
    paths: Iterable[Path] | None = None,
    base: Path | None = None,
    build_records: bool = True,
    check_lock: bool = True,
    templates_dir: Path = TEMPLATES_DIR,
) -> ValidationResult:
    """Validate the given record files, or every record in the registry.

    `base` is the folder paths in messages are relative to (default: the working folder);
    without `build_records` only problems are collected (the command-line check); without
    `check_lock` records are not compared with registry/records.lock (to rewrite it).
    """
    registry_dir = Path(os.path.abspath(registry_dir))
    base = Path(os.path.abspath(base or Path.cwd()))
    shared, problems = load_shared(registry_dir, base)
    eras, era_problems = load_eras(templates_dir, base)
    families, family_problems = load_families(registry_dir, base, shared, eras)
    lock_path = registry_dir / LOCK_FILE
    lock, lock_problems = read_lock(lock_path, display_path(lock_path, base))
    result = ValidationResult(shared=shared, eras=eras, families=families)
    result.problems = [*problems, *era_problems, *family_problems]
    if check_lock:
        result.problems += lock_problems
    every_file = _record_file_names(str(registry_dir))
    given = dict.fromkeys(os.path.abspath(path) for path in paths) if paths is not None else None
    files = list(given) if given is not None else every_file
    skip = len(str(registry_dir)) + 1  # the walk's paths start with the folder: no abspath
    handle_of: dict[str, str | None] = {
        path: path[skip : path.rindex(".")].replace(os.sep, "/") for path in every_file
    }  # fmt: skip
    checked_lock = lock if check_lock and lock.readable else None
    in_run = (handle_of.get(path) or _handle_of_path(path, registry_dir) for path in files)
    context = Context(
        registry_dir, base, shared, eras, families, checked_lock,
        frozenset(handle for handle in handle_of.values() if handle), handle_of, build_records,
        _family_stems(registry_dir) - families.keys(), frozenset(h for h in in_run if h),
    )  # fmt: skip
    seen: dict[str, str] = {}
    for checked in _check_all(files, context):
        result.files_checked += 1
        result.problems.extend(checked.problems)
        if checked.handle is None:
            continue
        if checked.handle in seen:
            message = f"handle '{checked.handle}' is also used by {seen[checked.handle]}"
            result.problems.append(Problem(checked.display, 1, 1, message))
            continue
        seen[checked.handle] = checked.display
        if isinstance(checked.record, ModuleRecord):
            result.modules[checked.handle] = checked.record
        elif isinstance(checked.record, Deployment):
            result.deployments[checked.handle] = checked.record
    if check_lock and paths is None:
        result.problems.extend(_unknown_lock_lines(lock, context.handles, lock_path, base))
    result.problems = sorted(set(result.problems))
    return result


def _check_all(files: list[str], context: Context) -> Iterator[Checked]:
    """Each file checked, in order: from PARALLEL_THRESHOLD files on, split between this
    process and forked children, one per core."""
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    if len(files) < PARALLEL_THRESHOLD or workers < 2 or not hasattr(os, "fork"):
        yield from RecordChecker(context).check_all(files)
        return
    size = -(-len(files) // workers)
    chunks = [files[i : i + size] for i in range(0, len(files), size)]
    children = [_Child(chunk, context) for chunk in chunks[1:]]
    try:
        yield from RecordChecker(context).check_all(chunks[0])
        for child in children:
            yield from child.results()
    finally:
        for child in children:
            child.stop()


class _Child:
    """A forked process checking `files` while its parent goes on (no multiprocessing: a fork
    and a pipe cost less to start). Its results come back pickled; if it fails, the parent
    checks the files itself, so a failure shows as the parent's own."""

    def __init__(self, files: list[str], context: Context) -> None:
        self.files, self.context = files, context
        self.pid = 0
        self.stream: BinaryIO | None = None
        try:
            read_end, write_end = os.pipe()
        except OSError:  # no descriptors left: the parent checks the files
            return
        try:
            self.pid = os.fork()
        except OSError:  # no process to be had: the parent checks the files
            os.close(read_end)
            os.close(write_end)
            return
        if self.pid == 0:  # pragma: no cover - the child, measured by its parent's results
            os.close(read_end)
            status = 1
            try:
                with os.fdopen(write_end, "wb") as out:
                    checked = RecordChecker(context).check_all(files)
                    pickle.dump(checked, out, protocol=pickle.HIGHEST_PROTOCOL)
                status = 0
            finally:
                os._exit(status)  # no cleanup of the parent's state, no output flushed twice
        os.close(write_end)
        self.stream = os.fdopen(read_end, "rb")

    def results(self) -> list[Checked]:
        """The child's results, once it is done."""
        if self.stream is None:
            return RecordChecker(self.context).check_all(self.files)
        data = self.stream.read()
        self.stream.close()
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        if status == 0:
            checked: list[Checked] = pickle.loads(data)
            return checked
        return RecordChecker(self.context).check_all(self.files)

    def stop(self) -> None:
        """End the child if its results were not read (the parent failed or was stopped)."""
        if self.pid and self.stream is not None:
            self.stream.close()
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = 0


class RecordChecker:
    """Checks record files one by one, keeping the modules it resolved for their deployments."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self._modules: dict[str, ModuleRecord | None] = {}  # resolved modules, by handle
        self._base = os.path.abspath(context.base) + os.sep  # as display_path shortens paths

    def check_all(self, files: list[str]) -> list[Checked]:
        """Check record files in order."""
        return [self.check(path) for path in files]

    def check(self, path: str) -> Checked:
        """Check one module or deployment record file."""
        context = self.context
        base = self._base
        display = path[len(base) :] if path.startswith(base) else display_path(path, base)
        handle = context.handle_of.get(path) or _handle_of_path(path, context.registry_dir)
        if handle is None:
            message = f"not a record: its path is not a handle ({context.registry_dir})"
            return Checked(display, None, None, [Problem(display, 1, 1, message)])
        if not is_handle(handle):
            message = (
                f"not a record: {shown(handle)} is not a handle (lowercase PUBLISHER/NAME.../"
                f"VERSION, VERSION 1, 2, ...)"
            )
            return Checked(display, None, None, [Problem(display, 1, 1, message)])
        parts = deployment_handle(handle)
        data = self._bare(path, display, parts)
        if data is None:
            try:
                node, _ = load_nodes(Path(path), display)
            except YamlRejected as rejected:
                return Checked(display, handle, None, [rejected.problem])
            kind = "record" if parts is None else "deployment"
            problems = check_document(node, kind, display)
            if problems:
                return Checked(display, handle, None, problems)
            data = located(node, display)
        record: ModuleRecord | Deployment | None
        if parts is None:
            record, problems = self._module(handle, data)
            self._modules[handle] = record if isinstance(record, ModuleRecord) else None
        else:
            record, problems = self._deployment(handle, parts, data)
        if record is not None and context.lock is not None:
            problems += _lock_problems(record, data, context.lock)
        keep = record if context.build_records and not problems else None
        return Checked(display, handle, keep, problems)

    def _bare(self, path: str, display: str, parts: DeploymentHandle | None) -> LocatedDict | None:
        """The data of a record file that only names a valid family, or of a deployment file
        that only names its parent (most files), read without a YAML parser: their bytes are
        comment lines and `family: ID` (`parent: HANDLE`), which YAML reads as exactly that
        mapping. None for any other file, which the parser reads."""
        try:  # opened as the parser's reading opens files: a FIFO or a terminal must not block
            descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                return None
            raw = os.read(descriptor, _BARE_RECORD_MAX_BYTES + 1)
        except OSError:
            return None
        finally:
            os.close(descriptor)
        match = _BARE_RECORD.fullmatch(raw) if len(raw) <= _BARE_RECORD_MAX_BYTES else None
        if match is None:
            return None
        key, value = match["key"].decode(), match["value"].decode()
        if parts is None:
            valid = key == "family" and value in self.context.families
        else:
            valid = key == "parent" and value == parts.parent
        if not valid or plain_tag(value) != STR:  # `family: 1` is a number to the parser
            return None
        line = raw.count(b"\n", 0, match.start("key")) + 1
        data = LocatedDict({key: value})
        data.source, data.start, data.positions = display, (line, 1), {key: (line, len(key) + 3)}
        return data

    def _module(self, handle: str, data: LocatedDict) -> tuple[ModuleRecord | None, list[Problem]]:
        context = self.context
        family = context.families.get(data["family"])
        if family is None and data["family"] in context.refused_families:
            return None, []  # the problems of its family's files stand for it
        if family is None:
            message = unknown("family", data["family"], context.families, "the valid families")
            return None, [data.problem("family", message)]
        place = family.place(handle)
        if place is None:
            return None, [data.problem("family", _misplaced(handle, family))]
        own = _own_facts(data)
        problems = list(module_fact_problems(own, context.shared, context.eras))
        merged = merge_module_facts(family, place, own)
        problems += module_problems(handle, data, own, place, merged)
        if problems:
            return None, problems
        try:
            record = module_record(handle, family, place, merged, context.shared)
        except FactPatternError as error:
            return None, [fact_problem(handle, data, own, merged, error.key, str(error))]
        problems += _named_records(record, data, context.handles)
        return (None if problems else record), problems

    def _deployment(
        self, handle: str, parts: DeploymentHandle, data: LocatedDict
    ) -> tuple[Deployment | None, list[Problem]]:
        context = self.context
        if data["parent"] != parts.parent:
            message = f"parent must be the module the path names, {parts.parent}"
            return None, [data.problem("parent", message)]
        if not is_handle(parts.parent) or deployment_handle(parts.parent) is not None:
            message = f"{parts.parent} is not a module handle: a deployment converts a module"
            return None, [data.problem("parent", message)]
        parent = self._parent(parts.parent)
        if parent is None and parts.parent in context.in_run:
            return None, []  # the parent's problems, reported in this run, stand for it
        if parent is None:
            return None, [data.problem("parent", f"parent {parts.parent} has no valid record")]
        family = context.families[parent.family]
        place = family.place(parent.handle)
        assert isinstance(place, ModulePlace), "a valid parent has a place in its family"
        own = _own_facts(data)
        problems = list(deployment_fact_problems(own, context.shared, context.eras))
        merged = merge_deployment_facts(family, place, f"{parts.kind}/{parts.name}", own)
        problems += deployment_problems(handle, data, own, merged, parent)
        if problems:
            return None, problems
        return deployment_record(handle, parts, merged), []

    def _parent(self, handle: str) -> ModuleRecord | None:
        """The resolved module `handle` (checked already, or now from its own file), or None
        when it has problems."""
        if handle not in self._modules:
            path = os.path.join(self.context.registry_dir, f"{handle}.yaml")
            if os.path.isfile(path):
                self.check(path)
            self._modules.setdefault(handle, None)  # a file refused before its facts were read
        return self._modules[handle]


def _family_stems(registry_dir: Path) -> frozenset[str]:
    """The ids named by the files of registry/families/ and registry/zoo_facts/."""
    return frozenset(
        path.stem
        for folder in (FAMILIES_FOLDER, ZOO_FACTS_FOLDER)
        for path in (registry_dir / folder).glob("*.yaml")
    )


def _own_facts(data: LocatedDict) -> LocatedDict:
    """The facts a record file states itself (its `facts:`), located; empty when it has none."""
    own = data.get("facts")
    if isinstance(own, LocatedDict):
        return own
    empty = LocatedDict()
    empty.source, empty.start, empty.positions = data.source, data.start, {}
    return empty


def _misplaced(handle: str, family: Family) -> str:
    """Why `handle` is not a module handle of `family`."""
    if not handle.startswith(family.namespace + "/"):
        return f"family {family.id}'s handles start with {family.namespace}/"
    rest = handle[len(family.namespace) + 1 :]
    variant = rest.split("/", 1)[0]
    if variant not in family.variants:
        return unknown("variant", variant, family.variants, f"family {family.id}")
    releases = {
        f"{line.path}*/{version}": line.id
        for line in family.lines.values()
        for version in line.releases
    }
    return (
        f"{handle} is not a release of family {family.id}: its lines and releases are "
        f"{', '.join(sorted(releases))} (TASK: feature_vector or classification)"
    )


def _named_records(
    record: ModuleRecord, data: LocatedDict, handles: frozenset[str]
) -> Iterator[Problem]:
    for kind, other in (("counterpart", record.counterpart), ("parent", record.parent)):
        if other is not None and other not in handles:
            yield data.problem(None, f"its {kind} {other} has no record in the registry")


def _lock_problems(
    record: ModuleRecord | Deployment, data: LocatedDict, lock: Lock
) -> list[Problem]:
    locked = lock.digest(record.handle)
    if locked is None:
        message = f"not in {LOCK_FILE}: lock this new version with {LOCK_COMMAND} {record.handle}"
        return [data.problem(None, message)]
    if locked != record.digest:
        line = lock.entries[record.handle][1]
        message = (
            f"its resolved facts no longer match {LOCK_FILE} line {line}: published versions are "
            f"immutable, publish a new version (a version not yet published may be relocked "
            f"with {LOCK_COMMAND} {record.handle})"
        )
        return [data.problem(None, message)]
    return []


def _unknown_lock_lines(
    lock: Lock, handles: frozenset[str], lock_path: Path, base: Path
) -> Iterator[Problem]:
    display = display_path(lock_path, base)
    for handle, (_, line) in sorted(lock.entries.items()):
        if handle not in handles:
            message = f"{handle} is locked but has no record file: published versions stay"
            yield Problem(display, line, 1, message)


def _handle_of_path(path: str | Path, registry_dir: Path) -> str | None:
    absolute, root = os.path.abspath(path), str(registry_dir)
    if not absolute.startswith(root + os.sep):
        return None
    relative = absolute[len(root) + 1 :]
    stem, suffix = os.path.splitext(relative)
    return stem.replace(os.sep, "/") if suffix in RECORD_SUFFIXES else None
