"""YOLOv3 Darknet-53 against mmdet 3.3 on the parity folder's synthetic weights: person boxes
and scores at 608 (and 416 / 320 where the refs have them), the raw head maps of the debug
image, batching, and awkward frames."""
import numpy as np
import pytest
import torch

from detectors import YOLOv3, load_detector
from detectors.yolov3_net import anchors_for_level, decode_yolo
from tests.detectors.mmdet_parity import (MMDET_PARITY, assert_matches_stats,
                                          assert_same_detections, load_refs, ref_image,
                                          ref_image_names)
from tests.shared_data import shared_path
from tracker.types import Frame

REFS_608 = "yolov3_d53_608"
DEBUG_IMAGE = "coco_000000196141.jpg"
#: refs file -> zoo name of the config it was computed with (one checkpoint schema for all).
SCALES = {"yolov3_d53_608": "yolov3_d53_mstrain-608_273e_coco",
          "yolov3_d53_416": "yolov3_d53_mstrain-416_273e_coco",
          "yolov3_d53_320": "yolov3_d53_320_273e_coco"}


@pytest.fixture(scope="module")
def refs():
    return load_refs(REFS_608)


@pytest.fixture(scope="module")
def debug_run(yolov3_detector, refs):
    return yolov3_detector.inspect(ref_image(refs["images"][DEBUG_IMAGE]))


def test_zoo_settings_are_the_configs(yolov3_detector, refs):
    settings = refs["test_settings"]
    assert yolov3_detector.test_scale == tuple(settings["resize"]["scale"])
    assert yolov3_detector.mean.tolist() == settings["data_preprocessor"]["mean"]
    assert yolov3_detector.std.tolist() == settings["data_preprocessor"]["std"]
    cfg = settings["test_cfg"]
    assert (yolov3_detector.conf_threshold, yolov3_detector.score_threshold,
            yolov3_detector.nms_pre, yolov3_detector.min_bbox_size, yolov3_detector.nms_iou,
            yolov3_detector.max_per_img) == (
        cfg["conf_thr"], cfg["score_thr"], cfg["nms_pre"], cfg["min_bbox_size"],
        cfg["nms"]["iou_threshold"], cfg["max_per_img"])


def test_debug_image_boxes_and_maps(debug_run, refs):
    detections, record = debug_run
    entry, debug = refs["images"][DEBUG_IMAGE], refs["debug"]
    assert list(record["meta"].img_hw) == entry["img_shape"]
    assert list(record["meta"].scale_factor) == entry["scale_factor"]
    assert list(record["input"].shape[2:]) == entry["pad_shape"]
    assert_same_detections(detections, entry["person"])
    assert_matches_stats(record["input"], debug["input"], "input", rel=1e-6)
    for name, key in (("backbone", "backbone"), ("neck", "neck"), ("head", "head_raw")):
        assert len(record[name]) == len(debug[key])
        for level, (tensor, stats) in enumerate(zip(record[name], debug[key])):
            assert_matches_stats(tensor, stats, f"{name}[{level}]")


def test_debug_image_raw_head_channels(debug_run, refs):
    """Pre-sigmoid x, y, w, h, objectness, person of each anchor, and all channel means."""
    _, record = debug_run
    npz = np.load(shared_path(*MMDET_PARITY, "refs", refs["debug"]["npz"]))
    channels = [anchor * 85 + k for anchor in range(3) for k in range(6)]
    for level, head in enumerate(record["head"]):
        head = head.numpy()
        np.testing.assert_allclose(head[:, channels], npz[f"head_level{level}_attrs0to5"],
                                   atol=1e-3, rtol=0, err_msg=f"level {level}")
        np.testing.assert_allclose(head.mean(axis=(0, 2, 3)),
                                   npz[f"head_level{level}_channel_mean"], atol=1e-5, rtol=0)


def test_batch_of_frames_gives_each_frames_boxes(yolov3_detector, refs):
    """Frames of one padded size share one network call; results are the refs of each."""
    names = [name for name in refs["images"] if name != DEBUG_IMAGE][:1] + [DEBUG_IMAGE]
    images = [ref_image(refs["images"][name]) for name in names]
    frames = [Frame(index=i, image=image, name=name) for i, (image, name)
              in enumerate(zip(images, names))]
    for detections, name in zip(yolov3_detector.detect_batch(frames), names):
        assert_same_detections(detections, refs["images"][name]["person"])


@pytest.mark.parametrize("refs_name", ["yolov3_d53_416", "yolov3_d53_320"])
def test_other_scales(mmdet_checkpoints, refs_name):
    """The 416 and 320 configs (refs kept outside the folder here: skipped when absent)."""
    refs = load_refs(refs_name)
    detector = load_detector(SCALES[refs_name], checkpoint=mmdet_checkpoints("yolov3"))
    assert detector.test_scale == tuple(refs["test_settings"]["resize"]["scale"])
    for entry in refs["images"].values():
        assert_same_detections(detector(ref_image(entry)), entry["person"])


