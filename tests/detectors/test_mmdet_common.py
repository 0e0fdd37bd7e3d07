"""Pieces the mmdet detectors share: image recipe, box decoding, mmcv's batched NMS, strict
checkpoint reading, the zoo entries, ``load_detector`` names and the optional mmdet adapter."""
import importlib.util
import shutil

import numpy as np
import pytest
import torch

import detectors
from detectors import CascadeRCNN, YOLOv3, detector_zoo, load_detector
from detectors.mmdet_checkpoint import infer_mmdet_architecture, read_mmdet_state_dict
from detectors.mmdet_common import (DELTA_WH_CLIP, ImageMeta, InputSizeCache, batched_nms,
                                    decode_deltas, grid_anchors, normalize_and_pad,
                                    rescaled_size, to_frame_pixels)
from detectors.zoo import CascadeRCNNSpec, YOLOv3Spec
from tracker.checkpoint import CheckpointError
from tracker.checks import construct_config
from tracker.errors import ConfigError
from tracker.weights import WeightsUnavailableError

HAS_MMDET = importlib.util.find_spec("mmdet") is not None


@pytest.mark.parametrize("hw,scale,new_hw", [
    ((429, 640), (1333, 800), (800, 1193)),     # parity refs: Cascade, COCO image
    ((425, 640), (1333, 800), (800, 1205)),
    ((429, 640), (608, 608), (408, 608)),       # parity refs: YOLOv3 608
    ((425, 640), (608, 608), (404, 608)),
    ((1, 1), (1333, 800), (800, 800)),          # the short edge decides
    ((10000, 50), (1333, 800), (1333, 7)),      # the long edge decides
    ((1, 100000), (320, 320), (1, 320)),        # rounds to 0 -> at least one pixel
])
def test_rescaled_size_is_mmcv_imrescale(hw, scale, new_hw):
    assert rescaled_size(*hw, scale) == new_hw


def test_normalize_and_pad_rgb_then_zero_pad_to_32():
    image = np.zeros((3, 5, 3), np.uint8)
    image[..., 0], image[..., 2] = 10, 250                      # B = 10, R = 250
    small = np.full((2, 40, 3), 7, np.uint8)
    batch = normalize_and_pad([image, small], torch.tensor([1.0, 2.0, 3.0]),
                              torch.tensor([2.0, 4.0, 8.0]), 32, torch.device("cpu"))
    assert batch.shape == (2, 3, 32, 64) and batch.dtype == torch.float32
    assert batch[0, :, 0, 0].tolist() == [(250 - 1) / 2, (0 - 2) / 4, (10 - 3) / 8]
    assert (batch[0, :, 3:] == 0).all() and (batch[0, :, :, 5:] == 0).all()
    assert (batch[1, :, 2:] == 0).all() and (batch[1, :, :2, :40] != 0).all()


def test_decode_deltas_moves_scales_clips():
    rois = torch.tensor([[10.0, 10, 30, 50]])                   # 20 x 40, centre (20, 30)
    assert decode_deltas(rois, torch.zeros(1, 4), (1, 1, 1, 1), None).tolist() == rois.tolist()
    moved = decode_deltas(rois, torch.tensor([[0.5, -0.25, np.log(2), 0.0]]), (1, 1, 1, 1), None)
    np.testing.assert_allclose(moved.numpy(), [[10, 0, 50, 40]], atol=1e-5)
    clipped = decode_deltas(rois, torch.tensor([[0.5, -0.25, np.log(2), 0.0]]),
                            (1, 1, 1, 1), max_hw=(25, 45))
    np.testing.assert_allclose(clipped.numpy(), [[10, 0, 45, 25]], atol=1e-5)
    # stds scale the deltas; log-ratios beyond |log(16/1000)| are clipped
    huge = decode_deltas(rois, torch.tensor([[0.0, 0.0, 100.0, 1.0]]), (1, 1, 1, 0.5), None)
    width, height = (huge[0, 2] - huge[0, 0]).item(), (huge[0, 3] - huge[0, 1]).item()
    assert width == pytest.approx(20 * np.exp(DELTA_WH_CLIP), rel=1e-5)
    assert height == pytest.approx(40 * np.exp(0.5), rel=1e-5)


