"""RobustPoseTracker: track ids that survive occlusions and crowds (beyond the paper's tracker).

Same protocol as ``PoseTracker`` (``warp``, ``propagated_poses``, ``update``, ``reset``), so
the ``Pipeline`` runs either. Per frame, ``update`` runs the numbered steps below; each
addition over the paper is one constructor argument (see the class for its trade-off):

1. Lifecycle: a track is *tentative* until matched in ``min_hits`` consecutive frames
   (``weak_min_hits`` for a track of weak boxes only; at the start of a video at once). Its
   poses get id -1 and are reported by ``tentative()``, and ``tracker.tracking.backfill``
   writes them with the id once it is confirmed: a new person is written from their first
   frame, ``confirmation_delay`` frames late. An unmatched confirmed track is *lost* for
   ``max_lost_s`` seconds of video time, then retired.
2. Motion while unseen: a lost track moves by its velocity (median joint motion, px per
   second, at most ``max_speed`` body sizes per second) plus the camera's motion; a visible
   one by the optical flow (as in the paper), or its velocity without flow. The OKS gate
   widens with time unseen (``gate_growth``).
3. Two-stage association (ByteTrack's insight, on poses): poses with a box score of at least
   ``high_score`` go first to confirmed tracks (``visible_first``: those seen last frame
   before the lost ones), the others to the tracks left free only, then confident poses to
   tentative tracks; the rest start tentative tracks if their pose is clear
   (``min_start_confidence``). Boxes below ``high_score + start_margin`` are weak: they start
   no track over a confirmed person (IoU above ``weak_start_iou``) and revive only lost
   tracks of weak boxes; a pose that is not clear never takes a lost track's id.
4. Appearance (``tracker.tracking.track_similarity``): colour histograms or a ReID
   embedding, a running mean per track, blended into a *lost* track's OKS
   (``appearance_weight``) for poses within its reach (``appearance_reach``).
5. One track per person (``tracker.tracking.merging``): two confirmed tracks with pose OKS
   above ``merge_oks`` for ``merge_frames`` frames are merged, the older id kept.
6. Camera motion: the median flow (``global_motion``) moves lost tracks too, so a panning
   camera does not read as everyone moving.

Public ids are 0, 1, 2, ... in order of confirmation (tentative tracks that die take none).
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from tracker.boxes import box_areas, iou_matrix
from tracker.tracking.appearance import colour_descriptors, running_descriptors
from tracker.tracking.association import match_in_stages
from tracker.tracking.flow import global_motion, warp_points
from tracker.tracking.merging import DuplicateTracks, duplicated_by
from tracker.tracking.pose_tracker import PropagatedPoses
from tracker.tracking.propagation import pose_confidence
from tracker.tracking.track_similarity import TrackSimilarity
from tracker.tracking.track_state import TrackState, observed_velocities
from tracker.types import Frame, Poses

#: Frame rate assumed when ``update`` is given no frame (no timestamps).
ASSUMED_FPS = 30.0


class RobustPoseTracker:
    """Pose tracking with lifecycle, motion, two-stage association, appearance and merging.

    Args:
        oks_sigmas: (K,) OKS constants of the keypoint set.
        min_similarity: pairs below this never match (OKS, or the appearance blend).
        min_hits: consecutive matched frames that confirm a track (1: at once). Higher
            suppresses ids of short false detections; with ``tracker.tracking.backfill``
            each new person is still written from their first frame, only later.
        max_lost_s: seconds a lost track waits for its person (longer: ids survive longer
            occlusions, but a new person entering where one left may take the old id).
        gate_growth: pose-area growth per second unseen for the OKS gate of lost tracks.
        high_score: box score splitting confident from uncertain poses (two-stage step).
            0.3 suits RTMDet-nano (its detections start at 0.3, propagated boxes score
            lower); a detector whose scores sit near 1 (Cascade R-CNN) wants 0.5-0.6.
        appearance_weight: weight of the appearance similarity for lost tracks (0: OKS only).
        appearance_model: None for colour histograms, or a callable ``(image_bgr,
            boxes_xyxy) -> (N, D)`` (e.g. ``ReidModel(path)``).
        merge_oks, merge_frames: duplicate-track merging (``merge_frames`` 0 turns it off).
        keypoint_score_threshold, min_area: as in ``PoseTracker``.
        velocity_smoothing: weight of the newest displacement in the velocity estimate.
        max_speed: largest velocity, in body sizes (sqrt of the box area) per second: a
            wrong match cannot throw a lost track across the frame.
        min_start_confidence: ``pose_confidence`` (mean of the keypoint scores above
            ``keypoint_score_threshold``) a pose needs to start a track or to take a *lost*
            track's id; poses on boxes where nobody is (false positives, ghosts) score low
            and would otherwise become tracks, or carry a hidden person's id away so that
            they come back as a new one. (A visible track may continue on a weaker pose:
            partial occlusion.)
        visible_first: match the confident poses to the tracks seen in the previous frame
            before the lost ones (a recency cascade): a lost track, helped by the colour cue,
            cannot take a pose a visible track explains. False: one joint matching; on the
            occlusion simulator it gives fewer switches on the clean sequences (369 vs 385)
            and with a dropout, but many more with an occluder sweeping across (521 vs 415).
        start_margin: boxes scored below ``high_score + start_margin`` are weak (a box on
            two people, a backboard, a poster, but also people far away in a crowd): they
            continue visible tracks, revive only lost tracks of weak boxes, start no track
            over a known person, and confirm a track in ``weak_min_hits`` frames only.
            Higher: fewer false ids, but more people are written later or not at all.
        weak_min_hits: consecutive frames that confirm a track of weak boxes only (at least
            ``min_hits``). The results are held that long (``confirmation_delay``).
        weak_start_iou: a weak box overlapping a confirmed track's last box by more than
            this IoU starts no track: it is part of a known person or a box on two. Lower
            drops more distant walkers in a crowd (0.1: 15.4 people per frame on the street
            crowd instead of 16.4); 1 turns the rule off.
        appearance_reach: the appearance cue counts for a lost track only where a pose's
            centre is within ``appearance_reach * (1 + max_speed * seconds unseen)`` body
            sizes of the track's predicted centre (0: anywhere the OKS is above 0). Smaller
            misses people who come back far from their prediction (a camera pan); larger
            lets a new person entering elsewhere take a lost id.
    """

    def __init__(self, *, oks_sigmas, min_similarity: float = 0.1, min_hits: int = 3,
                 max_lost_s: float = 2.0, gate_growth: float = 1.0, high_score: float = 0.3,
                 appearance_weight: float = 0.3, appearance_model: Optional[Callable] = None,
                 merge_oks: float = 0.8, merge_frames: int = 3,
                 keypoint_score_threshold: float = 0.2, min_area: float = 32.0 ** 2,
                 velocity_smoothing: float = 0.5, max_speed: float = 4.0,
                 min_start_confidence: float = 0.3,
                 visible_first: bool = True, start_margin: float = 0.15,
                 appearance_reach: float = 2.0, weak_min_hits: int = 10,
                 weak_start_iou: float = 0.3) -> None:
        for name, value in (("min_hits", min_hits), ("weak_min_hits", weak_min_hits)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        for name, value in (("max_lost_s", max_lost_s), ("gate_growth", gate_growth),
                            ("max_speed", max_speed),
                            ("min_area", min_area), ("merge_frames", merge_frames),
                            ("appearance_reach", appearance_reach)):
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        for name, value in (("min_similarity", min_similarity), ("high_score", high_score),
                            ("appearance_weight", appearance_weight), ("merge_oks", merge_oks),
                            ("velocity_smoothing", velocity_smoothing),
                            ("min_start_confidence", min_start_confidence),
                            ("start_margin", start_margin), ("weak_start_iou", weak_start_iou)):
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        self.oks_sigmas = np.asarray(oks_sigmas, np.float64)
        self.min_similarity, self.min_hits = min_similarity, min_hits
        self.weak_min_hits = max(weak_min_hits, min_hits)
        self.max_lost_s, self.gate_growth, self.high_score = max_lost_s, gate_growth, high_score
        self.appearance_weight, self.appearance_model = appearance_weight, appearance_model
        self.appearance_reach = appearance_reach
        self.visible_first = bool(visible_first)
        self.merge_oks, self.merge_frames = merge_oks, merge_frames
        self._similarity = TrackSimilarity(
            sigmas=self.oks_sigmas, keypoint_score_threshold=keypoint_score_threshold,
            gate_growth=gate_growth, appearance_weight=appearance_weight,
            appearance_reach=appearance_reach, max_speed=max_speed)
        self._duplicate_tracks = DuplicateTracks(sigmas=self.oks_sigmas, min_oks=merge_oks,
                                                 frames=merge_frames,
                                                 min_score=keypoint_score_threshold)
        self.keypoint_score_threshold, self.min_area = keypoint_score_threshold, float(min_area)
        self.velocity_smoothing, self.max_speed = velocity_smoothing, max_speed
        self.min_start_confidence = min_start_confidence
        self.start_margin, self.weak_start_iou = start_margin, weak_start_iou
        self.reset()

    def reset(self) -> None:
        self._tracks: list[TrackState] = []
        self._next_uid = self._next_id = 0
        self._frames_seen = 0
        self._camera_shift = np.zeros(2, np.float32)
        self._warped = False
        self._last_time_s: Optional[float] = None
        self._areas = np.zeros(0)      # pose areas of the frame being updated
        self._clear = np.zeros(0, bool)   # its poses clear enough to start or revive a track
        self._strong = np.zeros(0, bool)  # its poses with a box score of high + margin
        self._duplicate_tracks.reset()
        self._tentative_keys = np.zeros(0, np.int64)
        self._confirmed_now: dict[int, int] = {}

    @property
    def num_tracks(self) -> int:
        """Tracks alive: tentative, confirmed and lost."""
        return len(self._tracks)

    @property
    def confirmation_delay(self) -> int:
        """Frames a new person's poses may wait before their track is confirmed
        (``weak_min_hits - 1``): ``tracker.tracking.backfill.Backfill`` holds results that
        long to write them."""
        return self.weak_min_hits - 1

    def tentative(self) -> tuple[np.ndarray, dict]:
        """Of the last ``update``: (N,) int64, the key of the tentative track that took each
        pose (-1: none), and the tracks confirmed in it, key -> id."""
        return self._tentative_keys, dict(self._confirmed_now)

    @property
    def needs_flow(self) -> bool:
        """False: with optical flow (``warp``) visible tracks are moved by it (flow-OKS),
        without it they are compared where they were last seen (plain OKS)."""
        return False

    def warp(self, flow) -> None:
        """Move the poses of visible tracks by the flow; remember the camera's motion."""
        self._camera_shift = global_motion(flow)
        self._warped = True
        visible = [t for t in self._tracks if t.frames_unseen == 0]
        if visible:   # one call for all: (T, K, 2)
            moved = warp_points(np.stack([t.predicted for t in visible]), flow)
            for track, pose in zip(visible, moved):
                track.predicted = pose

    def propagated_poses(self) -> PropagatedPoses:
        """Latest pose of the tracks seen in the previous frame, moved by the last ``warp``."""
        recent = [t for t in self._tracks if t.frames_unseen == 0]
        if not recent:
            return PropagatedPoses.empty(len(self.oks_sigmas))
        return PropagatedPoses.moved(
            track_ids=[t.track_id for t in recent],
            keypoints_xy=np.stack([t.keypoints for t in recent]),
            moved_xy=np.stack([t.predicted for t in recent]),
            keypoint_scores=np.stack([t.scores for t in recent]),
            boxes_xyxy=np.stack([t.box_xyxy for t in recent]),
            box_scores=[t.box_score for t in recent],
            frames_propagated=[t.frames_propagated for t in recent])

    def update(self, poses: Poses, propagated: Optional[np.ndarray] = None,
               frame: Optional[Frame] = None, timestamp_s: Optional[float] = None) -> np.ndarray:
        """Track ids (N,) int64 for the poses of the current frame; -1 for poses not written
        (tentative tracks, low-confidence poses of no track, merged duplicates).

        Args:
            poses: the N poses of the frame.
            propagated: (N,) bool, pose i came from a box propagated by flow (see
                ``PoseTracker.update``); None leaves the counts as they are.
            frame: the frame (its time for ``max_lost_s``, its image for appearance); None:
                no appearance, and the time is ``timestamp_s`` or, without it, frames are
                ``1 / ASSUMED_FPS`` apart.
            timestamp_s: the frame's time in seconds when no ``frame`` is given (poses read
                from a file, no video).
        """
        if frame is not None:
            now_s = frame.timestamp_s
        else:
            now_s = timestamp_s if timestamp_s is not None else self._frames_seen / ASSUMED_FPS
        self._predict(now_s)                                     # 2, 6. motion
        self._areas = np.maximum(box_areas(poses.boxes_xyxy), self.min_area)   # (N,) px^2
        self._clear = pose_confidence(poses.keypoint_scores,
                                      self.keypoint_score_threshold) >= self.min_start_confidence
        self._strong = np.asarray(poses.box_scores) >= self.high_score + self.start_margin
        descriptors = self._descriptors(poses, frame)            # 4. appearance
        rows, columns = self._associate(poses, descriptors, now_s)   # 3. two stages
        self._confirmed_now = {}
        self._observe(rows, columns, poses, descriptors, now_s)
        matched = set(rows.tolist())
        old = len(self._tracks)
        new = self._start_tracks(poses, descriptors, now_s, set(columns.tolist()))
        holders = [(column, self._tracks[row]) for row, column in zip(rows, columns)] + new
        track_ids = np.full(len(poses), -1, np.int64)
        self._tentative_keys = np.full(len(poses), -1, np.int64)
        for column, track in holders:
            track_ids[column] = track.track_id
            if not track.confirmed:
                self._tentative_keys[column] = track.uid
        self._age(matched, old, now_s)                           # 1. lifecycle
        if propagated is not None:
            self._count_propagated(track_ids, np.asarray(propagated, bool))
        self._merge_duplicates(track_ids)                        # 5. one track per person
        self._frames_seen += 1
        return track_ids

    # -- steps ---------------------------------------------------------------------------------

    def _predict(self, now_s: float) -> None:
        """Move lost tracks by their velocity and the camera's motion, and visible ones by
        their velocity when no flow moved them (``warp`` not called for this frame)."""
        dt = 0.0 if self._last_time_s is None else max(0.0, now_s - self._last_time_s)
        for track in self._tracks:
            velocity = track.velocity_xy if track.velocity_xy is not None else 0.0
            if track.frames_unseen > 0:
                track.predicted = track.predicted + velocity * dt + self._camera_shift
            elif not self._warped:
                track.predicted = track.predicted + velocity * dt
        self._camera_shift = np.zeros(2, np.float32)
        self._warped = False
        self._last_time_s = now_s

    def _descriptors(self, poses: Poses, frame: Optional[Frame]) -> Optional[np.ndarray]:
        if frame is None or self.appearance_weight == 0 or len(poses) == 0:
            return None
        if self.appearance_model is not None:
            return self.appearance_model(frame.image, poses.boxes_xyxy)
        if poses.keypoints.shape[1] != 17:
            return None
        return colour_descriptors(frame.image, poses.keypoints, poses.keypoint_scores)

    def _associate(self, poses: Poses, descriptors, now_s: float):
        """(rows, columns) of the matched (track, pose) pairs, over the stages (module
        docstring, 3)."""
        lost = np.array([t.frames_unseen > 0 for t in self._tracks], bool)
        weak_track = ~np.array([t.strong for t in self._tracks], bool)   # a pose that could
        revives = self._clear[None, :] & (   # not start a track never revives a lost one
            self._strong[None, :] | weak_track[:, None])
        similarity = self._similarity(self._tracks, poses, pose_areas=self._areas, lost=lost,
                                      revives=revives, descriptors=descriptors, now_s=now_s)
        confident = np.asarray(poses.box_scores) >= self.high_score
        established = np.array([t.confirmed for t in self._tracks], bool)
        if self.visible_first:     # a lost track takes no pose a visible track explains
            stages = ((established & ~lost, confident), (established & lost, confident),
                      (established, ~confident), (~established, confident))
        else:
            stages = ((established, confident), (established, ~confident),
                      (~established, confident))
        return match_in_stages(similarity, stages, self.min_similarity)

    def _observe(self, rows: np.ndarray, columns: np.ndarray, poses: Poses, descriptors,
                 now_s: float) -> None:
        """Tracks ``rows`` take the poses ``columns``: velocity (median joint motion, else the
        box centre's, per second, clamped, smoothed), pose, box, counts and appearance."""
        if len(rows) == 0:
            return
        tracks = [self._tracks[row] for row in rows]
        boxes = np.asarray(poses.boxes_xyxy, np.float64)[columns]
        steps, moving = observed_velocities(tracks, poses.keypoints[columns],
                                            poses.keypoint_scores[columns], boxes, now_s,
                                            self.keypoint_score_threshold, self.max_speed)
        remembered = None if descriptors is None else running_descriptors(
            [t.appearance for t in tracks], np.array([t.appearance_count for t in tracks]),
            np.asarray(descriptors, np.float32)[columns])
        for i, (track, column) in enumerate(zip(tracks, columns.tolist())):
            track.observe(poses.keypoints[column], poses.keypoint_scores[column],
                          area=float(self._areas[column]), box_xyxy=boxes[i],
                          box_score=float(poses.box_scores[column]), now_s=now_s,
                          strong=bool(self._strong[column]),
                          velocity_xy=steps[i] if moving[i] else None,
                          velocity_smoothing=self.velocity_smoothing)
            if remembered is not None and remembered[1][i]:
                track.appearance, track.appearance_count = remembered[0][i], \
                    track.appearance_count + 1
            if not track.confirmed and track.hits >= (
                    self.min_hits if track.strong else self.weak_min_hits):
                self._confirm(track)

    def _confirm(self, track: TrackState) -> None:
        track.track_id = self._next_id
        self._next_id += 1
        self._confirmed_now[track.uid] = track.track_id

    def _start_tracks(self, poses: Poses, descriptors, now_s: float, used: set) -> list:
        """Tentative tracks for the confident poses matched to no track and not duplicating
        (OKS above ``merge_oks``) a pose that was."""
        new = []
        duplicates = duplicated_by(poses.keypoints, poses.keypoint_scores, self._areas,
                                   sorted(used), self.oks_sigmas, self.merge_oks,
                                   self.keypoint_score_threshold) if self.merge_frames else \
            np.zeros(len(poses), bool)
        confident = np.asarray(poses.box_scores) >= self.high_score
        starts = confident & self._clear & ~duplicates
        starts[list(used)] = False
        if (starts & ~self._strong).any() and any(t.confirmed for t in self._tracks):
            known = np.stack([t.box_xyxy for t in self._tracks if t.confirmed])
            near = (iou_matrix(poses.boxes_xyxy, known) > self.weak_start_iou).any(axis=1)
            starts &= self._strong | ~near    # a weak box on a known person is part of them
        for column in np.flatnonzero(starts).tolist():
            track = TrackState.started(
                self._next_uid, poses.keypoints[column], poses.keypoint_scores[column],
                area=float(self._areas[column]), box_xyxy=poses.boxes_xyxy[column],
                box_score=float(poses.box_scores[column]), now_s=now_s,
                strong=bool(self._strong[column]),
                descriptor=None if descriptors is None else descriptors[column])
            self._next_uid += 1
            if self.min_hits <= 1 or self._frames_seen < self.min_hits:
                self._confirm(track)     # at the start of a video there is no history to wait for
            self._tracks.append(track)
            new.append((column, track))
        return new

    def _age(self, matched: set, old: int, now_s: float) -> None:
        """Unmatched tentative tracks die; unmatched confirmed ones are lost, then retired
        (rows from ``old`` on were started this frame)."""
        kept = []
        for row, track in enumerate(self._tracks):
            if row < old and row not in matched:
                if not track.confirmed:
                    continue
                track.frames_unseen += 1
                track.hits = 0
                if now_s - track.last_seen_s > self.max_lost_s:
                    continue
            kept.append(track)
        self._tracks = kept

    def _count_propagated(self, track_ids: np.ndarray, propagated: np.ndarray) -> None:
        if propagated.shape != track_ids.shape:
            raise ValueError(f"propagated must have shape {track_ids.shape} (one flag per "
                             f"pose), got {propagated.shape}")
        from_propagation = {i: p for i, p in zip(track_ids.tolist(), propagated.tolist())
                            if i >= 0}
        for track in self._tracks:
            if track.frames_unseen == 0:
                flag = from_propagation.get(track.track_id, False)
                track.frames_propagated = track.frames_propagated + 1 if flag else 0

    def _merge_duplicates(self, track_ids: np.ndarray) -> None:
        """Retire the younger of two visible confirmed tracks that keep the same pose."""
        if self.merge_frames == 0:
            return
        visible = [t for t in self._tracks if t.confirmed and t.frames_unseen == 0]
        for younger in self._duplicate_tracks.younger_duplicates(visible):
            track_ids[track_ids == younger.track_id] = -1
            self._tracks = [t for t in self._tracks if t is not younger]
