"""RTMDet-nano person detector (ONNX, NMS inside the graph) run with onnxruntime.

The model is the ``end2end.onnx`` of the RTMPose deploy SDK (mmdeploy export of RTMDet-nano
trained on persons). Its recipe, as exported:

1. resize the BGR frame keeping its aspect ratio so that it fits ``S x S`` (S = 320),
   bilinear, each side rounded to the nearest pixel (at least 1);
2. paste it at the top-left corner of an ``S x S`` canvas filled with 114;
3. subtract the BGR mean, divide by the BGR std, (1, 3, S, S) float32 NCHW;
4. outputs ``dets`` (1, N, 5) = x1, y1, x2, y2, score in canvas pixels after NMS, and
   ``labels`` (1, N) int64 with 0 = person.

Boxes are divided by the per-axis resize ratio, clipped to the frame; other labels, scores
below the threshold and boxes with no area after clipping are dropped.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from detectors.base import check_score_threshold, make_detections
from tracker.checkpoint import CheckpointError
from tracker.checks import channel_values
from tracker.pose.backends import onnx_session_options, resolve_device
from tracker.types import Detections, Frame

#: Normalisation of the exported model, BGR order (mmdet's ImageNet values swapped to BGR).
RTMDET_MEAN_BGR = (103.53, 116.28, 123.675)
RTMDET_STD_BGR = (57.375, 57.12, 58.395)
#: Value of the canvas outside the resized frame (mmdet ``Pad(pad_val=114)``).
PAD_VALUE = 114
#: Class index of "person" in the ``labels`` output.
PERSON_LABEL = 0
#: The largest stride of the network: the canvas side must be a multiple of it.
NETWORK_STRIDE = 32
INPUT_NAME, BOXES_OUTPUT, LABELS_OUTPUT = "input", "dets", "labels"


def letterbox(image: np.ndarray, input_size: int) -> tuple[np.ndarray, tuple[float, float]]:
    """Resize keeping the aspect ratio to fit ``input_size``, paste top-left on a 114 canvas.

    Args:
        image: (H, W, 3) uint8, H and W >= 1.
        input_size: side S of the square canvas.

    Returns:
        canvas: (S, S, 3) uint8.
        ratio_xy: (new_W / W, new_H / H), the per-axis factors from frame to canvas pixels.
    """
    height, width = image.shape[:2]
    ratio = min(input_size / height, input_size / width)
    new_w = min(input_size, max(1, int(width * ratio + 0.5)))
    new_h = min(input_size, max(1, int(height * ratio + 0.5)))
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((input_size, input_size, 3), PAD_VALUE, dtype=np.uint8)
    canvas[:new_h, :new_w] = resized.reshape(new_h, new_w, 3)
    return canvas, (new_w / width, new_h / height)


def boxes_to_frame(boxes_xyxy: np.ndarray, ratio_xy: tuple[float, float],
                   frame_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Canvas boxes -> frame boxes clipped to the frame, and which of them are usable.

    Args:
        boxes_xyxy: (N, 4) canvas pixels.
        ratio_xy: the ``letterbox`` ratios.
        frame_hw: (H, W) of the frame.

    Returns:
        boxes: (N, 4) float32 frame pixels, inside [0, W] x [0, H].
        valid: (N,) bool, finite boxes with positive width and height after clipping.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    scale = np.array([ratio_xy[0], ratio_xy[1], ratio_xy[0], ratio_xy[1]])
    boxes = boxes / scale
    height, width = frame_hw
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
    with np.errstate(invalid="ignore"):
        valid = (np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > boxes[:, 0])
                 & (boxes[:, 3] > boxes[:, 1]))
    return boxes.astype(np.float32), valid


class RTMDetONNX:
    """RTMDet person detector exported to ONNX with NMS (mmdeploy ``end2end.onnx``).

    Args:
        checkpoint: the .onnx file.
        score_threshold: lowest box score kept.
        input_size: side of the square network input (a multiple of 32; the model was
            trained at 320).
        mean, std: BGR normalisation of the canvas pixels (0..255).
        device: "cpu", "cuda", "cuda:N", "auto" or a ``torch.device``; CUDA uses
            onnxruntime's CUDA provider when installed, else the CPU one (with a warning).
        onnx_threads: onnxruntime intra-op threads (0: one per core).

    Call it with a ``Frame``; it returns ``Detections`` of persons, frame pixels, scores
    descending.
    """

    def __init__(self, checkpoint: str | Path, *, score_threshold: float = 0.3,
                 input_size: int = 320, mean: Sequence[float] = RTMDET_MEAN_BGR,
                 std: Sequence[float] = RTMDET_STD_BGR, device: str | torch.device = "cpu",
                 onnx_threads: int = 0):
        if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size <= 0 \
                or input_size % NETWORK_STRIDE:
            raise ValueError(f"input_size must be a positive multiple of {NETWORK_STRIDE}, "
                             f"got {input_size!r}")
        self.score_threshold = check_score_threshold(score_threshold)
        self.input_size = input_size
        self.mean = np.float32(channel_values("mean", mean, "B, G, R")).reshape(1, 1, 3)
        self.std = np.float32(channel_values("std", std, "B, G, R")).reshape(1, 1, 3)
        self.device = resolve_device(device)
        self.path = Path(checkpoint)
        self.session = _open_session(self.path, self.device, onnx_threads)

    def __call__(self, frame: Frame) -> Detections:
        """Persons in ``frame.image`` ((H, W, 3) uint8 BGR) -> ``Detections`` (frame pixels)."""
        image = frame.image
        if image.shape[0] == 0 or image.shape[1] == 0:
            return Detections.empty()
        canvas, ratio_xy = letterbox(image, self.input_size)
        blob = ((canvas.astype(np.float32) - self.mean) / self.std).transpose(2, 0, 1)[None]
        dets, labels = self.session.run([BOXES_OUTPUT, LABELS_OUTPUT],
                                        {INPUT_NAME: np.ascontiguousarray(blob)})
        dets = np.asarray(dets, dtype=np.float32).reshape(-1, 5)
        labels = np.asarray(labels).reshape(-1)
        boxes, valid = boxes_to_frame(dets[:, :4], ratio_xy, image.shape[:2])
        keep = valid & (labels == PERSON_LABEL) & np.isfinite(dets[:, 4])
        return make_detections(boxes[keep], dets[keep, 4], self.score_threshold)

    def __repr__(self) -> str:
        return (f"RTMDetONNX({str(self.path)!r}, score_threshold={self.score_threshold}, "
                f"input_size={self.input_size}, device='{self.device}')")


def _open_session(path: Path, device: torch.device, threads: int = 0):
    """An onnxruntime session for ``path``, checked to have RTMDet's input and outputs."""
    import onnxruntime as ort

    if not path.is_file():
        raise FileNotFoundError(f"detector checkpoint {path} does not exist")
    options = onnx_session_options(threads)
    providers = ["CPUExecutionProvider"]
    if device.type == "cuda":
        if "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index or 0}))
        else:
            warnings.warn("onnxruntime has no CUDAExecutionProvider (install onnxruntime-gpu); "
                          f"running {path.name} on the CPU", RuntimeWarning, stacklevel=3)
    try:
        session = ort.InferenceSession(str(path), options, providers=providers)
    except Exception as e:  # onnxruntime raises its own non-exported exception types
        raise CheckpointError(f"{path} is not a readable ONNX model: {e}") from e
    inputs = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]
    if INPUT_NAME not in inputs or not {BOXES_OUTPUT, LABELS_OUTPUT} <= set(outputs):
        raise CheckpointError(
            f"{path} is not an RTMDet end2end export: expected input {INPUT_NAME!r} and outputs "
            f"{BOXES_OUTPUT!r}, {LABELS_OUTPUT!r}; it has inputs {inputs} and outputs {outputs}")
    return session
