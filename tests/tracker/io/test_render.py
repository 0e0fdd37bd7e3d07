import itertools

import numpy as np
import pytest

from tracker.io.render import (SKELETON_LINKS, draw_poses, draw_text_overlay,
                               label_font_scales, label_size, layout_labels, skeleton_links,
                               track_color)
from tracker.types import Poses

COCO = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
        "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
        "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"]
POSETRACK18 = ["nose", "head_bottom", "head_top"] + COCO[3:]


def make_poses(keypoints, scores=None, boxes=None) -> Poses:
    keypoints = np.asarray(keypoints, np.float32)
    n, k = keypoints.shape[:2]
    return Poses(keypoints=keypoints,
                 keypoint_scores=np.ones((n, k), np.float32) if scores is None else scores,
                 boxes_xyxy=np.tile([[10, 10, 90, 90]], (n, 1)) if boxes is None else boxes,
                 box_scores=np.ones(n, np.float32))


def test_track_colors_are_stable_and_distinct():
    colors = [track_color(i) for i in range(51)]
    assert colors == [track_color(i) for i in reversed(range(51))][::-1]
    assert track_color(np.int64(7)) == colors[7]
    for color in colors:
        assert len(color) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in color)
        assert max(color) >= 180  # bright enough to read on video
    distances = [np.linalg.norm(np.subtract(a, b)) for a, b in itertools.combinations(colors, 2)]
    assert min(distances) > 20


def test_skeleton_links_coco():
    links = skeleton_links(COCO)
    names = {(COCO[a], COCO[b]) for a, b in links}
    assert ("left_shoulder", "left_elbow") in names and ("nose", "left_eye") in names
    assert ("left_ear", "left_shoulder") in names
    assert len(links) == 19  # the COCO skeleton
    assert all(0 <= a < 17 and 0 <= b < 17 and a != b for a, b in links)


def test_skeleton_links_posetrack18():
    names = {(POSETRACK18[a], POSETRACK18[b]) for a, b in skeleton_links(POSETRACK18)}
    assert {("nose", "head_bottom"), ("nose", "head_top"), ("head_bottom", "left_shoulder"),
            ("left_ankle", "left_knee")} <= names
    assert not any("eye" in a or "eye" in b for a, b in names)


@pytest.mark.parametrize("names", [
    ["right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "pelvis",
     "thorax", "upper_neck", "head_top", "right_wrist", "right_elbow", "right_shoulder",
     "left_shoulder", "left_elbow", "left_wrist"],  # mpii
    ["left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
     "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "top_head",
     "neck"],  # crowdpose
])
def test_skeleton_links_connect_every_keypoint(names):
    links = skeleton_links(names)
    assert {i for link in links for i in link} == set(range(len(names)))


def test_every_skeleton_link_is_a_pair_of_different_names():
    assert len(set(SKELETON_LINKS)) == len(SKELETON_LINKS)
    assert all(a != b for a, b in SKELETON_LINKS)


def test_draw_poses_draws_in_track_color_and_copies():
    image = np.zeros((120, 160, 3), np.uint8)
    keypoints = np.full((1, 17, 2), np.nan, np.float32)
    keypoints[0, 5] = (40, 50)  # left_shoulder
    keypoints[0, 7] = (80, 60)  # left_elbow
    out = draw_poses(image, make_poses(keypoints), np.array([3]), COCO)
    assert image.max() == 0 and out is not image
    assert out.shape == image.shape and out.dtype == np.uint8
    assert tuple(out[50, 40]) == track_color(3) and tuple(out[60, 80]) == track_color(3)
    assert out[55, 60].any()  # the shoulder-elbow link
    assert tuple(out[10, 50]) == track_color(3)  # the box's top edge


def test_draw_poses_skips_low_scores_and_boxes_when_asked():
    image = np.zeros((120, 160, 3), np.uint8)
    keypoints = np.full((1, 17, 2), 60.0, np.float32)
    scores = np.full((1, 17), 0.1, np.float32)
    out = draw_poses(image, make_poses(keypoints, scores), np.array([0]), COCO, draw_boxes=False)
    assert out.max() == 0


def test_draw_poses_handles_empty_nan_and_outside_points():
    image = np.full((60, 80, 3), 7, np.uint8)
    empty = draw_poses(image, Poses.empty(17), np.zeros(0, np.int64), COCO)
    np.testing.assert_array_equal(empty, image)
    keypoints = np.full((2, 17, 2), np.nan, np.float32)
    keypoints[1] = np.linspace(-1e9, 1e9, 34).reshape(17, 2)  # far outside the image
    boxes = np.array([[np.nan, 0, 10, 10], [-1e12, -5, 1e12, 1e9]], np.float32)
    out = draw_poses(image, make_poses(keypoints, boxes=boxes), np.array([0, 1]), COCO)
    assert out.shape == image.shape


def test_draw_poses_rejects_mismatched_inputs():
    poses = make_poses(np.zeros((2, 17, 2)))
    with pytest.raises(ValueError, match="track_ids"):
        draw_poses(np.zeros((10, 10, 3), np.uint8), poses, np.array([0]), COCO)
    with pytest.raises(ValueError, match="keypoint_names"):
        draw_poses(np.zeros((10, 10, 3), np.uint8), poses, np.array([0, 1]), COCO[:5])


