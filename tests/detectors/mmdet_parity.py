"""The mmdet-parity folder (``../shared/fixtures/mmdet-parity``): its checkpoint recipe, its
references, and comparisons against them (tolerances of the folder's README)."""
import importlib.util
import json
from functools import lru_cache

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from tests.shared_data import SHARED_ROOT, shared_path

MMDET_PARITY = ("fixtures", "mmdet-parity")
#: The refs name images by their mmpose source ("open-mmlab/mmpose:tests/data/coco/
#: 000000196141.jpg"); the shared folder holds mmpose's tests/data as data/mmpose-testdata.
MMPOSE_TESTDATA = ("data", "mmpose-testdata")

#: Person boxes within 1e-2 px, scores within 1e-4 (README "suggested check").
BOX_ATOL, SCORE_ATOL = 1e-2, 1e-4
#: A box scoring within this of the score threshold may be present on one side only.
BORDERLINE = 1e-3


def assert_same_detections(detections, ref_person: dict, score_threshold: float | None = None):
    """Same count and order, boxes and scores within tolerance. Two boxes whose mmdet scores
    are within ``SCORE_ATOL`` of each other may come in either order (a tie: float noise
    decides it). With ``score_threshold``, boxes scoring within ``BORDERLINE`` of it are left
    out on both sides first."""
    ref_boxes = np.asarray(ref_person["bboxes_xyxy"], np.float64).reshape(-1, 4)
    ref_scores = np.asarray(ref_person["scores"], np.float64).reshape(-1)
    boxes = detections.boxes_xyxy.astype(np.float64)
    scores = detections.scores.astype(np.float64)
    if score_threshold is not None:
        keep_ref = np.abs(ref_scores - score_threshold) > BORDERLINE
        keep = np.abs(scores - score_threshold) > BORDERLINE
        ref_boxes, ref_scores = ref_boxes[keep_ref], ref_scores[keep_ref]
        boxes, scores = boxes[keep], scores[keep]
    assert len(boxes) == len(ref_boxes), f"{len(boxes)} person boxes, mmdet has {len(ref_boxes)}"
    assert detections.boxes_xyxy.dtype == np.float32 and detections.scores.dtype == np.float32
    order = _order_up_to_ties(boxes, ref_boxes, ref_scores)
    np.testing.assert_allclose(boxes, ref_boxes[order], atol=BOX_ATOL, rtol=0)
    np.testing.assert_allclose(scores, ref_scores[order], atol=SCORE_ATOL, rtol=0)
    assert np.all(np.diff(detections.scores) <= 0), "scores must be descending"


def _order_up_to_ties(boxes: np.ndarray, ref_boxes: np.ndarray,
                      ref_scores: np.ndarray) -> np.ndarray:
    """Index of the ref box at each position: itself, or one of equal score that fits."""
    order, used = np.arange(len(boxes)), set()
    for i, box in enumerate(boxes):
        ties = np.flatnonzero(np.abs(ref_scores - ref_scores[i]) <= SCORE_ATOL)
        fits = [j for j in ties if j not in used
                and np.abs(ref_boxes[j] - box).max() <= BOX_ATOL]
        if fits:
            order[i] = i if i in fits else fits[0]
        used.add(int(order[i]))
    return order


def assert_matches_stats(tensor, stats: dict, name: str, rel: float = 2e-5):
    """A tensor against the refs' summary (shape, mean, std, min, max, sampled values);
    tolerances scale with the tensor's largest magnitude."""
    array = tensor.detach().cpu().double().numpy()
    assert list(array.shape) == list(stats["shape"]), name
    scale = max(1.0, abs(stats["min"]), abs(stats["max"]))
    flat = array.reshape(-1)
    np.testing.assert_allclose(flat[stats["sample_flat_index"]], stats["sample_values"],
                               atol=rel * scale, rtol=0, err_msg=name)
    for key, value in (("mean", flat.mean()), ("std", flat.std()), ("min", flat.min()),
                       ("max", flat.max())):
        assert abs(value - stats[key]) <= rel * scale, f"{name} {key}: {value} vs {stats[key]}"


def match_rows(ours: np.ndarray, ref: np.ndarray, atol: float) -> tuple[np.ndarray, np.ndarray]:
    """Pair rows of two (R, 4) box arrays that agree as sets (adjacent near-ties may swap):
    returns (our indices, ref indices), checked to be within ``atol`` everywhere."""
    assert ours.shape == ref.shape, f"{ours.shape} vs {ref.shape}"
    cost = np.abs(ours[:, None, :].astype(np.float64) - ref[None, :, :]).max(axis=2)
    rows, cols = linear_sum_assignment(cost)
    worst = cost[rows, cols].max() if len(rows) else 0.0
    assert worst <= atol, f"rows do not match as a set: worst pair differs by {worst}"
    return rows, cols


@lru_cache(maxsize=None)
def mmdet_recipe():
    """The parity folder's ``make_checkpoint.py`` module (synthetic mmdet checkpoints)."""
    script = shared_path(*MMDET_PARITY, "make_checkpoint.py")
    spec = importlib.util.spec_from_file_location("mmdet_make_checkpoint", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_refs(name: str) -> dict:
    """``refs/<name>.json`` of the parity folder (skips the test when absent)."""
    return json.loads(shared_path(*MMDET_PARITY, "refs", f"{name}.json").read_text())


def ref_image_names(name: str, leave_out: tuple = ()) -> list[str]:
    """Image names of ``refs/<name>.json`` for parametrising (collection time: no skip);
    a placeholder when the file is absent, which ``load_refs`` then skips."""
    path = SHARED_ROOT.joinpath(*MMDET_PARITY, "refs", f"{name}.json")
    if not path.is_file():
        return ["<refs missing>"]
    return [image for image in json.loads(path.read_text())["images"] if image not in leave_out]


def ref_image(entry: dict) -> np.ndarray:
    """The BGR image a refs entry was computed on (skips the test when absent)."""
    relative = entry["source"].split("tests/data/", 1)[1]
    path = shared_path(*MMPOSE_TESTDATA, *relative.split("/"))
    image = cv2.imread(str(path))
    assert image is not None, f"cannot read {path}"
    return image
