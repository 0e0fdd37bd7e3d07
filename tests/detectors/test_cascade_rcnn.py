"""Cascade R-CNN X-101-64x4d-FPN against mmdet 3.3 on the parity folder's synthetic weights:
person boxes and scores, and every intermediate tensor of the debug image."""
import numpy as np
import pytest
import torch

from detectors import CascadeRCNN
from detectors.cascade_rcnn import multiclass_nms
from detectors.cascade_rcnn_net import anchors_for_level, roi_levels
from tests.detectors.mmdet_parity import (MMDET_PARITY, assert_matches_stats,
                                          assert_same_detections, load_refs, match_rows,
                                          ref_image, ref_image_names)
from tests.shared_data import shared_path
from tracker.types import Frame

REFS = "cascade_rcnn_x101_64x4d_fpn_20e_coco"
DEBUG_IMAGE = "coco_000000196141.jpg"


@pytest.fixture(scope="module")
def refs():
    return load_refs(REFS)


@pytest.fixture(scope="module")
def debug_run(cascade_detector, refs):
    """One run on the debug image with its intermediate tensors (the costly part: ~20 s)."""
    return cascade_detector.inspect(ref_image(refs["images"][DEBUG_IMAGE]))


@pytest.fixture(scope="module")
def debug_npz(refs):
    return np.load(shared_path(*MMDET_PARITY, "refs", refs["debug"]["npz"]))


def test_zoo_settings_are_the_configs(cascade_detector, refs):
    settings = refs["test_settings"]
    assert cascade_detector.test_scale == tuple(settings["resize"]["scale"])
    assert cascade_detector.mean.tolist() == pytest.approx(settings["data_preprocessor"]["mean"])
    assert cascade_detector.std.tolist() == pytest.approx(settings["data_preprocessor"]["std"])
    rpn, rcnn = settings["test_cfg"]["rpn"], settings["test_cfg"]["rcnn"]
    assert (cascade_detector.rpn_nms_pre, cascade_detector.rpn_max_per_img,
            cascade_detector.rpn_nms_iou, cascade_detector.rpn_min_bbox_size) == (
        rpn["nms_pre"], rpn["max_per_img"], rpn["nms"]["iou_threshold"], rpn["min_bbox_size"])
    assert (cascade_detector.score_threshold, cascade_detector.nms_iou,
            cascade_detector.max_per_img) == (
        rcnn["score_thr"], rcnn["nms"]["iou_threshold"], rcnn["max_per_img"])


def test_debug_image_person_boxes(debug_run, refs):
    detections, record = debug_run
    entry = refs["images"][DEBUG_IMAGE]
    meta = record["meta"]
    assert list(meta.ori_hw) == entry["ori_shape"] and list(meta.img_hw) == entry["img_shape"]
    assert list(meta.scale_factor) == entry["scale_factor"]
    assert list(record["input"].shape[2:]) == entry["pad_shape"]
    assert_same_detections(detections, entry["person"], score_threshold=0.05)


def test_debug_image_backbone_neck_and_rpn_maps(debug_run, refs):
    _, record = debug_run
    debug = refs["debug"]
    assert_matches_stats(record["input"], debug["input"], "input", rel=1e-6)
    for name, key in (("backbone", "backbone"), ("neck", "neck")):
        assert len(record[name]) == len(debug[key])
        for level, (tensor, stats) in enumerate(zip(record[name], debug[key])):
            assert_matches_stats(tensor, stats, f"{name}[{level}]")
    for name, key in (("rpn_cls", "cls"), ("rpn_reg", "reg")):
        for level, (tensor, stats) in enumerate(zip(record[name], debug["rpn_head_raw"][key])):
            assert_matches_stats(tensor, stats, f"{name}[{level}]")


