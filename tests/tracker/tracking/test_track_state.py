"""Pure motion functions of tracker.tracking.track_state on literal arrays."""
import numpy as np

from tracker.tracking.track_state import pose_centres


def test_pose_centres_are_the_found_joints_mean_or_the_box_centre():
    keypoints = np.array([[[0, 0], [10, 20], [np.nan, np.nan]], [[5, 5], [7, 7], [9, 9]]])
    scores = np.array([[0.9, 0.9, 0.9], [0.1, 0.1, 0.1]])
    boxes = np.array([[0, 0, 4, 4], [10, 10, 30, 50]])
    np.testing.assert_allclose(pose_centres(keypoints, scores, boxes, 0.2), [[5, 10], [20, 30]])
