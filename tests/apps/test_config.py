"""Run configuration: sections map 1:1 onto constructors; unknown keys and wrong values are
errors naming the file, the section, the key, the value and what is allowed."""
import inspect

import pytest

import detectors
from apps.config import (DEFAULT_CONFIG, DETECTOR_OPTIONS, PRESETS, SCHEMA, SECTIONS,
                         flag_overrides, load_run_config, section_keys)
from apps.webcam import WEBCAM_CONFIG
from detectors.mmdet_adapter import MMDetAPIDetector
from tracker.errors import ConfigError
from tracker.files import read_yaml
from tracker.io.posetrack18 import TrackWriter
from tracker.pose import load_pose_model
from tracker.tracking.flow import DenseFlow
from tracker.tracking.pipeline import Pipeline
from tracker.tracking.pose_tracker import PoseTracker
from tracker.tracking.smoothing import KeypointSmoother

#: Section -> (constructor, the arguments ``build_stages`` fills in itself).
CONSTRUCTORS = {
    "pose": (load_pose_model, {"device", "progress"}),
    "flow": (DenseFlow, set()),
    "tracker": (PoseTracker, {"oks_sigmas"}),
    "pipeline": (Pipeline, {"detector", "estimator", "tracker", "flow", "smoother"}),
    "smoothing": (KeypointSmoother, set()),
    "output": (TrackWriter, {"path", "keypoint_names", "sequence_name"}),
}


def _arguments(target) -> set:
    return set(inspect.signature(target).parameters)


def test_defaults_are_valid_and_complete():
    config = load_run_config()
    assert config["detector"]["name"] == "rtmdet-nano"
    assert config["tracker"]["similarity"] == "flow_oks"
    assert config["smoothing"] is None
    for section in SECTIONS:
        if config[section] is not None:
            assert set(config[section]) <= set(section_keys(section, config[section]))


def test_every_constructor_argument_is_in_the_default_file():
    """The default file documents every option (except the per-detector options)."""
    config = load_run_config()
    for section in ("pose", "flow", "tracker", "pipeline", "output"):
        assert set(config[section]) == set(SCHEMA[section]), section


@pytest.mark.parametrize("path", [DEFAULT_CONFIG, WEBCAM_CONFIG, *PRESETS.values()],
                         ids=["default", "webcam", *PRESETS])
def test_every_key_of_the_shipped_files_is_in_the_schema(path):
    data = read_yaml(path)
    assert set(data) <= {"device", *SECTIONS}
    for section, values in data.items():
        if isinstance(values, dict):
            assert set(values) <= set(section_keys(section, values)), (path, section)


@pytest.mark.parametrize("section", list(CONSTRUCTORS))
def test_every_schema_key_is_an_argument_of_its_constructor(section):
    target, filled_in = CONSTRUCTORS[section]
    assert set(SCHEMA[section]) == _arguments(target) - filled_in


@pytest.mark.parametrize("name", list(detectors.DETECTORS))
def test_every_detector_option_is_an_argument_of_its_class(name):
    entry = detectors.DETECTORS[name]
    arguments = list(inspect.signature(entry.detector_class).parameters)
    assert set(entry.options) == set(arguments[1:]) - {"device"}      # [0]: the file it reads
    assert set(entry.options) <= set(DETECTOR_OPTIONS)


def test_mmdet_api_options_and_detector_option_checks_are_complete():
    arguments = _arguments(MMDetAPIDetector) - {"checkpoint", "config", "device"}
    assert set(detectors.MMDET_API_OPTIONS) == arguments
    used = {key for entry in detectors.DETECTORS.values() for key in entry.options}
    assert used | set(detectors.MMDET_API_OPTIONS) == set(DETECTOR_OPTIONS)


