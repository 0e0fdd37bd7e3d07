"""posetrack-pose: keypoints of the people in an image, given their boxes.

    posetrack-pose photo.jpg --model res50_coco_256x192 --box 280 44 218 346 --out poses.json
    posetrack-pose photo.jpg --model pp_tinypose_256x192 --checkpoint tinypose.onnx \
        --boxes boxes.json --render poses.jpg

Without --box/--boxes the whole image is one person box. A --boxes file of COCO detection
results for several images gives this image's boxes: chosen by --image-id, by the file name in
--images (an annotation file's 'images' list), or by the number in a COCO file name
(000000000785.jpg is image_id 785); an image that cannot be found is an error. Boxes scored
below --min-box-score (default 0.3) are not posed. Box numbers must be finite, with x, y, x + w
and y + h below 1e6 pixels in magnitude (else exit 2 for --box, 1 for --boxes, naming the file
and entry); a box
that cannot be posed (zero area, a negative side) gets keypoints ``[null, null, 0.0]``: the
JSON never holds NaN/Infinity tokens. --render draws skeletons, boxes and
labels "#<person> <box score>" (``tracker.io.render.draw_poses``). Exit codes: 0 ok, 1 bad input or
failure (one line ``posetrack-pose: error: ...``; the traceback too with --verbose), 2 bad
arguments, 130 Ctrl-C.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from apps import cli
from detectors.files import (DetectionsFileError, FileNameIndex, image_file_names, is_number,
                             parse_bbox_xywh)
from detectors.precomputed import PERSON_CATEGORY_ID
from tracker.files import read_json, write_atomically
from tracker.io.render import draw_poses

PROG = "posetrack-pose"

#: Keypoints drawn by --render: only those whose score reaches this.
RENDER_SCORE_THRESHOLD = 0.3
#: --min-box-score default: the box threshold of mmpose's top-down demos and of the RTMDet-nano
#: detector here; a detection-results file made for AP keeps boxes down to ~0 (--min-box-score 0).
DEFAULT_MIN_BOX_SCORE = 0.3
#: --box / --boxes corners (x, y, x + width, y + height) must have magnitude below this many
#: pixels: far beyond any image (1e308 would overflow the crop geometry). The same bound as
#: detection files (``detectors.files``).
MAX_BOX_COORDINATE = 1e6


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("image", type=Path, help="image file (any format OpenCV reads)")
    parser.add_argument("--model", required=True, help="zoo name or model .yaml file")
    parser.add_argument("--checkpoint", type=Path, help="local .pth/.onnx instead of the zoo file")
    boxes = parser.add_mutually_exclusive_group()
    boxes.add_argument("--box", nargs=4, type=float, action="append", metavar=("X", "Y", "W", "H"),
                       help="a person box in pixels (repeat for several people)")
    boxes.add_argument("--boxes", type=Path, help='JSON list of [x, y, w, h] or {"bbox": [...], '
                       '"score": s}, or COCO detection results ({"image_id", "bbox", "score"}, '
                       "any number of images: this image's entries are used)")
    parser.add_argument("--image-id", type=_image_id, help="the image's image_id in the "
                        "--boxes file (default: from --images, else the number in a COCO file "
                        "name such as 000000000785.jpg)")
    parser.add_argument("--images", type=Path, help="COCO-style JSON whose 'images' list "
                        "([{id, file_name}]) gives this image's image_id by its file name "
                        "(e.g. the annotation file the detections were made for)")
    parser.add_argument("--min-box-score", type=float, default=DEFAULT_MIN_BOX_SCORE,
                        help="pose only boxes scored at least this (default "
                        f"{DEFAULT_MIN_BOX_SCORE}; --box boxes score 1)")
    parser.add_argument("--out", type=Path, help="write the poses as JSON here (default: stdout)")
    parser.add_argument("--render", type=Path, help="write the image with the poses drawn")
    parser.add_argument("--no-flip", action="store_true", help="disable the flip test")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    cli.add_verbose_flag(parser)
    args = parser.parse_args(argv)
    if (args.image_id is not None or args.images is not None) and args.boxes is None:
        parser.error("--image-id and --images select entries of a --boxes file")
    if not 0 <= args.min_box_score <= 1:
        parser.error(f"--min-box-score must be in [0, 1], got {args.min_box_score}")
    for box in args.box or ():
        problem = box_number_problem(box)
        if problem:
            parser.error(f"--box {problem}")
    cli.check_output_paths(parser, {"--out": args.out, "--render": args.render},
                           {"IMAGE": args.image, "--checkpoint": args.checkpoint,
                            "--boxes": args.boxes, "--images": args.images})
    return args


def box_number_problem(box) -> Optional[str]:
    """Why the numbers of an [x, y, w, h] box are unusable, or None: they must be finite, and
    x, y, x + w and y + h of magnitude below ``MAX_BOX_COORDINATE``."""
    x, y, w, h = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        return f"has a non-finite value: {list(box)!r}"
    if any(abs(v) >= MAX_BOX_COORDINATE for v in (x, y, x + w, y + h)):
        return (f"is out of range: {list(box)!r} (x, y, x + width and y + height must have "
                f"magnitude below {MAX_BOX_COORDINATE:,.0f} px)")
    return None


def _check_box(box, where: str) -> None:
    problem = box_number_problem(box)
    if problem:
        raise DetectionsFileError(f"{where}: 'bbox' {problem}")


def _image_id(text: str):
    """An ``image_id`` flag: an integer when it is one (COCO, PoseTrack18), else the text."""
    return int(text) if text.lstrip("-").isdigit() else text


def read_boxes(path: Path, image: Path, *, image_id=None,
               images: Optional[Path] = None) -> tuple[np.ndarray, np.ndarray, str]:
    """(N, 4) xywh boxes, (N,) scores and a note saying where they came from.

    A plain list (``[x, y, w, h]`` or ``{"bbox", "score"}`` entries) holds the boxes of this
    image. Entries with an ``image_id`` (COCO detection results, a list or a mapping's
    ``annotations``) are filtered to this image (``choose_image_id``); non-person categories
    are dropped.
    """
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from e
    own_images = None
    if isinstance(data, dict) and isinstance(data.get("annotations"), list):
        data, own_images = data["annotations"], data if "images" in data else None
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of boxes, got {type(data).__name__}")
    if not any(isinstance(entry, dict) and "image_id" in entry for entry in data):
        if image_id is not None or images is not None:
            raise DetectionsFileError(f"{path}: no entry has an 'image_id', so --image-id and "
                                      "--images do not apply (all its boxes are this image's)")
        boxes, scores = _plain_boxes(data, path)
        return boxes, scores, f"{len(boxes)} boxes of {path}"
    by_id = _results_by_image(data, path)
    names = None
    if images is not None:
        names = image_file_names(read_json(images, "images file"), str(images))
    elif own_images is not None:
        names = image_file_names(own_images, str(path))
    chosen = choose_image_id(path, image, list(by_id), image_id=image_id, names=names,
                             names_file=images or path)
    boxes = np.array([box for box, _ in by_id.get(chosen, [])], np.float64).reshape(-1, 4)
    scores = np.array([score for _, score in by_id.get(chosen, [])], np.float32)
    others = sum(len(v) for k, v in by_id.items() if k != chosen)
    return boxes, scores, (f"{len(boxes)} boxes of image_id {chosen!r} in {path} ({others} "
                           f"boxes of {len(by_id) - (chosen in by_id)} other images left out)")


def _plain_boxes(entries: list, path: Path) -> tuple[np.ndarray, np.ndarray]:
    boxes, scores = [], []
    for i, entry in enumerate(entries):
        box = entry.get("bbox") if isinstance(entry, dict) else entry
        if not (isinstance(box, list) and len(box) == 4
                and all(is_number(v) for v in box)):
            raise ValueError(f"{path}: entry {i}: expected [x, y, w, h] numbers, got {box!r}")
        _check_box(box, f"{path}: entry {i}")
        score = entry.get("score", 1.0) if isinstance(entry, dict) else 1.0
        if not is_number(score) or not math.isfinite(score) or not 0 <= score <= 1:
            raise DetectionsFileError(f"{path}: entry {i}: 'score' must be a finite number in "
                                      f"[0, 1], got {score!r}")
        boxes.append(box)
        scores.append(score)
    return np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(scores, np.float32)


def _results_by_image(entries: list, path: Path) -> dict:
    """{image_id: [(xywh box, score), ...]} of the person entries, in file order."""
    by_id: dict = {}
    for index, entry in enumerate(entries):
        where = f"{path}: entry {index}"
        if not isinstance(entry, dict) or "image_id" not in entry:
            raise DetectionsFileError(f"{where}: expected a COCO detection result with an "
                                      f"'image_id' like the other entries, got {entry!r}")
        box = parse_bbox_xywh(entry.get("bbox"), where)
        _check_box(box, where)
        score = entry.get("score", 1.0)
        if not is_number(score) or not math.isfinite(score):
            raise DetectionsFileError(f"{where}: 'score' must be a finite number, got {score!r}")
        if entry.get("category_id", PERSON_CATEGORY_ID) == PERSON_CATEGORY_ID:
            by_id.setdefault(entry["image_id"], []).append((box, float(score)))
    return by_id


def choose_image_id(path: Path, image: Path, ids: list, *, image_id=None,
                    names: Optional[dict] = None, names_file: Optional[Path] = None):
    """The ``image_id`` of ``image`` among the ``ids`` with detections in ``path``.

    In order: ``image_id`` (``--image-id``); the image's file name looked up in ``names``
    ({image_id: file_name} of ``--images`` or of the file's own ``images`` list; trailing
    path components must match, ``detectors.files.FileNameIndex``); the one image of a file
    that has only one; the number of a COCO file name (``000000000785.jpg`` is 785). An
    image found in ``names`` may have no detections (no box); otherwise an id without
    entries, or a file of several images with no way to choose, is an error naming both.
    """
    listed = ", ".join(repr(i) for i in ids[:5]) + (f", ... ({len(ids)} in all)"
                                                      if len(ids) > 5 else "")
    if image_id is not None:
        if image_id in ids or (names is not None and image_id in names):
            return image_id
        raise DetectionsFileError(f"{path}: no detection has image_id {image_id!r} (--image-id "
                                  f"for {image}); the file has image ids {listed}")
    if names is not None:
        name = _lookup_by_trailing_parts(FileNameIndex(names.values(), names_file), image)
        if name is None:
            raise DetectionsFileError(f"{names_file}: image {image} is none of its "
                                      f"{len(names)} images (matched by file name)")
        return next(i for i, file_name in names.items() if file_name == name)
    if len(ids) == 1:
        return ids[0]
    if image.stem.isdigit():
        for candidate in (int(image.stem), image.stem):
            if candidate in ids:
                return candidate
        raise DetectionsFileError(f"{path}: no detection has image_id {int(image.stem)} (the "
                                  f"number in the file name of {image}); the file has image "
                                  f"ids {listed}: pass --image-id N or --images ANNOTATIONS")
    raise DetectionsFileError(
        f"{path}: has detections of {len(ids)} images (image ids {listed}) and none can be "
        f"chosen for {image}: pass --image-id N, or --images ANNOTATIONS (a COCO-style JSON "
        "whose 'images' list gives the id of this file name)")


def _lookup_by_trailing_parts(index: FileNameIndex, image: Path) -> Optional[str]:
    """The images-list name that matches the most trailing components of ``image``'s path."""
    parts = Path(os.path.abspath(image)).parts[1:]
    for count in range(len(parts), 0, -1):
        found = index.lookup("/".join(parts[-count:]))
        if found is not None:
            return found
    return None


