"""Publish one module or deployment: validate, get checkpoint, export, check, package, smoke-test,
upload, site."""

import argparse
import sys

from hubzoo.contract import MODULE_FORMATS, SMOKE_DEVICES
from hubzoo.errors import HubzooError
from hubzoo.progress import Progress
from pipeline.publish import PublishOptions, publish


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, PublishOptions]:
    parser = argparse.ArgumentParser(
        description="Publish a module: validate its record, get its checkpoint, export it, check "
        "the export against the record, package it (deterministic .tar.gz + sha256), smoke-test the "
        "package as a consumer loads it, upload it to the store (immutable; the manifest is written "
        "last), and rebuild the site from the store's manifests. A deployment handle (.../default/tfjs/1, "
        ".../default/lite/1) publishes a TF.js or TF Lite conversion of its parent module, built "
        "from the parent's checkpoint, checked in its runtime and against the parent's output.",
    )
    parser.add_argument(
        "handle",
        help="full handle or a unique suffix, e.g. inception_v1/feature_vector/1, or a deployment's "
        "(ending NAME/KIND/VERSION, e.g. mobilenet_v2_100_224/feature_vector/3/default/tfjs/1)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--checkpoint", metavar="PATH|URL",
        help="a local checkpoint prefix, folder or tarball, or a URL, instead of the record's source",
    )  # fmt: skip
    source.add_argument(
        "--synthetic", action="store_true",
        help="use a seeded synthetic checkpoint in the exact TF-Slim layout (marked synthetic)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of --synthetic (default 0)")
    parser.add_argument(
        "--dry-run", action="store_true", help="do everything but the upload and the site rebuild"
    )
    parser.add_argument(
        "--format",
        choices=MODULE_FORMATS,
        help="export format (default: the record's; another one only with --dry-run)",
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
        "--debug",
        action="store_true",
        help="show TensorFlow's start-up logging and the tracebacks of internal errors",
    )
    args = parser.parse_args(argv)
    return args, PublishOptions(
        query=args.handle,
        checkpoint=args.checkpoint,
        synthetic=args.synthetic,
        seed=args.seed,
        dry_run=args.dry_run,
        format=args.format,
        store_url=args.store,
        device=args.device,
        build_site=not args.no_site,
        verbose=args.debug,
    )


def main(argv: list[str] | None = None) -> int:
    args, options = parse_args(argv)
    try:
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
