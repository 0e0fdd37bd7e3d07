"""Drawing tracked poses on frames (``tracker.io.video_writer`` writes them to a video file).

    canvas = draw_poses(frame.image, result.poses, result.track_ids, keypoint_set.names)
    canvas = draw_text_overlay(canvas, [f"{fps:.1f} FPS"])

Every drawing function works on a copy and returns it; the input image is never modified
(``draw_labels``, the label step of ``draw_poses``, draws in place on such a copy).
``draw_poses`` is the one drawing function of every renderer; its labels never overlap
(``layout_labels``) and scale with the image (``label_font_scales``). Skeletons are
keypoint-name pairs (``SKELETON_LINKS``), so any keypoint set of ``configs/keypoint_sets.yaml``
gets the links whose two names it has.
"""
from __future__ import annotations

import colorsys

import cv2
import numpy as np

from tracker.types import Poses

__all__ = ["SKELETON_LINKS", "track_color", "skeleton_links", "draw_poses", "draw_labels",
           "layout_labels", "label_font_scales", "label_size", "draw_text_overlay"]

#: Links between keypoints by name, for every keypoint set of the zoo; a set uses the ones
#: whose two names it has (``skeleton_links``).
SKELETON_LINKS: tuple[tuple[str, str], ...] = (
    # limbs and torso (all sets)
    ("left_ankle", "left_knee"), ("left_knee", "left_hip"),
    ("right_ankle", "right_knee"), ("right_knee", "right_hip"),
    ("left_hip", "right_hip"), ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    # coco face
    ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "right_eye"),
    ("left_eye", "left_ear"), ("right_eye", "right_ear"),
    ("left_ear", "left_shoulder"), ("right_ear", "right_shoulder"),
    # posetrack18 head
    ("nose", "head_bottom"), ("nose", "head_top"),
    ("head_bottom", "left_shoulder"), ("head_bottom", "right_shoulder"),
    # mpii / mhp spine
    ("pelvis", "left_hip"), ("pelvis", "right_hip"), ("pelvis", "thorax"),
    ("thorax", "upper_neck"), ("upper_neck", "head_top"),
    ("thorax", "left_shoulder"), ("thorax", "right_shoulder"),
    # aic, crowdpose, jhmdb, mpii_trb neck and head
    ("neck", "head_top"), ("neck", "top_head"), ("neck", "head"),
    ("neck", "left_shoulder"), ("neck", "right_shoulder"),
    ("neck", "belly"), ("belly", "left_hip"), ("belly", "right_hip"),
)

_GOLDEN_RATIO_CONJUGATE = 0.618033988749895  # hue step between consecutive ids
_SATURATIONS = (0.95, 0.7)  # alternated with the id, to separate ids of close hue
_VALUES = (1.0, 0.8, 0.9)   # all bright enough to read on video
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def track_color(track_id: int) -> tuple[int, int, int]:
    """BGR colour of a track: a pure function of the id (same colour in every run and
    whatever the order ids appear in). Hues step by the golden ratio, so consecutive ids
    are far apart; saturation and value cycle too, so ids of close hue still differ."""
    track_id = int(track_id)
    hue = (track_id * _GOLDEN_RATIO_CONJUGATE) % 1.0
    saturation = _SATURATIONS[track_id % len(_SATURATIONS)]
    value = _VALUES[track_id % len(_VALUES)]
    r, g, b = colorsys.hsv_to_rgb(hue, saturation, value)
    return int(round(b * 255)), int(round(g * 255)), int(round(r * 255))


def skeleton_links(keypoint_names, links=SKELETON_LINKS) -> list[tuple[int, int]]:
    """Index pairs ``(a, b)`` into ``keypoint_names`` of the ``links`` whose two names exist."""
    index = {name: i for i, name in enumerate(keypoint_names)}
    return [(index[a], index[b]) for a, b in links if a in index and b in index]


def default_thickness(image_shape) -> int:
    """Line thickness in pixels for an (H, W, ...) image: 1 up to ~600 px, +1 per 400 px."""
    return max(1, int(round(min(image_shape[:2]) / 400)))


