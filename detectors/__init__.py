"""Person detectors: each is called with a ``Frame`` and returns ``Detections``.

Every detector returns persons only: ``boxes_xyxy`` (N, 4) float32 in frame pixels and
``scores`` (N,) float32, highest score first. The mmdet ones (Cascade R-CNN, YOLOv3) also
take a raw (H, W, 3) uint8 BGR array and have ``detect_batch(frames)``.

Example:
    >>> from detectors import load_detector
    >>> detector = load_detector("rtmdet-nano", checkpoint="end2end.onnx", device="cpu")
    >>> detections = detector(frame)          # frame: tracker.types.Frame
    >>> detections.boxes_xyxy.shape           # (N, 4)
    >>> replay = load_detector("detections", checkpoint="dets.json", key="frame_index")
    >>> cascade = load_detector("cascade_rcnn_x101_64x4d_fpn_20e_coco", device="auto")
    >>> cascade(cv2.imread("photo.jpg")).scores
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from detectors.base import Detector, make_detections
from detectors.cascade_rcnn import CascadeRCNN
from detectors.files import DetectionsFileError
from detectors.posetrack_gt import PoseTrackGroundTruthBoxes
from detectors.precomputed import CocoDetectionsFile
from detectors.rtmdet import RTMDetONNX
from detectors.yolov3 import YOLOv3
from detectors.zoo import CascadeRCNNSpec, DetectorSpec, YOLOv3Spec, detector_zoo
from tracker.weights import resolve_weights

__all__ = ["CascadeRCNN", "CascadeRCNNSpec", "CocoDetectionsFile", "DETECTORS", "DETECTOR_CLASSES",
           "Detector", "DetectionsFileError", "DetectorSpec", "MMDET_ALIASES", "MMDET_ZOO",
           "PoseTrackGroundTruthBoxes", "RTMDetONNX", "YOLOv3", "YOLOv3Spec", "detector_zoo",
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


def _mmdet_zoo_builder(zoo_name: str, detector_class):
    """Builder of a zoo mmdet detector: zoo settings, overridden by the caller's kwargs."""
    def build(checkpoint, device, progress=True, **kwargs):
        spec = detector_zoo()[zoo_name]
        path = resolve_weights(spec.filename, spec.url, spec.sha256, checkpoint,
                               progress=progress)
        return detector_class(path, device=device, **{**spec.options(), **kwargs})
    return build


#: mmdet model-zoo names (configs/detectors.yaml) -> the class that runs their checkpoints.
MMDET_ZOO = {
    "cascade_rcnn_x101_64x4d_fpn_20e_coco": CascadeRCNN,   # the seed's PoseTrack18 detector
    "yolov3_d53_mstrain-608_273e_coco": YOLOv3,            # the seed's CrowdPose detector
    "yolov3_d53_mstrain-416_273e_coco": YOLOv3,
    "yolov3_d53_320_273e_coco": YOLOv3,
}
#: Short names (``posetrack-run --detector``) -> mmdet model-zoo names.
MMDET_ALIASES = {
    "cascade-rcnn-x101": "cascade_rcnn_x101_64x4d_fpn_20e_coco",
    "yolov3-d53-608": "yolov3_d53_mstrain-608_273e_coco",
    "yolov3-d53-416": "yolov3_d53_mstrain-416_273e_coco",
    "yolov3-d53-320": "yolov3_d53_320_273e_coco",
}

#: Detector names -> builders ``(checkpoint, device, **kwargs) -> Detector``. Also accepted
#: by ``load_detector``: ``mmdet:CONFIG:CHECKPOINT`` (mmdet's own API, if installed).
DETECTORS = {
    "rtmdet-nano": _rtmdet_nano,            # configs/detectors.yaml; checkpoint overrides
    "detections": _detections_file,         # checkpoint = COCO detection-results JSON
    "posetrack-gt": _posetrack_gt,          # checkpoint = PoseTrack18 annotation JSON
    # mmdet checkpoints (configs/detectors.yaml); checkpoint = a local .pth overriding the zoo
    **{name: _mmdet_zoo_builder(name, cls) for name, cls in MMDET_ZOO.items()},
    **{alias: _mmdet_zoo_builder(name, MMDET_ZOO[name]) for alias, name in MMDET_ALIASES.items()},
}


class _DetectorClasses(dict):
    """Names -> detector classes; any ``mmdet:CONFIG:CHECKPOINT`` name -> ``MMDetAPIDetector``
    (imported on first use, so that the run config can validate such a detector section)."""

    def __contains__(self, name) -> bool:
        return super().__contains__(name) or _is_mmdet_name(name)

    def __missing__(self, name):
        if _is_mmdet_name(name):
            from detectors.mmdet_adapter import MMDetAPIDetector
            return MMDetAPIDetector
        raise KeyError(name)


#: Detector names -> the class each builds (the keyword options it accepts).
DETECTOR_CLASSES = _DetectorClasses({
    "rtmdet-nano": RTMDetONNX, "detections": CocoDetectionsFile,
    "posetrack-gt": PoseTrackGroundTruthBoxes, **MMDET_ZOO,
    **{alias: MMDET_ZOO[name] for alias, name in MMDET_ALIASES.items()}})


def load_detector(name: str, checkpoint: Optional[str | Path] = None,
                  device: str | torch.device = "cpu", **kwargs) -> Detector:
    """Build a person detector by name.

    Args:
        name: one of ``DETECTORS`` (mmdet zoo names, their short aliases, "rtmdet-nano",
            "detections", "posetrack-gt"), or ``mmdet:CONFIG:CHECKPOINT`` to run any mmdet
            model through mmdet's own API (mmdet must be installed).
        checkpoint: zoo detectors: a local file overriding the zoo's download; "detections":
            the detection-results JSON; "posetrack-gt": the PoseTrack18 annotation JSON.
        device: "cpu", "cuda", "cuda:N" or "auto" (network detectors only).
        **kwargs: keyword arguments of the detector class (e.g. ``score_threshold``,
            ``test_scale``, ``key``, ``images``, ``padding``); they override the zoo's values.
            Zoo detectors also take ``progress`` (download progress bar).

    Raises:
        ValueError: unknown name (the message lists the valid ones) or missing checkpoint.
        WeightsUnavailableError: zoo weights neither cached nor downloadable (names the URL
            and the path to put the file at).
        CheckpointError: the file is truncated, corrupt or of another model.
        MMDetNotInstalledError (an ImportError and a ValueError): ``mmdet:`` without mmdet.
    """
    if _is_mmdet_name(name):
        from detectors.mmdet_adapter import MMDetAPIDetector, parse_mmdet_name
        config, checkpoint = parse_mmdet_name(name, checkpoint)
        kwargs.pop("progress", None)
        return MMDetAPIDetector(checkpoint, config=config, device=device, **kwargs)
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; valid names are: {', '.join(DETECTORS)}"
                         ", or mmdet:CONFIG:CHECKPOINT")
    return DETECTORS[name](checkpoint, device, **kwargs)


def _is_mmdet_name(name) -> bool:
    return isinstance(name, str) and name.startswith("mmdet:")


def _required_file(checkpoint, name: str, what: str) -> Path:
    if checkpoint is None:
        raise ValueError(f"detector {name!r} needs checkpoint= the path of its {what}")
    return Path(checkpoint)