def test_to_frame_pixels_multiplies_by_inverse_scale_factor():
    meta = ImageMeta(ori_hw=(429, 640), img_hw=(800, 1193), scale_factor=(1193 / 640, 800 / 429))
    boxes = to_frame_pixels(torch.tensor([[1193.0, 800.0, 0.0, 400.0]]), meta)
    np.testing.assert_allclose(boxes.numpy(), [[640, 429, 0, 214.5]], rtol=1e-6)


def _greedy_nms(boxes, scores, groups, threshold):
    """Plain numpy greedy NMS per group (the refs' README: it reproduces mmcv's kept set)."""
    order = np.argsort(-scores, kind="stable")
    kept = []
    for i in order:
        ok = True
        for j in kept:
            if groups[i] != groups[j]:
                continue
            xx1, yy1 = max(boxes[i, 0], boxes[j, 0]), max(boxes[i, 1], boxes[j, 1])
            xx2, yy2 = min(boxes[i, 2], boxes[j, 2]), min(boxes[i, 3], boxes[j, 3])
            inter = max(0.0, xx2 - xx1) * max(0.0, yy2 - yy1)
            area_i = (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
            area_j = (boxes[j, 2] - boxes[j, 0]) * (boxes[j, 3] - boxes[j, 1])
            if inter / (area_i + area_j - inter) > threshold:
                ok = False
                break
        if ok:
            kept.append(i)
    return kept


@pytest.mark.parametrize("count", [0, 1, 300, 10500])
def test_batched_nms_matches_greedy_nms_per_group(count):
    """Both of mmcv's paths: one NMS on offset boxes (< 10000) and group by group."""
    rng = np.random.default_rng(count)
    xy = rng.uniform(0, 400, (count, 2))
    wh = rng.uniform(5, 80, (count, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    scores = rng.uniform(0, 1, count).astype(np.float32)
    groups = rng.integers(0, 3, count)
    keep = batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores),
                       torch.from_numpy(groups), 0.5).numpy()
    assert np.all(np.diff(scores[keep]) <= 0)
    if count <= 300:    # the O(n^2) reference only on the small case
        assert keep.tolist() == _greedy_nms(boxes, scores, groups, 0.5)
    else:
        for group in range(3):
            members = np.flatnonzero(groups == group)
            mine = sorted(set(keep.tolist()) & set(members.tolist()))
            alone = batched_nms(torch.from_numpy(boxes[members]),
                                torch.from_numpy(scores[members]),
                                torch.zeros(len(members), dtype=torch.long), 0.5).numpy()
            assert mine == sorted(members[alone].tolist())


def test_batched_nms_offset_trick_lets_groups_touch_with_negative_coordinates():
    """mmcv shifts every coordinate of group g by g * (max + 1); a box far above-left of 0
    then reaches the previous group's range (YOLOv3 boxes are not clipped), as in mmdet."""
    boxes = torch.tensor([[0.0, 0, 10, 10], [-11.0, -11, -1, -1]])
    keep = batched_nms(boxes, torch.tensor([0.9, 0.8]), torch.tensor([0, 1]), 0.5)
    assert keep.tolist() == [0]


@pytest.fixture(scope="module")
def truncated(tmp_path_factory, mmdet_checkpoints):
    path = tmp_path_factory.mktemp("truncated") / "yolov3_truncated.pth"
    with open(mmdet_checkpoints("yolov3"), "rb") as f:
        path.write_bytes(f.read(5 << 20))
    return path


def test_read_checkpoint_keys_and_architecture(mmdet_checkpoints):
    state_dict = read_mmdet_state_dict(mmdet_checkpoints("yolov3"))
    assert len(state_dict) == 438 and "bbox_head.convs_pred.0.weight" in state_dict
    assert infer_mmdet_architecture(state_dict) == "yolov3_d53"
    assert infer_mmdet_architecture({"x": torch.zeros(1)}) is None


def test_checkpoint_of_the_other_model_is_a_clear_error(mmdet_checkpoints):
    yolo_file, cascade_file = mmdet_checkpoints("yolov3"), mmdet_checkpoints("cascade")
    with pytest.raises(CheckpointError, match=r"(?s)yolov3.pth does not fit detector Cascade "
                       r"R-CNN X-101-64x4d-FPN.*missing keys: backbone.conv1.weight.*is a YOLOv3 "
                       r"Darknet-53 checkpoint; zoo entries of that architecture: "
                       r"yolov3_d53_mstrain-608_273e_coco"):
        CascadeRCNN(yolo_file)
    with pytest.raises(CheckpointError, match=r"(?s)cascade.pth does not fit detector YOLOv3.*"
                       r"Cascade R-CNN X-101-64x4d-FPN checkpoint; zoo entries of that "
                       r"architecture: cascade_rcnn_x101_64x4d_fpn_20e_coco"):
        load_detector("yolov3-d53-416", checkpoint=cascade_file)


def test_wrong_shapes_and_bad_files_are_clear_errors(mmdet_checkpoints, truncated, tmp_path):
    state_dict = read_mmdet_state_dict(mmdet_checkpoints("yolov3"))
    state_dict["bbox_head.convs_pred.0.weight"] = torch.zeros(18, 1024, 1, 1)   # 1 class
    torch.save({"meta": {}, "state_dict": state_dict}, tmp_path / "one_class.pth")
    with pytest.raises(CheckpointError, match=r"wrongly shaped keys: bbox_head.convs_pred.0."
                       r"weight \(18, 1024, 1, 1\) \(model \(255, 1024, 1, 1\)\)"):
        YOLOv3(tmp_path / "one_class.pth")
    with pytest.raises(CheckpointError, match="yolov3_truncated.pth is not a readable torch "
                                              "checkpoint"):
        YOLOv3(truncated)
    (tmp_path / "text.pth").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="text.pth is not a readable torch checkpoint"):
        YOLOv3(tmp_path / "text.pth")
    torch.save({"meta": {"epoch": 1}}, tmp_path / "meta_only.pth")
    with pytest.raises(CheckpointError, match="meta_only.pth holds no state dict"):
        YOLOv3(tmp_path / "meta_only.pth")
    with pytest.raises(FileNotFoundError, match="missing.pth does not exist"):
        YOLOv3(tmp_path / "missing.pth")


