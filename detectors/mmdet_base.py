"""The call path shared by the mmdet detectors: frames -> batches -> network -> persons.

A detector is called with one ``Frame`` or one (H, W, 3) uint8 BGR array and returns person
``Detections`` (frame pixels, score-descending); ``detect_batch`` takes several and runs
frames whose padded network input has the same size as one batch (same results as one by
one, up to float rounding).
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from detectors.mmdet_checkpoint import load_mmdet_weights, read_mmdet_state_dict
from detectors.mmdet_common import (ImageMeta, as_image, check_scale, normalize_and_pad,
                                    resize_keep_ratio)
from tracker.checks import channel_values, fraction, positive_int
from tracker.pose.backends import resolve_device
from tracker.types import Detections, Frame

#: The largest backbone stride of both networks: inputs are padded to a multiple of it.
NETWORK_STRIDE = 32


class MMDetDetector:
    """Base of ``CascadeRCNN`` and ``YOLOv3``: weights, device, preprocessing, batching.

    Args:
        checkpoint: the mmdet .pth file.
        build_network: makes the ``nn.Module`` (called on the meta device; the weights are
            then assigned from the checkpoint).
        architecture: ``mmdet_checkpoint.ARCHITECTURE_KEYS`` name, for error messages.
        test_scale: (long edge, short edge) of the keep-ratio resize.
        mean, std: RGB normalisation of the 0..255 pixels.
        pad_divisor: the network input is padded to a multiple of this.
        score_threshold, nms_iou, max_per_img: the final per-class NMS of both models: class
            probabilities at or below ``score_threshold`` are dropped, IoU above ``nms_iou``
            suppresses, ``max_per_img`` detections (all classes together) are kept.
        batch_size: most frames per network call in ``detect_batch``.
        channels_last: NHWC memory format (often faster on CPU with oneDNN).
        allow_tf32: on CUDA, let convolutions and matmuls use TF32 (faster on Ampere and
            newer; boxes then differ from mmdet's fp32 ones by more than float noise). Off:
            TF32 is switched off around each network call and restored afterwards.
        device: "cpu", "cuda", "cuda:N", "auto" or a ``torch.device``.

    Attributes:
        inference_context: context manager the network runs in (``torch.inference_mode``;
            the benchmark swaps in ``torch.no_grad`` for its plain eager baseline).
    """

    inference_context = torch.inference_mode

    def __init__(self, checkpoint: str | Path, *, build_network: Callable[[], nn.Module],
                 architecture: str, test_scale, mean: Sequence[float], std: Sequence[float],
                 pad_divisor: int, score_threshold: float, nms_iou: float, max_per_img: int,
                 batch_size: int, channels_last: bool, allow_tf32: bool,
                 device: str | torch.device):
        self.test_scale = check_scale(test_scale)
        self.mean = torch.tensor(channel_values("mean", mean, "R, G, B"), dtype=torch.float32)
        self.std = torch.tensor(channel_values("std", std, "R, G, B"), dtype=torch.float32)
        self.pad_divisor = positive_int("pad_divisor", pad_divisor)
        if self.pad_divisor % NETWORK_STRIDE:
            raise ValueError(f"pad_divisor must be a multiple of {NETWORK_STRIDE} (the networks' "
                             f"largest stride), got {pad_divisor!r}")
        self.score_threshold = fraction("score_threshold", score_threshold)
        self.nms_iou = fraction("nms_iou", nms_iou)
        self.max_per_img = positive_int("max_per_img", max_per_img)
        self.batch_size = positive_int("batch_size", batch_size)
        self.channels_last = bool(channels_last)
        self.allow_tf32 = bool(allow_tf32)
        self.device = resolve_device(device)
        self.path = Path(checkpoint)
        state_dict = read_mmdet_state_dict(self.path)
        with torch.device("meta"):
            network = build_network()
        load_mmdet_weights(network, state_dict, self.path, architecture)
        network = network.eval().to(self.device)
        if self.channels_last:
            network = network.to(memory_format=torch.channels_last)
        self.network = network

    def __call__(self, frame: Frame | np.ndarray) -> Detections:
        """Persons in one frame ((H, W, 3) uint8 BGR, or a ``Frame``) -> ``Detections``."""
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames: Sequence[Frame | np.ndarray]) -> list[Detections]:
        """``Detections`` of each frame, in order; equal-size inputs share network calls."""
        prepared = [resize_keep_ratio(as_image(frame), self.test_scale) for frame in frames]
        groups: dict[tuple[int, int], list[int]] = {}
        for index, (image, _) in enumerate(prepared):
            groups.setdefault(self._padded_hw(image.shape[:2]), []).append(index)
        results: list[Detections | None] = [None] * len(prepared)
        for indices in groups.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start:start + self.batch_size]
                batch = self._batch([prepared[i][0] for i in chunk])
                with self._no_tf32(), self.inference_context():
                    found = self._detect(batch, [prepared[i][1] for i in chunk], None)
                for i, detections in zip(chunk, found):
                    results[i] = detections
        return results

    def inspect(self, frame: Frame | np.ndarray) -> tuple[Detections, dict]:
        """Detections of one frame and the intermediate tensors (``'input'``, ``'backbone'``,
        ``'neck'``, and the model's own; see the subclass), for debugging and parity tests."""
        image, meta = resize_keep_ratio(as_image(frame), self.test_scale)
        record: dict = {"meta": meta}
        batch = self._batch([image])
        record["input"] = batch
        with self._no_tf32(), self.inference_context():
            detections = self._detect(batch, [meta], record)[0]
        return detections, record

    @contextlib.contextmanager
    def _no_tf32(self) -> Iterator[None]:
        """On CUDA without ``allow_tf32``: TF32 off for the call (torch's conv default is on)."""
        if self.device.type != "cuda" or self.allow_tf32:
            yield
            return
        saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
        try:
            yield
        finally:
            torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved

    def _padded_hw(self, hw: tuple[int, int]) -> tuple[int, int]:
        return tuple(-(-side // self.pad_divisor) * self.pad_divisor for side in hw)

    def _batch(self, images: list[np.ndarray]) -> torch.Tensor:
        batch = normalize_and_pad(images, self.mean, self.std, self.pad_divisor, self.device)
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch

    def _detect(self, batch: torch.Tensor, metas: list[ImageMeta],
                record: dict | None) -> list[Detections]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({str(self.path)!r}, test_scale={self.test_scale}, "
                f"device='{self.device}')")
