"""Builders of PoseTrack18 test inputs: tiny synthetic videos and the spec's sanity runs.

Synthetic people have all 15 evaluated joints on a fixed skeleton around (x, y) and a
30 x 40 px head box, so the PCKh reference is 0.6 * 50 = 30 px and a joint matches within
15 px. The sanity runs (spec §10) expand mmpose's three real one-frame PoseTrack18 val files
to 12-frame sequences: person p (file order) is translated by (3t + p, 2t) px in frame t,
frames 3 and 8 are unlabeled (image listed, no annotations), the real ignore regions stay
where they are, and "perfect" predictions are the GT people with every joint scored 0.9.
Where the spec leaves a detail open (which person is dropped, which frame is emptied, where
a false positive goes), the choice here fits the spec's description and reproduces its
numbers; with the same GT the jitter and "extra joints" runs (random positions) cannot be
rebuilt and are not included.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

NAMES17 = ["nose", "head_bottom", "head_top", "left_ear", "right_ear", "left_shoulder",
           "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
           "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"]
HEAD_BOX_WH = (30.0, 40.0)          # head size 0.6 * 50 = 30 px -> match radius 15 px
# Joint offsets from the person's (x, y), 40 px apart in y (ears: (0, 0, 0) = absent).
_OFFSETS = {"nose": (0, 40), "head_bottom": (0, 80), "head_top": (0, 0),
            "left_shoulder": (40, 120), "right_shoulder": (-40, 120),
            "left_elbow": (60, 160), "right_elbow": (-60, 160), "left_wrist": (70, 200),
            "right_wrist": (-70, 200), "left_hip": (30, 240), "right_hip": (-30, 240),
            "left_knee": (30, 300), "right_knee": (-30, 300), "left_ankle": (30, 360),
            "right_ankle": (-30, 360)}
SEQ_TYPE = "mpii"
MMPOSE_VAL = ("data", "mmpose-testdata", "posetrack18", "annotations", "val")
SANITY_SEQUENCES = ("003418_mpii_test", "009473_mpii_test", "012834_mpii_test")


def person(track_id, x: float, y: float, *, score: float | None = 0.9, drop=(), nan=(),
           overrides: dict | None = None) -> dict:
    """A PoseTrack18 annotation: all 15 joints around (x, y) unless named in ``drop``."""
    x, y = float(x), float(y)
    keypoints, scores = [], []
    for name in NAMES17:
        if name in _OFFSETS and name not in drop:
            dx, dy = (overrides or {}).get(name, _OFFSETS[name])
            keypoints += [float("nan") if name in nan else x + dx, y + dy, 1]
        else:
            keypoints += [0, 0, 0]
        scores.append(score)
    ann = {"track_id": track_id, "keypoints": keypoints,
           "bbox_head": [x - HEAD_BOX_WH[0] / 2, y - 10, *HEAD_BOX_WH]}
    if score is not None:
        ann["scores"] = scores
    return ann


def video(frames: list[list[dict]], *, video_id: str = "000001", regions=None,
          names: list[str] | None = None) -> dict:
    """PoseTrack18 file: ``frames[t]`` = annotations of frame t; ``regions[t]`` = list of
    polygons [[(x, y), ...], ...] of frame t (None: no ignore regions)."""
    images, annotations = [], []
    for t, people in enumerate(frames):
        image = {"id": 1000 + t, "file_name": f"images/val/{video_id}_{SEQ_TYPE}_test/"
                                               f"{t:06d}.jpg"}
        if regions is not None and regions[t] is not None:
            image["ignore_regions_x"] = [[float(p[0]) for p in poly] for poly in regions[t]]
            image["ignore_regions_y"] = [[float(p[1]) for p in poly] for poly in regions[t]]
        images.append(image)
        for ann in people:
            annotations.append({**copy.deepcopy(ann), "image_id": 1000 + t,
                                "category_id": 1})
    return {"images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "person", "keypoints": names or NAMES17}]}


def write_dirs(root: Path, gt: dict[str, dict], pred: dict[str, dict]) -> tuple[Path, Path]:
    """Write {name: PoseTrack18 dict} into root/gt and root/pred; returns both folders."""
    for folder, files in (("gt", gt), ("pred", pred)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (root / folder / f"{name}.json").write_text(json.dumps(data))
    return root / "gt", root / "pred"


# -- spec §10 sanity runs ------------------------------------------------------------------

def translate(keypoints: list, dx: float, dy: float) -> list:
    """Shift the present keypoints of a flat (x, y, v) list; (0, 0, 0) stays absent."""
    out = list(keypoints)
    for k in range(0, len(out), 3):
        if not (out[k] == 0 and out[k + 1] == 0 and out[k + 2] == 0):
            out[k] += dx
            out[k + 1] += dy
    return out


def expand_sequence(source: Path, *, n_frames: int = 12, unlabeled=(3, 8)) -> dict:
    """12-frame GT from a one-frame mmpose val file (see the module docstring)."""
    src = json.loads(source.read_text())
    first = src["images"][0]
    images, annotations = [], []
    for t in range(n_frames):
        image = {**copy.deepcopy(first), "id": first["id"] + t, "is_labeled": t not in unlabeled,
                 "file_name": first["file_name"].replace("000000.jpg", f"{t:06d}.jpg")}
        images.append(image)
        if t in unlabeled:
            continue
        for p, ann in enumerate(src["annotations"]):
            ann = copy.deepcopy(ann)
            dx, dy = 3 * t + p, 2 * t
            ann["keypoints"] = translate(ann["keypoints"], dx, dy)
            ann["bbox_head"] = [ann["bbox_head"][0] + dx, ann["bbox_head"][1] + dy,
                                *ann["bbox_head"][2:]]
            ann["image_id"], ann["id"] = image["id"], ann["id"] * 100 + t
            annotations.append(ann)
    return {"images": images, "annotations": annotations, "categories": src["categories"]}


def perfect(gt: dict, *, score: float = 0.9) -> dict:
    """GT people as predictions, every keypoint scored ``score``."""
    pred = copy.deepcopy(gt)
    for ann in pred["annotations"]:
        ann["scores"] = [score] * (len(ann["keypoints"]) // 3)
    return pred


def _frame(ann: dict, data: dict) -> int:
    return ann["image_id"] - data["images"][0]["id"]


def _shifted_copy(ann: dict, dx: float, dy: float, **fields) -> dict:
    out = copy.deepcopy(ann)
    out["keypoints"] = translate(out["keypoints"], dx, dy)
    out.update(fields)
    return out


def sanity_gt(shared_val: Path, names=SANITY_SEQUENCES) -> dict[str, dict]:
    return {name: expand_sequence(shared_val / f"{name}.json") for name in names}


# Each case: (gt, perfect prediction) -> (gt, prediction); mutates copies only.
def _drop_person(gt, pred):   # person 0 of 012834 never predicted
    seq = pred["012834_mpii_test"]
    seq["annotations"] = [a for a in seq["annotations"] if a["track_id"] != 0]
    return gt, pred


def _swap_ids(gt, pred):      # ids 0 <-> 1 swapped from frame 6 on (the 2 multi-person seqs)
    for name in ("009473_mpii_test", "012834_mpii_test"):
        for ann in pred[name]["annotations"]:
            if _frame(ann, pred[name]) >= 6 and ann["track_id"] in (0, 1):
                ann["track_id"] = 1 - ann["track_id"]
    return gt, pred


def _fp_person(gt, pred):     # copy of 009473 person 0, 600 px left / 100 down, score 0.5:
    seq = pred["009473_mpii_test"]  # its upper body lies in an ignore region, legs do not
    seq["annotations"] += [_shifted_copy(a, -600, 100, track_id=100, scores=[0.5] * 17)
                           for a in seq["annotations"] if a["track_id"] == 0]
    return gt, pred


FP_IGNORE_POINT = (150.0, 300.0)  # strictly inside 009473's left ignore region


def _fp_in_ignore(gt, pred):  # an FP person with every joint inside an ignore region
    seq = pred["009473_mpii_test"]
    x, y = FP_IGNORE_POINT
    seq["annotations"] += [{**copy.deepcopy(a), "track_id": 100, "scores": [0.5] * 17,
                            "keypoints": [x, y, 1] * 17}
                           for a in seq["annotations"] if a["track_id"] == 0]
    return gt, pred


def _empty_frame(gt, pred):   # no prediction at all in frame 5 of the 11-person sequence
    seq = pred["012834_mpii_test"]
    seq["annotations"] = [a for a in seq["annotations"] if _frame(a, seq) != 5]
    return gt, pred


def _drop_in_last_frame(gt, pred):   # person 0 of 012834 missing in the last frame only
    seq = pred["012834_mpii_test"]
    seq["annotations"] = [a for a in seq["annotations"]
                          if not (_frame(a, seq) == 11 and a["track_id"] == 0)]
    return gt, pred


def _unlabeled_preds(gt, pred):      # people also predicted in the unlabeled frames 3 and 8
    for seq in pred.values():
        seq["annotations"] += [_shifted_copy(a, 3, 2, image_id=a["image_id"] + 1)
                               for a in seq["annotations"] if _frame(a, seq) in (2, 7)]
    return gt, pred


def _reversed_images(gt, pred):
    for seq in pred.values():
        seq["images"] = seq["images"][::-1]
    return gt, pred


def _nan_first_joint(gt, pred):      # x = NaN on each person's first present keypoint
    for seq in pred.values():
        for ann in seq["annotations"]:
            k = ann["keypoints"]
            first = next(i for i in range(0, len(k), 3)
                         if not (k[i] == 0 and k[i + 1] == 0 and k[i + 2] == 0))
            k[first] = float("nan")
    return gt, pred


def _gt_as_pred(gt, pred):
    return gt, copy.deepcopy(gt)


SANITY_CASES = {
    "gt_as_pred": _gt_as_pred, "perfect": lambda gt, pred: (gt, pred),
    "drop_person": _drop_person, "swap_ids": _swap_ids, "fp_person": _fp_person,
    "fp_in_ignore": _fp_in_ignore, "empty_frame": _empty_frame,
    "drop_in_last_frame": _drop_in_last_frame, "unlabeled_preds": _unlabeled_preds,
    "reversed_images": _reversed_images, "nan_first_joint": _nan_first_joint,
}


# Extra single-sequence runs of spec §10 (009473 alone, 12 frames).
def _zero_kp_gt(gt, pred):    # frame 5: GT = one person without keypoints, no ignore regions
    seq = gt["009473_mpii_test"]
    zero = next(a for a in seq["annotations"] if _frame(a, seq) == 5)
    seq["annotations"] = [a for a in seq["annotations"] if _frame(a, seq) != 5]
    seq["annotations"].append({**copy.deepcopy(zero), "keypoints": [0] * 51})
    del seq["images"][5]["ignore_regions_x"], seq["images"][5]["ignore_regions_y"]
    return gt, pred


def _all_ignored(gt, pred):   # frame 5: an ignore region covering the whole image
    image = gt["009473_mpii_test"]["images"][5]
    image["ignore_regions_x"].append([-10, 3000, 3000, -10])
    image["ignore_regions_y"].append([-10, -10, 3000, 3000])
    return gt, pred


def _fp_scores(score):        # person 0 predicted 500 px to the right with this score
    def build(gt, pred):
        for ann in pred["009473_mpii_test"]["annotations"]:
            if ann["track_id"] == 0:
                ann["keypoints"] = translate(ann["keypoints"], 500, 0)
                ann["scores"] = [score] * 17
        return gt, pred
    return build


def _reordered_15kp(gt, pred):  # 15 names (no ears) in reversed order
    seq = pred["009473_mpii_test"]
    kept = [i for i, n in enumerate(NAMES17) if n not in ("left_ear", "right_ear")][::-1]
    seq["categories"][0]["keypoints"] = [NAMES17[i] for i in kept]
    for ann in seq["annotations"]:
        k = ann["keypoints"]
        ann["keypoints"] = [v for i in kept for v in k[3 * i:3 * i + 3]]
        ann["scores"] = [ann["scores"][i] for i in kept]
    return gt, pred


def _no_kp_scores(gt, pred):
    for ann in pred["009473_mpii_test"]["annotations"]:
        del ann["scores"]
    return gt, pred


def _neg_tid(gt, pred):
    for files in (gt, pred):
        for ann in files["009473_mpii_test"]["annotations"]:
            ann["track_id"] = -1 - ann["track_id"]
    return gt, pred


def _origin_kp(gt, pred):     # every predicted nose at the image origin (0, 0, 0.5)
    for ann in pred["009473_mpii_test"]["annotations"]:
        ann["keypoints"][0:3] = [0, 0, 0.5]
    return gt, pred


SINGLE_SEQUENCE_CASES = {
    "base": lambda gt, pred: (gt, pred), "zero_kp_gt": _zero_kp_gt,
    "all_ignored": _all_ignored, "nan_scores_on_fp": _fp_scores(float("nan")),
    "low_scores_on_fp": _fp_scores(0.1), "reordered_15kp": _reordered_15kp,
    "no_kp_scores": _no_kp_scores, "neg_tid": _neg_tid, "origin_kp": _origin_kp,
}


def build_case(builder, gt: dict[str, dict]) -> tuple[dict, dict]:
    """Apply a case builder to copies of ``gt`` and its perfect prediction."""
    gt = copy.deepcopy(gt)
    return builder(gt, {name: perfect(seq) for name, seq in gt.items()})