def test_numpy_values_in_meta_are_read(tmp_path):
    """mmcv-era files may keep numpy scalars in ``meta``; the weights-only reader takes them."""
    torch.save({"meta": {"hook_msgs": {"best_score": np.float64(0.3)}, "seed": np.int64(3)},
                "state_dict": {"w": torch.ones(2)}}, tmp_path / "numpy_meta.pth")
    assert read_mmdet_state_dict(tmp_path / "numpy_meta.pth")["w"].tolist() == [1.0, 1.0]


def test_wrapped_plain_state_dict_loads(mmdet_checkpoints, tmp_path):
    state_dict = read_mmdet_state_dict(mmdet_checkpoints("yolov3"))
    torch.save({f"module.{k}": v for k, v in state_dict.items()}, tmp_path / "plain.pth")
    detector = YOLOv3(tmp_path / "plain.pth", test_scale=64)
    assert torch.equal(detector.network.bbox_head.convs_pred[2].bias,
                       state_dict["bbox_head.convs_pred.2.bias"])


@pytest.mark.parametrize("options,error", [
    ({"score_threshold": 1.5}, "score_threshold must be a number in"),
    ({"nms_iou": "high"}, "nms_iou must be a number in"),
    ({"max_per_img": 0}, "max_per_img must be a positive integer"),
    ({"test_scale": (608,)}, "test_scale must be"),
    ({"std": (1, 0, 1)}, "std must not contain zeros"),
    ({"pad_divisor": 16}, "pad_divisor must be a multiple of 32"),
    ({"min_bbox_size": "0"}, "min_bbox_size must be a finite number"),
    ({"device": "tpu"}, "device must be"),
])
def test_bad_options_are_clear_errors(mmdet_checkpoints, options, error):
    with pytest.raises(ValueError, match=error):
        YOLOv3(mmdet_checkpoints("yolov3"), **options)


ZOO = {  # name -> (architecture, sha256 prefix in the mmdet file name)
    "cascade_rcnn_x101_64x4d_fpn_20e_coco": ("cascade_rcnn_x101_64x4d_fpn", "051557b1"),
    "yolov3_d53_mstrain-608_273e_coco": ("yolov3_d53", "a2c3acb8"),
    "yolov3_d53_mstrain-416_273e_coco": ("yolov3_d53", "2b60fcd9"),
    "yolov3_d53_320_273e_coco": ("yolov3_d53", "421362b6"),
}