def _as_bgr(image: np.ndarray) -> np.ndarray:
    """A BGR uint8 copy of a (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) uint8 image."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError(f"image must be a uint8 array, got {getattr(image, 'dtype', type(image))}")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image.copy()
    raise ValueError(f"image must be (H, W), (H, W, 3) or (H, W, 4), got {image.shape}")


def _pixel(point, limit: int) -> tuple[int, int]:
    """An (x, y) float point as int pixels, clamped to +-limit so OpenCV never overflows."""
    return (int(round(min(max(float(point[0]), -limit), limit))),
            int(round(min(max(float(point[1]), -limit), limit))))


def _text_color(background) -> tuple[int, int, int]:
    """Black or white, whichever reads better on a BGR ``background``."""
    b, g, r = background
    return (0, 0, 0) if 0.114 * b + 0.587 * g + 0.299 * r > 140 else (255, 255, 255)


#: Label font scale per pixel of the image's shorter side (720p: 0.6, 1080p: 0.9), clipped
#: to [LABEL_MIN_SCALE, LABEL_MAX_SCALE]; a label with no free place is retried at
#: LABEL_SHRINK times that size, then skipped.
LABEL_SCALE_PER_PIXEL = 1 / 1200
LABEL_MIN_SCALE, LABEL_MAX_SCALE = 0.4, 1.2
LABEL_SHRINK = 0.75
_LABEL_PAD = 2   # pixels between the text and the edge of its box


def label_font_scales(image_shape) -> tuple[float, float]:
    """(normal, shrunk) OpenCV font scales of the labels on an (H, W, ...) image."""
    scale = min(max(min(image_shape[:2]) * LABEL_SCALE_PER_PIXEL, LABEL_MIN_SCALE),
                LABEL_MAX_SCALE)
    return scale, max(scale * LABEL_SHRINK, 0.3)


def _label_thickness(scale: float) -> int:
    return 1 if scale < 0.8 else 2


def label_size(text: str, scale: float) -> tuple[int, int]:
    """(width, height) in pixels of ``text``'s label box, padding included."""
    (tw, th), baseline = cv2.getTextSize(text, _FONT, scale, _label_thickness(scale))
    return tw + 2 * _LABEL_PAD, th + baseline + 2 * _LABEL_PAD


def _label_candidates(box, width: int, height: int, image_wh) -> list[tuple[int, ...]]:
    """Label rectangles (x1, y1, x2, y2) around ``box`` in order of preference (above it,
    inside its top, above its right end, below it, inside its bottom), kept in the image."""
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    spots = [(x1, y1 - height), (x1, y1), (x2 - width, y1 - height), (x1, y2),
             (x1, y2 - height)]
    limit_x, limit_y = max(image_wh[0] - width, 0), max(image_wh[1] - height, 0)
    rects = []
    for x, y in spots:
        x, y = min(max(x, 0), limit_x), min(max(y, 0), limit_y)
        rects.append((x, y, x + width, y + height))
    return rects


def _overlaps(rect, others) -> bool:
    return any(rect[0] < o[2] and o[0] < rect[2] and rect[1] < o[3] and o[1] < rect[3]
               for o in others)


def layout_labels(boxes_xyxy: np.ndarray, sizes_wh, image_wh) -> list:
    """Where each person's label goes so that no two labels overlap.

    People with larger boxes (usually closer to the camera) are placed first; each takes the
    first free spot of ``_label_candidates`` at its first size, then at the next sizes; a
    label with no free spot at any size is skipped (None).

    Args:
        boxes_xyxy: (N, 4) person boxes in image pixels; rows that are not finite get None.
        sizes_wh: (N, S, 2) label (width, height) in pixels at S sizes, largest first.
        image_wh: (width, height) of the image.
    Returns:
        N entries: ``(size index, (x1, y1, x2, y2))`` in int pixels, or None.
    """
    boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
    finite = np.isfinite(boxes).all(axis=1)
    limit = 4 * max(image_wh) + 1000
    boxes = np.clip(np.where(finite[:, None], boxes, 0.0), -limit, limit)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    placed: list = [None] * len(boxes)
    taken: list = []
    for person in np.argsort(-areas, kind="stable"):
        if not finite[person]:
            continue
        for size_index, (width, height) in enumerate(sizes_wh[person]):
            free = [rect for rect in _label_candidates(boxes[person], int(width), int(height),
                                                       image_wh) if not _overlaps(rect, taken)]
            if free:
                placed[person] = (size_index, free[0])
                taken.append(free[0])
                break
    return placed


def _draw_label(canvas: np.ndarray, text: str, rect, color, scale: float) -> None:
    """``text`` on a filled ``color`` box ``rect`` (x1, y1, x2, y2)."""
    thickness = _label_thickness(scale)
    _, baseline = cv2.getTextSize(text, _FONT, scale, thickness)
    x1, y1, x2, y2 = rect
    cv2.rectangle(canvas, (x1, y1), (x2 - 1, y2 - 1), color, -1)
    cv2.putText(canvas, text, (x1 + _LABEL_PAD, y2 - baseline - _LABEL_PAD), _FONT, scale,
                _text_color(color), thickness, cv2.LINE_AA)


