"""Pose estimation: person boxes in a frame -> keypoints (the top-down Simple Baselines network).

    net.py          PoseResNet: ResNet backbone + deconvolution head (plain nn.Module)
    checkpoint.py   mmpose / Microsoft checkpoints -> a PoseResNet state dict, strictly
    backends.py     torch or onnxruntime heatmap network behind one call
    crop.py         affine crops of the person boxes (bit-exact with mmpose 0.x)
    heatmap.py      MSRA heatmap codec: decode, encode, back-projection to the frame
    estimator.py    TopDownPoseEstimator: frame + boxes -> Poses (flip test, batching);
                    heatmaps_of_crops: crops already cut -> heatmaps (batch runners)
    zoo.py          model descriptions of configs/pose_models.yaml (weights: a
                    tracker.weights.WeightsSource), keypoint sets
    load.py         load_pose_model: zoo name + weights -> a ready estimator
"""
from tracker.pose.estimator import TopDownPoseEstimator
from tracker.pose.load import build_network, load_pose_model
from tracker.pose.zoo import KeypointSet, PoseModelSpec, get_pose_model_spec, keypoint_sets

__all__ = ["KeypointSet", "PoseModelSpec", "TopDownPoseEstimator", "build_network",
           "get_pose_model_spec", "keypoint_sets", "load_pose_model"]
