"""colour_descriptors (sampled parts converted to HSV at once) equals a per-part loop over the
whole frame's HSV, and stays close to the full-resolution histograms."""
import cv2
import numpy as np
import pytest

from tests.shared_data import PARITY_DIR, shared_path
from tracker.tracking.appearance import (ANKLES, HIPS, HUE_BINS, KNEES, PART_KEYPOINT_SCORE,
                                         SAMPLES_PER_PART, SATURATION_BINS, SHOULDERS,
                                         appearance_similarity, colour_descriptors, part_boxes,
                                         sample_strides)


# -- reference oracle: whole frame to HSV, then a loop over people and parts -----------------

def _reference_part_box(points, width, height):
    if len(points) < 2:
        return None
    x1, y1 = np.floor(points.min(axis=0)).astype(int)
    x2, y2 = np.ceil(points.max(axis=0)).astype(int)
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    return (x1, y1, x2, y2) if x2 - x1 >= 2 and y2 - y1 >= 2 else None


def _reference_histogram(hsv, box, full_resolution=False):
    """One part's normalised histogram: of every pixel (``full_resolution``), else of the
    sampled grid, each pixel's bin found by calcHist on it alone."""
    if box is None:
        return np.zeros(HUE_BINS * SATURATION_BINS, np.float32)
    x1, y1, x2, y2 = box
    if full_resolution:
        hist = cv2.calcHist([hsv[y1:y2, x1:x2]], [0, 1], None, [HUE_BINS, SATURATION_BINS],
                            [0, 180, 0, 256]).ravel()
    else:
        step = max(1, int(np.ceil(np.sqrt((x2 - x1) * (y2 - y1) / SAMPLES_PER_PART))))
        hist = np.zeros(HUE_BINS * SATURATION_BINS, np.float32)
        for pixel in hsv[y1:y2:step, x1:x2:step].reshape(-1, 1, 1, 3):
            hist += cv2.calcHist([pixel], [0, 1], None, [HUE_BINS, SATURATION_BINS],
                                 [0, 180, 0, 256]).ravel()
    total = hist.sum()
    return (hist / total).astype(np.float32) if total > 0 else hist.astype(np.float32)


def reference_colour_descriptors(image_bgr, keypoints_xy, keypoint_scores, full_resolution=False):
    keypoints = np.asarray(keypoints_xy, np.float64)
    scores = np.asarray(keypoint_scores)
    size = 2 * HUE_BINS * SATURATION_BINS
    if len(keypoints) == 0 or keypoints.shape[1] < 17:
        return np.zeros((len(keypoints), size), np.float32)
    hsv = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2HSV)
    height, width = image_bgr.shape[:2]
    out = np.zeros((len(keypoints), size), np.float32)
    for i, (points, point_scores) in enumerate(zip(keypoints, scores)):
        found = (point_scores > PART_KEYPOINT_SCORE) & np.isfinite(points).all(axis=1)

        def located(*slots):
            return points[[s for group in slots for s in group if found[s]]]

        torso = _reference_part_box(located(SHOULDERS, HIPS), width, height)
        lower = located(ANKLES) if found[list(ANKLES)].any() else located(KNEES)
        legs = _reference_part_box(np.concatenate([located(HIPS), lower]), width, height) \
            if len(lower) else None
        out[i] = np.concatenate([_reference_histogram(hsv, torso, full_resolution),
                                 _reference_histogram(hsv, legs, full_resolution)])
    return out


# -- a literal scene -----------------------------------------------------------------------------

#: A standing person's 17 COCO keypoints, (x, y) as fractions of their box (centred).
BODY = np.array([(0.50, 0.07), (0.50, 0.14), (0.50, 0.00), (0.56, 0.06), (0.44, 0.06),
                 (0.68, 0.20), (0.32, 0.20), (0.78, 0.36), (0.22, 0.36), (0.82, 0.50),
                 (0.18, 0.50), (0.62, 0.52), (0.38, 0.52), (0.62, 0.74), (0.38, 0.74),
                 (0.62, 0.97), (0.38, 0.97)]) - 0.5


