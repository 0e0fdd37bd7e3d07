"""posetrack-val on mmpose's real PoseTrack18 val frames: tracking, resume, scoring, errors."""
import json
import shutil

from apps import val
from tests.shared_data import shared_path

POSE = ("models", "pp-tinypose-256x192", "pp_tinypose_256x192.onnx")


def _root():
    return shared_path("data", "mmpose-testdata", "posetrack18")


def _pose():
    return ["--pose-model", "pp_tinypose_256x192", "--pose-checkpoint", str(shared_path(*POSE)),
            "--quiet"]


def test_ground_truth_boxes_score_and_resume(tmp_path, capsys):
    out, metrics = tmp_path / "pred", tmp_path / "metrics.json"
    assert val.main([str(_root()), "--out", str(out), "--json", str(metrics), *_pose()]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["003418_mpii_test.json", "009473_mpii_test.json", "012834_mpii_test.json"]
    gt = json.loads((_root() / "annotations" / "val" / "012834_mpii_test.json").read_text())
    pred = json.loads((out / "012834_mpii_test.json").read_text())
    assert [i["file_name"] for i in pred["images"]] == [i["file_name"] for i in gt["images"]]
    results = json.loads(metrics.read_text())
    assert results["ap"]["total"] > 60          # real poses from GT boxes (measured 72.0)
    assert "& Head & Shou & Elb  & Wri  & Hip  & Knee & Ankl & Total" in capsys.readouterr().out
    before = (out / "012834_mpii_test.json").stat().st_mtime_ns
    assert val.main([str(_root()), "--out", str(out), *_pose()]) == 0
    assert "resuming: 3 of 3 sequences already in" in capsys.readouterr().err
    assert (out / "012834_mpii_test.json").stat().st_mtime_ns == before


def test_detections_file_and_sequence_subset(tmp_path):
    annotations = _root() / "annotations"
    out = tmp_path / "pred"
    code = val.main([str(_root()), "--out", str(out), "--sequences", "009473_mpii_test",
                     "--detector", "detections", "--detector-checkpoint",
                     str(annotations / "test_posetrack18_human_detections.json"),
                     "--detections-images", str(annotations / "test_posetrack18_val.json"),
                     *_pose()])
    assert code == 0
    assert [p.name for p in out.iterdir()] == ["009473_mpii_test.json"]
    assert json.loads((out / "009473_mpii_test.json").read_text())["annotations"]


def test_bad_dataset_layouts(tmp_path, capsys):
    assert val.main([str(tmp_path), "--out", str(tmp_path / "p"), *_pose()]) == 1
    assert "is not a PoseTrack18 root" in capsys.readouterr().err
    root = tmp_path / "root"
    shutil.copytree(_root() / "annotations" / "val", root / "annotations" / "val")
    assert val.main([str(root), "--out", str(tmp_path / "p"), *_pose()]) == 1
    err = capsys.readouterr().err
    assert "000000.jpg: frame 0 of 003418_mpii_test.json is missing" in err
    assert val.main([str(root), "--out", str(tmp_path / "p"), "--sequences", "nope", *_pose()]) == 1
    assert "no annotation file for sequence(s) ['nope']" in capsys.readouterr().err


def test_each_sequence_gets_its_detector_section_from_the_config(tmp_path):
    from types import SimpleNamespace

    from apps.config import load_run_config
    sequence = SimpleNamespace(name="012834_mpii_test",
                               annotation_file=tmp_path / "012834_mpii_test.json")
    config_file = tmp_path / "mine.yaml"
    config_file.write_text("detector: {name: posetrack-gt, padding: 1.2}\n")
    args = val.parse_args([str(tmp_path), "--out", "pred", "--config", str(config_file)])
    config = load_run_config(args.config, val._overrides(args, sequence))
    assert config["detector"] == {"name": "posetrack-gt", "padding": 1.2,
                                  "checkpoint": str(sequence.annotation_file)}
    assert config["output"]["min_keypoint_score"] == 0.0
    args = val.parse_args([str(tmp_path), "--out", "pred", "--detector", "detections",
                           "--detector-checkpoint", "dets.json", "--detections-images", "v.json"])
    assert load_run_config(None, val._overrides(args, sequence))["detector"] == {
        "name": "detections", "checkpoint": "dets.json", "sequence": "012834_mpii_test",
        "images": "v.json"}
    args = val.parse_args([str(tmp_path), "--out", "pred", "--detector", "rtmdet-nano"])
    assert load_run_config(None, val._overrides(args, sequence))["detector"]["name"] == \
        "rtmdet-nano"


def _root_with(tmp_path, sequence, mutate):
    """A PoseTrack18 root with one sequence whose annotation file is changed by ``mutate``."""
    root = tmp_path / "root"
    (root / "annotations" / "val").mkdir(parents=True)
    (root / "images" / "val").mkdir(parents=True)
    (root / "images" / "val" / sequence).symlink_to(_root() / "images" / "val" / sequence)
    data = json.loads((_root() / "annotations" / "val" / f"{sequence}.json").read_text())
    mutate(data)
    gt_file = root / "annotations" / "val" / f"{sequence}.json"
    gt_file.write_text(json.dumps(data))
    return root, gt_file


def test_a_gt_file_the_evaluator_rejects_is_named_as_the_user_gave_it(tmp_path, capsys):
    """Scoring reads the user's GT files themselves, not links in a deleted temporary
    folder: the error names ROOT/annotations/val/<sequence>.json."""
    sequence = "012834_mpii_test"
    root, gt_file = _root_with(tmp_path, sequence,
                               lambda d: d["annotations"][0].pop("bbox_head"))
    out, metrics = tmp_path / "pred", tmp_path / "metrics.json"
    metrics.write_bytes(b"earlier metrics")
    assert val.main([str(root), "--out", str(out), "--json", str(metrics), *_pose()]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"posetrack-val: error: {gt_file}: annotations[0].bbox_head: missing")
    assert metrics.read_bytes() == b"earlier metrics"
    assert [p.name for p in out.iterdir()] == [f"{sequence}.json"]   # tracked, kept for resume


def test_scoring_files_gives_the_numbers_of_a_folder(tmp_path, capsys):
    from tracker.eval import evaluate

    out = tmp_path / "pred"
    assert val.main([str(_root()), "--out", str(out), "--sequences", "012834_mpii_test",
                     "009473_mpii_test", *_pose()]) == 0
    table = capsys.readouterr().out
    gt = tmp_path / "gt"
    gt.mkdir()
    for name in ("009473_mpii_test", "012834_mpii_test"):
        (gt / f"{name}.json").symlink_to(_root() / "annotations" / "val" / f"{name}.json")
    assert evaluate(gt, out).table() in table
