"""Validate the grown registry plus 10,000 synthetic records with the real command; print
records/s and the ratio to a bare parse of the same files, measured in the same run.

Target (issue 14): at least 5,000 records/s on a 2-core machine, interpreter start included,
and at most 1.2x a bare parse. The registry is a copy of the real one (every family, record,
deployment and shared file) plus synthetic records: copies of its largest family
(mobilenet_v2: 220 modules and 132 deployments) under other namespaces, each copy with its own
family and zoo facts file, all locked. The baseline is a bare pass that only reads and parses
the same files with libyaml in a fresh interpreter: the ratio shows what the checks cost on top
of parsing. A third pass only lists and reads the files (no parse): how much of the bare parse
is the filesystem's.
"""

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hubzoo.relock import relock
from hubzoo.store import open_store
from hubzoo.validate import find_record_files

REPO = Path(__file__).resolve().parents[1]
REGISTRY = REPO / "registry"
FAMILY = "mobilenet_v2"
NAMESPACE = "google/imagenet"

EVERY_FILE = """
import os, sys{imports}
n = 0
for root, dirs, files in os.walk(sys.argv[1]):
    for name in files:
        if name.endswith(".yaml"):
            with open(os.path.join(root, name), "rb") as f:
                text = f.read()
            {action}
            n += 1
print(n)
"""
"""A fresh interpreter's pass over every .yaml file under a folder, doing `action` with each."""
BARE_PARSE = EVERY_FILE.format(
    imports=", yaml", action="yaml.compose(text.decode(), Loader=yaml.CSafeLoader)"
)
BARE_READ = EVERY_FILE.format(imports="", action="del text")


def make_registry(root: Path, records: int) -> int:
    """A copy of the registry plus copies of one family totalling about `records` synthetic
    records, all locked; returns how many records it holds."""
    shutil.copytree(REGISTRY, root)
    grown = len(find_record_files(root))
    family = (REGISTRY / "families" / f"{FAMILY}.yaml").read_text()
    zoo_facts = (REGISTRY / "zoo_facts" / f"{FAMILY}.yaml").read_text()
    sources = sorted((REGISTRY / NAMESPACE).glob(f"{FAMILY}_*/**/*.yaml"))
    copies = max(1, -(-records // len(sources)))  # at least `records`
    for copy in range(copies):
        family_id, namespace = f"{FAMILY}_copy{copy:03d}", f"google/bench{copy:03d}"
        for folder, text in (("families", family), ("zoo_facts", zoo_facts)):
            target = root / folder / f"{family_id}.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(
                text.replace(f"id: {FAMILY}\n", f"id: {family_id}\n")
                .replace(f"family: {FAMILY}\n", f"family: {family_id}\n")
                .replace(f"namespace: {NAMESPACE}\n", f"namespace: {namespace}\n")
            )
        for source in sources:
            target = root / namespace / source.relative_to(REGISTRY / NAMESPACE)
            target.parent.mkdir(parents=True, exist_ok=True)
            text = source.read_text().replace(f"family: {FAMILY}\n", f"family: {family_id}\n")
            target.write_text(text.replace(f"parent: {NAMESPACE}/", f"parent: {namespace}/"))
    relock(open_store(str(root.parent / "store")), registry_dir=root)
    return grown + copies * len(sources)


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system of the command and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--records", type=int, default=10_000, help="about this many synthetic records"
    )
    parser.add_argument("--repeats", type=int, default=5, help="best of N runs, interleaved")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "registry"
        records = make_registry(root, args.records)
        validate = [sys.executable, str(REPO / "scripts/validate.py"), "--registry", str(root)]
        bare = [sys.executable, "-c", BARE_PARSE, str(root)]
        read = [sys.executable, "-c", BARE_READ, str(root)]
        runs = [(timed(validate), timed(bare), timed(read)) for _ in range(args.repeats)]
    ours, base, files = (
        (min(run[i][0] for run in runs), min(run[i][1] for run in runs)) for i in range(3)
    )
    print(f"records:            {records:,} (the registry plus synthetic ones)")
    print(
        f"validate.py:        {ours[0]:.2f} s = {records / ours[0]:,.0f} records/s "
        f"(target 5,000), CPU {ours[1]:.2f} s"
    )
    print(
        f"bare libyaml parse: {base[0]:.2f} s = {records / base[0]:,.0f} records/s "
        f"(baseline), CPU {base[1]:.2f} s"
    )
    print(
        f"listing and reading the files, no parse: {files[0]:.2f} s "
        f"({files[0] / base[0]:.0%} of the bare parse), CPU {files[1]:.2f} s"
    )
    print(
        f"ratio validate/parse: {ours[0] / base[0]:.2f} wall (target 1.2), "
        f"{ours[1] / base[1]:.2f} CPU"
    )


if __name__ == "__main__":
    main()
