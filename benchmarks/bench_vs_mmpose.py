"""Seconds per call: mmpose 0.29's ``inference_top_down_pose_model`` vs this project's ``predict``.

    python -m benchmarks.bench_vs_mmpose                       # needs the mmpose venv below
    python -m benchmarks.bench_vs_mmpose --ours default fold_batchnorm=0 channels_last=0
    python -m benchmarks.bench_vs_mmpose --build-venv /tmp/work/mmpose-venv   # build it first

Both sides run the same synthetic checkpoint (``res50_coco_256x192``, written by the mmpose
parity fixture's ``make_checkpoint.py``), the same decoded frame (posetrack18 val
003418_mpii_test/000000.jpg, decoded once here with cv2 and handed to mmpose as an array),
the same person boxes (the ``--people`` highest-scored real detections of that frame from
mmpose's test data), flip test on and ``--threads`` torch threads. mmpose runs in its own venv
(``benchmarks/mmpose_side.py``), before and after this project's settings, so that a drift in
machine speed shows up on both sides; with ``--rounds R`` the settings run R times, each block
followed by one more mmpose run. Every run is one untimed warm-up call and then ``--repeats``
timed calls; each median is over all runs of that row.

An ``--ours`` setting is ``default`` or options of ``load_pose_model`` joined by ``+``, each
on top of the defaults: ``channels_last=0``, ``fold_batchnorm=0``, ``max_batch_size=32``,
``fast_path``, ``precision=bfloat16``, ``fold_batchnorm=0+channels_last=0`` (flags:
``=0``/``=false`` turns one off).
The last two columns compare each setting's keypoints with mmpose's: the largest distance
(pixels) and the largest score difference over all people and keypoints.

This is a benchmark, not part of the install or CI; the venv recipe is the one of
``shared/fixtures/mmpose-parity/README.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

from benchmarks.timing import timed_calls
from tests.shared_data import SHARED_ROOT
from tracker.pose import load_pose_model

MODEL = "res50_coco_256x192"
ZOO_FILE = "res50_coco_256x192-ec54d7f3_20200709.pth"
PARITY = SHARED_ROOT / "fixtures" / "mmpose-parity"
POSETRACK = SHARED_ROOT / "data" / "mmpose-testdata" / "posetrack18"
FRAME = "images/val/003418_mpii_test/000000.jpg"
DEFAULT_VENV = Path("/tmp/work/mmpose-venv")
SPEED_OPTIONS = ("channels_last", "fold_batchnorm", "max_batch_size", "fast_path", "precision")
MMPOSE_DEPS = ["numpy==1.23.5", "opencv-python==4.8.1.78", "scipy==1.10.1",
               "matplotlib==3.7.5", "json_tricks", "munkres", "addict", "pyyaml",
               "yapf==0.40.1", "xtcocotools==1.14.3"]


def venv_steps(venv: Path) -> list[tuple[dict, list[str]]]:
    """(extra environment, command) of each step of the fixture README's venv recipe."""
    pip = str(venv / "bin" / "pip")
    return [({}, [sys.executable, "-m", "venv", str(venv)]),
            ({}, [pip, "install", "torch==2.14.1", "torchvision==0.29.1"]),
            ({}, [pip, "install", "setuptools<70", "wheel"]),
            ({"MMCV_WITH_OPS": "0"},
             [pip, "install", "--no-build-isolation", "--no-deps", "mmcv==1.7.0"]),
            ({}, [pip, "install", *MMPOSE_DEPS]),
            ({}, [pip, "install", "--no-deps", "mmpose==0.29.0"])]


def build_venv(venv: Path) -> int:
    """Build mmpose 0.29 + mmcv 1.7.0 (no compiled ops) at ``venv``; the first failing
    step's exit code, or 0."""
    for extra, command in venv_steps(venv):
        prefix = "".join(f"{k}={v} " for k, v in extra.items())
        print(f"+ {prefix}{' '.join(command)}", flush=True)
        code = subprocess.run(command, env={**os.environ, **extra}).returncode
        if code:
            print(f"error: step failed with exit code {code}", file=sys.stderr)
            return code
    return 0


def make_checkpoint(folder: Path) -> tuple[Path, dict]:
    """Write the synthetic ``MODEL`` checkpoint into ``folder``; (path, checkpoints.json entry)."""
    entry = json.loads((PARITY / "checkpoints.json").read_text())[ZOO_FILE]
    out = folder / ZOO_FILE
    subprocess.run([sys.executable, str(PARITY / "make_checkpoint.py"),
                    str(PARITY / entry["schema"]), str(out), "--salt", entry["salt"]],
                   check=True, stdout=subprocess.DEVNULL)
    return out, entry