@pytest.mark.parametrize("name", ZOO)
def test_zoo_entries_point_at_mmdets_files(name):
    spec = detector_zoo()[name]
    architecture, sha = ZOO[name]
    assert spec.architecture == architecture and spec.sha256 == sha
    assert spec.filename.endswith(f"-{sha}.pth") and spec.filename.startswith(name)
    assert spec.url == ("https://download.openmmlab.com/mmdetection/v2.0/"
                        f"{'cascade_rcnn' if 'cascade' in name else 'yolo'}/{name}/{spec.filename}")
    assert (spec.weights.filename, spec.weights.url, spec.weights.sha256) == (
        spec.filename, spec.url, sha)


def test_zoo_entries_map_one_to_one_onto_dataclasses():
    entry = {"architecture": "yolov3_d53", "config": "c.py", "filename": "f.pth", "url": None,
             "sha256": None, "test_scale": [416, 416], "mean": [0, 0, 0], "std": [255] * 3,
             "pad_divisor": 32, "conf_threshold": 0.005, "score_threshold": 0.05,
             "nms_pre": 1000, "min_bbox_size": 0, "nms_iou": 0.45, "max_per_img": 100}
    spec = construct_config(YOLOv3Spec, {"name": "x", **entry}, "here")
    assert spec.test_scale == (416, 416) and spec.options()["nms_iou"] == 0.45
    assert set(spec.options()) < set(YOLOv3.__init__.__code__.co_varnames)
    with pytest.raises(ConfigError, match=r"here: unknown key\(s\) \['rpn_nms_pre'\]"):
        construct_config(YOLOv3Spec, {"name": "x", **entry, "rpn_nms_pre": 1}, "here")
    with pytest.raises(ConfigError, match="here: nms_iou must be a number in"):
        construct_config(YOLOv3Spec, {"name": "x", **entry, "nms_iou": 2}, "here")
    cascade = detector_zoo()["cascade_rcnn_x101_64x4d_fpn_20e_coco"]
    assert isinstance(cascade, CascadeRCNNSpec)
    assert set(cascade.options()) < set(CascadeRCNN.__init__.__code__.co_varnames)


def test_every_mmdet_zoo_entry_has_its_class():
    classes = {"cascade_rcnn_x101_64x4d_fpn": CascadeRCNN, "yolov3_d53": YOLOv3}
    entries = {name: classes[spec.architecture] for name, spec in detector_zoo().items()
               if hasattr(spec, "architecture")}
    mmdet_entries = {name: entry.detector_class for name, entry in detectors.DETECTORS.items()
                     if entry.detector_class in (CascadeRCNN, YOLOv3) and "_" in name}
    assert entries == mmdet_entries


@pytest.mark.parametrize("alias,name", [
    ("cascade-rcnn-x101", "cascade_rcnn_x101_64x4d_fpn_20e_coco"),
    ("yolov3-d53-608", "yolov3_d53_mstrain-608_273e_coco"),
    ("yolov3-d53-416", "yolov3_d53_mstrain-416_273e_coco"),
    ("yolov3-d53-320", "yolov3_d53_320_273e_coco")])
def test_aliases_and_zoo_names_are_registered(alias, name):
    assert detectors.DETECTORS[alias] is detectors.DETECTORS[name]


