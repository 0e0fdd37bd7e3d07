"""posetrack-pose: keypoints of the people in an image, given their boxes.

    posetrack-pose photo.jpg --model res50_coco_256x192 --box 280 44 218 346 --out poses.json
    posetrack-pose photo.jpg --model pp_tinypose_256x192 --checkpoint tinypose.onnx \
        --boxes boxes.json --render poses.jpg

Without --box/--boxes the whole image is one person box. Exit codes: 0 ok, 1 bad input or
failure (one line ``posetrack-pose: error: ...``; the traceback too with --verbose), 2 bad
arguments, 130 Ctrl-C.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from apps import cli
from tracker.files import write_atomically

PROG = "posetrack-pose"

#: Keypoints drawn by --render: only those whose score exceeds this.
RENDER_SCORE_THRESHOLD = 0.3


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("image", type=Path, help="image file (any format OpenCV reads)")
    parser.add_argument("--model", required=True, help="zoo name or model .yaml file")
    parser.add_argument("--checkpoint", type=Path, help="local .pth/.onnx instead of the zoo file")
    boxes = parser.add_mutually_exclusive_group()
    boxes.add_argument("--box", nargs=4, type=float, action="append", metavar=("X", "Y", "W", "H"),
                       help="a person box in pixels (repeat for several people)")
    boxes.add_argument("--boxes", type=Path, help='JSON list of [x, y, w, h] or {"bbox": [...], '
                       '"score": s} (COCO detection results for one image)')
    parser.add_argument("--out", type=Path, help="write the poses as JSON here (default: stdout)")
    parser.add_argument("--render", type=Path, help="write the image with keypoints drawn")
    parser.add_argument("--no-flip", action="store_true", help="disable the flip test")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    cli.add_verbose_flag(parser)
    return parser.parse_args(argv)


def read_boxes(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) xywh boxes and (N,) scores from a JSON boxes file."""
    try:
        entries = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a JSON list of boxes, got {type(entries).__name__}")
    boxes, scores = [], []
    for i, entry in enumerate(entries):
        box = entry.get("bbox") if isinstance(entry, dict) else entry
        if not (isinstance(box, list) and len(box) == 4
                and all(isinstance(v, (int, float)) for v in box)):
            raise ValueError(f"{path}: entry {i}: expected [x, y, w, h] numbers, got {box!r}")
        boxes.append(box)
        scores.append(entry.get("score", 1.0) if isinstance(entry, dict) else 1.0)
    return np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(scores, np.float32)


def write_output(path: Path, write) -> None:
    """``write(temporary_path)``, then rename onto ``path`` (its folder is made if missing):
    a failure leaves no partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, write, suffix=path.suffix)


def render(image: np.ndarray, poses) -> np.ndarray:
    canvas = image.copy()
    for box, keypoints, scores in zip(poses.boxes_xyxy, poses.keypoints, poses.keypoint_scores):
        if np.isfinite(box).all():
            cv2.rectangle(canvas, tuple(int(v) for v in box[:2]), tuple(int(v) for v in box[2:]),
                          (0, 255, 0), 2)
        for (x, y), score in zip(keypoints, scores):
            if score > RENDER_SCORE_THRESHOLD and np.isfinite([x, y]).all():
                cv2.circle(canvas, (int(round(x)), int(round(y))), 3, (0, 0, 255), -1)
    return canvas


def run(args) -> int:
    from tracker.pose import load_pose_model

    image = cv2.imread(str(args.image), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"{args.image}: not found or not an image OpenCV can read")
    if image.dtype != np.uint8:  # 16-bit PNG/TIFF: scale to 8 bits
        image = (image / (np.iinfo(image.dtype).max / 255.0)).astype(np.uint8)
    if args.boxes:
        boxes, scores = read_boxes(args.boxes)
    elif args.box:
        boxes, scores = np.asarray(args.box, np.float64), np.ones(len(args.box), np.float32)
    else:
        boxes = np.array([[0, 0, image.shape[1], image.shape[0]]], np.float64)
        scores = np.ones(1, np.float32)
    model = load_pose_model(args.model, checkpoint=args.checkpoint, device=args.device)
    poses = model.predict(image, boxes, box_scores=scores, flip_test=not args.no_flip)
    result = {
        "image": str(args.image), "model": str(args.model),
        "keypoint_names": list(model.keypoint_set.names),
        "persons": [{"bbox_xywh": box.tolist(), "bbox_score": float(score),
                     "keypoints": np.concatenate([kpts, kscores[:, None]], 1).tolist()}
                    for box, score, kpts, kscores in zip(boxes, scores, poses.keypoints,
                                                         poses.keypoint_scores)],
    }
    text = json.dumps(result, allow_nan=True)
    if args.out:
        write_output(args.out, lambda tmp: tmp.write_text(text))
    else:
        print(text)
    if args.render:
        canvas = render(image if image.ndim == 3 and image.shape[2] == 3 else
                        cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2
                                     else cv2.COLOR_BGRA2BGR), poses)

        def write_image(tmp: Path) -> None:
            if not cv2.imwrite(str(tmp), canvas):
                raise ValueError(f"{args.render}: OpenCV cannot write this image format")
        write_output(args.render, write_image)
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run_main(PROG, parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