def person_boxes(count: int) -> list[list[float]]:
    """The ``count`` highest-scored real person detections of ``FRAME``, xywh, in score order."""
    images = json.loads((POSETRACK / "annotations" / "test_posetrack18_val.json").read_text())
    image_id = next(i["id"] for i in images["images"] if i["file_name"] == FRAME)
    detections = json.loads(
        (POSETRACK / "annotations" / "test_posetrack18_human_detections.json").read_text())
    mine = [d for d in detections if d["image_id"] == image_id]
    mine.sort(key=lambda d: -d["score"])
    if count > len(mine):
        raise ValueError(f"{FRAME} has only {len(mine)} detections, asked for {count}")
    return [[float(v) for v in d["bbox"]] for d in mine[:count]]


def parse_setting(text: str) -> dict:
    """``"channels_last+max_batch_size=8"`` -> ``{"channels_last": True, "max_batch_size": 8}``."""
    accepted = SPEED_OPTIONS
    options = {}
    for part in text.split("+"):
        if part == "default":
            continue
        key, _, value = part.partition("=")
        if key not in accepted:
            raise ValueError(f"--ours {text!r}: unknown option {key!r}; "
                             f"the settings are {list(accepted)}")
        if key == "max_batch_size":
            options[key] = int(value)
        elif key == "precision":
            options[key] = value            # float32 | float16 | bfloat16
        else:
            options[key] = value.lower() not in ("0", "false")
    return options


