"""Check a module store and manage its publish locks: verify, fsck, lock show, lock break."""

import argparse
import sys

from hubzoo.errors import HubzooError
from hubzoo.paths import DEFAULT_STORE_DIR
from hubzoo.store import CheckReport, LockInfo, LockPolicy, Store, open_store

EXIT_OK, EXIT_PROBLEMS, EXIT_ERROR = 0, 1, 2

LOCK_RULES = (
    "A publish refreshes its lock every {refresh:.0f} s. A lock is stale, and the next publish "
    "breaks it, when it was not refreshed for {stale:.0f} s (any host), when its holder ran on "
    "this host and is gone or its pid now runs another process, or when it is empty or "
    "unreadable and older than {grace:.0f} s."
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    policy = LockPolicy()
    rules = LOCK_RULES.format(
        refresh=policy.refresh_seconds,
        stale=policy.stale_seconds,
        grace=policy.unreadable_grace_seconds,
    )
    parser = argparse.ArgumentParser(
        description="Check a module store and manage its publish locks. The store is never "
        "created; only `fsck --clean` and `lock break` change it.",
        epilog=f"Exit status: 0 all well, 1 problems found, 2 the command could not run. {rules}",
    )
    store_help = f"fsspec URL or path of the store (default: {DEFAULT_STORE_DIR})"
    parser.add_argument("--store", metavar="URL", help=store_help)
    common = argparse.ArgumentParser(add_help=False)  # --store also after the command
    common.add_argument("--store", metavar="URL", default=argparse.SUPPRESS, help=store_help)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    verify = commands.add_parser(
        "verify",
        parents=[common],
        help="check published versions: each manifest parses, each archive has its size and sha256",
    )
    verify.add_argument("handles", nargs="*", metavar="HANDLE", help="full handles (default: all)")
    fsck = commands.add_parser(
        "fsck",
        parents=[common],
        help="verify every version, and find leftovers of interrupted publishes and stale locks",
    )
    fsck.add_argument(
        "--clean",
        action="store_true",
        help="remove those leftovers and stale locks (never a manifest or a published archive)",
    )
    lock = commands.add_parser(
        "lock", parents=[common], help="show or break the publish lock of a handle"
    )
    lock.add_argument("action", choices=["show", "break"])
    lock.add_argument("handle", metavar="HANDLE", help="the full handle")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        store = open_store(args.store, read_only=True)
        if args.command == "verify":
            return print_report(store.verify(args.handles or None), "verified")
        if args.command == "fsck":
            return print_report(store.fsck(clean=args.clean), "checked")
        return lock_command(store, args.action, args.handle)
    except HubzooError as error:
        print(f"store: {error}", file=sys.stderr)
        return EXIT_ERROR


def print_report(report: CheckReport, verb: str) -> int:
    for problem in report.problems:
        print(problem)
    for note in report.notes:
        print(f"note: {note}")
    found = len(report.problems)
    outcome = "no problems" if not found else f"{found} problem{'s' if found > 1 else ''}"
    print(f"{verb} {report.versions} version{'s' if report.versions != 1 else ''}: {outcome}")
    return EXIT_PROBLEMS if found else EXIT_OK


def lock_command(store: Store, action: str, handle: str) -> int:
    info = store.lock_info(handle) if action == "show" else store.break_lock(handle)
    if info is None:
        print(f"{handle}: no lock")
        return EXIT_OK
    print(f"{handle}: {'broke the lock' if action == 'break' else 'locked'} ({describe(info)})")
    return EXIT_OK


def describe(info: LockInfo) -> str:
    state = f"stale: {info.stale_reason}" if info.stale_reason else "live"
    return f"{info.describe()}; {state}; {info.url}"


if __name__ == "__main__":
    sys.exit(main())
