"""Person detectors: each is called with a ``Frame`` and returns ``Detections``.

Every detector returns persons only: ``boxes_xyxy`` (N, 4) float32 in frame pixels and
``scores`` (N,) float32, highest score first.

Example:
    >>> from detectors import load_detector
    >>> detector = load_detector("rtmdet-nano", checkpoint="end2end.onnx", device="cpu")
    >>> detections = detector(frame)          # frame: tracker.types.Frame
    >>> detections.boxes_xyxy.shape           # (N, 4)
    >>> replay = load_detector("detections", checkpoint="dets.json", key="frame_index")
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from detectors.base import Detector, make_detections
from detectors.files import DetectionsFileError
from detectors.posetrack_gt import PoseTrackGroundTruthBoxes
from detectors.precomputed import CocoDetectionsFile
from detectors.rtmdet import RTMDetONNX
from detectors.zoo import DetectorSpec, detector_zoo
from tracker.weights import resolve_weights

__all__ = ["CocoDetectionsFile", "DETECTORS", "DETECTOR_CLASSES", "Detector", "DetectionsFileError",
           "DetectorSpec", "PoseTrackGroundTruthBoxes", "RTMDetONNX", "detector_zoo",
           "load_detector", "make_detections"]


def _rtmdet_nano(checkpoint, device, progress=True, **kwargs) -> RTMDetONNX:
    spec = detector_zoo()["rtmdet-nano"]
    path = resolve_weights(spec.filename, spec.url, spec.sha256, checkpoint, progress=progress)
    options = {"score_threshold": spec.score_threshold, "input_size": spec.input_size,
               "mean": spec.mean, "std": spec.std, **kwargs}
    return RTMDetONNX(path, device=device, **options)


def _detections_file(checkpoint, device, **kwargs) -> CocoDetectionsFile:
    return CocoDetectionsFile(_required_file(checkpoint, "detections", "detection-results JSON"),
                              **kwargs)


def _posetrack_gt(checkpoint, device, **kwargs) -> PoseTrackGroundTruthBoxes:
    return PoseTrackGroundTruthBoxes(
        _required_file(checkpoint, "posetrack-gt", "PoseTrack18 annotation JSON"), **kwargs)


#: Detector names -> builders ``(checkpoint, device, **kwargs) -> Detector``.
DETECTORS = {
    "rtmdet-nano": _rtmdet_nano,            # configs/detectors.yaml; checkpoint overrides
    "detections": _detections_file,         # checkpoint = COCO detection-results JSON
    "posetrack-gt": _posetrack_gt,          # checkpoint = PoseTrack18 annotation JSON
    # The seed's own detectors come with a later issue (not implemented yet):
    #   "cascade_rcnn_x101_64x4d_fpn_20e_coco": mmdet Cascade R-CNN X-101-64x4d-FPN (PoseTrack18)
    #   "yolov3": YOLOv3 human detector (CrowdPose)
}


#: Detector names -> the class each builds (the keyword options it accepts).
DETECTOR_CLASSES = {"rtmdet-nano": RTMDetONNX, "detections": CocoDetectionsFile,
                    "posetrack-gt": PoseTrackGroundTruthBoxes}


def load_detector(name: str, checkpoint: Optional[str | Path] = None,
                  device: str | torch.device = "cpu", **kwargs) -> Detector:
    """Build a person detector by name.

    Args:
        name: one of ``DETECTORS``.
        checkpoint: "rtmdet-nano": a local .onnx overriding the zoo file; "detections": the
            detection-results JSON; "posetrack-gt": the PoseTrack18 annotation JSON.
        device: "cpu", "cuda", "cuda:N" or "auto" (network detectors only).
        **kwargs: keyword arguments of the detector class (e.g. ``score_threshold``,
            ``key``, ``images``, ``padding``); they override the zoo's values.

    Raises:
        ValueError: unknown name (the message lists the valid ones) or missing checkpoint.
        WeightsUnavailableError: zoo weights neither cached nor downloadable (names the path
            to put the file at).
    """
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; valid names are: {', '.join(DETECTORS)}")
    return DETECTORS[name](checkpoint, device, **kwargs)


def _required_file(checkpoint, name: str, what: str) -> Path:
    if checkpoint is None:
        raise ValueError(f"detector {name!r} needs checkpoint= the path of its {what}")
    return Path(checkpoint)
