"""The model zoo covers every checkpoint of the seed and rejects malformed entries."""
import re

import pytest

from tests.shared_data import shared_path
from tracker.errors import ConfigError
from tracker.pose.zoo import get_pose_model_spec, keypoint_sets, pose_models
from tracker.weights import WeightsSource


def test_every_seed_checkpoint_has_a_zoo_entry():
    seed = shared_path("seed", "000_9e6497a4e5423118.txt").read_text()
    urls = set(re.findall(r"\((https://download\.openmmlab\.com/mmpose/[^)]+\.pth)\)", seed))
    assert len(urls) == 25
    by_url = {spec.url: spec for spec in pose_models().values()}
    for url in urls:
        spec = by_url[url]
        stem, digest = re.match(r".*/([^/-]+)-([0-9a-f]{8})_\d+\.pth", url).groups()
        assert spec.name == stem and spec.sha256 == digest
        assert spec.weights == WeightsSource(filename=url.rsplit("/", 1)[-1], url=url,
                                             sha256=digest)
        size = re.search(r"_(\d+)x(\d+)$", stem).groups()
        assert spec.input_size_wh == (int(size[1]), int(size[0]))
        assert spec.num_deconv_layers == (2 if "2deconv" in stem else 3)
        assert spec.depth == int(stem[3:stem.index("_")])


@pytest.mark.parametrize("name,count,sigmas", [
    ("coco", 17, True), ("posetrack18", 17, True), ("mpii", 16, False), ("mhp", 16, True),
    ("mpii_trb", 40, False), ("aic", 14, True), ("crowdpose", 14, True), ("jhmdb", 15, False)])
def test_keypoint_sets(name, count, sigmas):
    kset = keypoint_sets()[name]
    assert len(kset) == count and (kset.oks_sigmas is not None) == sigmas
    flipped = [i for pair in kset.flip_pairs for i in pair]
    assert len(flipped) == len(set(flipped))
    for left, right in kset.flip_pairs:  # pairs really are left/right mirror images
        a, b = kset.names[left], kset.names[right]
        assert a.replace("left", "right") == b or a.replace("right", "left") == b


def test_seed_keypoint_sets_of_models():
    assert pose_models()["res101_aic_256x192"].num_keypoints == 14
    assert pose_models()["res50_mhp_256x192"].num_keypoints == 16
    assert pose_models()["res101_crowdpose_320x256"].input_size_wh == (256, 320)
    assert pose_models()["pp_tinypose_256x192"].backend == "onnx"


def test_user_model_file(tmp_path):
    path = tmp_path / "my_model.yaml"
    path.write_text("backend: torch\ndepth: 50\ninput_size_wh: [192, 256]\n"
                    "keypoint_set: {names: [a, b, c], flip_pairs: [[0, 2]]}\n"
                    "mean: [0.5, 0.5, 0.5]\nstd: [0.25, 0.25, 0.25]\n")
    spec = get_pose_model_spec(path)
    assert spec.name == "my_model" and spec.num_keypoints == 3 and spec.url is None


@pytest.mark.parametrize("text,message", [
    ("backend: torch\ndepth: 50\ninput_size_wh: [192, 256]\nkeypoint_set: coco\n"
     "mean: [0, 0, 0]\nstd: [1, 1, 1]\nlerning_rate: 3\n", r"unknown key\(s\) \['lerning_rate'\]"),
    ("backend: tf\ninput_size_wh: [192, 256]\nkeypoint_set: coco\nmean: [0, 0, 0]\n"
     "std: [1, 1, 1]\n", "backend must be one of"),
    ("backend: torch\ndepth: 50\ninput_size_wh: [192, 256]\nkeypoint_set: cocoa\n"
     "mean: [0, 0, 0]\nstd: [1, 1, 1]\n", "unknown keypoint_set 'cocoa'"),
    ("backend: torch\ndepth: 50\ninput_size_wh: [192]\nkeypoint_set: coco\n"
     "mean: [0, 0, 0]\nstd: [1, 1, 1]\n", "input_size_wh must be two positive integers"),
    ("backend: torch\ndepth: 50\ninput_size_wh: [192, 256]\nkeypoint_set: coco\n"
     "mean: [0, 0]\nstd: [1, 1, 1]\n", r"mean must be 3 finite numbers \(R, G, B\)"),
    ("backend: torch\ninput_size_wh: [192, 256]\nkeypoint_set: coco\n"
     "mean: [0, 0, 0]\nstd: [1, 1, 1]\n", "'depth' is required"),
    ("backend: torch\ndepth: 50\ninput_size_wh: [192, 256]\n"
     "keypoint_set: {names: [a, b], flip_pairs: [[0, 5]]}\nmean: [0, 0, 0]\nstd: [1, 1, 1]\n",
     "flip_pairs entries must be two indices"),
    ("- just\n- a list\n", "expected a mapping"),
    ("backend: [unclosed\n", "not valid YAML"),
])
def test_malformed_model_file_names_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        get_pose_model_spec(path)
    assert str(path) in str(info.value)


def test_unknown_name_lists_zoo():
    with pytest.raises(ConfigError, match="res50_coco_256x192"):
        get_pose_model_spec("res51_coco")


def test_missing_model_file():
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        get_pose_model_spec("/nonexistent/nope.yaml")