def draw_labels(canvas: np.ndarray, boxes_xyxy: np.ndarray, labels, colors) -> int:
    """Draw ``labels`` (one per box) on ``canvas`` in place, never overlapping each other
    (``layout_labels``; sizes from ``label_font_scales``). Returns how many were skipped."""
    scales = label_font_scales(canvas.shape)
    sizes = np.array([[label_size(text, scale) for scale in scales] for text in labels],
                     np.int64).reshape(len(labels), len(scales), 2)
    height, width = canvas.shape[:2]
    placed = layout_labels(boxes_xyxy, sizes, (width, height))
    for text, color, spot in zip(labels, colors, placed):
        if spot is not None:
            _draw_label(canvas, text, spot[1], color, scales[spot[0]])
    finite = np.isfinite(np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)).all(axis=1)
    return int(sum(spot is None for spot in placed) - (~finite).sum())


def draw_poses(image_bgr: np.ndarray, poses: Poses, track_ids, keypoint_names, *,
               keypoint_score_threshold: float = 0.3, draw_boxes: bool = True,
               thickness: int | None = None, labels=None) -> np.ndarray:
    """Draw each person's skeleton, keypoints, box and "id N" label in its track colour.

    The one drawing function of every renderer (``posetrack-pose --render``,
    ``posetrack-run --render``, ``posetrack-webcam``). Labels are drawn last, on a box of the
    track colour, sized to the image (``label_font_scales``) and placed so that no two
    overlap (``layout_labels``): in a crowd a label moves inside or below its box, shrinks,
    or is left out when there is no free place.

    Args:
        image_bgr: (H, W, 3) uint8 (grayscale and BGRA are converted); not modified.
        poses: N people, keypoints (N, K, 2) in image pixels.
        track_ids: (N,) ints, one per person (``FrameResult.track_ids``): the colours.
        keypoint_names: K names, in the order of ``poses.keypoints`` (selects the links).
        keypoint_score_threshold: keypoints scoring below this, or not finite, are not
            drawn, nor are links touching them.
        draw_boxes: draw the person box and its label (a box that is not finite is skipped).
        thickness: line thickness in pixels; None scales it with the image size.
        labels: N label texts; None gives "id <track id>".
    Returns:
        (H, W, 3) uint8, a new image.
    """
    canvas = _as_bgr(image_bgr)
    track_ids = np.asarray(track_ids).reshape(-1)
    if len(track_ids) != len(poses):
        raise ValueError(f"track_ids must have shape ({len(poses)},), got {track_ids.shape}")
    if len(keypoint_names) != poses.num_keypoints:
        raise ValueError(f"keypoint_names has {len(keypoint_names)} names but poses have "
                         f"{poses.num_keypoints} keypoints")
    labels = [f"id {int(i)}" for i in track_ids] if labels is None else [str(t) for t in labels]
    if len(labels) != len(poses):
        raise ValueError(f"labels must have {len(poses)} texts, got {len(labels)}")
    thickness = default_thickness(canvas.shape) if thickness is None else max(1, int(thickness))
    limit = 4 * max(canvas.shape[:2]) + 1000
    colors = [track_color(int(track_id)) for track_id in track_ids]
    visible = (np.isfinite(poses.keypoints).all(axis=2)
               & (poses.keypoint_scores >= keypoint_score_threshold))
    for person, color in enumerate(colors):
        _draw_skeleton(canvas, poses.keypoints[person], visible[person],
                       skeleton_links(keypoint_names), color, thickness, limit)
        box = poses.boxes_xyxy[person]
        if draw_boxes and np.isfinite(box).all():
            cv2.rectangle(canvas, _pixel(box[:2], limit), _pixel(box[2:], limit), color,
                          thickness)
    if draw_boxes:
        draw_labels(canvas, poses.boxes_xyxy, labels, colors)
    return canvas


def _draw_skeleton(canvas: np.ndarray, points: np.ndarray, visible: np.ndarray, links,
                   color, thickness: int, limit: int) -> None:
    """One person's links and keypoints (K, 2), in place; only ``visible`` (K,) ones."""
    radius = thickness + 2
    for a, b in links:
        if visible[a] and visible[b]:
            cv2.line(canvas, _pixel(points[a], limit), _pixel(points[b], limit), color,
                     thickness, cv2.LINE_AA)
    for k in np.flatnonzero(visible):
        center = _pixel(points[k], limit)
        cv2.circle(canvas, center, radius, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.circle(canvas, center, radius - 1, color, -1, cv2.LINE_AA)


def draw_text_overlay(image: np.ndarray, lines: list[str]) -> np.ndarray:
    """``lines`` (e.g. "12.3 FPS") top-left, white on a dark box; returns a new image."""
    canvas = _as_bgr(image)
    thickness = default_thickness(canvas.shape)
    scale = 0.5 * thickness
    y = 0
    for line in lines:
        (tw, th), baseline = cv2.getTextSize(line, _FONT, scale, thickness)
        line_height = th + baseline + 6
        cv2.rectangle(canvas, (0, y), (tw + 8, y + line_height), (0, 0, 0), -1)
        cv2.putText(canvas, line, (4, y + th + 3), _FONT, scale, (255, 255, 255), thickness,
                    cv2.LINE_AA)
        y += line_height
    return canvas
