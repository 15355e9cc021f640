"""Publish modules or a deployment: validate, get checkpoint, export, check, package, smoke-test,
upload, site.

One handle runs the single-module pipeline (a deployment handle, its conversion of the parent
module); several handles, globs, --all, --changed, --shard or --jobs run a batch of modules
(pipeline.batch): pre-flight for all, then each, a summary table.
"""

import argparse
import signal
import sys
from types import FrameType
from typing import Any

from hubzoo.contract import MODULE_FORMATS, SMOKE_DEVICES
from hubzoo.errors import HubzooError
from hubzoo.progress import Progress
from hubzoo.units import format_bytes, parse_bytes
from modules.checkpoints.sources import FetchLimits
from pipeline.batch import GLOB_CHARACTERS, BatchOptions, parse_shard, publish_batch
from pipeline.publish import PublishOptions, publish

BATCH_ONLY = ("--all", "--changed", "--shard", "--jobs", "--fail-fast")
SINGLE_ONLY = ("--checkpoint", "--dry-run", "--format")


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, PublishOptions | BatchOptions]:
    parser = argparse.ArgumentParser(
        description="Publish modules: validate each record, get its checkpoint, export it, check "
        "the export against the record, package it (deterministic .tar.gz + sha256), smoke-test the "
        "package as a consumer loads it, upload it to the store (immutable; the manifest is written "
        "last), and rebuild the site from the store's manifests. A deployment handle (.../default/tfjs/1, "
        ".../default/lite/1) publishes a TF.js or TF Lite conversion of its parent module, built "
        "from the parent's checkpoint, checked in its runtime and against the parent's output. "
        "Several modules (handles, globs, "
        "--all, --changed) are checked first, all of them, before any export (record buildable, "
        "store writable, version free or identical, lock free); versions already published "
        "identically (same record digest, checkpoint, hubzoo and TensorFlow versions in their "
        "manifest) are skipped without a rebuild, so rerunning an interrupted run resumes it; a "
        "failure does not stop the others (unless --fail-fast); a summary table ends the run.",
    )
    parser.add_argument(
        "handles",
        nargs="*",
        metavar="HANDLE",
        help="full handle, unique suffix (inception_v1/feature_vector/1) or glob over module handles "
        "('*/mobilenet_v2_*/*/4'; quote it); one deployment handle (ending NAME/KIND/VERSION, e.g. "
        "mobilenet_v2_100_224/feature_vector/3/default/tfjs/1) publishes that deployment",
    )
    parser.add_argument(
        "--all", action="store_true",
        help="every record; those hubzoo cannot build (no network, quantops) are listed as skipped",
    )  # fmt: skip
    parser.add_argument(
        "--changed", action="store_true",
        help="only records unpublished in the store or whose manifest differs (record digest, "
        "format, checkpoint, hubzoo or TensorFlow version); alone: among all records",
    )  # fmt: skip
    parser.add_argument(
        "--shard", metavar="K/N", type=_shard,
        help="publish only shard K of N (1 <= K <= N) of the selection, split by a hash of each "
        "handle (the same on every machine): N CI machines publish one zoo into one store",
    )  # fmt: skip
    parser.add_argument(
        "--jobs", metavar="N", type=int, default=1,
        help="worker processes, each publishing one module at a time (default 1)",
    )  # fmt: skip
    parser.add_argument(
        "--fail-fast", action="store_true",
        help="stop at the first failure (a pre-flight failure: before any export)",
    )  # fmt: skip
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--checkpoint", metavar="PATH|URL",
        help="a local checkpoint prefix, folder or tarball, or a URL, instead of the record's "
        "source (one module only)",
    )  # fmt: skip
    source.add_argument(
        "--synthetic", action="store_true",
        help="use a seeded synthetic checkpoint in the exact TF-Slim layout (marked synthetic)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of --synthetic (default 0)")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="do everything but the upload and the site rebuild (one module only)",
    )
    parser.add_argument(
        "--format",
        choices=MODULE_FORMATS,
        help="export format (default: the record's; another one only with --dry-run; one module only)",
    )
    parser.add_argument(
        "--store", metavar="URL", help="store: a path or fsspec URL (s3://, gs://); default store/"
    )
    parser.add_argument(
        "--device", choices=SMOKE_DEVICES, default="auto",
        help="smoke-test device; auto uses a GPU when one is visible, else the CPU",
    )  # fmt: skip
    parser.add_argument("--no-site", action="store_true", help="do not rebuild the site")
    parser.add_argument(
        "--zoo-url", metavar="URL",
        help="where the rebuilt site's snippets and download links load archives from "
        "(default: an http(s) store's URL, else mkdocs.yml's)",
    )  # fmt: skip
    limits = parser.add_argument_group(
        "checkpoint download limits", "a fetch that passes one stops with one line, leaving nothing"
    )
    limits.add_argument(
        "--download-timeout", metavar="SECONDS", type=_seconds, default=FetchLimits.timeout,
        help=f"longest wait for any one read (default {FetchLimits.timeout:.0f})",
    )  # fmt: skip
    limits.add_argument(
        "--max-download-time", metavar="SECONDS", type=_seconds,
        default=FetchLimits.max_download_seconds,
        help=f"longest a whole download may take (default {FetchLimits.max_download_seconds:.0f})",
    )  # fmt: skip
    limits.add_argument(
        "--max-download-size", metavar="BYTES", type=_bytes,
        default=FetchLimits.max_download_bytes,
        help="largest tarball downloaded, e.g. 2G or 700M "
        f"(default {format_bytes(FetchLimits.max_download_bytes)})",
    )  # fmt: skip
    limits.add_argument(
        "--max-extracted-size", metavar="BYTES", type=_bytes,
        default=FetchLimits.max_extracted_bytes,
        help="most one tarball may extract to "
        f"(default {format_bytes(FetchLimits.max_extracted_bytes)})",
    )  # fmt: skip
    limits.add_argument(
        "--max-members", metavar="N", type=int, default=FetchLimits.max_members,
        help=f"most files and folders in one tarball (default {FetchLimits.max_members})",
    )  # fmt: skip
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show TensorFlow's start-up logging and the tracebacks of internal errors",
    )
    args = parser.parse_intermixed_args(argv)
    fetch_limits = FetchLimits(
        timeout=args.download_timeout,
        max_download_seconds=args.max_download_time,
        max_download_bytes=args.max_download_size,
        max_extracted_bytes=args.max_extracted_size,
        max_members=args.max_members,
    )
    # Options a single publish and a batch take alike.
    shared: dict[str, Any] = {
        "synthetic": args.synthetic,
        "seed": args.seed,
        "store_url": args.store,
        "device": args.device,
        "build_site": not args.no_site,
        "verbose": args.debug,
        "fetch_limits": fetch_limits,
        "zoo_url": args.zoo_url,
    }
    batch_flags = [flag for flag in BATCH_ONLY if _given(args, flag)]
    globs = [handle for handle in args.handles if any(c in handle for c in GLOB_CHARACTERS)]
    if len(args.handles) == 1 and not globs and not batch_flags:
        return args, PublishOptions(
            query=args.handles[0],
            checkpoint=args.checkpoint,
            dry_run=args.dry_run,
            format=args.format,
            **shared,
        )
    if not args.handles and not args.all and not args.changed:
        parser.error("name the modules to publish: HANDLE..., --all or --changed")
    single = [flag for flag in SINGLE_ONLY if _given(args, flag)]
    if single:
        parser.error(f"{', '.join(single)} publishes one module only, not a batch")
    return args, BatchOptions(
        queries=tuple(args.handles),
        all_records=args.all,
        changed=args.changed,
        shard=args.shard,
        jobs=args.jobs,
        fail_fast=args.fail_fast,
        **shared,
    )


def _given(args: argparse.Namespace, flag: str) -> bool:
    value = getattr(args, flag.lstrip("-").replace("-", "_"))
    return value not in (None, False) and not (flag == "--jobs" and value == 1)


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _bytes(text: str) -> int:
    try:
        return parse_bytes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _shard(text: str) -> tuple[int, int]:
    try:
        return parse_shard(text)
    except HubzooError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args, options = parse_args(argv)
    # a terminated publish (a cancelled CI job) stops as Ctrl-C does: cleanly, with its summary
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if isinstance(options, BatchOptions):
            report = publish_batch(options)
            print("\n".join(report.lines()))
            return 130 if report.interrupted else (0 if report.ok else 1)
        summary = publish(options, Progress())
    except HubzooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: nothing was published", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(
            f"internal error: {type(error).__name__}: {error} (rerun with --debug)", file=sys.stderr
        )
        return 3
    print("\n".join(summary.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
