"""posetrack-weights: list the pose and detector zoos, show where weights go, download them.

    posetrack-weights list
    posetrack-weights path res50_posetrack18_256x192 rtmdet-nano   # where each file is (or goes)
    posetrack-weights download res50_coco_256x192 cascade-rcnn-x101
    posetrack-weights download --preset fast        # every file of posetrack-run --preset fast

Files go to the cache folder ($POSETRACK_CACHE, else ~/.cache/posetrack/checkpoints);
$POSETRACK_MIRROR replaces the https://download.openmmlab.com/ prefix of the addresses.

Exit codes: 0 ok, 1 unknown model or weights not available (one error listing every missing
file: ``posetrack-weights: error: ...``; the traceback too with --verbose), 2 bad arguments.
"""
from __future__ import annotations

import argparse
import sys

from apps import cli
from apps.config import PRESETS, load_run_config
from detectors import detector_weights, detector_zoo
from tracker.errors import ConfigError
from tracker.pose.zoo import get_pose_model_spec, pose_models
from tracker.weights import NeededWeights, cache_dir, cached_path, resolve_all

PROG = "posetrack-weights"
DETECTOR_FLAG, POSE_FLAG = "--detector-checkpoint", "--pose-checkpoint"


def needed_weights(config: dict) -> list[NeededWeights]:
    """The zoo files a run config needs: its detector's (none for file detectors) and its
    pose model's, each with the checkpoint the config passes instead (if any) and the
    ``posetrack-run`` flag that passes one. For ``tracker.weights.resolve_all``."""
    detector, pose = config["detector"], config["pose"]
    needed = []
    source = detector_weights(detector["name"])
    if source is not None:
        needed.append(NeededWeights(what=f"detector {detector['name']}", source=source,
                                    flag=DETECTOR_FLAG, checkpoint=detector.get("checkpoint")))
    needed.append(NeededWeights(what=f"pose model {pose['name']}",
                                source=get_pose_model_spec(pose["name"]).weights,
                                flag=POSE_FLAG, checkpoint=pose.get("checkpoint")))
    return needed


def zoo_weights(name: str) -> NeededWeights:
    """The weights of a pose zoo name or a detector name (zoo name or short alias)."""
    if name in pose_models():
        return NeededWeights(what=f"pose model {name}", source=pose_models()[name].weights,
                             flag=POSE_FLAG)
    try:
        source = detector_weights(name)
    except ValueError as error:
        raise ConfigError(f"unknown model {name!r}: not a pose zoo name nor a detector "
                          f"(posetrack-weights list shows the zoos)") from error
    if source is None:
        raise ConfigError(f"detector {name!r} has no zoo weights: it reads the file passed "
                          f"with {DETECTOR_FLAG}")
    return NeededWeights(what=f"detector {name}", source=source, flag=DETECTOR_FLAG)


def preset_models(preset: str) -> tuple[str, str]:
    """(detector name, pose model name) of a ``--preset``."""
    config = load_run_config(preset=preset)
    return config["detector"]["name"], config["pose"]["name"]


def _cached(source) -> str:
    path = cached_path(source)
    return "yes" if path is not None and path.is_file() else "no"


def print_zoos() -> None:
    """The pose zoo, the detector zoo (with which files are cached) and the presets."""
    print(f"{'pose model':38} {'backend':7} {'input':>8} {'K':>3}  {'dataset':12} cached")
    for name, spec in pose_models().items():
        size = "x".join(str(v) for v in spec.input_size_wh[::-1])
        print(f"{name:38} {spec.backend:7} {size:>8} {spec.num_keypoints:>3}  "
              f"{spec.dataset or '-':12} {_cached(spec.weights)}")
    print(f"\n{'detector':38} {'network':36} cached")
    for name, spec in detector_zoo().items():
        network = getattr(spec, "architecture", "onnx")
        print(f"{name:38} {network:36} {_cached(spec.weights)}")
    print()
    for preset in sorted(PRESETS):
        detector, pose = preset_models(preset)
        print(f"preset {preset}: {detector} + {pose} "
              f"(posetrack-weights download --preset {preset})")
    print(f"cache folder: {cache_dir()} (set $POSETRACK_CACHE to change it)")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cli.add_verbose_flag(commands.add_parser(
        "list", help="the pose and detector zoos, with cache status, and the presets"))
    path = commands.add_parser("path", help="print the cache path of each model's weights")
    path.add_argument("models", nargs="+", help="pose zoo names or detector names")
    cli.add_verbose_flag(path)
    download = commands.add_parser("download",
                                   help="download weights into the cache, verifying sha256")
    download.add_argument("models", nargs="*", help="pose zoo names or detector names")
    download.add_argument("--preset", choices=sorted(PRESETS),
                          help="also the detector and pose model of this posetrack-run preset")
    cli.add_verbose_flag(download)
    args = parser.parse_args(argv)
    if args.command == "download" and not args.models and args.preset is None:
        download.error("name at least one model, or --preset")
    return args


def run(args) -> int:
    if args.command == "list":
        print_zoos()
        return 0
    needed = [zoo_weights(name) for name in args.models]
    if getattr(args, "preset", None) is not None:
        preset = needed_weights(load_run_config(preset=args.preset))
        needed = preset + [item for item in needed if item.source not in
                           [known.source for known in preset]]
    if args.command == "path":
        for item in needed:
            if cached_path(item.source) is None:
                raise ConfigError(f"{item.what} has no file in the zoo")
            print(cached_path(item.source))
        return 0
    for path in resolve_all(needed):
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run_main(PROG, parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