def json_numbers(values) -> list:
    """Python floats for JSON, ``None`` (``null``) for NaN and infinities: the file never
    holds the non-standard ``NaN``/``Infinity`` tokens (a keypoint of a box that cannot be
    posed is ``[null, null, 0.0]``)."""
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, np.float64)]


def write_output(path: Path, write) -> None:
    """``write(temporary_path)``, then rename onto ``path`` (its folder is made if missing):
    a failure leaves no partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, write, suffix=path.suffix)


def run(args) -> int:
    from tracker.pose import load_pose_model

    image = cv2.imread(str(args.image), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"{args.image}: not found or not an image OpenCV can read")
    if image.dtype != np.uint8:  # 16-bit PNG/TIFF: scale to 8 bits
        image = (image / (np.iinfo(image.dtype).max / 255.0)).astype(np.uint8)
    if args.boxes:
        boxes, scores, note = read_boxes(args.boxes, args.image, image_id=args.image_id,
                                         images=args.images)
        keep = scores >= args.min_box_score
        print(f"{PROG}: {note}; posing {int(keep.sum())} scored >= --min-box-score "
              f"{args.min_box_score}", file=sys.stderr)
        boxes, scores = boxes[keep], scores[keep]
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
        "persons": [{"bbox_xywh": json_numbers(box), "bbox_score": json_numbers([score])[0],
                     "keypoints": [json_numbers(row) for row in
                                   np.concatenate([kpts, kscores[:, None]], 1)]}
                    for box, score, kpts, kscores in zip(boxes, scores, poses.keypoints,
                                                         poses.keypoint_scores)],
    }
    text = json.dumps(result, allow_nan=False)
    if args.out:
        write_output(args.out, lambda tmp: tmp.write_text(text))
    else:
        print(text)
    if args.render:
        canvas = draw_poses(image, poses, np.arange(len(poses)), model.keypoint_set.names,
                            keypoint_score_threshold=RENDER_SCORE_THRESHOLD,
                            labels=[f"#{i} {s:.2f}" for i, s in enumerate(scores)])

        def write_image(tmp: Path) -> None:
            if not cv2.imwrite(str(tmp), canvas):
                raise ValueError(f"{args.render}: OpenCV cannot write this image format")
        write_output(args.render, write_image)
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run_main(PROG, parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