def test_user_file_overrides_key_by_key(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("tracker:\n  matcher: hungarian\nsmoothing:\n  beta: 0.1\nflow: null\n"
                    "pipeline:\n  propagate: false\n")
    config = load_run_config(path, {"tracker": {"similarity": "oks"}, "device": "auto"})
    assert config["tracker"]["matcher"] == "hungarian"
    assert config["tracker"]["similarity"] == "oks"
    assert config["tracker"]["max_age_frames"] == 10          # kept from the defaults
    assert config["smoothing"] == {"beta": 0.1} and config["flow"] is None
    assert config["device"] == "auto"


def test_app_defaults_layer_sits_between_default_yaml_and_the_users_file(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("flow: {max_side: 480}\n")
    config = load_run_config(mine, {"pipeline": {"pose_every": 3}}, defaults=WEBCAM_CONFIG)
    assert config["flow"] == {"method": "dis", "dis_preset": "ultrafast", "max_side": 480}
    assert config["pipeline"]["pose_every"] == 3 and config["pipeline"]["detect_every"] == 2
    assert config["tracker"]["matcher"] == "greedy"           # default.yaml
    assert config["device"] == "auto"                         # webcam.yaml


def test_switching_detector_drops_the_other_detectors_options():
    config = load_run_config(None, {"detector": {"name": "posetrack-gt",
                                                 "checkpoint": "gt.json"}})
    assert config["detector"] == {"name": "posetrack-gt", "checkpoint": "gt.json"}


def test_detector_options_depend_on_the_detector():
    config = load_run_config(None, {"detector": {"name": "yolov3-d53-320", "test_scale": 416,
                                                 "conf_threshold": 0.01}})
    assert config["detector"]["test_scale"] == 416
    config = load_run_config(None, {"detector": {"name": "mmdet:cfg.py:model.pth",
                                                 "person_label": 2}})
    assert config["detector"]["person_label"] == 2
    with pytest.raises(ConfigError, match=r"command line: unknown key\(s\) \['config'\]"):
        load_run_config(None, {"detector": {"name": "mmdet:cfg.py:m.pth", "config": "x.py"}})


@pytest.mark.parametrize("text, message", [
    ("tracker:\n  matchr: greedy\n", r"unknown key\(s\) \['matchr'\] in section 'tracker'"),
    ("trackers:\n  matcher: greedy\n", "unknown section 'trackers'"),
    ("tracker: 3\n", "section 'tracker' must be a mapping"),
    ("detector:\n  name: yolo9000\n", "detector.name must be one of"),
    ("detector:\n  name: posetrack-gt\n  score_threshold: 0.5\n", "score_threshold"),
    ("pose: null\n", "section 'pose' is required"),
    ("- 1\n- 2\n", "expected a mapping"),
    ("tracker: [\n", "not valid YAML"),
])
def test_bad_config_files_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_run_config(path)
    assert "bad.yaml" in str(info.value)


@pytest.mark.parametrize("text, message", [
    ('tracker: {min_similarity: "high"}',
     "tracker.min_similarity must be a number in [0, 1], got 'high'"),
    ('flow: {max_side: "640"}', "flow.max_side must be an integer >= 0, got '640'"),
    ('pose: {flip_test: "no"}', "pose.flip_test must be true or false, got 'no'"),
    ("pipeline: {detect_every: 2.5}", "pipeline.detect_every must be a positive integer, got 2.5"),
    ("tracker: {min_similarity: true}", "tracker.min_similarity must be a number in [0, 1], "
                                        "got True"),                # bool is not a number
    ("output: {min_person_score: .nan}", "output.min_person_score must be a number in [0, 1], "
                                         "got nan"),
    ("output: {min_keypoint_score: 1.5}", "output.min_keypoint_score must be a number in"),
    ("tracker: {matcher: best}", "tracker.matcher must be one of ['greedy', 'hungarian'], "
                                 "got 'best'"),
    ("tracker: {max_age_frames: -1}", "tracker.max_age_frames must be an integer >= 0, got -1"),
    ("tracker: {min_area: .inf}", "tracker.min_area must be a finite number, got inf"),
    ("flow: {method: lucas-kanade}", "flow.method must be one of ['dis', 'farneback']"),
    ("pose: {max_batch_size: 0}", "pose.max_batch_size must be a positive integer, got 0"),
    ("pose: {checkpoint: 12}", "pose.checkpoint must be a non-empty string, got 12"),
    ("pose: {fold_batchnorm: yes please}", "pose.fold_batchnorm must be true or false"),
    ("pose: {precision: fp16}", "pose.precision must be one of ['float32', 'float16', "
                                "'bfloat16'], got 'fp16'"),
    ("smoothing: {beta: -0.5}", "smoothing.beta must be a finite number >= 0, got -0.5"),
    ("smoothing: {min_cutoff: 0}", "smoothing.min_cutoff must be a finite number > 0, got 0"),
    ("device: gpu", "device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got 'gpu'"),
    ("detector: {score_threshold: 2}", "detector.score_threshold must be a number in [0, 1]"),
    ("detector: {onnx_threads: 1.0}", "detector.onnx_threads must be an integer >= 0, got 1.0"),
    ("detector: {mean: [1, 2]}", "detector.mean: mean must be 3 finite numbers"),
    ("detector: {name: posetrack-gt, padding: 0}",
     "detector.padding must be a finite number > 0, got 0"),
    ("detector: {name: detections, key: image_id}",
     "detector.key must be one of ['file_name', 'frame_index'], got 'image_id'"),
    ("detector: {name: cascade-rcnn-x101, test_scale: [1333, 800, 3]}",
     "detector.test_scale must be a positive integer or two"),
    ("detector: {name: cascade-rcnn-x101, channels_last: 1}",
     "detector.channels_last must be true or false, got 1"),
])
def test_values_of_the_wrong_type_or_range_name_file_section_key_and_value(tmp_path, text,
                                                                           message):
    path = tmp_path / "bad.yaml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError) as info:
        load_run_config(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_command_line_values_are_checked_and_named_so():
    with pytest.raises(ConfigError, match="^command line: pipeline.pose_every must be a "
                                          "positive integer, got 0"):
        load_run_config(None, {"pipeline": {"pose_every": 0}})


def test_an_error_names_the_layer_it_is_in(tmp_path):
    preset, mine = tmp_path / "preset.yaml", tmp_path / "mine.yaml"
    preset.write_text("flow: {max_side: -1}\n")
    mine.write_text("flow: {max_side: 320}\n")
    with pytest.raises(ConfigError, match=f"^{preset}: flow.max_side"):
        load_run_config(mine, defaults=preset)


def test_flag_overrides():
    assert flag_overrides() == {}
    assert flag_overrides(flow="none") == {"flow": None, "pipeline": {"propagate": False},
                                           "tracker": {"similarity": "oks"}}
    assert flag_overrides(flow="none", similarity="iou")["tracker"] == {"similarity": "iou"}
    assert flag_overrides(flow="farneback", no_flip=True, smooth=True, device="cuda") == {
        "flow": {"method": "farneback"}, "pose": {"flip_test": False}, "smoothing": {},
        "device": "cuda"}
    assert flag_overrides(detector="posetrack-gt", detector_checkpoint="gt.json",
                          min_keypoint_score=0.0) == {
        "detector": {"name": "posetrack-gt", "checkpoint": "gt.json"},
        "output": {"min_keypoint_score": 0.0}}
    assert flag_overrides(exact=True, no_flip=True) == {
        "pose": {"flip_test": False, "fast_path": False, "precision": "float32"}}
    assert flag_overrides(precision="bfloat16") == {"pose": {"precision": "bfloat16"}}
    with pytest.raises(ConfigError, match="--exact runs the pose network in float32; leave "
                                          "out --precision bfloat16"):
        flag_overrides(exact=True, precision="bfloat16")


def test_the_config_names_the_precisions_load_pose_model_takes():
    from apps.config import POSE_PRECISIONS
    from tracker.pose.precision import PRECISIONS
    assert POSE_PRECISIONS == tuple(PRECISIONS)


def test_missing_config_file():
    with pytest.raises(ConfigError, match="does not exist"):
        load_run_config("no/such/run.yaml")
    assert DEFAULT_CONFIG.is_file()


def test_default_robust_tracker_section_lists_the_constructor_defaults():
    import inspect

    from tracker.tracking.robust_tracker import RobustPoseTracker
    section = load_run_config(None)["robust_tracker"]
    defaults = {name: p.default for name, p in
                inspect.signature(RobustPoseTracker).parameters.items()}
    assert section.pop("reid_model") is None
    assert section and all(defaults[key] == value for key, value in section.items())


def test_tracker_flag_chooses_the_robust_tracker_section(tmp_path):
    from apps.config import build_tracker as _tracker
    from tracker.tracking.pose_tracker import PoseTracker
    from tracker.tracking.robust_tracker import RobustPoseTracker
    sigmas = [0.05] * 17
    default = load_run_config(None)
    assert isinstance(_tracker(default, sigmas), RobustPoseTracker)
    robust = load_run_config(None, flag_overrides(tracker="robust"))
    assert robust["robust_tracker"] == default["robust_tracker"]
    assert isinstance(_tracker(robust, sigmas), RobustPoseTracker)
    paper = load_run_config(None, flag_overrides(tracker="paper"))
    assert paper["robust_tracker"] is None and isinstance(_tracker(paper, sigmas), PoseTracker)
    implied = load_run_config(None, flag_overrides(similarity="iou"))
    assert implied["robust_tracker"] is None and implied["tracker"]["similarity"] == "iou"
    with pytest.raises(ConfigError, match="--tracker paper"):
        flag_overrides(tracker="robust", matcher="hungarian")
    config = tmp_path / "c.yaml"
    config.write_text("robust_tracker: {min_hits: 4, max_lost_s: 1.5}\n")
    tuned = _tracker(load_run_config(config), sigmas)
    assert (tuned.min_hits, tuned.max_lost_s) == (4, 1.5)
    config.write_text("robust_tracker: {min_hit: 3}\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['min_hit'\] in section "
                       "'robust_tracker'"):
        load_run_config(config)
