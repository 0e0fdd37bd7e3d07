"""posetrack-weights: list the pose model zoo, show where weights go, download them.

    posetrack-weights list
    posetrack-weights path res50_coco_256x192      # where the file is (or must be put)
    posetrack-weights download res50_coco_256x192 res50_posetrack18_256x192

Exit codes: 0 ok, 1 unknown model or weights not available (one line
``posetrack-weights: error: ...``; the traceback too with --verbose), 2 bad arguments.
"""
from __future__ import annotations

import argparse
import sys

from apps import cli
from tracker.pose.zoo import get_pose_model_spec, pose_models
from tracker.weights import cache_dir, resolve_weights

PROG = "posetrack-weights"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cli.add_verbose_flag(commands.add_parser(
        "list", help="the zoo, with input size, keypoints and cache status"))
    for name, text in (("path", "print the cache path of each model's weights"),
                       ("download", "download weights into the cache, verifying sha256")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("models", nargs="+", help="zoo names")
        cli.add_verbose_flag(sub)
    return parser.parse_args(argv)


def run(args) -> int:
    if args.command == "list":
        print(f"{'name':34} {'backend':7} {'input':>8} {'K':>3}  {'dataset':12} cached")
        for name, spec in pose_models().items():
            cached = bool(spec.filename) and (cache_dir() / spec.filename).is_file()
            size = "x".join(str(v) for v in spec.input_size_wh[::-1])
            print(f"{name:34} {spec.backend:7} {size:>8} {spec.num_keypoints:>3}  "
                  f"{spec.dataset or '-':12} {'yes' if cached else 'no'}")
        print(f"cache folder: {cache_dir()} (set $POSETRACK_CACHE to change it)")
        return 0
    specs = [get_pose_model_spec(name) for name in args.models]
    for spec in specs:
        if args.command == "path":
            print(cache_dir() / (spec.filename or f"{spec.name}.pth"))
        else:
            print(resolve_weights(spec.weights))
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run_main(PROG, parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
