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

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch

from detectors.base import Detector, make_detections
from detectors.cascade_rcnn import CascadeRCNN
from detectors.files import DetectionsFileError
from detectors.mmdet_adapter import MMDetAPIDetector, is_mmdet_name, parse_mmdet_name
from detectors.posetrack_gt import PoseTrackGroundTruthBoxes
from detectors.precomputed import CocoDetectionsFile
from detectors.rtmdet import RTMDetONNX
from detectors.yolov3 import YOLOv3
from detectors.zoo import CascadeRCNNSpec, DetectorSpec, YOLOv3Spec, detector_zoo
from tracker.weights import WeightsSource, resolve_weights

__all__ = ["CascadeRCNN", "CascadeRCNNSpec", "CocoDetectionsFile", "DETECTORS", "Detector",
           "DetectorEntry", "DetectionsFileError", "DetectorSpec", "MMDET_API_OPTIONS",
           "PoseTrackGroundTruthBoxes", "RTMDetONNX", "YOLOv3", "YOLOv3Spec", "detector_zoo",
           "detector_weights", "is_mmdet_name", "load_detector", "make_detections"]


def _rtmdet_nano(checkpoint, device, progress, **kwargs) -> RTMDetONNX:
    spec = detector_zoo()["rtmdet-nano"]
    path = resolve_weights(spec.weights, checkpoint, progress=progress)
    options = {"score_threshold": spec.score_threshold, "input_size": spec.input_size,
               "mean": spec.mean, "std": spec.std, **kwargs}
    return RTMDetONNX(path, device=device, **options)


def _detections_file(checkpoint, device, progress, **kwargs) -> CocoDetectionsFile:
    return CocoDetectionsFile(_required_file(checkpoint, "detections", "detection-results JSON"),
                              **kwargs)


def _posetrack_gt(checkpoint, device, progress, **kwargs) -> PoseTrackGroundTruthBoxes:
    return PoseTrackGroundTruthBoxes(
        _required_file(checkpoint, "posetrack-gt", "PoseTrack18 annotation JSON"), **kwargs)


@dataclass(frozen=True)
class DetectorEntry:
    """One named detector: the class it runs, how to build it, the options it takes.

    Args:
        detector_class: the class ``build`` returns.
        build: ``(checkpoint, device, progress, **options) -> Detector``.
        options: keyword options of the class a caller (or a config's ``detector`` section)
            may set; they override the zoo's values.
        zoo_name: its entry in ``configs/detectors.yaml`` (weights), None for file detectors.
    """

    detector_class: type
    build: Callable[..., Detector]
    options: tuple[str, ...]
    zoo_name: Optional[str] = None


_MMDET_IMAGE_OPTIONS = ("test_scale", "mean", "std", "pad_divisor", "batch_size",
                        "channels_last", "allow_tf32")
_CASCADE_RCNN_OPTIONS = (*_MMDET_IMAGE_OPTIONS, "rpn_nms_pre", "rpn_max_per_img", "rpn_nms_iou",
                         "rpn_min_bbox_size", "score_threshold", "nms_iou", "max_per_img")
_YOLOV3_OPTIONS = (*_MMDET_IMAGE_OPTIONS, "conf_threshold", "score_threshold", "nms_pre",
                   "min_bbox_size", "nms_iou", "max_per_img")
#: Options of ``mmdet:CONFIG:CHECKPOINT`` detectors (``MMDetAPIDetector``).
MMDET_API_OPTIONS = ("score_threshold", "person_label")


def _mmdet_zoo_entry(zoo_name: str, detector_class, options: tuple[str, ...]) -> DetectorEntry:
    """A zoo mmdet detector: the zoo's settings, overridden by the caller's options."""
    def build(checkpoint, device, progress, **kwargs):
        spec = detector_zoo()[zoo_name]
        path = resolve_weights(spec.weights, checkpoint, progress=progress)
        return detector_class(path, device=device, **{**spec.options(), **kwargs})
    return DetectorEntry(detector_class, build, options, zoo_name=zoo_name)


_CASCADE_RCNN_X101 = _mmdet_zoo_entry("cascade_rcnn_x101_64x4d_fpn_20e_coco", CascadeRCNN,
                                      _CASCADE_RCNN_OPTIONS)
_YOLOV3_608 = _mmdet_zoo_entry("yolov3_d53_mstrain-608_273e_coco", YOLOv3, _YOLOV3_OPTIONS)
_YOLOV3_416 = _mmdet_zoo_entry("yolov3_d53_mstrain-416_273e_coco", YOLOv3, _YOLOV3_OPTIONS)
_YOLOV3_320 = _mmdet_zoo_entry("yolov3_d53_320_273e_coco", YOLOv3, _YOLOV3_OPTIONS)

