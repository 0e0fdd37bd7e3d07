"""COCO, COCO-mini, OCHuman, AIC, MHP, CrowdPose: mmpose 0.29's numbers, and properties."""
import contextlib
import io
import json

import numpy as np
import pytest

from tests.shared_data import shared_path
from tests.tracker.image_eval.cases import (COCO_MINI_ANN, annotation_file, benchmark_name,
                                            fixture_params, load_case, mmpose_testdata)
from tracker.boxes import mmpose_center_scale
from tracker.image_eval import BENCHMARKS, evaluate_predictions
from tracker.image_eval.coco_eval import evaluate_keypoints
from tracker.image_eval.coco_style import coco_results, select_persons
from tracker.image_eval.datasets import ground_truth_persons, load_coco_ground_truth
from tracker.image_eval.persons import parse_persons
from tracker.image_eval.settings import EvalSettings
from tracker.pose.zoo import keypoint_sets
from tracker.errors import ConfigError

OKS_BENCHMARKS = ("coco", "coco_mini_val2017", "ochuman", "aic", "mhp", "crowdpose")
COCO_SIGMAS = np.array(keypoint_sets()["coco"].oks_sigmas)


@pytest.mark.parametrize("benchmark,index", fixture_params(*OKS_BENCHMARKS))
def test_reproduces_mmpose_metrics(benchmark, index, tmp_path):
    case, predictions = load_case(benchmark, index)
    metrics = evaluate_predictions(benchmark_name(benchmark),
                                   annotation_file(benchmark, case, tmp_path),
                                   predictions["persons"], **case["data_cfg"])
    assert list(metrics) == list(case["metrics"])            # mmpose's names, in its order
    for name, expected in case["metrics"].items():
        assert metrics[name] == pytest.approx(expected, abs=1e-9, rel=0), name


@pytest.mark.parametrize("benchmark,index", fixture_params(*OKS_BENCHMARKS))
def test_rescoring_and_oks_nms_keep_mmposes_persons(benchmark, index, tmp_path):
    case, predictions = load_case(benchmark, index)
    truth = load_coco_ground_truth(annotation_file(benchmark, case, tmp_path))
    kset = keypoint_sets()[BENCHMARKS[benchmark_name(benchmark)].keypoint_set]
    persons = parse_persons(predictions["persons"], len(kset), need_areas=True)
    selections = select_persons(truth, persons, EvalSettings(**case["data_cfg"]),
                                kset.oks_sigmas)
    kept = [{"image_id": s.image_id, "bbox_id": persons.bbox_ids[i], "score": score}
            for s in selections for i, score in zip(s.indices.tolist(), s.scores.tolist())]
    assert kept == case["kept_after_rescore_and_oks_nms"]      # same persons, order, scores


def _gt_as_predictions(truth, rng=None, noise=0.0):
    """One prediction per evaluated GT person: its keypoints (+ noise), all scores 1."""
    persons = []
    for image_id, bbox_id, ann, box in ground_truth_persons(truth):
        keypoints = np.array(ann["keypoints"], np.float64).reshape(-1, 3)
        labelled = keypoints[:, 2] > 0
        keypoints[~labelled, :2] = [box[0] + box[2] / 2, box[1] + box[3] / 2]
        if noise:
            keypoints[:, :2] += rng.normal(0, noise * np.sqrt(box[2] * box[3]),
                                           (len(keypoints), 2))
        keypoints[:, 2] = 1.0 if rng is None else rng.uniform(0.05, 1, len(keypoints))
        center, scale = mmpose_center_scale(np.float32([box]), 192 / 256)
        persons.append({"image_file": truth.id_to_image[image_id]["file_name"],
                        "bbox_id": bbox_id, "keypoints": np.float32(keypoints).tolist(),
                        "bbox_score": 1.0, "area": float(np.prod(scale * 200)),
                        "center": center[0].tolist(), "scale": scale[0].tolist()})
    return persons


@pytest.mark.parametrize("benchmark,parts", [
    ("coco", ("coco", "test_coco.json")), ("aic", ("aic", "test_aic.json")),
    ("mhp", ("mhp", "test_mhp.json")), ("crowdpose", ("crowdpose", "test_crowdpose.json"))])
def test_perfect_predictions_score_one(benchmark, parts):
    truth = load_coco_ground_truth(mmpose_testdata(*parts))
    metrics = evaluate_predictions(benchmark, truth.path, _gt_as_predictions(truth))
    for name in ("AP", "AP .5", "AP .75", "AR", "AR .5", "AR .75"):
        assert metrics[name] == pytest.approx(1.0, abs=1e-12), name


def test_order_of_persons_does_not_matter():
    truth = load_coco_ground_truth(shared_path(*COCO_MINI_ANN))
    persons = _gt_as_predictions(truth, np.random.default_rng(3), noise=0.03)
    reference = evaluate_predictions("coco", truth.path, persons)
    shuffled = [persons[i] for i in np.random.default_rng(4).permutation(len(persons))]
    assert evaluate_predictions("coco", truth.path, shuffled) == reference


def test_repeated_bbox_id_counts_once_as_in_mmpose():
    truth = load_coco_ground_truth(mmpose_testdata("coco", "test_coco.json"))
    persons = _gt_as_predictions(truth, np.random.default_rng(5), noise=0.02)
    repeated = persons + [{**persons[0], "keypoints": persons[1]["keypoints"]}]
    assert evaluate_predictions("coco", truth.path, repeated) == \
        evaluate_predictions("coco", truth.path, persons)