def test_zoo_detector_without_weights_names_url_and_path(tmp_path, monkeypatch):
    monkeypatch.setenv("POSETRACK_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("POSETRACK_MIRROR")           # the zoo's own address (no network: patched)
    monkeypatch.setattr("urllib.request.urlopen", _offline)
    with pytest.raises(WeightsUnavailableError, match=r"could not download https://download"
                       r".openmmlab.com/mmdetection/v2.0/yolo/yolov3_d53_320_273e_coco/"
                       r"yolov3_d53_320_273e_coco-421362b6.pth .*put it at .*cache/"
                       r"yolov3_d53_320_273e_coco-421362b6.pth"):
        load_detector("yolov3-d53-320", progress=False)


def _offline(*args, **kwargs):
    import urllib.error
    raise urllib.error.URLError("network is unreachable")


def test_cached_zoo_file_is_used_and_options_override(tmp_path, monkeypatch, mmdet_checkpoints):
    spec = detector_zoo()["yolov3_d53_320_273e_coco"]
    monkeypatch.setenv("POSETRACK_CACHE", str(tmp_path))
    shutil.copy(mmdet_checkpoints("yolov3"), tmp_path / spec.filename)
    monkeypatch.setattr("tracker.weights.verify_sha256", lambda path, expected: None)  # synthetic
    detector = load_detector("yolov3_d53_320_273e_coco", score_threshold=0.2)
    assert detector.path == tmp_path / spec.filename
    assert detector.test_scale == (320, 320) and detector.score_threshold == 0.2


def test_run_config_validates_mmdet_detector_options():
    from apps.config import load_run_config
    config = load_run_config(overrides={"detector": {"name": "cascade-rcnn-x101",
                                                     "test_scale": [666, 400]}})
    assert config["detector"] == {"name": "cascade-rcnn-x101", "test_scale": [666, 400]}
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['conf_threshold'\]"):
        load_run_config(overrides={"detector": {"name": "cascade-rcnn-x101",
                                                "conf_threshold": 0.1}})
    config = load_run_config(overrides={"detector": {"name": "mmdet:cfg.py:model.pth",
                                                     "score_threshold": 0.3}})
    assert config["detector"]["score_threshold"] == 0.3


def test_mmdet_names_parse():
    from detectors.mmdet_adapter import parse_mmdet_name
    assert parse_mmdet_name("mmdet:a/cfg.py:https://x.org/m.pth") == ("a/cfg.py",
                                                                      "https://x.org/m.pth")
    assert parse_mmdet_name("mmdet:cfg.py", checkpoint="m.pth") == ("cfg.py", "m.pth")
    with pytest.raises(ValueError, match="expected 'mmdet:CONFIG:CHECKPOINT'"):
        parse_mmdet_name("mmdet:cfg.py")


@pytest.mark.skipif(HAS_MMDET, reason="mmdet is installed")
def test_mmdet_adapter_without_mmdet_says_what_to_install():
    from detectors.mmdet_adapter import MMDetNotInstalledError
    with pytest.raises(MMDetNotInstalledError, match="pip install mmdet"):
        load_detector("mmdet:cfg.py:model.pth")
    with pytest.raises(ImportError):           # it is an ImportError and a ValueError
        load_detector("mmdet:cfg.py:model.pth")


@pytest.mark.skipif(not HAS_MMDET, reason="mmdet is not installed (optional)")
def test_mmdet_adapter_with_mmdet(tmp_path):
    with pytest.raises(FileNotFoundError, match="mmdet config"):
        load_detector(f"mmdet:{tmp_path / 'missing.py'}:model.pth")


def test_grid_anchors_shift_the_base_anchors_row_by_row():
    base = torch.tensor([[-1.0, -2.0, 1.0, 2.0], [0.0, 0.0, 4.0, 4.0]])
    anchors = grid_anchors(base, height=2, width=3, stride=8, device=torch.device("cpu"))
    assert anchors.shape == (2 * 3 * 2, 4) and anchors.dtype == torch.float32
    cells = [(x * 8.0, y * 8.0) for y in range(2) for x in range(3)]      # (y, x) order
    expected = [[bx1 + sx, by1 + sy, bx2 + sx, by2 + sy]
                for sx, sy in cells for bx1, by1, bx2, by2 in base.tolist()]
    assert anchors.tolist() == expected


def test_input_size_cache_builds_once_per_size_and_drops_the_oldest():
    built = []
    cache = InputSizeCache(max_sizes=2)

    def get(h, w):
        maps = [torch.zeros(1, 1, h, w), torch.zeros(1, 1, h // 2, w // 2)]
        return cache.get(maps, lambda: built.append((h, w)) or (h, w))

    assert get(4, 4) == (4, 4) and get(4, 4) == (4, 4) and built == [(4, 4)]
    get(8, 4)
    get(8, 8)                                  # a third size: (4, 4) is dropped
    get(8, 4)
    get(4, 4)
    assert built == [(4, 4), (8, 4), (8, 8), (4, 4)]