def test_debug_image_proposals_and_cascade_stages(debug_run, refs, debug_npz):
    """RPN proposals agree as a set (near-ties may swap places); after pairing them, each
    stage's RoIs, logits and deltas and the stage-averaged logits agree."""
    _, record = debug_run
    proposals = record["rpn_proposals_bboxes"].numpy()
    assert len(proposals) == refs["debug"]["rpn_num_proposals"]
    top50 = refs["debug"]["rpn_proposals_top50"]
    np.testing.assert_allclose(record["rpn_proposals_scores"][:50].numpy(), top50["scores"],
                               atol=1e-5, rtol=0)
    ours, theirs = match_rows(proposals, debug_npz["rpn_proposals_bboxes"], atol=2e-3)
    np.testing.assert_allclose(record["rpn_proposals_scores"].numpy()[ours],
                               debug_npz["rpn_proposals_scores"][theirs], atol=1e-5, rtol=0)
    tolerances = {"rois": 5e-3, "cls_score": 2e-3, "bbox_pred": 2e-4}
    for stage in range(3):
        for name, atol in tolerances.items():
            key = f"stage{stage}_{name}"
            np.testing.assert_allclose(record[key].numpy()[ours], debug_npz[key][theirs],
                                       atol=atol, rtol=0, err_msg=key)
    np.testing.assert_allclose(record["final_avg_cls_logits"].numpy()[ours],
                               debug_npz["final_avg_cls_logits"][theirs], atol=1e-3, rtol=0)
    probabilities = record["final_avg_cls_logits"].softmax(dim=-1)[:, 0].numpy()
    stats = refs["debug"]["person_prob_over_rois"]
    assert probabilities.max() == pytest.approx(stats["max"], abs=1e-4)
    assert probabilities.mean() == pytest.approx(stats["mean"], abs=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("image_name", ref_image_names(REFS, leave_out=(DEBUG_IMAGE,)))
def test_other_images_person_boxes(cascade_detector, refs, image_name):
    """Every other image of the refs (here: crowdpose_106848; ~20 s each on 2 cores)."""
    entry = refs["images"][image_name]
    image = ref_image(entry)
    assert_same_detections(cascade_detector(Frame(index=0, image=image, name=image_name)),
                           entry["person"], score_threshold=0.05)


def test_rpn_anchors_are_mmdets():
    anchors = anchors_for_level(2, 3, level=0, device=torch.device("cpu"))
    assert anchors.shape == (2 * 3 * 3, 4) and anchors.dtype == torch.float32
    # stride 4, scale 8: ratio 0.5 -> 45.25 x 22.63, ratio 1 -> 32 x 32, ratio 2 -> 22.63 x 45.25
    half_long, half_short = 22.627417, 11.313708
    np.testing.assert_allclose(anchors[:3].numpy(),
                               [[-half_long, -half_short, half_long, half_short],
                                [-16, -16, 16, 16],
                                [-half_short, -half_long, half_short, half_long]],
                               rtol=0, atol=1e-5)
    # order (y, x, ratio): the 4th anchor is ratio 0.5 at x = 4
    np.testing.assert_allclose(anchors[3].numpy(), anchors[0].numpy() + [4, 0, 4, 0])
    np.testing.assert_allclose(anchors[9].numpy(), anchors[0].numpy() + [0, 4, 0, 4])


@pytest.mark.parametrize("side,level", [(1, 0), (111, 0), (112, 1), (224, 2), (448, 3),
                                        (2000, 3)])
def test_roi_levels(side, level):
    rois = torch.tensor([[0.0, 10.0, 10.0, 10.0 + side, 10.0 + side]])
    assert roi_levels(rois, 4).tolist() == [level]


def test_multiclass_nms_keeps_classes_apart_and_caps_all_classes_together():
    boxes = torch.tensor([[0.0, 0, 10, 10], [1.0, 1, 11, 11], [50.0, 50, 60, 60]])
    # columns: person, class 1, background
    probabilities = torch.tensor([[0.9, 0.6, 0.0], [0.8, 0.04, 0.0], [0.3, 0.7, 0.0]])
    out_boxes, scores, labels = multiclass_nms(boxes, probabilities, 0.05, 0.5, max_per_img=3)
    assert scores.tolist() == pytest.approx([0.9, 0.7, 0.6])   # box 1 suppressed by box 0
    assert labels.tolist() == [0, 1, 1]
    assert out_boxes[1].tolist() == [50, 50, 60, 60]
    _, _, labels = multiclass_nms(boxes, probabilities, 0.05, 0.5, max_per_img=100)
    assert labels.tolist() == [0, 1, 1, 0]


def test_odd_images_give_boxes_inside_the_frame(mmdet_checkpoints):
    """1x1, 10000x50, 50x10000 and grayscale frames (at a small test scale and with fewer
    proposals to stay fast), and a frame with nothing above the score threshold."""
    detector = CascadeRCNN(mmdet_checkpoints("cascade"), test_scale=(128, 96),
                           rpn_max_per_img=100)
    rng = np.random.default_rng(0)
    for shape in [(1, 1, 3), (10000, 50, 3), (50, 10000, 3), (37, 53)]:
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        detections = detector(image)
        height, width = shape[:2]
        boxes = detections.boxes_xyxy
        assert boxes.shape[1] == 4 and np.isfinite(boxes).all()
        assert (boxes[:, [0, 2]] >= 0).all() and (boxes[:, [0, 2]] <= width + 1e-3).all()
        assert (boxes[:, [1, 3]] >= 0).all() and (boxes[:, [1, 3]] <= height + 1e-3).all()
    gray = rng.integers(0, 256, (37, 53), dtype=np.uint8)
    as_bgr = np.repeat(gray[:, :, None], 3, axis=2)
    np.testing.assert_array_equal(detector(gray).boxes_xyxy, detector(as_bgr).boxes_xyxy)
    detector.score_threshold = 1.0
    detections = detector(as_bgr)
    assert detections.boxes_xyxy.shape == (0, 4) and detections.scores.shape == (0,)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_mmdet_refs(mmdet_checkpoints, refs):
    """On CUDA (TF32 off for these convs and matmuls, see ``MMDetDetector``), batched."""
    detector = CascadeRCNN(mmdet_checkpoints("cascade"), device="cuda")
    entries = list(refs["images"].values())
    found = detector.detect_batch([ref_image(entry) for entry in entries])
    for detections, entry in zip(found, entries):
        assert_same_detections(detections, entry["person"], score_threshold=0.05)