def _crowd(count=15, width=1280, height=720):
    """``count`` people side by side, 30 px apart, boxes 40 px wide (a street crowd)."""
    x = 100 + 30 * np.arange(count, dtype=np.float32)
    boxes = np.stack([x, np.full(count, 200), x + 40, np.full(count, 300)], 1).astype(np.float32)
    keypoints = np.full((count, 17, 2), np.nan, np.float32)
    keypoints[:, 5] = np.stack([x + 10, np.full(count, 220)], 1)   # left_shoulder
    keypoints[:, 7] = np.stack([x + 10, np.full(count, 260)], 1)   # left_elbow
    return make_poses(keypoints, boxes=boxes), np.zeros((height, width, 3), np.uint8)


def _intersect(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_labels_of_a_crowd_never_overlap_and_stay_in_the_image():
    poses, image = _crowd()
    scales = label_font_scales(image.shape)
    sizes = np.array([[label_size(f"id {i}", s) for s in scales] for i in range(len(poses))])
    placed = layout_labels(poses.boxes_xyxy, sizes, (1280, 720))
    rects = [spot[1] for spot in placed if spot is not None]
    assert len(rects) >= 10           # most are placed (moved inside, below, or shrunk)
    for a, b in itertools.combinations(rects, 2):
        assert not _intersect(a, b), (a, b)
    assert all(0 <= r[0] < r[2] <= 1280 and 0 <= r[1] < r[3] <= 720 for r in rects)
    # drawn there: each label box is its own track colour (and its text), with no pixel of
    # another person's colour (the old renderer put every label above its box, overlapping)
    out = draw_poses(image, poses, np.arange(len(poses)), COCO)
    colors = [track_color(i) for i in range(len(poses))]
    for person, spot in enumerate(placed):
        if spot is not None:
            x1, y1, x2, y2 = spot[1]
            pixels = [tuple(p) for p in out[y1:y2, x1:x2].reshape(-1, 3)]
            assert pixels.count(colors[person]) >= 0.5 * len(pixels), person
            assert not set(pixels) & (set(colors) - {colors[person]}), person


def test_label_layout_prefers_above_the_box_then_inside_below_shrunk_or_none():
    boxes = np.array([[100, 100, 200, 300], [105, 100, 205, 300], [150, 100, 250, 300],
                      [100, 100, 200, 300], [100, 100, 200, 300], [np.nan, 0, 1, 1]], np.float32)
    sizes = np.tile([[[60, 20], [30, 10]]], (6, 1, 1))
    placed = layout_labels(boxes, sizes, (640, 480))
    assert placed[0] == (0, (100, 80, 160, 100))    # above the box, left
    assert placed[1] == (0, (105, 100, 165, 120))   # inside its top (above is taken)
    assert placed[2] == (0, (190, 80, 250, 100))    # above its right end
    assert placed[3] == (0, (100, 300, 160, 320))   # below
    assert placed[4] == (0, (100, 280, 160, 300))   # inside its bottom
    assert placed[5] is None                         # no finite box
    full = layout_labels(np.tile(boxes[:1], (7, 1)), np.tile([[[60, 20], [30, 10]]], (7, 1, 1)),
                         (640, 480))
    assert [spot and spot[0] for spot in full] == [0, 0, 0, 0, 1, None, None]   # shrunk
    assert layout_labels(np.tile(boxes[:1], (20, 1)), np.tile([[[60, 20]]], (20, 1, 1)),
                         (640, 480))[5:] == [None] * 15                  # no room: skipped


def test_labels_scale_with_the_frame():
    assert label_font_scales((720, 1280, 3))[0] == pytest.approx(0.6)
    assert label_font_scales((1080, 1920, 3))[0] == pytest.approx(0.9)
    small, large = label_font_scales((240, 426, 3)), label_font_scales((2160, 3840, 3))
    assert small[0] == 0.4 and large[0] == 1.2 and small[1] < small[0]
    assert label_size("id 12", 0.9)[1] > label_size("id 12", 0.6)[1]


def test_draw_poses_draws_limbs_with_custom_labels():
    poses, image = _crowd(count=2, width=400, height=400)
    out = draw_poses(image, poses, np.array([4, 9]), COCO, labels=["#0 0.97", "#1 0.40"],
                     thickness=3)
    for person, track_id in enumerate((4, 9)):
        x = int(poses.keypoints[person, 5, 0])
        assert tuple(out[240, x]) == track_color(track_id)   # on the shoulder-elbow line
    with pytest.raises(ValueError, match="labels"):
        draw_poses(image, poses, np.array([4, 9]), COCO, labels=["one"])


def test_text_overlay_top_left_and_copy():
    image = np.full((200, 300, 3), 128, np.uint8)
    out = draw_text_overlay(image, ["12.3 FPS", "frame 4"])
    assert (image == 128).all()
    top_left, bottom_right = out[:40, :100], out[100:, 150:]
    assert (top_left == 0).any() and top_left.max() > 200  # white text on a black box
    assert (bottom_right == 128).all()
