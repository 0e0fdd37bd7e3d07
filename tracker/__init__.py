"""posetrack: Simple Baselines human pose estimation and tracking.

Example:
    >>> import cv2
    >>> from tracker.pose import load_pose_model
    >>> model = load_pose_model("res50_coco_256x192", device="cpu")
    >>> poses = model.predict(cv2.imread("people.jpg"), [[280.8, 44.7, 218.7, 346.7]])
    >>> poses.keypoints.shape, poses.keypoint_scores.shape   # (1, 17, 2), (1, 17)
"""
from tracker.types import Detections, Poses

__all__ = ["Detections", "Poses", "load_pose_model"]


def __getattr__(name):
    # load_pose_model pulls in torch; import it lazily so `import tracker` stays light.
    if name == "load_pose_model":
        from tracker.pose import load_pose_model
        return load_pose_model
    raise AttributeError(f"module 'tracker' has no attribute {name!r}")
