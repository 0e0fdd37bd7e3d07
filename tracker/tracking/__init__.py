"""Tracking: poses of consecutive frames -> track ids (Simple Baselines section 3).

    flow.py          dense optical flow between frames, keypoint warping, boxes around poses
    association.py   OKS / IoU similarity matrices and the greedy / Hungarian matchers (pure)
    propagation.py   merging detector and flow-propagated boxes, pose NMS (pure)
    pose_tracker.py  PoseTracker: the tracks, their state and their ids
    smoothing.py     one-euro smoothing of tracked keypoints
    pipeline.py      Pipeline: detector -> propagation -> pose -> association, per frame
"""
