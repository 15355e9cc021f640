"""Run the downstream sweep (tests/downstream, `-m sweep`) family by family, each under a time
cap, and print how many module versions passed and failed (of how many records) per family and
format.

    .venv/bin/python -m devtools.downstream_sweep [--family F ...] [--minutes 10] [--maxfail 4]

Each family runs in its own pytest process (`-k` on the family's name), so one slow or failing
family does not starve the others; the per-test outcomes are read from pytest's `-v` lines. The
CI subset (tests/downstream/corpus.py) is not part of the sweep and is not counted.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from hubzoo.paths import REPO_ROOT
from hubzoo.registry import load_registry

_OUTCOME = re.compile(r"::test_downstream_sweep\[([^\]]+)\] (PASSED|FAILED|ERROR)")
_FAILURE = re.compile(r"^DOWNSTREAM-FAILURE .*$", re.MULTILINE)
"""What tests/downstream/conftest.py prints as soon as a test fails."""


def keyword(family: str, families: list[str]) -> str:
    """A pytest -k expression selecting `family`'s handles and no other family's."""
    others = [other for other in families if other != family and family in other]
    return " and ".join([family, *(f"not {other}" for other in others)])


def run_family(family: str, families: list[str], minutes: float, maxfail: int, log: Path) -> str:
    """Run one family's sweep tests (killed after `minutes`); returns pytest's output."""
    command = [
        sys.executable, "-m", "pytest", "-v", "tests/downstream", "-m", "sweep",
        "-k", keyword(family, families), "-p", "no:cacheprovider", f"--maxfail={maxfail}",
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=minutes * 60
        )
        output = done.stdout + done.stderr
    except subprocess.TimeoutExpired as expired:
        stdout = expired.stdout or b""
        output = stdout.decode() if isinstance(stdout, bytes) else stdout
        output += f"\n(time cap of {minutes} min reached)\n"
    log.write_text(output)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", action="append", help="a family to run (default: all)")
    parser.add_argument("--minutes", type=float, default=10, help="time cap per family")
    parser.add_argument("--maxfail", type=int, default=4, help="stop a family after N failures")
    parser.add_argument("--logs", type=Path, default=Path("sweep-logs"), help="pytest logs here")
    args = parser.parse_args(argv)

    records = {
        r.handle: r for r in load_registry().modules.values() if r.network and not r.quantized
    }
    families = sorted({r.family for r in records.values()})
    args.logs.mkdir(parents=True, exist_ok=True)
    counts: Counter[tuple[str, str, str]] = Counter()
    for family in args.family or families:
        output = run_family(
            family, families, args.minutes, args.maxfail, args.logs / f"{family}.log"
        )
        for handle, outcome in _OUTCOME.findall(output):
            counts[(family, records[handle].format, outcome)] += 1
        totals = Counter(r.format for r in records.values() if r.family == family)
        summary = [
            f"{fmt}: {counts[(family, fmt, 'PASSED')]} passed, {counts[(family, fmt, 'FAILED')]}"
            f" failed, {counts[(family, fmt, 'ERROR')]} errors, of {total} records"
            for fmt, total in sorted(totals.items())
        ]
        print(f"{family}: " + "; ".join(summary), flush=True)
        for line in _FAILURE.findall(output):
            print("  " + line, flush=True)
    return 1 if any(outcome != "PASSED" for _, _, outcome in counts) else 0


if __name__ == "__main__":
    sys.exit(main())