def _pycocotools_stats(annotation, results):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(annotation))
        evaluator = COCOeval(gt, gt.loadRes(results), "keypoints")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats.tolist()


@pytest.mark.parametrize("seed", range(6))
def test_coco_numbers_equal_pycocotools_on_other_prediction_sets(seed):
    """With COCO's sigmas and areas, xtcocotools' rules and pycocotools' agree: an
    independent check of the evaluator on sets not in the fixtures (drops, false positives,
    whole images without predictions, which count as misses in both)."""
    truth = load_coco_ground_truth(shared_path(*COCO_MINI_ANN))
    rng = np.random.default_rng(seed)
    persons = _gt_as_predictions(truth, rng, noise=[0.01, 0.03, 0.08][seed % 3])
    dropped_image = persons[seed]["image_file"]
    persons = [p for p in persons if rng.random() > 0.1 and p["image_file"] != dropped_image]
    for k in range(3):
        fake = {**persons[k], "bbox_id": 1000 + k, "bbox_score": 0.3}
        fake["keypoints"] = (np.array(fake["keypoints"]) + [40, -25, 0]).tolist()
        persons.append(fake)
    predictions = parse_persons(persons, 17, need_areas=True)
    results = coco_results(predictions, select_persons(truth, predictions, EvalSettings(),
                                                       COCO_SIGMAS), 1)
    ours = evaluate_keypoints(images=truth.images, annotations=truth.annotations,
                              categories=truth.categories, results=results,
                              sigmas=COCO_SIGMAS, use_area=True, crowd=False)
    reference = _pycocotools_stats(truth.path, json.loads(json.dumps(results)))
    np.testing.assert_allclose(list(ours.values()), reference, rtol=0, atol=1e-12)
    assert ours["AR"] < 1.0                                     # the dropped image is missed


def test_writes_coco_results_file(tmp_path):
    case, predictions = load_case("coco", 0)
    ann = annotation_file("coco", case, tmp_path)
    metrics = evaluate_predictions("coco", ann, predictions["persons"], results_dir=tmp_path)
    results = json.loads((tmp_path / "result_keypoints.json").read_text())
    assert len(results) == len(case["kept_after_rescore_and_oks_nms"])
    assert set(results[0]) == {"image_id", "category_id", "keypoints", "score", "center", "scale"}
    assert _pycocotools_stats(ann, results)[0] == pytest.approx(metrics["AP"], abs=1e-12)


def test_soft_nms_and_no_nms_are_options():
    truth = load_coco_ground_truth(mmpose_testdata("coco", "test_coco.json"))
    persons = _gt_as_predictions(truth, np.random.default_rng(6), noise=0.01)
    duplicate = {**persons[0], "bbox_id": 99}
    hard = evaluate_predictions("coco", truth.path, persons + [duplicate])
    none = evaluate_predictions("coco", truth.path, persons + [duplicate], use_nms=False)
    soft = evaluate_predictions("coco", truth.path, persons + [duplicate], soft_nms=True)
    assert hard == evaluate_predictions("coco", truth.path, persons)   # duplicate suppressed
    assert none["AP"] <= hard["AP"] and soft["AP"] <= hard["AP"]


@pytest.mark.parametrize("change,message", [
    (lambda p: p[0].update(image_file="nope.jpg"), r"persons\[0\].image_file: 'nope.jpg' is not"),
    (lambda p: p[1].update(keypoints=[[0, 0, 1]] * 16), r"persons\[1\].keypoints: expected 17"),
    (lambda p: p[2].pop("area"), r"persons\[2\].area: missing"),
    (lambda p: p[0].update(bbox_id=1.5), r"persons\[0\].bbox_id: expected an integer"),
    (lambda p: p[0].update(keypoints=[[float("nan"), 0, 1]] * 17), r"persons\[0\].keypoints"),
])
def test_bad_persons_are_errors_naming_the_field(change, message):
    truth = load_coco_ground_truth(mmpose_testdata("coco", "test_coco.json"))
    persons = _gt_as_predictions(truth)
    change(persons)
    with pytest.raises(ValueError, match=message):
        evaluate_predictions("coco", truth.path, persons)


@pytest.mark.parametrize("options,message", [
    ({"oks_thres": 0.9}, r"unknown option\(s\) \['oks_thres'\]"),
    ({"num_joints": 14}, "num_joints=14, but the benchmark has 17 keypoints"),
    ({"soft_nms": "yes"}, "soft_nms must be true or false"),
])
def test_bad_options_are_errors(options, message):
    truth = load_coco_ground_truth(mmpose_testdata("coco", "test_coco.json"))
    with pytest.raises(ConfigError, match=message):
        evaluate_predictions("coco", truth.path, _gt_as_predictions(truth), **options)


def test_fixture_name_of_coco_mini_is_an_alias_of_coco():
    case, predictions = load_case("coco_mini_val2017", 0)
    ann = shared_path(*COCO_MINI_ANN)
    assert evaluate_predictions("coco_mini_val2017", ann, predictions["persons"]) == \
        evaluate_predictions("coco", ann, predictions["persons"])


def test_unknown_benchmark_lists_the_names():
    with pytest.raises(ValueError, match="valid names are coco, ochuman"):
        evaluate_predictions("coco17", "x.json", [])
