"""RTMDet-nano ONNX: letterbox maths, post-processing, and real persons on COCO images."""
import json
import warnings

import cv2
import numpy as np
import pytest
import torch

from detectors.rtmdet import PAD_VALUE, RTMDetONNX, boxes_to_frame, letterbox
from tests.shared_data import shared_path
from tracker.boxes import iou_matrix, xywh_to_xyxy
from tracker.checkpoint import CheckpointError
from tracker.types import Detections, Frame

RTMDET = ("models", "rtmdet-nano-person", "end2end.onnx")
COCO_MINI = ("data", "coco-mini-val2017")


@pytest.fixture(scope="module")
def detector():
    return RTMDetONNX(shared_path(*RTMDET))


def _frame(image, index=0):
    return Frame(index=index, image=image, name=f"{index:06d}")


@pytest.mark.parametrize("hw,new_hw", [
    ((480, 640), (240, 320)),   # landscape: width fills the canvas
    ((640, 480), (320, 240)),   # portrait
    ((320, 320), (320, 320)),   # no resize
    ((1, 1), (320, 320)),       # upscaled
    ((50, 10000), (2, 320)),    # 50 * 0.032 = 1.6 -> 2
    ((1, 100000), (1, 320)),    # rounds to 0 -> at least one row
])
def test_letterbox_keeps_aspect_and_pads_top_left(hw, new_hw):
    image = np.full(hw + (3,), 7, np.uint8)
    canvas, (rx, ry) = letterbox(image, 320)
    assert canvas.shape == (320, 320, 3) and canvas.dtype == np.uint8
    new_h, new_w = new_hw
    assert (canvas[:new_h, :new_w] == 7).all()
    assert (canvas[new_h:] == PAD_VALUE).all() and (canvas[:, new_w:] == PAD_VALUE).all()
    assert rx == pytest.approx(new_w / hw[1]) and ry == pytest.approx(new_h / hw[0])


def test_boxes_to_frame_rescales_clips_and_flags_degenerate():
    canvas_boxes = np.array([[10, 20, 30, 40],      # inside
                             [-5, -5, 400, 400],    # clipped to the whole frame
                             [330, 10, 340, 20],    # entirely right of the frame: empty
                             [10, 10, 10, 50],      # zero width
                             [np.nan, 0, 5, 5]])    # not finite
    boxes, valid = boxes_to_frame(canvas_boxes, (0.5, 0.25), frame_hw=(1000, 600))
    np.testing.assert_allclose(boxes[0], [20, 80, 60, 160])
    np.testing.assert_allclose(boxes[1], [0, 0, 600, 1000])
    assert valid.tolist() == [True, True, False, False, False]
    assert boxes.dtype == np.float32


class _FakeSession:
    """Stands in for onnxruntime: returns fixed ``dets``/``labels`` in canvas pixels."""

    def __init__(self, dets, labels):
        self.outputs = [np.asarray(dets, np.float32)[None], np.asarray(labels, np.int64)[None]]
        self.inputs = []

    def run(self, names, feeds):
        self.inputs.append(feeds)
        return self.outputs


def test_post_processing_keeps_persons_above_threshold_sorted(detector, monkeypatch):
    fake = _FakeSession(dets=[[0, 0, 32, 32, 0.4],      # person
                              [0, 0, 64, 64, 0.9],      # person, best
                              [0, 0, 16, 16, 0.95],     # label 1: not a person
                              [0, 0, 8, 8, 0.1],        # below 0.3
                              [5, 5, 5, 9, 0.8],        # degenerate
                              [0, 0, 0, 0, 0.0]],       # padding row of the export
                        labels=[0, 0, 1, 0, 0, 0])
    monkeypatch.setattr(detector, "session", fake)
    result = detector(_frame(np.zeros((640, 320, 3), np.uint8)))   # ratio 0.5
    np.testing.assert_allclose(result.boxes_xyxy, [[0, 0, 128, 128], [0, 0, 64, 64]])
    np.testing.assert_allclose(result.scores, [0.9, 0.4])
    blob = fake.inputs[0]["input"]
    assert blob.shape == (1, 3, 320, 320) and blob.dtype == np.float32
    # the pad area normalises to (114 - mean) / std per BGR channel
    np.testing.assert_allclose(blob[0, :, 0, -1], (114 - np.array([103.53, 116.28, 123.675]))
                               / np.array([57.375, 57.12, 58.395]), rtol=1e-6)


