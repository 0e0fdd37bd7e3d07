"""PoseTrack18 evaluator speed: vectorised path vs a poseval-structured reference, one process.

The vectorised path computes the whole report of ``posetrack-eval``: poseval's AP and MOT
tables plus the identity metrics (IDF1, HOTA on boxes and poses), which poseval lacks; the
reference path computes poseval's tables only.

    python -m benchmarks.bench_eval                  # 30 Bonn sequences, seed 0
    python -m benchmarks.bench_eval --repeats 5 --seed 3

Data: the 30 real Bonn multi-person sequences of ``shared/data/bonn-posetrack/train`` (1,526
frames). 25 of them have no head boxes (``bbox_head: []``), so a head box is derived for
evaluation (a square centred between head_top and head_bottom, side = their distance) in a
temporary copy. Predictions are generated with a fixed seed: jitter of 0.15 head sizes per
axis, 10 % of people dropped, per-sequence track-id permutations and a mid-sequence id swap,
5 % false-positive people, spurious nose joints, scores rounded to 0.01 (many ties). The
predictions carry no ``bbox``, so their boxes are the tight boxes of their joints.

Both paths evaluate the same loaded frames (AP + tracking); the script asserts that they
give the same poseval numbers (AP bit for bit, the rest to 1e-9) and prints the speed ratio.
Loading is timed apart: JSON -> arrays (both paths) and the person boxes, a second read of
the files (identity metrics only).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tracker.eval import evaluate_sequences, load_sequences
from tracker.eval.identity_inputs import load_person_boxes
from tests.tracker.eval.poseval_reference import reference_evaluate

SHARED = Path(os.environ.get("POSETRACK_SHARED", Path(__file__).resolve().parents[2] / "shared"))
BONN = SHARED / "data" / "bonn-posetrack" / "train"
HEAD_TOP, HEAD_BOTTOM = 2, 1   # COCO-order slots of the PoseTrack18 keypoint list


def derived_head_box(keypoints: list) -> list:
    k = np.asarray(keypoints, np.float64).reshape(-1, 3)
    top, bottom = k[HEAD_TOP, :2], k[HEAD_BOTTOM, :2]
    side = max(float(np.linalg.norm(top - bottom)), 1.0)
    cx, cy = (top + bottom) / 2
    return [cx - side / 2, cy - side / 2, side, side]


def ground_truth(data: dict) -> dict:
    data = copy.deepcopy(data)
    for ann in data["annotations"]:
        if not ann.get("bbox_head"):
            ann["bbox_head"] = derived_head_box(ann["keypoints"])
    return data


def perturbed(gt: dict, rng: np.random.Generator) -> dict:
    pred = copy.deepcopy(gt)
    track_ids = sorted({a["track_id"] for a in gt["annotations"]})
    permutation = dict(zip(track_ids, rng.permutation(track_ids).tolist()))
    swap_from = gt["images"][len(gt["images"]) // 2]["id"]
    annotations = []
    for ann in pred["annotations"]:
        if rng.random() < 0.10:
            continue
        k = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)
        head = 0.6 * float(np.hypot(*ann["bbox_head"][2:]))
        present = ~(k == 0).all(axis=1)
        k[present, :2] += rng.normal(0, 0.15 * head, (int(present.sum()), 2))
        if rng.random() < 0.3:                          # spurious nose
            k[0] = [k[present, 0].mean(), k[present, 1].min(), 1]
        tid = permutation[ann["track_id"]]
        if ann["image_id"] >= swap_from and len(track_ids) > 1 and tid in track_ids[:2]:
            tid = track_ids[1] if tid == track_ids[0] else track_ids[0]
        scores = np.round(rng.random(len(k)), 2).tolist()
        ann = {key: value for key, value in ann.items() if key != "bbox"}   # tight boxes
        annotations.append({**ann, "keypoints": k.ravel().tolist(), "scores": scores,
                            "track_id": tid})
        if rng.random() < 0.05:                         # a false positive nearby
            fp = k.copy()
            fp[present, :2] += rng.normal(0, 4 * head, 2)
            annotations.append({**ann, "keypoints": fp.ravel().tolist(), "track_id": 9000 + tid,
                                "scores": np.round(rng.random(len(k)) * 0.6, 2).tolist()})
    pred["annotations"] = annotations
    return pred


def write_inputs(root: Path, seed: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    (root / "gt").mkdir()
    (root / "pred").mkdir()
    for path in sorted(BONN.glob("*.json")):
        gt = ground_truth(json.loads(path.read_text()))
        (root / "gt" / path.name).write_text(json.dumps(gt))
        (root / "pred" / path.name).write_text(json.dumps(perturbed(gt, rng)))
    return root / "gt", root / "pred"


def timed(fn, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


FIELDS = ("ap_per_joint", "mota_per_joint", "motp_per_joint", "motp_legacy_per_joint",
          "precision_per_joint", "recall_per_joint")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5, help="runs of the fast path")
    parser.add_argument("--reference-repeats", type=int, default=1)
    args = parser.parse_args(argv)
    if not BONN.is_dir():
        print(f"error: {BONN} not found (set POSETRACK_SHARED to the shared folder)",
              file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        gt_dir, pred_dir = write_inputs(Path(tmp), args.seed)
        load_s, sequences = timed(lambda: load_sequences(gt_dir, pred_dir), args.repeats)
        boxes_s, boxes = timed(lambda: [load_person_boxes(s) for s in sequences], args.repeats)
    frames = sum(len(s.frames) for s in sequences)
    fast_s, fast = timed(lambda: evaluate_sequences(sequences, person_boxes=boxes),
                         args.repeats)
    ref_s, ref = timed(lambda: reference_evaluate(sequences), args.reference_repeats)
    np.testing.assert_array_equal(fast.ap_per_joint, ref.ap_per_joint)
    for name in FIELDS:
        np.testing.assert_allclose(getattr(fast, name), getattr(ref, name), rtol=0, atol=1e-9,
                                   err_msg=name)
    print(f"{len(sequences)} sequences, {frames} evaluated frames (seed {args.seed})")
    print(fast.table())
    print(f"motp_legacy {fast.motp_legacy:.1f}")
    print(f"loading (JSON -> arrays, both paths): {load_s * 1e3:8.1f} ms")
    print(f"person boxes (identity metrics only): {boxes_s * 1e3:8.1f} ms")
    print(f"reference (poseval tables):           {ref_s * 1e3:8.1f} ms")
    print(f"vectorised (poseval tables+identity): {fast_s * 1e3:8.1f} ms")
    print(f"speed-up: {ref_s / fast_s:.1f}x (evaluation), "
          f"{(ref_s + load_s) / (fast_s + load_s + boxes_s):.1f}x including loading; "
          "poseval results identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
