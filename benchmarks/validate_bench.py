"""Validate 10,000 synthetic records with the real command; print records/s.

Target: at least 5,000 records/s on a 2-core machine, interpreter start included. The baseline,
measured in the same run, is a bare pass that only reads and parses the same files with
libyaml in a fresh interpreter: the ratio shows what the checks cost on top of parsing.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REGISTRY = REPO / "registry"
TEMPLATE = REGISTRY / "google/imagenet/inception_v2/feature_vector/3.yaml"
SHARED = ("tags", "architectures", "publishers", "collections", "schema", "papers.yaml")
ARCHITECTURES = ("inception_v1", "inception_v2", "inception_resnet_v2")

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


def make_registry(root: Path, count: int) -> None:
    """A registry with the real shared data and `count` valid records."""
    for name in SHARED:
        source = REGISTRY / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy(source, root / name)
    template = TEMPLATE.read_text()
    for index in range(count):
        architecture = ARCHITECTURES[index % 3]
        handle = f"google/bench/net_{index:05d}/feature_vector/3"
        text = (
            template.replace("google/imagenet/inception_v2/feature_vector/3", handle)
            .replace("architecture: inception_v2", f"architecture: {architecture}")
            .replace("height: 224", f"height: {224 + index % 100}")
        )
        text = "\n".join(line for line in text.splitlines() if not line.startswith("counterpart:"))
        path = root / f"{handle}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3, help="best of N runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "registry"
        make_registry(root, args.records)
        validate = [sys.executable, str(REPO / "scripts/validate.py"), "--registry", str(root)]
        bare = [sys.executable, "-c", BARE_PARSE, str(root)]
        ours = min(timed(validate)[0] for _ in range(args.repeats))
        base = min(timed(bare)[0] for _ in range(args.repeats))
    print(f"records:            {args.records}")
    print(
        f"validate.py:        {ours:.2f} s  = {args.records / ours:,.0f} records/s (target 5,000)"
    )
    print(f"bare libyaml parse: {base:.2f} s  = {args.records / base:,.0f} records/s (baseline)")
    print(f"ratio validate/parse: {ours / base:.2f}")


if __name__ == "__main__":
    main()
