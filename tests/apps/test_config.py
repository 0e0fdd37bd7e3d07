"""Run configuration: sections map 1:1 onto constructors, unknown keys are errors."""
import pytest

from apps.config import DEFAULT_CONFIG, SECTIONS, allowed_keys, load_run_config
from tracker.errors import ConfigError


def test_defaults_are_valid_and_complete():
    config = load_run_config()
    assert config["detector"]["name"] == "rtmdet-nano"
    assert config["tracker"]["similarity"] == "flow_oks"
    assert config["smoothing"] is None
    for section in SECTIONS:
        if config[section] is not None:
            assert set(config[section]) <= allowed_keys(section, config[section])


def test_every_constructor_argument_is_in_the_default_file():
    """The default file documents every option (except the per-class detector options)."""
    config = load_run_config()
    for section in ("pose", "flow", "tracker", "pipeline", "output"):
        assert set(config[section]) == allowed_keys(section), section


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


def test_switching_detector_drops_the_other_detectors_options():
    config = load_run_config(None, {"detector": {"name": "posetrack-gt",
                                                 "checkpoint": "gt.json"}})
    assert config["detector"] == {"name": "posetrack-gt", "checkpoint": "gt.json"}


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
    assert "bad.yaml" in str(info.value) or "detector.name" in str(info.value)


def test_missing_config_file():
    with pytest.raises(ConfigError, match="does not exist"):
        load_run_config("no/such/run.yaml")
    assert DEFAULT_CONFIG.is_file()
