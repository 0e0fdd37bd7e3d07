"""configs/benchmarks.yaml <-> DatasetLayout / EvalSettings, and the printed tables."""
import pytest

from tracker.image_eval import BENCHMARKS, EvalSettings, benchmark_configs, format_table
from tracker.image_eval import settings as settings_module
from tracker.pose.zoo import keypoint_sets
from tracker.errors import ConfigError


def test_every_benchmark_has_a_config_and_a_keypoint_set():
    assert list(benchmark_configs()) == list(BENCHMARKS)
    for name, benchmark in BENCHMARKS.items():
        layout, defaults = benchmark_configs()[name]
        assert layout.ann_file and benchmark.keypoint_set in keypoint_sets()
        if benchmark.oks_style:
            assert keypoint_sets()[benchmark.keypoint_set].oks_sigmas is not None
            assert (defaults.oks_thr, defaults.vis_thr, defaults.soft_nms) == (0.9, 0.2, False)
    assert benchmark_configs()["coco"][1].use_gt_bbox is False       # the seed's COCO row
    assert benchmark_configs()["posetrack18"][1].det_bbox_thr == 0.4


@pytest.mark.parametrize("text,message", [
    ("coco:\n  layout: {ann_file: a.json}\n", r"expected exactly the sections"),
    ("coco:\n  layout: {ann_file: a.json, images: x}\n  data_cfg: {}\n",
     r"\[coco\] layout: unknown key\(s\) \['images'\]"),
    ("coco:\n  layout: {ann_file: a.json}\n  data_cfg: {vis_thr: high}\n",
     "vis_thr must be a finite number"),
])
def test_bad_config_entries_name_the_key(tmp_path, monkeypatch, text, message):
    path = tmp_path / "benchmarks.yaml"
    path.write_text(text)
    monkeypatch.setattr(settings_module, "BENCHMARKS_YAML", path)
    settings_module.benchmark_configs.cache_clear()
    try:
        with pytest.raises(ConfigError, match=message):
            settings_module.benchmark_configs()
    finally:
        settings_module.benchmark_configs.cache_clear()


def test_options_accept_an_mmpose_data_cfg_and_reject_unknown_keys():
    data_cfg = {"image_size": [192, 256], "heatmap_size": [48, 64], "num_output_channels": 17,
                "num_joints": 17, "dataset_channel": [list(range(17))],
                "inference_channel": list(range(17)), "soft_nms": False, "nms_thr": 1.0,
                "oks_thr": 0.9, "vis_thr": 0.2, "use_gt_bbox": True, "det_bbox_thr": 0.0,
                "bbox_file": ""}
    settings = settings_module.with_options(EvalSettings(), data_cfg, "test")
    settings.check_num_keypoints(17, "coco")
    with pytest.raises(ConfigError, match="num_joints=17, but the benchmark has 14"):
        settings.check_num_keypoints(14, "aic")
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['vis_threshold'\]"):
        settings_module.with_options(EvalSettings(), {"vis_threshold": 0.2}, "test")


def test_tables_follow_the_seed():
    coco = format_table(BENCHMARKS["coco"], {"AP": 0.7181, "AP .5": 0.898, "AP .75": 0.795,
                                             "AR": 0.773, "AR .5": 0.937})
    assert coco.splitlines() == ["| AP | AP50 | AP75 | AR | AR50 |", "|---|---|---|---|---|",
                                 "| 0.718 | 0.898 | 0.795 | 0.773 | 0.937 |"]
    mpii = format_table(BENCHMARKS["mpii"], {"PCKh": 88.2, "PCKh@0.1": 28.6})
    assert mpii.splitlines()[-1] == "| 0.882 | 0.286 |"                 # percent -> fraction
    names = [f"{g} {s}" for s in ("PCK", "tPCK")
             for g in ("Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank", "Mean")]
    jhmdb = format_table(BENCHMARKS["jhmdb"], dict.fromkeys(names, 0.961))
    assert jhmdb.splitlines()[2].startswith("| person size | 96.1 |")
    assert jhmdb.splitlines()[3].startswith("| torso | 96.1 |")