#: Detector names -> ``DetectorEntry``. mmdet checkpoints go by their model-zoo name
#: (configs/detectors.yaml) and a short name (``posetrack-run --detector``), which share
#: their entry. ``load_detector`` also takes ``mmdet:CONFIG:CHECKPOINT`` (mmdet's own API).
DETECTORS = {
    # configs/detectors.yaml; checkpoint = a local .onnx overriding the zoo download
    "rtmdet-nano": DetectorEntry(RTMDetONNX, _rtmdet_nano,
                                 ("score_threshold", "input_size", "mean", "std",
                                  "onnx_threads"), zoo_name="rtmdet-nano"),
    # checkpoint = COCO detection-results JSON
    "detections": DetectorEntry(CocoDetectionsFile, _detections_file,
                                ("score_threshold", "key", "images", "sequence", "frame_names",
                                 "num_frames")),
    # checkpoint = PoseTrack18 annotation JSON
    "posetrack-gt": DetectorEntry(PoseTrackGroundTruthBoxes, _posetrack_gt, ("padding", "key")),
    # mmdet checkpoints; checkpoint = a local .pth overriding the zoo download
    "cascade_rcnn_x101_64x4d_fpn_20e_coco": _CASCADE_RCNN_X101,   # the seed's PoseTrack18 one
    "cascade-rcnn-x101": _CASCADE_RCNN_X101,
    "yolov3_d53_mstrain-608_273e_coco": _YOLOV3_608,               # the seed's CrowdPose one
    "yolov3-d53-608": _YOLOV3_608,
    "yolov3_d53_mstrain-416_273e_coco": _YOLOV3_416,
    "yolov3-d53-416": _YOLOV3_416,
    "yolov3_d53_320_273e_coco": _YOLOV3_320,
    "yolov3-d53-320": _YOLOV3_320,
}


def load_detector(name: str, checkpoint: Optional[str | Path] = None,
                  device: str | torch.device = "cpu", *, progress: bool = True,
                  **kwargs) -> Detector:
    """Build a person detector by name.

    Args:
        name: one of ``DETECTORS`` (mmdet zoo names, their short aliases, "rtmdet-nano",
            "detections", "posetrack-gt"), or ``mmdet:CONFIG:CHECKPOINT`` to run any mmdet
            model through mmdet's own API (mmdet must be installed).
        checkpoint: zoo detectors: a local file overriding the zoo's download; "detections":
            the detection-results JSON; "posetrack-gt": the PoseTrack18 annotation JSON.
        device: "cpu", "cuda", "cuda:N" or "auto" (network detectors only).
        progress: show a progress bar while zoo weights download.
        **kwargs: the entry's ``options`` (``MMDET_API_OPTIONS`` for ``mmdet:``), e.g.
            ``score_threshold``, ``test_scale``, ``key``, ``images``, ``padding``; they
            override the zoo's values.

    Raises:
        ValueError: unknown name (the message lists the valid ones) or missing checkpoint.
        WeightsUnavailableError: zoo weights neither cached nor downloadable (names the URL
            and the path to put the file at).
        CheckpointError: the file is truncated, corrupt or of another model.
        MMDetNotInstalledError (an ImportError and a ValueError): ``mmdet:`` without mmdet.
    """
    if is_mmdet_name(name):
        config, checkpoint = parse_mmdet_name(name, checkpoint)
        return MMDetAPIDetector(checkpoint, config=config, device=device, **kwargs)
    if name not in DETECTORS:
        raise _unknown_detector(name)
    return DETECTORS[name].build(checkpoint, device, progress, **kwargs)


def detector_weights(name: str) -> Optional[WeightsSource]:
    """The zoo weights a detector name needs (file in the cache folder, URL, sha256), or
    None for detectors that read a file the user passes (detections, PoseTrack18 boxes,
    ``mmdet:``).

    Raises:
        ValueError: unknown name (the message lists the valid ones).
    """
    if is_mmdet_name(name):
        return None
    if name not in DETECTORS:
        raise _unknown_detector(name)
    zoo_name = DETECTORS[name].zoo_name
    return detector_zoo()[zoo_name].weights if zoo_name is not None else None


def _unknown_detector(name: str) -> ValueError:
    return ValueError(f"unknown detector {name!r}; valid names are: {', '.join(DETECTORS)}, "
                      "or mmdet:CONFIG:CHECKPOINT")


def _required_file(checkpoint, name: str, what: str) -> Path:
    if checkpoint is None:
        raise ValueError(f"detector {name!r} needs checkpoint= the path of its {what}")
    return Path(checkpoint)