def run_mmpose(python: Path, request: dict, folder: Path, tag: str) -> dict:
    """One run of ``mmpose_side.py`` in the mmpose venv; its JSON result."""
    path = folder / f"request_{tag}.json"
    path.write_text(json.dumps(request))
    side = Path(__file__).with_name("mmpose_side.py")
    done = subprocess.run([str(python), str(side), str(path)], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"mmpose side failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_ours(setting: dict, checkpoint: Path):
    """This project's estimator of ``MODEL`` on the CPU with the options of ``setting``."""
    return load_pose_model(MODEL, checkpoint=checkpoint, device="cpu", flip_test=True,
                           **setting)


def time_ours(model, image: np.ndarray, boxes: list, repeats: int) -> list[float]:
    """Per-call seconds of ``model.predict(image, boxes)`` (one untimed warm-up call)."""
    return timed_calls(lambda b: model.predict(image, b), boxes, torch.device("cpu"), repeats)


def keypoints_of(model, image: np.ndarray, boxes: list) -> np.ndarray:
    """(N, K, 3) x, y, score of ``model.predict``."""
    poses = model.predict(image, boxes)
    return np.concatenate([poses.keypoints, poses.keypoint_scores[..., None]], -1)


def differences(reference: np.ndarray, keypoints: np.ndarray) -> tuple[float, float]:
    """(largest keypoint distance in pixels, largest |score difference|), (N, K, 3) arrays."""
    distance = np.linalg.norm(keypoints[..., :2] - reference[..., :2], axis=-1)
    return float(distance.max()), float(np.abs(keypoints[..., 2] - reference[..., 2]).max())


def print_table(rows: list[tuple]) -> None:
    """rows: (impl, setting, seconds, ratio or None, dxy or None, dscore or None)."""
    print(f"{'impl':7} | {'setting':30} | {'s/call (median)':>15} | {'vs mmpose':>9} | "
          f"{'max |dxy| px':>12} | {'max |dscore|':>12}")
    print("-" * 101)
    for impl, setting, seconds, ratio, dxy, dscore in rows:
        cells = ["-" if v is None else f"{v:.3g}" for v in (dxy, dscore)]
        vs = "-" if ratio is None else f"{ratio:.2f}x"
        print(f"{impl:7} | {setting:30} | {seconds:15.3f} | {vs:>9} | {cells[0]:>12} | "
              f"{cells[1]:>12}")


def alternate(args: argparse.Namespace, request: dict, models: dict, image: np.ndarray,
              folder: Path) -> tuple[list[dict], dict[str, list[float]]]:
    """mmpose, all of ours, mmpose, ... (``--rounds`` blocks of ours, one more of mmpose);
    (mmpose results per run, per-call seconds of each setting of ours)."""
    mm_runs = [run_mmpose(args.mmpose_python, request, folder, "0")]
    ours: dict[str, list[float]] = {text: [] for text in models}
    for round_index in range(1, args.rounds + 1):
        for text, model in models.items():
            ours[text] += time_ours(model, image, request["boxes_xywh"], args.repeats)
        mm_runs.append(run_mmpose(args.mmpose_python, request, folder, str(round_index)))
    return mm_runs, ours


def spread(seconds: list[float]) -> str:
    """``"min-max s"`` of per-call seconds."""
    return f"{min(seconds):.2f}-{max(seconds):.2f} s"


def benchmark(args: argparse.Namespace, folder: Path) -> int:
    """Make the inputs, time mmpose and ours alternately, print the table."""
    settings = {text: parse_setting(text) for text in args.ours}  # checked by main
    torch.set_num_threads(args.threads)
    checkpoint, entry = make_checkpoint(folder)
    image = cv2.imread(str(POSETRACK / FRAME))
    np.save(folder / "frame.npy", image)
    boxes = person_boxes(args.people)
    request = {"entry": entry, "checkpoint": str(checkpoint),
               "image_npy": str(folder / "frame.npy"), "boxes_xywh": boxes,
               "repeats": args.repeats, "threads": args.threads}
    print(f"{MODEL} synthetic checkpoint, {FRAME} ({image.shape[1]}x{image.shape[0]}), "
          f"{len(boxes)} people, flip test, {args.threads} torch threads, {args.repeats} "
          f"calls per run, {args.rounds} round(s)", flush=True)
    models = {text: load_ours(s, checkpoint) for text, s in settings.items()}
    mm_runs, ours = alternate(args, request, models, image, folder)
    mm_seconds = [t for run in mm_runs for t in run["seconds"]]
    mm_median = statistics.median(mm_seconds)
    reference = np.asarray(mm_runs[0]["keypoints"], np.float64)
    rows = [("mmpose", "0.29.0 inference_top_down", mm_median, 1.0, None, None)]
    for text, seconds in ours.items():
        median = statistics.median(seconds)
        diffs = differences(reference, keypoints_of(models[text], image, boxes))
        rows.append(("ours", text, median, mm_median / median, *diffs))
    print_table(rows)
    same = all(np.array_equal(reference, np.asarray(run["keypoints"])) for run in mm_runs)
    print(f"per-call range: mmpose {spread(mm_seconds)}; "
          + "; ".join(f"{text} {spread(seconds)}" for text, seconds in ours.items()))
    print("mmpose run medians: " + ", ".join(
        f"{statistics.median(run['seconds']):.3f} s" for run in mm_runs)
          + f"; same keypoints in every run: {same}")
    print(f"mmpose side: {mm_runs[0]['versions']}; "
          f"here: torch {torch.__version__}, cv2 {cv2.__version__}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mmpose-python", type=Path, default=DEFAULT_VENV / "bin" / "python",
                        help="python of the mmpose 0.29 venv (default: %(default)s)")
    parser.add_argument("--build-venv", type=Path, metavar="DIR",
                        help="first build the mmpose venv at DIR (and use its python)")
    parser.add_argument("--ours", nargs="+", default=["default"],
                        help="settings of this project's estimator, one table row each")
    parser.add_argument("--people", type=int, default=16, help="person boxes per call")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per run")
    parser.add_argument("--rounds", type=int, default=1,
                        help="blocks of ours, each followed by one more mmpose run")
    parser.add_argument("--threads", type=int, default=2, help="torch threads, both sides")
    args = parser.parse_args(argv)
    for name in ("people", "repeats", "rounds", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    try:
        for text in args.ours:
            parse_setting(text)
    except ValueError as e:
        parser.error(str(e))
    if args.build_venv:
        code = build_venv(args.build_venv)
        if code:
            return code
        args.mmpose_python = args.build_venv / "bin" / "python"
    if not args.mmpose_python.is_file():
        print(f"error: no mmpose python at {args.mmpose_python}; pass --mmpose-python or "
              "--build-venv DIR", file=sys.stderr)
        return 1
    for path in (PARITY, POSETRACK):
        if not path.is_dir():
            print(f"error: shared data not found: {path} (set POSETRACK_SHARED)", file=sys.stderr)
            return 1
    with tempfile.TemporaryDirectory(prefix="bench_vs_mmpose_") as folder:
        return benchmark(args, Path(folder))


if __name__ == "__main__":
    raise SystemExit(main())
