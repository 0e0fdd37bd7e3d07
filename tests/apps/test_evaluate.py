"""posetrack-eval from the command line: tables, JSON output and exit codes."""
import json
import re

import pytest

from apps import evaluate as cli
from tests.shared_data import shared_path
from tests.tracker.eval.cases import (MMPOSE_VAL, SANITY_CASES, build_case, person, sanity_gt,
                                      video, write_dirs)

A, B = (100, 100), (400, 100)


def _dirs(tmp_path, pred_frames=None):
    gt = video([[person(1, *A), person(2, *B)]] * 3)
    pred = video(pred_frames or [[person(7, *A), person(8, *B)]] * 3)
    return write_dirs(tmp_path, {"s": gt}, {"s": pred})


def test_prints_poseval_tables_and_writes_json(tmp_path, capsys):
    gt_dir, pred_dir = _dirs(tmp_path, [[person(7, *A)]] * 3)    # person 2 never predicted
    out = tmp_path / "out" / "results.json"
    assert cli.main([str(gt_dir), str(pred_dir), "--json", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "Average Precision (AP) metric:",
        "& Head & Shou & Elb  & Wri  & Hip  & Knee & Ankl & Total\\\\",
        "& 50.0 & 50.0 & 50.0 & 50.0 & 50.0 & 50.0 & 50.0 & 50.0 \\\\",
        "Multiple Object Tracking (MOT) metrics:",
        "& MOTA & MOTA & MOTA & MOTA & MOTA & MOTA & MOTA & MOTA & MOTP & Prec & Rec  \\\\",
        "& Head & Shou & Elb  & Wri  & Hip  & Knee & Ankl & Total& Total& Total& Total\\\\",
        "& 50.0 & 50.0 & 50.0 & 50.0 & 50.0 & 50.0 & 50.0 & 50.0 &100.0 &100.0 & 50.0 \\\\",
        # person 1 tracked in 3 frames, person 2 missed: IDTP 3, IDFN 3, IDFP 0;
        # DetA = 3 / 6, AssA = 1 -> HOTA = sqrt(0.5) = 70.7
        "Identity metrics (IoU: person boxes, OKS: poses):",
        "& Sim. & IDF1 & IDP  & IDR  & HOTA & DetA & AssA & LocA \\\\",
        "&  IoU & 66.7 &100.0 & 50.0 & 70.7 & 50.0 &100.0 &100.0 \\\\",
        "&  OKS & 66.7 &100.0 & 50.0 & 70.7 & 50.0 &100.0 &100.0 \\\\",
    ]
    result = json.loads(out.read_text())
    assert set(result) == {"ap", "mota", "motp", "motp_legacy", "precision", "recall",
                           "ap_per_joint", "mota_per_joint", "identity"}
    assert result["identity"]["boxes"] == {
        "similarity": "IoU", "idf1": pytest.approx(200 / 3), "idp": 100.0, "idr": 50.0,
        "hota": pytest.approx(100 * 0.5 ** 0.5), "deta": 50.0, "assa": 100.0, "loca": 100.0,
        "idtp": 3, "idfn": 3, "idfp": 0}
    assert result["identity"]["poses"]["similarity"] == "OKS"
    assert list(result["ap"]) == ["head", "shoulder", "elbow", "wrist", "hip", "knee",
                                  "ankle", "total"]
    assert result["mota"]["total"] == 50.0 and result["recall"] == 50.0
    assert result["motp"] == result["motp_legacy"] == 100.0
    assert len(result["ap_per_joint"]) == 15 and result["ap_per_joint"]["head_bottom"] == 50.0
    assert [p.name for p in out.parent.iterdir()] == ["results.json"]   # no temp file left


def test_no_tracking_and_per_sequence(tmp_path, capsys):
    gt_dir, pred_dir = _dirs(tmp_path)
    out = tmp_path / "r.json"
    assert cli.main([str(gt_dir), str(pred_dir), "--no-tracking", "--per-sequence",
                     "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Sequence s:" in text and "All sequences:" in text and "MOTA" not in text
    assert "IDF1" not in text
    result = json.loads(out.read_text())
    assert result["mota"] is None and result["motp"] is None and result["mota_per_joint"] is None
    assert result["identity"] is None
    assert result["per_sequence"]["s"]["ap"]["total"] == 100.0


def test_nan_is_written_as_null(tmp_path):
    # noses predicted but never annotated: nose AP NaN -> head NaN; nose MOTA NaN
    gt = video([[person(1, *A, drop=("nose",))]] * 3)
    gt_dir, pred_dir = write_dirs(tmp_path, {"s": gt}, {"s": video([[person(1, *A)]] * 3)})
    out = tmp_path / "r.json"
    assert cli.main([str(gt_dir), str(pred_dir), "--json", str(out)]) == 0
    result = json.loads(out.read_text())   # strict JSON: no NaN tokens
    assert "NaN" not in out.read_text()
    assert result["ap"]["head"] is None and result["ap_per_joint"]["nose"] is None
    assert result["mota"]["head"] is None and result["mota"]["total"] == 100.0


def test_sanity_run_through_the_command_line(tmp_path, capsys):
    """Spec §10 "swap ids 0<->1 from frame 6": the printed MOT row."""
    gt, pred = build_case(SANITY_CASES["swap_ids"], sanity_gt(shared_path(*MMPOSE_VAL)))
    gt_dir, pred_dir = write_dirs(tmp_path, gt, pred)
    assert cli.main([str(gt_dir), str(pred_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[6] == \
        "& 96.7 & 96.7 & 96.7 & 96.4 & 96.6 & 96.7 & 98.9 & 96.9 & 99.1 &100.0 &100.0 \\\\"
    # IDF1 sees the swap; on boxes less, as the two swapped people's boxes overlap
    assert lines[-2:] == [
        "&  IoU & 92.9 & 92.9 & 92.9 & 90.0 &100.0 & 81.0 &100.0 \\\\",
        "&  OKS & 85.7 & 85.7 & 85.7 & 90.0 &100.0 & 81.0 &100.0 \\\\"]


def test_no_identity_prints_only_poseval_tables(tmp_path, capsys):
    gt_dir, pred_dir = _dirs(tmp_path)
    out = tmp_path / "r.json"
    assert cli.main([str(gt_dir), str(pred_dir), "--no-identity", "--json", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 7 and lines[-1].startswith("&100.0 &100.0")
    assert json.loads(out.read_text())["identity"] is None


def test_per_sequence_tables_carry_identity_rows(tmp_path, capsys):
    gt_dir, pred_dir = _dirs(tmp_path)
    assert cli.main([str(gt_dir), str(pred_dir), "--per-sequence"]) == 0
    text = capsys.readouterr().out
    assert text.count("Identity metrics") == 2          # sequence s, then all sequences


def test_single_frame_sequences_get_a_note(tmp_path, capsys):
    gt_dir, pred_dir = write_dirs(tmp_path, {"s": video([[person(1, *A)]])},
                                  {"s": video([[person(1, *A)]])})
    assert cli.main([str(gt_dir), str(pred_dir)]) == 0
    captured = capsys.readouterr()
    assert "&  nan &" in captured.out
    assert "1 sequence(s) with a single evaluated frame" in captured.err


def _bad_keypoints(tmp_path):
    gt_dir, pred_dir = _dirs(tmp_path)
    data = json.loads((pred_dir / "s.json").read_text())
    data["annotations"][1]["keypoints"] = data["annotations"][1]["keypoints"][:-3]
    (pred_dir / "s.json").write_text(json.dumps(data))
    return gt_dir, pred_dir


def _nan_coordinate(tmp_path):
    return _dirs(tmp_path, [[person(7, *A, nan=("left_knee",)), person(8, *B)]] * 3)


def _duplicate_ids(tmp_path):
    return _dirs(tmp_path, [[person(7, *A), person(7, *B)]] * 3)


def _missing_file(tmp_path):
    gt_dir, pred_dir = _dirs(tmp_path)
    (pred_dir / "s.json").unlink()
    return gt_dir, pred_dir


def _malformed(tmp_path):
    gt_dir, pred_dir = _dirs(tmp_path)
    (pred_dir / "s.json").write_text("{")
    return gt_dir, pred_dir


def _track_id_range(tmp_path):
    return _dirs(tmp_path, [[person(7, *A), person(10000, *B)]] * 3)


def _frame_count(tmp_path):
    return _dirs(tmp_path, [[person(7, *A), person(8, *B)]] * 2)


def _file_name(tmp_path):
    gt_dir, pred_dir = _dirs(tmp_path)
    data = json.loads((pred_dir / "s.json").read_text())
    data["images"][2]["file_name"] = "frames/2.jpg"
    (pred_dir / "s.json").write_text(json.dumps(data))
    return gt_dir, pred_dir


def _bad_bbox(tmp_path):
    gt_dir, pred_dir = _dirs(tmp_path)
    data = json.loads((pred_dir / "s.json").read_text())
    data["annotations"][1]["bbox"] = [1, 2, -3, 4]
    (pred_dir / "s.json").write_text(json.dumps(data))
    return gt_dir, pred_dir


ERROR = r"^posetrack-eval: error: "


@pytest.mark.parametrize("make, message", [
    (_bad_keypoints, ERROR + r".*pred/s\.json: annotations\[1\]\.keypoints: expected 51 "),
    (_nan_coordinate, ERROR + r".*pred/s\.json: annotations\[0\]\.keypoints: non-finite"),
    (_duplicate_ids, ERROR + r".*pred/s\.json: annotations\[\]\.track_id: 7 appears 2 times"),
    (_missing_file, ERROR + r".*pred/s\.json: prediction file does not exist"),
    (_malformed, ERROR + r".*pred/s\.json: not valid JSON"),
    (_track_id_range, ERROR + r".*pred/s\.json: annotations\[1\]\.track_id: 10000 is out"),
    (_frame_count, ERROR + r".*pred/s\.json: images: 2 prediction frames, expected 3"),
    (_file_name, ERROR + r".*pred/s\.json: images\[2\]\.file_name: cannot parse"),
    (_bad_bbox, ERROR + r".*pred/s\.json: annotations\[1\]\.bbox: expected 4 finite"),
])
def test_bad_input_is_one_line_error_and_exit_1(tmp_path, capsys, make, message):
    gt_dir, pred_dir = make(tmp_path)
    out = tmp_path / "r.json"
    out.write_text("previous results")
    assert cli.main([str(gt_dir), str(pred_dir), "--json", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert re.search(message, err)
    assert out.read_text() == "previous results"        # untouched on failure


def test_nonfinite_coordinates_accepted_on_request(tmp_path):
    gt_dir, pred_dir = _nan_coordinate(tmp_path)
    assert cli.main([str(gt_dir), str(pred_dir), "--allow-nonfinite"]) == 0


def test_usage_errors_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([str(tmp_path)])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        cli.main([str(tmp_path), str(tmp_path), "--bogus"])
    assert e.value.code == 2
