"""Top-down pose estimation: frame + person boxes -> keypoints, as mmpose 0.x does it.

    boxes_xywh (N, 4) --box_to_center_scale--> centers, sizes (N, 2)
      --crop_persons--> crops (N, h, w, 3) uint8 --normalise--> (N, 3, h, w) float32
      --network (+ mirrored crops, fused: flip test)--> heatmaps (N, K, h/s, w/s)
      --decode + heatmap_to_image--> Poses: keypoints (N, K, 2), keypoint_scores (N, K)

The fast path (``fast_path=True``) uploads the frame once, samples every crop on the network's
device in one call (``tracker.pose.device_crop``) and runs the crops and their mirrors in one
network call; it is within a couple of grey levels of the exact cv2 crops, not bit-exact.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch

from tracker.boxes import BOX_PADDING, box_to_center_scale, valid_box_mask, xywh_to_xyxy
from tracker.checks import channel_values
from tracker.images import as_bgr_image
from tracker.pose.crop import crop_persons
from tracker.pose.device_crop import FrameUploader, crop_on_device, inverse_affines
from tracker.pose.heatmap import decode, fuse_flip, heatmap_to_image
from tracker.pose.zoo import KeypointSet
from tracker.types import Poses

#: Crops per network call; bounds memory for crowded frames.
DEFAULT_MAX_BATCH = 32


@dataclass
class HeatmapBatch:
    """Network output for the people of one frame.

    Attributes:
        heatmaps: (N, K, h, w) float32 (flip-fused when the flip test ran).
        centers: (N, 2) float32 crop centers, frame pixels.
        sizes: (N, 2) float32 crop (width, height), frame pixels.
    """

    heatmaps: np.ndarray
    centers: np.ndarray
    sizes: np.ndarray


def as_boxes_xywh(boxes_xywh) -> np.ndarray:
    """(N, 4) float64 boxes; an empty list gives (0, 4)."""
    boxes = np.asarray(boxes_xywh, dtype=np.float64)
    if boxes.size == 0:
        return np.zeros((0, 4), np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes_xywh must have shape (N, 4), got {boxes.shape}")
    return boxes


def usable_box_mask(boxes_xywh: np.ndarray, centers: np.ndarray,
                    sizes: np.ndarray) -> np.ndarray:
    """(N,) bool: boxes that give a finite, non-degenerate crop.

    A box must be valid (``tracker.boxes.valid_box_mask``) and its float32 crop geometry
    (``box_to_center_scale``) finite with positive sides: a box of 1e308 pixels overflows
    float32 and a box of 1e-300 pixels rounds to a zero-size crop.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        corners = np.concatenate([centers - sizes, centers + sizes], axis=1)
        geometry = np.isfinite(corners).all(axis=1) & (sizes > 0).all(axis=1)
    return valid_box_mask(boxes_xywh) & geometry


