"""Write a seeded synthetic checkpoint in the exact TF-Slim layout of a network."""

import argparse
import sys
from pathlib import Path

from hubzoo.errors import HubzooError
from modules.runtime import start_tensorflow


def hyperparameter(text: str) -> tuple[str, int | float | str]:
    """NAME=VALUE with VALUE read as an int, else a float, else kept as text."""
    name, separator, value = text.partition("=")
    if not separator or not name.isidentifier():
        raise argparse.ArgumentTypeError(
            f"expected NAME=VALUE, e.g. depth_multiplier=1.4, not {text!r}"
        )
    for convert in (int, float):
        try:
            return name, convert(value)
        except ValueError:
            continue
    return name, value


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    start_tensorflow(verbose="--debug" in argv)  # before argparse: NET's choices are the nets
    from modules.checkpoints.synthetic import synthetic_layout, write_synthetic_checkpoint
    from modules.nets import net_names

    parser = argparse.ArgumentParser(
        description="Write a TF-Slim checkpoint of NET with seeded random values (feature "
        "extractor, 1001-class Logits head, the auxiliary heads of a TF-Slim training run, "
        "global_step) at "
        "the prefix OUT: OUT.index, OUT.data-00000-of-00001, the `checkpoint` state file, and the "
        "marker OUT.synthetic.json. The same seed writes identical files."
    )
    parser.add_argument(
        "net", metavar="NET", choices=net_names(), help=f"one of {', '.join(net_names())}"
    )
    parser.add_argument(
        "out", metavar="OUT", type=Path, help="checkpoint prefix, e.g. out/model.ckpt"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument(
        "--hparam",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        type=hyperparameter,
        help="a hyperparameter of the variant, e.g. depth_multiplier=1.4 (repeatable)",
    )
    parser.add_argument("--debug", action="store_true", help="show TensorFlow's start-up logging")
    args = parser.parse_args(argv)
    hyperparameters = dict(args.hparam)
    try:
        prefix = write_synthetic_checkpoint(args.net, args.out, args.seed, **hyperparameters)
        num_variables = len(synthetic_layout(args.net, **hyperparameters)) + 1
    except HubzooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote synthetic {args.net} checkpoint (seed {args.seed}, {num_variables} variables):")
    for path in sorted(prefix.parent.glob(prefix.name + ".*")):
        print(f"  {path} ({path.stat().st_size:,} bytes)")
    print(f"  {prefix.parent / 'checkpoint'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
