"""posetrack-export: a zoo pose network -> ONNX, with the model YAML that runs it.

    posetrack-export res50_coco_256x192 --out res50.onnx --dynamic-batch
    posetrack-export res50_posetrack18_256x192 --checkpoint my.pth --out pt18.onnx --fp16
    posetrack-pose --model res50.yaml image.jpg ...       # runs it through onnxruntime

The network (a ResNet of the zoo, its weights from the cache or ``--checkpoint``) is traced
with ``torch.onnx.export`` (input ``image`` (B, 3, H, W) normalised as the zoo entry says,
output ``heatmaps`` (B, K, H/4, W/4)); ``--dynamic-batch`` leaves B free (else it is
``--batch``), ``--fp16`` stores float16 weights and tensors (for GPU runtimes). Beside the
file, ``<out>.yaml`` holds the zoo entry with ``backend: onnx``, so ``load_pose_model`` /
``--pose-model`` / ``--model`` run it with the same preprocessing, flip test and decoding.
The export is checked before it is written: onnxruntime's heatmaps on a random batch are
compared with torch's, and the largest difference is printed (an error above ``--atol``).

Needs the ``onnx`` package (``pip install -e '.[export]'``). Exit codes: 0 done, 1 error
(one line naming what is wrong), 2 bad command line.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import sys
from pathlib import Path

from apps import cli
from tracker.errors import ConfigError

PROG = "posetrack-export"
INPUT_NAME, OUTPUT_NAME = "image", "heatmaps"
OPSET = 17


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a zoo name of a torch (ResNet) pose model")
    parser.add_argument("--out", type=Path, required=True, help="the .onnx file to write")
    parser.add_argument("--checkpoint", help="local .pth weights (default: the zoo's, cached "
                        "or downloaded)")
    parser.add_argument("--dynamic-batch", action="store_true", help="free batch dimension")
    parser.add_argument("--batch", type=int, default=1, help="fixed batch without "
                        "--dynamic-batch (default 1)")
    parser.add_argument("--fp16", action="store_true", help="float16 weights and tensors")
    parser.add_argument("--atol", type=float, default=None, help="largest heatmap difference "
                        "from torch accepted (default 1e-4, 2e-2 with --fp16)")
    parser.add_argument("--quiet", action="store_true", help="no download progress bar")
    cli.add_verbose_flag(parser)
    args = parser.parse_args(argv)
    if args.out.suffix.lower() != ".onnx":
        parser.error(f"--out {args.out}: expected a path ending in .onnx")
    if args.batch < 1:
        parser.error(f"--batch: expected an integer >= 1, got {args.batch}")
    cli.check_output_paths(parser, {"--out": args.out, "(the model YAML)": yaml_path(args.out)},
                           {"--checkpoint": args.checkpoint})
    return args


def yaml_path(out: Path) -> Path:
    return Path(out).with_suffix(".yaml")


def model_yaml(spec, filename: str, sha256: str) -> str:
    """The zoo entry of the exported model (``configs/pose_models.yaml`` keys)."""
    kset = next(name for name, s in _keypoint_sets().items() if s == spec.keypoint_set)
    lines = [f"# written by {PROG} from the zoo entry {spec.name}",
             "backend: onnx",
             f"input_size_wh: [{spec.input_size_wh[0]}, {spec.input_size_wh[1]}]",
             f"keypoint_set: {kset}",
             f"mean: [{', '.join(repr(float(v)) for v in spec.mean)}]",
             f"std: [{', '.join(repr(float(v)) for v in spec.std)}]",
             f"channel_order: {spec.channel_order}",
             "url: null",
             f"filename: {filename}",
             f"sha256: {sha256}",
             f"dataset: {spec.dataset}" if spec.dataset else "dataset: null",
             f"onnx_input: {INPUT_NAME}",
             f"onnx_output: {OUTPUT_NAME}"]
    return "\n".join(lines) + "\n"


def _keypoint_sets():
    from tracker.pose.zoo import keypoint_sets
    return keypoint_sets()


def export(args) -> float:
    """Write the ONNX file and its YAML; returns the largest heatmap difference from torch."""
    import numpy as np
    import onnxruntime
    import torch

    from tracker.files import atomic_path, write_atomically
    from tracker.pose.checkpoint import load_into, read_state_dict
    from tracker.pose.load import build_network
    from tracker.pose.zoo import get_pose_model_spec
    from tracker.weights import resolve_weights

    spec = get_pose_model_spec(args.model)
    if spec.backend != "torch":
        raise ConfigError(f"{args.model}: backend {spec.backend!r}; only torch (ResNet) models "
                          "can be exported")
    weights = resolve_weights(spec.weights, args.checkpoint, progress=not args.quiet)
    module = build_network(spec)
    load_into(module, read_state_dict(weights), weights, spec.name)
    module.eval()
    dtype = torch.float16 if args.fp16 else torch.float32
    width, height = spec.input_size_wh
    batch = 2 if args.dynamic_batch else args.batch
    sample = torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = module(sample).numpy()
    exported = module.to(dtype)
    axes = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}} if args.dynamic_batch else None
    with atomic_path(args.out, suffix=".onnx") as temporary:
        with torch.no_grad():
            torch.onnx.export(exported, (sample.to(dtype),), str(temporary),
                              input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                              dynamic_axes=axes, opset_version=OPSET, dynamo=False)
        session = onnxruntime.InferenceSession(str(temporary),
                                               providers=["CPUExecutionProvider"])
        got = session.run([OUTPUT_NAME], {INPUT_NAME: sample.to(dtype).numpy()})[0]
        difference = float(np.abs(got.astype(np.float32) - expected).max())
        atol = args.atol if args.atol is not None else (2e-2 if args.fp16 else 1e-4)
        if not difference <= atol:
            raise ValueError(f"the exported heatmaps differ from torch's by {difference:.3g} "
                             f"(more than --atol {atol:g}); nothing written")
        sha256 = hashlib.sha256(Path(temporary).read_bytes()).hexdigest()
    text = model_yaml(spec, Path(args.out).name, sha256)
    write_atomically(yaml_path(args.out), lambda p: p.write_text(text))
    return difference


def run(args) -> int:
    try:
        importlib.import_module("onnx")                 # torch.onnx.export needs it
    except ImportError as error:
        raise ConfigError("posetrack-export needs the onnx package: pip install -e "
                          "'.[export]' (or pip install onnx)") from error
    difference = export(args)
    print(f"wrote {args.out} and {yaml_path(args.out)}; heatmaps within {difference:.2g} of "
          f"torch (onnxruntime, CPU)", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return cli.run_main(PROG, args, run)


if __name__ == "__main__":
    sys.exit(main())
