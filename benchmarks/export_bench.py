"""Export time and artifact bytes per module and format, beside tensorflow_hub 0.15's exporter.

For each record, one synthetic TF-Slim checkpoint of its net is written, then, in the same run:

- ours: `read_checkpoint` + the format's `export` and the export check;
- tensorflow_hub 0.15 in the legacy venv (`hub015_exporter.py`, one process, TensorFlow's
  import not timed): `hub.create_module_spec` over the same network definition (`modules.nets`,
  which runs on TF 2.14 too) with the same signatures, regularization losses and image-size
  attachment, then `ModuleSpec.export(path, checkpoint_path=<the same checkpoint>)`.

The figures are the ratios ours / hub 0.15 of seconds and bytes (should be <= 1). hub 0.15 only
writes the TF1 Hub format; a saved_model_2 export is set against the same hub 0.15 module.
Each time is the best of `--rounds`. About 1.5 minutes on 2 cores for the six records.

    .venv/bin/python benchmarks/export_bench.py [--handles H ...] [--rounds 1] [--json OUT]
"""

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from devtools.legacy_venv import run_legacy_python
from devtools.seeds import seeds_and_classifiers
from hubzoo.contract import HUB, SAVED_MODEL_2
from hubzoo.paths import REPO_ROOT
from hubzoo.registry import load_registry
from pipeline.publish import export_spec

HUB015_EXPORTER = Path(__file__).with_name("hub015_exporter.py")


def folder_bytes(folder: Path) -> int:
    """Total size of the files under `folder`."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def our_export(spec, checkpoint: Path, module_format: str, out_dir: Path, rounds: int) -> float:
    """Best seconds of reading the checkpoint and exporting it (export check included)."""
    from modules.checkpoints.reading import read_checkpoint
    from modules.export import format_implementation
    from modules.inspect import check_export
    from modules.nets import net_layout

    writer = format_implementation(module_format).export
    best = float("inf")
    for _ in range(rounds):
        shutil.rmtree(out_dir, ignore_errors=True)
        started = time.perf_counter()
        layout = net_layout(spec.net, spec.num_classes, **spec.hyperparameters)
        weights = read_checkpoint(checkpoint, layout).values
        writer(spec, weights, out_dir)
        check_export(out_dir, spec, module_format)
        best = min(best, time.perf_counter() - started)
    return best


def hub015_exports(specs, checkpoints: dict[str, Path], work: Path, rounds: int) -> dict:
    """Best seconds per handle of tensorflow_hub 0.15's exporter, in one legacy process."""
    jobs = [
        spec.exporter_job(str(checkpoints[spec.net]), str(work / "hub015" / spec.handle))
        for spec in specs
    ]
    (work / "jobs.json").write_text(json.dumps(jobs))
    run_legacy_python(
        HUB015_EXPORTER, str(work / "jobs.json"), str(work / "hub015.json"), str(rounds),
        timeout=3600, env={"PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    return json.loads((work / "hub015.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--handles", nargs="*", help="records to export (default: the seed pages' modules)"
    )
    parser.add_argument("--rounds", type=int, default=1, help="best of this many exports")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()

    from modules.checkpoints.synthetic import write_synthetic_checkpoint

    registry = load_registry()
    handles = args.handles or seeds_and_classifiers(registry)
    specs = [export_spec(registry.find(handle), synthetic=True) for handle in handles]
    rows = []
    with tempfile.TemporaryDirectory(prefix="export_bench-") as tmp:
        work = Path(tmp)
        checkpoints = {
            spec.net: write_synthetic_checkpoint(
                spec.net, work / "checkpoints" / spec.net / "model.ckpt", 0, **spec.hyperparameters
            )
            for spec in specs
        }
        hub015_seconds = hub015_exports(specs, checkpoints, work, args.rounds)
        for spec in specs:
            hub015_bytes = folder_bytes(work / "hub015" / spec.handle)
            for module_format in (HUB, SAVED_MODEL_2):
                out_dir = work / module_format / spec.handle
                seconds = our_export(
                    spec, checkpoints[spec.net], module_format, out_dir, args.rounds
                )
                rows.append(
                    {
                        "handle": spec.handle,
                        "format": module_format,
                        "seconds": seconds,
                        "bytes": folder_bytes(out_dir),
                        "hub015_seconds": hub015_seconds[spec.handle],
                        "hub015_bytes": hub015_bytes,
                    }
                )
                shutil.rmtree(out_dir)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


def print_table(rows: list[dict]) -> None:
    """One line per module and format; the ratio columns are the figures."""
    header = (
        f"{'module':<54} {'format':<14} {'ours s':>7} {'hub015 s':>8} {'time x':>7} "
        f"{'ours MB':>8} {'hub015 MB':>9} {'bytes x':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['handle']:<54} {row['format']:<14} {row['seconds']:>7.2f} "
            f"{row['hub015_seconds']:>8.2f} {row['seconds'] / row['hub015_seconds']:>7.2f} "
            f"{row['bytes'] / 1e6:>8.2f} {row['hub015_bytes'] / 1e6:>9.2f} "
            f"{row['bytes'] / row['hub015_bytes']:>7.3f}"
        )


if __name__ == "__main__":
    main()