@pytest.mark.slow
def test_finds_the_people_of_coco_mini_val(detector):
    root = shared_path(*COCO_MINI)
    coco = json.loads((root / "annotations" / "instances_val2017.json").read_text())
    persons = {}
    for ann in coco["annotations"]:
        if ann["category_id"] == 1 and not ann["iscrowd"] and ann["area"] > 32 ** 2:
            persons.setdefault(ann["image_id"], []).append(ann["bbox"])
    found = total = 0
    for image_info in coco["images"]:
        image = cv2.imread(str(root / "val2017" / image_info["file_name"]))
        result = detector(_frame(image))
        height, width = image.shape[:2]
        boxes = result.boxes_xyxy
        assert (boxes[:, [0, 2]] >= 0).all() and (boxes[:, [0, 2]] <= width).all()
        assert (boxes[:, [1, 3]] >= 0).all() and (boxes[:, [1, 3]] <= height).all()
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
        assert (np.diff(result.scores) <= 0).all() and (result.scores >= 0.3).all()
        gt = np.array(persons.get(image_info["id"], []), np.float64).reshape(-1, 4)
        found += _matched_one_to_one(xywh_to_xyxy(gt), boxes, min_iou=0.5)
        total += len(gt)
    recall = found / total
    print(f"RTMDet-nano recall of COCO persons (area > 32^2, IoU 0.5, score >= 0.3) on "
          f"coco-mini-val2017: {recall:.3f} ({found}/{total})")
    assert total == 69 and recall >= 0.7


def _matched_one_to_one(gt_xyxy, det_xyxy, min_iou):
    """GT boxes matched greedily (highest IoU first) to distinct detections."""
    iou = iou_matrix(gt_xyxy, det_xyxy)
    matched = 0
    while iou.size and iou.max() >= min_iou:
        g, d = np.unravel_index(iou.argmax(), iou.shape)
        iou[g, :] = iou[:, d] = 0
        matched += 1
    return matched


def test_upscaled_frame_gives_scaled_boxes(detector):
    image = cv2.imread(str(shared_path(*COCO_MINI, "val2017", "000000000139.jpg")))
    small = detector(_frame(image))
    big = detector(_frame(cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)))
    assert len(small) >= 1 and len(big) >= 1
    np.testing.assert_allclose(big.boxes_xyxy[0], 2 * small.boxes_xyxy[0], atol=6)


@pytest.mark.parametrize("hw", [(1, 1), (10000, 50), (50, 10000), (0, 10), (3, 7)])
def test_odd_frame_sizes_give_valid_detections(detector, hw):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=hw + (3,), dtype=np.uint8)
    result = detector(_frame(image))
    assert isinstance(result, Detections) and result.boxes_xyxy.shape == (len(result), 4)
    height, width = hw
    assert (result.boxes_xyxy[:, [0, 2]] <= width).all()
    assert (result.boxes_xyxy[:, [1, 3]] <= height).all()
    assert (result.boxes_xyxy >= 0).all()


def test_text_file_checkpoint_is_a_clear_error(tmp_path):
    fake = tmp_path / "model.onnx"
    fake.write_text("this is not an onnx model\n")
    with pytest.raises(CheckpointError, match=r"model\.onnx is not a readable ONNX model"):
        RTMDetONNX(fake)


def test_other_onnx_model_is_rejected_by_its_tensor_names():
    other = shared_path("models", "pp-tinypose-256x192", "pp_tinypose_256x192.onnx")
    with pytest.raises(CheckpointError, match=r"not an RTMDet end2end export.*'dets'"):
        RTMDetONNX(other)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.onnx does not exist"):
        RTMDetONNX(tmp_path / "nothing.onnx")


@pytest.mark.parametrize("kwargs,match", [
    ({"input_size": 300}, "multiple of 32"),
    ({"input_size": 0}, "multiple of 32"),
    ({"input_size": True}, "multiple of 32"),
    ({"score_threshold": float("nan")}, "score_threshold must be finite"),
    ({"score_threshold": "high"}, "score_threshold must be a number"),
    ({"mean": (1, 2)}, "mean must be 3 finite numbers"),
    ({"std": (1, 0, 1)}, "std must not contain zeros"),
    ({"device": "tpu"}, "device must be"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RTMDetONNX(shared_path(*RTMDET), **kwargs)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_device_gives_the_cpu_detections(detector):
    image = cv2.imread(str(shared_path(*COCO_MINI, "val2017", "000000000139.jpg")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no CUDA provider: CPU fallback
        on_cuda = RTMDetONNX(shared_path(*RTMDET), device="cuda")
    cpu, gpu = detector(_frame(image)), on_cuda(_frame(image))
    assert len(cpu) == len(gpu)
    np.testing.assert_allclose(gpu.boxes_xyxy, cpu.boxes_xyxy, atol=1.0)


@pytest.mark.parametrize("device", [torch.device("cpu"), "cpu", "auto"])
def test_device_forms(device):
    detector = RTMDetONNX(shared_path(*RTMDET), device=device)
    expected = "cuda" if torch.cuda.is_available() and device == "auto" else "cpu"
    assert detector.device.type == expected and "RTMDetONNX(" in repr(detector)