@pytest.mark.slow
@pytest.mark.parametrize("image_name", ref_image_names(REFS_608, leave_out=(DEBUG_IMAGE,)))
def test_other_images_at_608(yolov3_detector, refs, image_name):
    entry = refs["images"][image_name]
    assert_same_detections(yolov3_detector(ref_image(entry)), entry["person"])


def test_anchors_and_decoding_are_mmdets():
    anchors = anchors_for_level(1, 2, level=0, device=torch.device("cpu"))
    # stride 32, centre (16, 16), sizes (116, 90), (156, 198), (373, 326); then x = 1
    np.testing.assert_array_equal(anchors[:3].numpy(), [[-42, -29, 74, 61], [-62, -83, 94, 115],
                                                        [-170.5, -147, 202.5, 179]])
    np.testing.assert_array_equal(anchors[3].numpy(), [-10, -29, 106, 61])
    # sigmoid(x) = 0.5 and w = h = 0 keep the anchor; x = 1 moves the centre by half a
    # stride, w = log 2 doubles the width
    preds = torch.tensor([[0.5, 0.5, 0.0, 0.0], [1.0, 0.5, np.log(2.0), 0.0]])
    boxes = decode_yolo(anchors[:2], preds, torch.tensor([[32.0], [32.0]]))
    np.testing.assert_allclose(boxes.numpy(), [[-42, -29, 74, 61], [-124, -83, 188, 115]],
                               atol=1e-4)


@pytest.fixture(scope="module")
def small_detector(mmdet_checkpoints):
    """A small test scale keeps these checks fast (the network is the same)."""
    return YOLOv3(mmdet_checkpoints("yolov3"), test_scale=128)


@pytest.mark.parametrize("shape", [(1, 1, 3), (10000, 50, 3), (50, 10000, 3), (31, 47, 3)])
def test_odd_frame_sizes(small_detector, shape):
    image = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    detections = small_detector(image)
    assert np.isfinite(detections.boxes_xyxy).all() and len(detections) <= 100
    assert ((detections.scores > 0) & (detections.scores <= 1)).all()
    assert np.all(np.diff(detections.scores) <= 0)


def test_no_candidate_gives_empty_detections(mmdet_checkpoints):
    detector = YOLOv3(mmdet_checkpoints("yolov3"), test_scale=128, score_threshold=1.0)
    detections = detector(np.full((40, 60, 3), 128, np.uint8))
    assert detections.boxes_xyxy.shape == (0, 4) and detections.scores.shape == (0,)


def test_grayscale_bgra_and_frame_inputs_agree(small_detector):
    gray = np.random.default_rng(1).integers(0, 256, (61, 83), dtype=np.uint8)
    bgr = np.repeat(gray[:, :, None], 3, axis=2)
    bgra = np.concatenate([bgr, np.full_like(gray[:, :, None], 255)], axis=2)
    expected = small_detector(bgr)
    for image in (gray, gray[:, :, None], bgra, Frame(index=0, image=bgr, name="x")):
        result = small_detector(image)
        np.testing.assert_array_equal(result.boxes_xyxy, expected.boxes_xyxy)
        np.testing.assert_array_equal(result.scores, expected.scores)


@pytest.mark.parametrize("image,error", [
    (np.zeros((0, 5, 3), np.uint8), "must have shape"),
    (np.zeros((8, 8, 3), np.float32), "dtype uint8"),
    (np.zeros((8, 8, 2), np.uint8), "must have shape"),
    ([[1, 2], [3, 4]], "numpy array"),
])
def test_bad_frames_are_clear_errors(small_detector, image, error):
    with pytest.raises((ValueError, TypeError), match=error):
        small_detector(image)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("refs_name", list(SCALES))
def test_cuda_matches_mmdet_refs(mmdet_checkpoints, refs_name):
    refs = load_refs(refs_name)
    detector = load_detector(SCALES[refs_name], checkpoint=mmdet_checkpoints("yolov3"),
                             device="cuda")
    entries = list(refs["images"].values())
    for detections, entry in zip(detector.detect_batch([ref_image(e) for e in entries]), entries):
        assert_same_detections(detections, entry["person"])


def test_posetrack_run_uses_the_short_name(mmdet_checkpoints, tmp_path):
    """``posetrack-run --detector yolov3-d53-320`` with a local checkpoint, end to end."""
    from apps import run
    pose = shared_path("models", "pp-tinypose-256x192", "pp_tinypose_256x192.onnx")
    video = shared_path("data", "videos", "basketball-2p-426x240.mp4")
    out = tmp_path / "tracks.json"
    config = tmp_path / "run.yaml"
    config.write_text("detector:\n  name: yolov3-d53-320\n  test_scale: [160, 160]\n"
                      "  score_threshold: 0.1\n")
    code = run.main([str(video), "--out", str(out), "--config", str(config), "--max-frames", "2",
                     "--quiet", "--detector-checkpoint", str(mmdet_checkpoints("yolov3")),
                     "--pose-model", "pp_tinypose_256x192", "--pose-checkpoint", str(pose)])
    assert code == 0 and out.is_file()
