"""Box trackers of the ``trackers`` package (Roboflow) as a pose-tracking stack, for comparison.

    detector boxes --(supervision Detections)--> ByteTrack / OC-SORT / BoT-SORT --> tracked
    boxes with ids --> pose estimator on each tracked box --> FrameResult (the peer's ids)

``trackers`` (``pip install trackers``, 2.6.1 measured) is a benchmark-only dependency: the
product never imports it. The peers see boxes and scores only: BoT-SORT here is the
package's "BoT-SORT-style" tracker, which has no ReID model (IoU fused with the detection
score, optional camera-motion compensation, CMC, from the image). In the simulation the
frames are blank, so BoT-SORT runs without CMC there (``enable_cmc=False``); on real video it
runs with its default CMC ("sparseOptFlow") on the frame.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tracker.boxes import xyxy_to_xywh
from tracker.types import Detections, Frame, FrameResult, Poses

#: Peer name -> class name in ``trackers``; the ones that use the image (CMC) are marked.
PEER_CLASSES = {"ByteTrack": "ByteTrackTracker", "OC-SORT": "OCSORTTracker",
                "BoT-SORT": "BoTSORTTracker"}
USES_IMAGE = {"BoT-SORT"}

#: Thresholds tuned to the simulated detector (people scored U(0.5, 1), false positives
#: U(0.3, 0.7)): every box of a person is "high" and may start a track. The package defaults
#: (activation 0.7, high 0.6) leave ~40 % of the simulated people's boxes unable to start a
#: track and ~20 % in the low stage, which OC-SORT drops altogether. OC-SORT also gets
#: ByteTrack's and BoT-SORT's 2 consecutive frames (its default 3 hides a track again for 3
#: frames after every miss; 1 scores higher but writes an id for one-frame false positives).
#: Longer ``lost_track_buffer`` (60) and other IoU thresholds changed nothing measurable.
TUNED = {
    "ByteTrack": dict(track_activation_threshold=0.5, high_conf_det_threshold=0.5),
    "OC-SORT": dict(high_conf_det_threshold=0.5, minimum_consecutive_frames=2),
    "BoT-SORT": dict(track_activation_threshold=0.5, high_conf_det_threshold=0.5),
}


@dataclass(frozen=True)
class PeerVariant:
    """One peer configuration: ``peer`` a key of ``PEER_CLASSES``, ``options`` its
    constructor arguments (besides ``frame_rate``)."""

    peer: str
    options: dict = field(default_factory=dict)

    def build(self, frame_rate: float, *, use_image: bool):
        """A new tracker of this variant; ``use_image`` False turns BoT-SORT's CMC off."""
        import trackers

        if self.peer not in PEER_CLASSES:
            raise ValueError(f"unknown peer {self.peer!r}; expected one of "
                             f"{sorted(PEER_CLASSES)}")
        options = dict(self.options)
        if self.peer in USES_IMAGE and not use_image:
            options["enable_cmc"] = False
        return getattr(trackers, PEER_CLASSES[self.peer])(frame_rate=frame_rate, **options)


def peer_variants() -> dict[str, PeerVariant]:
    """Each peer at the package defaults and with ``TUNED`` thresholds, by display name."""
    variants = {}
    for peer in PEER_CLASSES:
        variants[f"{peer} (defaults)"] = PeerVariant(peer)
        tuned = ", ".join(f"{k}={v}" for k, v in TUNED[peer].items())
        variants[f"{peer} (tuned: {_short(tuned)})"] = PeerVariant(peer, TUNED[peer])
    return variants


def _short(text: str) -> str:
    return (text.replace("track_activation_threshold", "act")
            .replace("high_conf_det_threshold", "high")
            .replace("minimum_consecutive_frames", "min"))


def to_supervision(detections: Detections):
    """``Detections`` -> ``supervision.Detections`` (xyxy + confidence)."""
    import supervision as sv

    return sv.Detections(xyxy=np.asarray(detections.boxes_xyxy, np.float32).reshape(-1, 4),
                         confidence=np.asarray(detections.scores, np.float32))


class BoxTrackerStack:
    """Detector -> box tracker -> pose on each tracked box, one ``Frame`` at a time.

    Args:
        detector: ``Frame -> Detections``.
        estimator: ``predict(image, boxes_xywh, box_scores) -> Poses``.
        box_tracker: a ``trackers`` tracker (``update(sv.Detections, frame=...)``, ``reset``).
        pass_image: give the tracker the frame's image (BoT-SORT's CMC).

    Boxes the tracker returns with id -1 (tentative tracks, unmatched low boxes) are not
    posed and not written, as ``Pipeline`` drops id -1.
    """

    def __init__(self, *, detector, estimator, box_tracker, pass_image: bool = False) -> None:
        self.detector, self.estimator, self.box_tracker = detector, estimator, box_tracker
        self.pass_image = pass_image
        self.num_keypoints = int(estimator.num_keypoints)

    def reset(self) -> None:
        self.box_tracker.reset()

    def __call__(self, frame: Frame) -> FrameResult:
        detections = self.detector(frame)
        if self.pass_image:
            tracked = self.box_tracker.update(to_supervision(detections), frame=frame.image)
        else:
            tracked = self.box_tracker.update(to_supervision(detections))
        ids = np.asarray(tracked.tracker_id if tracked.tracker_id is not None else [], np.int64)
        keep = ids >= 0
        boxes_xyxy = np.asarray(tracked.xyxy, np.float32).reshape(-1, 4)[keep]
        scores = (np.asarray(tracked.confidence, np.float32)[keep]
                  if tracked.confidence is not None else np.ones(int(keep.sum()), np.float32))
        if len(boxes_xyxy):
            poses = self.estimator.predict(frame.image, xyxy_to_xywh(boxes_xyxy), scores)
        else:
            poses = Poses.empty(self.num_keypoints)
        return FrameResult(index=frame.index, name=frame.name, timestamp_s=frame.timestamp_s,
                           poses=poses, track_ids=ids[keep])
