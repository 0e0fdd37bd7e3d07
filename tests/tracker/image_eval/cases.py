"""The reference fixtures of ``shared/fixtures/bench-metrics`` (mmpose 0.29's own numbers).

Each ``<benchmark>.json`` holds cases: the exact ``data_cfg``, a prediction set (``preds/``) and
the metric dict mmpose's ``evaluate()`` returned on real annotation files. ``fixture_params``
lists every case present at collection time, so added cases are checked too.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.shared_data import SHARED_ROOT, shared_path

FIXTURES = ("fixtures", "bench-metrics")
TESTDATA = ("data", "mmpose-testdata")
COCO_MINI_ANN = ("data", "coco-mini-val2017", "annotations", "person_keypoints_val2017.json")


def fixture_params(*benchmarks: str) -> list:
    """pytest params (benchmark, case index) for every case of these fixture files."""
    params = []
    for benchmark in benchmarks:
        path = SHARED_ROOT.joinpath(*FIXTURES, f"{benchmark}.json")
        if not path.is_file():
            params.append(pytest.param(benchmark, -1, id=f"{benchmark}-absent"))
            continue
        for index, case in enumerate(json.loads(path.read_text())["cases"]):
            params.append(pytest.param(benchmark, index,
                                       id=f"{benchmark}-{case['variant']}-{case['level']}"))
    return params


def load_case(benchmark: str, index: int) -> tuple[dict, dict]:
    """(case, prediction file) of one fixture case; skips when the fixtures are absent."""
    document = json.loads(shared_path(*FIXTURES, f"{benchmark}.json").read_text())
    case = document["cases"][index]
    predictions = json.loads(shared_path(*FIXTURES, case["predictions_file"]).read_text())
    return case, predictions


def mmpose_testdata(*parts: str) -> Path:
    return shared_path(*TESTDATA, *parts)


def annotation_file(benchmark: str, case: dict, tmp_path: Path) -> Path:
    """The annotation file mmpose evaluated (the derived ones rebuilt in ``tmp_path``)."""
    if benchmark == "coco_mini_val2017":
        return shared_path(*COCO_MINI_ANN)
    name = case["annotation_file_evaluated"]
    if name.startswith("derived"):                       # CrowdPose crowd-index variant
        data = json.loads(mmpose_testdata("crowdpose", "test_crowdpose.json").read_text())
        override = json.loads(shared_path(*FIXTURES, "derived",
                                          "crowdpose_crowdindex_variant.json").read_text())
        for image in data["images"]:
            image["crowdIndex"] = override["crowdIndex_by_image_id"][str(image["id"])]
        return _write(tmp_path / "test_crowdpose_crowdindex_variant.json", data)
    path = mmpose_testdata(*name[len("tests/data/"):].split("/"))
    if benchmark == "mpii_trb":                          # add the derived head boxes
        data = json.loads(path.read_text())
        boxes = json.loads(shared_path(*FIXTURES, "derived", "mpii_trb_headboxes.json")
                           .read_text())["headbox_by_annotation_id"]
        for ann in data["annotations"]:
            ann["headbox"] = boxes[str(ann["id"])]
        return _write(tmp_path / "test_mpii_trb.json", data)
    return path


def evaluate_kwargs(benchmark: str) -> dict:
    """Extra ``evaluate_predictions`` arguments of a fixture benchmark."""
    if benchmark == "mpii":
        return {"gt_path": shared_path(*FIXTURES, "derived", "mpii_gt_val.mat")}
    return {}


def benchmark_name(benchmark: str) -> str:
    """The ``BENCHMARKS`` name of a fixture file (COCO-mini is scored as coco)."""
    return "coco" if benchmark == "coco_mini_val2017" else benchmark


def _write(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path
