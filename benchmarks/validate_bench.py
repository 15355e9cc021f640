"""Validate about 10,000 records with the real command; print records/s.

Target: at least 5,000 records/s on a 2-core machine, interpreter start included. The records
are copies of the registry's largest family (mobilenet_v2: 220 modules and 132 deployments) under
other namespaces, each copy with its own family and zoo facts file and its lock lines. The
baseline, measured in the same run, is a bare pass that only reads and parses the same files
with libyaml in a fresh interpreter: the ratio shows what the checks cost on top of parsing.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hubzoo.relock import relock
from hubzoo.store import open_store

REPO = Path(__file__).resolve().parents[1]
REGISTRY = REPO / "registry"
FAMILY = "mobilenet_v2"
NAMESPACE = "google/imagenet"
SHARED = (
    "tags", "publishers", "schema", "texts.yaml", "changelog.yaml", "papers.yaml",
    "collections.yaml", "preprocessing.yaml",
)  # fmt: skip

BARE_PARSE = """
import os, sys, yaml
n = 0
for root, dirs, files in os.walk(sys.argv[1]):
    for name in files:
        if name.endswith(".yaml"):
            with open(os.path.join(root, name), "rb") as f:
                yaml.compose(f.read().decode(), Loader=yaml.CSafeLoader)
            n += 1
print(n)
"""


def make_registry(root: Path, records: int) -> int:
    """A registry with the real shared data and copies of one family totalling about `records`
    records, locked; returns how many records it holds."""
    for name in SHARED:
        source = REGISTRY / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy(source, root / name)
    family = (REGISTRY / "families" / f"{FAMILY}.yaml").read_text()
    zoo_facts = (REGISTRY / "zoo_facts" / f"{FAMILY}.yaml").read_text()
    sources = sorted((REGISTRY / NAMESPACE).glob(f"{FAMILY}_*/**/*.yaml"))
    copies = max(1, round(records / len(sources)))
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
    return copies * len(sources)


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=10_000, help="about this many")
    parser.add_argument("--repeats", type=int, default=3, help="best of N runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "registry"
        records = make_registry(root, args.records)
        validate = [sys.executable, str(REPO / "scripts/validate.py"), "--registry", str(root)]
        bare = [sys.executable, "-c", BARE_PARSE, str(root)]
        ours = min(timed(validate)[0] for _ in range(args.repeats))
        base = min(timed(bare)[0] for _ in range(args.repeats))
    print(f"records:            {records}")
    print(f"validate.py:        {ours:.2f} s  = {records / ours:,.0f} records/s (target 5,000)")
    print(f"bare libyaml parse: {base:.2f} s  = {records / base:,.0f} records/s (baseline)")
    print(f"ratio validate/parse: {ours / base:.2f}")


if __name__ == "__main__":
    main()