def crop_geometry(boxes_xywh: np.ndarray, aspect_ratio: float,
                  padding: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centers, sizes, usable) of ``box_to_center_scale`` for any boxes, NaN or huge ones
    included (no floating-point warnings); ``usable`` is ``usable_box_mask``."""
    with np.errstate(over="ignore", invalid="ignore"):
        centers, sizes = box_to_center_scale(boxes_xywh, aspect_ratio, padding)
    return centers, sizes, usable_box_mask(boxes_xywh, centers, sizes)


def zero_nonfinite(keypoints: np.ndarray, keypoint_scores: np.ndarray) -> None:
    """In place: a keypoint whose coordinates or score are not finite gets NaN coordinates
    and score 0, so no consumer sees a confident keypoint it cannot use."""
    bad = ~np.isfinite(keypoints).all(axis=-1) | ~np.isfinite(keypoint_scores)
    keypoints[bad] = np.nan
    keypoint_scores[bad] = 0.0


class TopDownPoseEstimator:
    """Estimates the keypoints of every person box of a frame, batched.

    Args:
        network: callable (N, 3, h, w) float32 tensor -> (N, K, h', w') heatmaps, e.g.
            ``TorchHeatmapNet`` or ``OnnxHeatmapNet``.
        keypoint_set: names and flip pairs of the K outputs.
        input_size_wh: network input (width, height); boxes get this aspect ratio.
        mean, std: per-channel normalisation of ``pixels / 255`` in the network's channel order.
        channel_order: "rgb" or "bgr" input of the network.
        device: where crops are normalised (the network's device).
        flip_test: default of ``predict``'s ``flip_test``; True in all seed configs.
        box_padding: enlargement of the aspect-corrected box (1.25 in all seed configs).
        max_batch_size: crops per network call (mirrored crops included on the fast path).
        fast_path: crops sampled on ``device`` from one upload of the frame, and crops and
            mirrors in one network call; no host round trip per crop. Not bit-exact with mmpose
            (cv2's fixed-point interpolation), so the exact cv2 path is the default.
    """

    def __init__(self, *, network: Callable[[torch.Tensor], torch.Tensor],
                 keypoint_set: KeypointSet, input_size_wh: tuple[int, int],
                 mean: tuple[float, float, float], std: tuple[float, float, float],
                 channel_order: str = "rgb", device: torch.device = torch.device("cpu"),
                 flip_test: bool = True, box_padding: float = BOX_PADDING,
                 max_batch_size: int = DEFAULT_MAX_BATCH, fast_path: bool = False) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        self.network = network
        self.keypoint_set = keypoint_set
        self.input_size_wh = tuple(input_size_wh)
        self.channel_order = channel_order
        self.device = torch.device(device)
        self.flip_test = flip_test
        self.box_padding = box_padding
        self.max_batch_size = max_batch_size
        self.fast_path = fast_path
        self._upload = FrameUploader(self.device, rgb=channel_order == "rgb")
        channels = ", ".join(channel_order.upper())
        self._mean = torch.tensor(channel_values("mean", mean, channels), dtype=torch.float32,
                                  device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(channel_values("std", std, channels), dtype=torch.float32,
                                 device=self.device).view(1, 3, 1, 1)

    @property
    def _aspect(self) -> float:
        return self.input_size_wh[0] / self.input_size_wh[1]

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoint_set)

    def heatmaps_of_crops(self, crops_bgr: np.ndarray,
                          flip_test: Optional[bool] = None) -> np.ndarray:
        """Network heatmaps of crops already cut at the network input size, in one call.

        Args:
            crops_bgr: (N, h, w, 3) uint8 BGR crops, (w, h) = ``input_size_wh``
                (``tracker.pose.crop.crop_persons``); N >= 1.
            flip_test: also run the mirrored crops and fuse (default: constructor's).

        Returns:
            (N, K, h', w') float32 heatmaps on the CPU (flip-fused when the flip test ran).
        """
        flip_test = self.flip_test if flip_test is None else flip_test
        pixels = torch.from_numpy(np.ascontiguousarray(crops_bgr)).to(self.device)
        if self.channel_order == "rgb":
            pixels = pixels.flip(3)
        # (N, 3, h, w) in channels-last strides; the same values as mmpose's ToTensor +
        # NormalizeTensor, computed in place (half the time of a copy per step)
        batch = pixels.to(torch.float32, copy=True).div_(255).permute(0, 3, 1, 2)
        batch = batch.sub_(self._mean).div_(self._std)
        heatmaps = self.network(batch)
        if flip_test:
            flipped = self.network(batch.flip(3))
            heatmaps = fuse_flip(heatmaps, flipped, list(self.keypoint_set.flip_pairs))
        return heatmaps.cpu().numpy()

    def heatmaps(self, image_bgr: np.ndarray, boxes_xywh,
                 flip_test: Optional[bool] = None) -> HeatmapBatch:
        """Network heatmaps of the crops of ``boxes_xywh`` (see ``predict``).

        Unlike ``predict``, every box must be usable (``usable_box_mask``).
        """
        image = as_bgr_image(image_bgr)
        boxes = as_boxes_xywh(boxes_xywh)
        centers, sizes, usable = crop_geometry(boxes, self._aspect, self.box_padding)
        invalid = np.flatnonzero(~usable)
        if len(invalid):
            raise ValueError(f"boxes_xywh row {invalid[0]} is not a valid box (finite, sides >= 0,"
                             " not both zero, and a crop that fits in float32): "
                             f"{boxes[invalid[0]].tolist()}")
        flip_test = self.flip_test if flip_test is None else flip_test
        heatmaps = self._heatmaps_of_frames([(image, centers, sizes)], flip_test)
        return HeatmapBatch(heatmaps=heatmaps, centers=centers, sizes=sizes)

    def _heatmaps_of_frames(self, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                            flip_test: bool) -> np.ndarray:
        """(sum N_i, K, h', w') float32 heatmaps of the crops of several frames, given as
        (image, (N_i, 2) centers, (N_i, 2) sizes), in order; the crops of all frames share
        the network calls (``max_batch_size`` crops each). A crop does not depend on the
        others, so one frame's crops are cut at once and the calls are those of that frame
        alone when there is one."""
        parts = [part for part in parts if len(part[1])]
        if not parts:
            return np.zeros((0, self.num_keypoints, 0, 0), np.float32)
        if self.fast_path:
            batch = torch.cat([self._device_crops(image, centers, sizes)
                               for image, centers, sizes in parts])
            return self._network_on_device(batch, flip_test)
        crops = np.concatenate([crop_persons(image, centers, sizes, self.input_size_wh)
                                for image, centers, sizes in parts])
        return np.concatenate([self.heatmaps_of_crops(crops[start:start + self.max_batch_size],
                                                      flip_test)
                               for start in range(0, len(crops), self.max_batch_size)])

    def _device_crops(self, image: np.ndarray, centers: np.ndarray,
                      sizes: np.ndarray) -> torch.Tensor:
        """The fast path's crops of one frame: (N, 3, h, w) normalised float32 on the device,
        sampled from one upload of the frame by one ``grid_sample`` call."""
        frame = self._upload(image)
        crops = crop_on_device(frame, inverse_affines(centers, sizes, self.input_size_wh),
                               self.input_size_wh)
        return crops.div(255).sub(self._mean).div(self._std)

    def _network_on_device(self, batch: torch.Tensor, flip_test: bool) -> np.ndarray:
        """The fast path's network calls: crops and their mirrors in one call, (N, K, h', w')
        float32 heatmaps back to the host once."""
        step = max(1, self.max_batch_size // 2) if flip_test else self.max_batch_size
        pairs = list(self.keypoint_set.flip_pairs)
        chunks = []
        for start in range(0, len(batch), step):
            crops = batch[start:start + step]
            if flip_test:
                both = self.network(torch.cat([crops, crops.flip(3)]))
                chunks.append(fuse_flip(both[:len(crops)], both[len(crops):], pairs))
            else:
                chunks.append(self.network(crops))
        return torch.cat(chunks).float().cpu().numpy()

    def predict(self, image_bgr: np.ndarray, boxes_xywh, box_scores=None,
                flip_test: Optional[bool] = None) -> Poses:
        """Keypoints of every person box of a frame.

        Args:
            image_bgr: (H, W, 3) uint8 BGR frame (grayscale and BGRA are accepted).
            boxes_xywh: (N, 4) person boxes, frame pixels; N may be 0.
            box_scores: (N,) detector scores carried into the result (default 1).
            flip_test: average with the mirrored crop's prediction (default: constructor's).

        Returns:
            Poses with keypoints (N, K, 2) float32 in frame pixels (not clipped to the frame)
            and keypoint_scores (N, K) float32 heatmap maxima. A box that is not finite, has a
            negative side or zero area, or whose crop overflows float32 (``usable_box_mask``)
            gets NaN keypoints and zero scores; so does any keypoint that comes out with a
            non-finite coordinate or score. Every NaN keypoint has score 0.
        """
        return self.predict_frames([image_bgr], [boxes_xywh], [box_scores], flip_test)[0]

    def predict_frames(self, images_bgr: list[np.ndarray], boxes_xywh: list,
                       box_scores: Optional[list] = None,
                       flip_test: Optional[bool] = None) -> list[Poses]:
        """``predict`` of several frames at once: the crops of all of them share the network
        calls (``max_batch_size`` crops each), so a few people per frame still fill a batch.

        Args:
            images_bgr: F frames, each as ``predict``'s ``image_bgr``.
            boxes_xywh: F arrays of (N_i, 4) person boxes, frame pixels.
            box_scores: F arrays of (N_i,) scores or None (default 1), or None for all.
            flip_test: as ``predict``'s.

        Returns:
            F ``Poses``, each what ``predict`` gives for that frame (the same up to float
            rounding: a crop's heatmaps may round differently in another batch; with a
            batch of one, or the frames of a single call, the same values).
        """
        if box_scores is None:
            box_scores = [None] * len(images_bgr)
        if not len(images_bgr) == len(boxes_xywh) == len(box_scores):
            raise ValueError(f"predict_frames needs one box array and one score array (or None)"
                             f" per frame, got {len(images_bgr)} frames, {len(boxes_xywh)} box "
                             f"arrays and {len(box_scores)} score arrays")
        flip_test = self.flip_test if flip_test is None else flip_test
        frames = []
        for image, boxes, scores in zip(images_bgr, boxes_xywh, box_scores):
            image, boxes = as_bgr_image(image), as_boxes_xywh(boxes)
            scores = np.ones(len(boxes), np.float32) if scores is None else np.asarray(
                scores, np.float32).reshape(-1)
            if len(scores) != len(boxes):
                raise ValueError(f"box_scores must have shape ({len(boxes)},), got "
                                 f"{scores.shape}")
            centers, sizes, valid = crop_geometry(boxes, self._aspect, self.box_padding)
            frames.append((image, boxes, scores, centers[valid], sizes[valid], valid))
        heatmaps = self._heatmaps_of_frames([(image, centers, sizes)
                                             for image, _, _, centers, sizes, _ in frames],
                                            flip_test)
        results, start = [], 0
        for image, boxes, scores, centers, sizes, valid in frames:
            stop = start + len(centers)
            results.append(self._decoded(boxes, scores, valid, heatmaps[start:stop],
                                         centers, sizes))
            start = stop
        return results

    def _decoded(self, boxes: np.ndarray, box_scores: np.ndarray, valid: np.ndarray,
                 heatmaps: np.ndarray, centers: np.ndarray, sizes: np.ndarray) -> Poses:
        """One frame's ``Poses`` from the heatmaps of its usable boxes (``valid``)."""
        n, k = len(boxes), self.num_keypoints
        keypoints = np.full((n, k, 2), np.nan, np.float32)
        keypoint_scores = np.zeros((n, k), np.float32)
        if valid.any():
            coords, keypoint_scores[valid] = decode(heatmaps)
            h, w = heatmaps.shape[2:]
            with np.errstate(over="ignore", invalid="ignore"):
                keypoints[valid] = heatmap_to_image(coords, centers, sizes, (w, h))
        zero_nonfinite(keypoints, keypoint_scores)
        with np.errstate(over="ignore"):     # a box beyond float32 keeps an infinite corner
            return Poses(keypoints=keypoints, keypoint_scores=keypoint_scores,
                         boxes_xyxy=xywh_to_xyxy(boxes), box_scores=box_scores)
