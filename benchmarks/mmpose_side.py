"""mmpose 0.29's side of ``bench_vs_mmpose``; runs inside the mmpose venv, not the project's.

    MMPOSE_VENV/bin/python benchmarks/mmpose_side.py REQUEST.json

REQUEST.json (written by ``bench_vs_mmpose``): ``entry`` (one entry of the parity fixture's
checkpoints.json), ``checkpoint`` (.pth), ``image_npy`` (the decoded BGR uint8 frame),
``boxes_xywh``, ``repeats`` and ``threads``. The model config is built from ``entry``; the
timed call is mmpose's own ``inference_top_down_pose_model`` on the frame array, once untimed,
then ``repeats`` times. The last stdout line is one JSON object: ``seconds`` (one per timed
call), ``keypoints`` ([N][K][x, y, score] of the last call) and ``versions``.

Imports nothing from the project: it only calls mmpose's public API.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import numpy as np
import torch

#: The loss of the v0.29 config; only needed to build the head, unused at inference.
LOSS = dict(type="JointsMSELoss", use_target_weight=True)


def mmpose_config(entry: dict):
    """An ``mmcv.Config`` for ``init_pose_model`` from one checkpoints.json entry."""
    import mmcv

    width, height = entry["image_size_wh"]
    heat_w, heat_h = entry["heatmap_size_wh"]
    model = dict(type="TopDown", pretrained=None, backbone=entry["backbone"],
                 keypoint_head=dict(entry["keypoint_head"], loss_keypoint=LOSS),
                 train_cfg={}, test_cfg=entry["test_cfg"])
    data_cfg = dict(image_size=[width, height], heatmap_size=[heat_w, heat_h],
                    num_joints=entry["num_joints"])
    return mmcv.Config(dict(model=model, data_cfg=data_cfg,
                            test_pipeline=entry["test_pipeline"]))


def dataset_name(entry: dict) -> str:
    """mmpose's dataset class name of ``entry`` (e.g. coco -> TopDownCocoDataset)."""
    names = {"coco": "TopDownCocoDataset", "posetrack18": "TopDownPoseTrack18Dataset",
             "mpii": "TopDownMpiiDataset", "crowdpose": "TopDownCrowdPoseDataset"}
    return names[entry["dataset_name"]]


def run(request: dict) -> dict:
    """Time ``inference_top_down_pose_model`` as ``request`` says; the result dict."""
    import mmcv
    import mmpose
    from mmpose.apis import inference_top_down_pose_model, init_pose_model

    torch.set_num_threads(int(request["threads"]))
    entry = request["entry"]
    model = init_pose_model(mmpose_config(entry), request["checkpoint"], device="cpu")
    image = np.load(request["image_npy"])
    people = [{"bbox": np.asarray(box, np.float64)} for box in request["boxes_xywh"]]

    def call():
        return inference_top_down_pose_model(model, image, people, format="xywh",
                                             dataset=dataset_name(entry))[0]

    results = call()  # warm-up
    seconds = []
    for _ in range(int(request["repeats"])):
        start = time.perf_counter()
        results = call()
        seconds.append(time.perf_counter() - start)
    return {"seconds": seconds,
            "keypoints": [np.asarray(r["keypoints"], np.float64).tolist() for r in results],
            "versions": {"mmpose": mmpose.__version__, "mmcv": mmcv.__version__,
                         "torch": torch.__version__, "threads": torch.get_num_threads()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("request", help="JSON file written by bench_vs_mmpose")
    args = parser.parse_args(argv)
    with open(args.request, encoding="utf-8") as f:
        request = json.load(f)
    warnings.simplefilter("ignore")  # mmcv 2.0 notice, deprecated `dataset` argument
    result = run(request)
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