def patterned_image(height, width):
    """Every pixel a different-ish colour, so any misplaced box changes a histogram."""
    y, x = np.indices((height, width))
    return np.stack([(x * 3 + y) % 256, (x * y // 7) % 256, (y * 5 + x // 3 + 50) % 256],
                    axis=2).astype(np.uint8)


def crowd(width, height):
    """(N, 17, 2) keypoints and (N, 17) scores: whole people of several sizes, people cut by
    every border, and people missing keypoints in every way that changes a part's box."""
    centres_heights = [(0.2, 0.5, 0.9), (0.5, 0.45, 0.5), (0.8, 0.55, 0.3), (0.02, 0.5, 0.6),
                       (0.98, 0.5, 0.6), (0.5, 0.02, 0.6), (0.5, 0.98, 0.6), (0.35, 0.6, 0.05),
                       (0.65, 0.4, 0.4), (0.3, 0.3, 0.4), (0.7, 0.7, 0.4), (0.45, 0.55, 0.45),
                       (0.55, 0.5, 0.35), (1.6, 0.5, 0.4), (0.4, 0.6, 0.01), (0.6, 0.3, 0.5)]
    keypoints = np.stack([[cx * width, cy * height] + BODY * [0.45 * h * height, h * height]
                          for cx, cy, h in centres_heights]) + 0.37      # not on pixel edges
    scores = np.full(keypoints.shape[:2], 0.9)
    scores[8, list(ANKLES)] = 0.1                     # legs to the knees
    scores[9, [15]] = 0.2                             # one ankle
    scores[10, list(SHOULDERS)] = 0.3                 # torso from the hips only (at the threshold)
    scores[11, list(HIPS) + list(KNEES)] = 0.05       # legs: ankles only (one box from 2 points)
    keypoints[12, [5, 11, 13]] = np.nan               # NaN keypoints are not found
    scores[12, list(ANKLES) + list(KNEES)] = 0.0      # no legs at all
    scores[13] = 0.0                                  # nothing found (and off-frame anyway)
    keypoints[2, :, 0] = keypoints[2, 15, 0]          # a zero-width person: no part boxes
    keypoints[15, 12, 1] += 0.1 * height              # bent at the hips, with no knees or ankles:
    scores[15, list(KNEES) + list(ANKLES)] = 0.1      # the hips alone make no legs
    return keypoints, scores


@pytest.mark.parametrize("height,width", [(240, 320), (250, 333), (120, 50), (60, 63), (97, 1)])
def test_colour_descriptors_equal_the_per_part_reference(height, width):
    image = patterned_image(height, width)
    keypoints, scores = crowd(width, height)
    expected = reference_colour_descriptors(image, keypoints, scores)
    got = colour_descriptors(image, keypoints, scores)
    assert got.dtype == np.float32 and got.shape == (len(keypoints), 64)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(colour_descriptors(image, keypoints.astype(np.float32), scores),
                                  reference_colour_descriptors(image, keypoints.astype(np.float32),
                                                               scores))
    if width >= 320:          # the scene places parts in every way, and leaves some unplaced
        torso_known, legs_known = (expected.reshape(-1, 2, 32).sum(axis=2) > 0).T
        assert torso_known.sum() >= 8 and (~legs_known).sum() >= 3


def test_colour_descriptors_on_a_real_frame_equal_the_reference_and_the_full_resolution():
    image = cv2.imread(str(shared_path(*PARITY_DIR, "images", "coco", "000000000785.jpg")))
    height, width = image.shape[:2]
    keypoints, scores = crowd(width, height)
    got = colour_descriptors(image, keypoints, scores)
    np.testing.assert_array_equal(got, reference_colour_descriptors(image, keypoints, scores))
    full = reference_colour_descriptors(image, keypoints, scores, full_resolution=True)
    known = full.reshape(-1, 2, 32).sum(axis=2).all(axis=1)
    sampled = (sample_strides(part_boxes(keypoints, scores, width, height)[0]) > 1).any(axis=1)
    assert (known & sampled).sum() >= 5            # big people, sampled on a sparse grid
    same = np.diag(appearance_similarity(got, full))[known]
    assert same.min() > 0.95, same                 # histogram intersection of each person


def test_sample_strides():
    boxes = np.array([[0, 0, 32, 32], [0, 0, 33, 32], [10, 10, 110, 210], [5, 5, 5, 9]])
    assert sample_strides(boxes).tolist() == [1, 2, 5, 1]     # 32x32 = 1024 px: every pixel


def test_part_boxes_of_one_person():
    keypoints = np.zeros((1, 17, 2))
    keypoints[0, list(SHOULDERS)] = [[10.2, 5.5], [30.0, 5.0]]
    keypoints[0, list(HIPS)] = [[12.0, 40.0], [28.0, 40.9]]
    keypoints[0, list(KNEES)] = [[12.0, 60.0], [28.0, 60.0]]
    keypoints[0, list(ANKLES)] = [[11.0, 85.0], [29.0, 120.0]]
    scores = np.full((1, 17), 0.9)
    boxes, placed = part_boxes(keypoints, scores, width=100, height=100)
    assert boxes.tolist() == [[[10, 5, 30, 41], [11, 40, 29, 100]]]
    assert placed.tolist() == [[True, True]]
    scores[0, list(ANKLES)] = 0.0                     # legs end at the knees
    scores[0, list(SHOULDERS) + [11]] = 0.0           # torso: one hip is not a box
    boxes, placed = part_boxes(keypoints, scores, width=100, height=100)
    assert boxes[0, 1].tolist() == [12, 40, 28, 60] and placed.tolist() == [[False, True]]


def test_colour_descriptors_without_people_or_keypoints():
    image = patterned_image(40, 40)
    assert colour_descriptors(image, np.zeros((0, 17, 2)), np.zeros((0, 17))).shape == (0, 64)
    assert not colour_descriptors(image, np.ones((2, 5, 2)), np.ones((2, 5))).any()


def test_parts_counted_in_several_histogram_calls_equal_one_call(monkeypatch):
    import tracker.tracking.appearance as appearance
    image = patterned_image(240, 320)
    keypoints, scores = crowd(320, 240)
    whole = colour_descriptors(image, keypoints, scores)
    monkeypatch.setattr(appearance, "PARTS_PER_CALL", 3)      # 32 parts in 11 calls
    np.testing.assert_array_equal(colour_descriptors(image, keypoints, scores), whole)
