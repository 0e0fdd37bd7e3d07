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
   no track over a confirmed person (IoU above ``WEAK_START_IOU``) and revive only lost
   tracks of weak boxes; a pose that is not clear never takes a lost track's id.
4. Appearance: torso and legs colour histograms (``tracker.tracking.appearance``) or a ReID
   model's embedding, a running mean per track; a *lost* track's similarity is
   ``(1 - appearance_weight) * OKS + appearance_weight * appearance`` for poses within its
   reach (``appearance_reach``: where its person could have got to).
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
from tracker.tracking.appearance import (appearance_similarity, colour_descriptors,
                                         running_descriptors)
from tracker.tracking.association import match_hungarian, oks_matrix
from tracker.tracking.flow import global_motion, warp_points
from tracker.tracking.merging import DuplicateTracks, duplicated_by
from tracker.tracking.pose_tracker import PropagatedPoses
from tracker.tracking.propagation import pose_confidence
from tracker.tracking.track_state import TrackState, observed_velocities, pose_centres
from tracker.types import Frame, Poses

#: Frame rate assumed when ``update`` is given no frame (no timestamps).
ASSUMED_FPS = 30.0
#: A weak box (below ``high_score + start_margin``) overlapping a confirmed track's last box
#: by more than this IoU starts no track: it is part of a known person or a box on two.
WEAK_START_IOU = 0.3


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
                 appearance_reach: float = 2.0, weak_min_hits: int = 10) -> None:
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
                            ("start_margin", start_margin)):
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
        self._duplicate_tracks = DuplicateTracks(sigmas=self.oks_sigmas, min_oks=merge_oks,
                                                 frames=merge_frames,
                                                 min_score=keypoint_score_threshold)
        self.keypoint_score_threshold, self.min_area = keypoint_score_threshold, float(min_area)
        self.velocity_smoothing, self.max_speed = velocity_smoothing, max_speed
        self.min_start_confidence = min_start_confidence
        self.start_margin = start_margin
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
        predicted = np.stack([t.predicted for t in recent])
        motion = predicted - np.stack([t.keypoints for t in recent])
        finite = np.isfinite(motion).all(axis=2, keepdims=True)
        shift = np.where(finite, motion, 0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1)
        poses = Poses(keypoints=predicted, keypoint_scores=np.stack([t.scores for t in recent]),
                      boxes_xyxy=np.stack([t.box_xyxy for t in recent]) + np.tile(shift, 2),
                      box_scores=np.array([t.box_score for t in recent], np.float32))
        return PropagatedPoses(
            track_ids=np.array([t.track_id for t in recent], np.int64), poses=poses,
            frames_propagated=np.array([t.frames_propagated for t in recent], np.int64))

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

    def _similarity(self, poses: Poses, descriptors, now_s: float,
                    lost: np.ndarray) -> np.ndarray:
        """(T, N): OKS of predicted track poses (gate widened while unseen), blended with
        appearance for lost tracks; ``lost``: (T,) bool, the tracks unseen last frame."""
        if not self._tracks or len(poses) == 0:
            return np.zeros((len(self._tracks), len(poses)))
        unseen_s = np.where(lost, now_s - np.array([t.last_seen_s for t in self._tracks]), 0.0)
        areas = np.array([t.area for t in self._tracks]) * (1 + self.gate_growth * unseen_s)
        pose_areas = self._areas
        oks = oks_matrix(np.stack([t.predicted for t in self._tracks]), poses.keypoints, areas,
                         pose_areas, self.oks_sigmas, np.stack([t.scores for t in self._tracks]),
                         poses.keypoint_scores, self.keypoint_score_threshold)
        if lost.any():   # a pose that could not start a track never revives a lost one
            weak_track = ~np.array([t.strong for t in self._tracks], bool)
            revives = self._clear[None, :] & (self._strong[None, :] | weak_track[:, None])
            oks = np.where(lost[:, None] & ~revives, 0.0, oks)
        if descriptors is None:
            return oks
        remembered = lost & np.array([t.appearance is not None for t in self._tracks], bool)
        if not remembered.any():
            return oks
        stored = np.stack([t.appearance if t.appearance is not None else
                           np.zeros(descriptors.shape[1], np.float32) for t in self._tracks])
        looks = appearance_similarity(stored, descriptors)
        blended = (1 - self.appearance_weight) * oks + self.appearance_weight * np.nan_to_num(
            looks, nan=0.5)
        near = (oks > 0) & self._within_reach(poses, unseen_s)   # appearance never matches
        return np.where(remembered[:, None] & near, blended, oks)  # a person out of reach

    def _within_reach(self, poses: Poses, unseen_s: np.ndarray) -> np.ndarray:
        """(T, N) bool: pose n's centre is within ``appearance_reach`` x (1 + ``max_speed``
        x seconds unseen) body sizes of track t's predicted centre (0: everywhere)."""
        if self.appearance_reach == 0:
            return np.ones((len(self._tracks), len(poses)), bool)
        threshold = self.keypoint_score_threshold
        track_centres = pose_centres(np.stack([t.predicted for t in self._tracks]),
                                     np.stack([t.scores for t in self._tracks]),
                                     np.stack([t.box_xyxy for t in self._tracks]), threshold)
        centres = pose_centres(poses.keypoints, poses.keypoint_scores, poses.boxes_xyxy,
                               threshold)
        reach = self.appearance_reach * (1 + self.max_speed * unseen_s) * np.sqrt(
            [t.area for t in self._tracks])
        return np.linalg.norm(track_centres[:, None] - centres[None], axis=2) <= reach[:, None]

    def _associate(self, poses: Poses, descriptors, now_s: float):
        """(rows, columns) of the matched (track, pose) pairs, over the stages (module
        docstring, 3)."""
        lost = np.array([t.frames_unseen > 0 for t in self._tracks], bool)
        similarity = self._similarity(poses, descriptors, now_s, lost)
        confident = np.asarray(poses.box_scores) >= self.high_score
        established = np.array([t.confirmed for t in self._tracks], bool)
        rows, columns = [], []
        free_tracks = np.ones(len(self._tracks), bool)
        free_poses = np.ones(len(poses), bool)
        if self.visible_first:     # a lost track takes no pose a visible track explains
            stages = ((established & ~lost, confident), (established & lost, confident),
                      (established, ~confident), (~established, confident))
        else:
            stages = ((established, confident), (established, ~confident),
                      (~established, confident))
        for track_mask, pose_mask in stages:
            t_index = np.flatnonzero(track_mask & free_tracks)
            p_index = np.flatnonzero(pose_mask & free_poses)
            if len(t_index) == 0 or len(p_index) == 0:
                continue
            matches, _, _ = match_hungarian(similarity[np.ix_(t_index, p_index)],
                                            self.min_similarity)
            for a, b in matches:
                rows.append(t_index[a])
                columns.append(p_index[b])
                free_tracks[t_index[a]] = free_poses[p_index[b]] = False
        return np.array(rows, np.int64), np.array(columns, np.int64)

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
            if moving[i]:
                track.velocity_xy = steps[i] if track.velocity_xy is None else (
                    (1 - self.velocity_smoothing) * track.velocity_xy
                    + self.velocity_smoothing * steps[i])
            track.keypoints = track.predicted = np.asarray(poses.keypoints[column], np.float32)
            track.scores = np.asarray(poses.keypoint_scores[column], np.float32)
            track.area = float(self._areas[column])
            track.box_xyxy, track.box_score = boxes[i], float(poses.box_scores[column])
            track.hits = track.hits + 1 if track.frames_unseen == 0 else 1
            track.frames_unseen, track.last_seen_s = 0, now_s
            if remembered is not None and remembered[1][i]:
                track.appearance, track.appearance_count = remembered[0][i], \
                    track.appearance_count + 1
            track.strong = track.strong or bool(self._strong[column])
            if not track.confirmed and track.hits >= (
                    self.min_hits if track.strong else self.weak_min_hits):
                self._confirm(track)

    def _remember_appearance(self, track: TrackState, descriptor: np.ndarray) -> None:
        """A new track's first descriptor (an all-zero one is unknown)."""
        if np.any(descriptor):
            track.appearance_count = 1
            track.appearance = np.asarray(descriptor, np.float32).copy()

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
            near = (iou_matrix(poses.boxes_xyxy, known) > WEAK_START_IOU).any(axis=1)
            starts &= self._strong | ~near    # a weak box on a known person is part of them
        for column in np.flatnonzero(starts).tolist():
            box = np.asarray(poses.boxes_xyxy[column], np.float64)
            track = TrackState(uid=self._next_uid, keypoints=np.asarray(poses.keypoints[column]),
                           predicted=np.asarray(poses.keypoints[column]),
                           scores=np.asarray(poses.keypoint_scores[column]),
                           area=float(self._areas[column]),
                           box_xyxy=box, box_score=float(poses.box_scores[column]),
                           last_seen_s=now_s, strong=bool(self._strong[column]))
            self._next_uid += 1
            if descriptors is not None:
                self._remember_appearance(track, descriptors[column])
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
