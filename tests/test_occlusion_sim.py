"""tests/occlusion_sim.py on literal scenes: depth order, covered joints, the bar, darkness,
head boxes (no shared data)."""
import numpy as np

from tests.occlusion_sim import body_boxes, head_box_xywh, occlusion
from tests.tracking_sim import GroundTruthFrame


def two_people(x_far: float) -> GroundTruthFrame:
    """A near person (box bottom 300) at x 100..160 and a far one (bottom 250) at x_far."""
    boxes = np.array([[100, 100, 160, 300], [x_far, 80, x_far + 60, 250]], np.float64)
    keypoints = np.stack([np.tile([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2], (17, 1))
                          for b in boxes])
    return GroundTruthFrame(keypoints=keypoints, visible=np.ones((2, 17), bool),
                            boxes_xyxy=boxes, track_ids=np.array([7, 8]))


def test_a_person_behind_a_nearer_one_is_covered_and_not_the_other_way_round():
    visible, covered, nearer = occlusion(two_people(x_far=100), None, dark=False)
    assert nearer.tolist() == [[False, False], [True, False]]
    assert visible[0] == 1.0 and 0.0 < visible[1] < 0.8
    assert not covered[0].any() and covered[1].all()


def test_people_apart_are_fully_visible():
    visible, covered, _ = occlusion(two_people(x_far=400), None, dark=False)
    assert visible.tolist() == [1.0, 1.0] and not covered.any()


def test_the_bar_covers_whoever_it_is_over_and_darkness_covers_everyone():
    visible, covered, _ = occlusion(two_people(x_far=400), (390.0, 470.0), dark=False)
    assert visible[0] == 1.0 and visible[1] == 0.0 and covered[1].all()
    visible, covered, _ = occlusion(two_people(x_far=400), None, dark=True)
    assert visible.tolist() == [0.0, 0.0] and covered.all()


def test_body_boxes_are_narrowed_on_each_side():
    assert body_boxes(np.array([[0, 0, 100, 50]])).tolist() == [[15, 0, 85, 50]]


def test_head_box_from_the_head_joints_or_the_box():
    keypoints = np.zeros((17, 3))
    keypoints[1] = [100, 140, 1]   # head_bottom
    keypoints[2] = [100, 100, 1]   # head_top
    x, y, w, h = head_box_xywh(keypoints, [50, 90, 100, 300])
    assert np.allclose([x + w / 2, y + h / 2, w, h], [100, 120, 0.78 * 40, 0.98 * 40])
    keypoints[2, 2] = 0
    x, y, w, h = head_box_xywh(keypoints, [50, 90, 100, 280])
    assert np.isclose(h, 0.98 * 40) and np.isclose(x + w / 2, 100)
