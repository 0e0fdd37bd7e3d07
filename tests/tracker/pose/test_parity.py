"""Keypoints and heatmaps equal mmpose 0.29's on its own synthetic checkpoints (public API)."""
import json

import cv2
import numpy as np
import pytest
import torch

from tests.shared_data import PARITY_DIR, shared_path
from tracker.pose import load_pose_model

REFERENCE_MODELS = {  # refs/<stem>.json -> zoo file name of its checkpoint
    "res50_coco_256x192": "res50_coco_256x192-ec54d7f3_20200709.pth",
    "res50_mpii_256x256": "res50_mpii_256x256-418ffc88_20200812.pth",
}
XY_ATOL, SCORE_ATOL, HEATMAP_ATOL = 1e-3, 1e-4, 1e-4


@pytest.fixture(scope="module", params=sorted(REFERENCE_MODELS))
def reference(request, parity_checkpoints):
    stem = request.param
    refs = json.loads(shared_path(*PARITY_DIR, "refs", f"{stem}.json").read_text())
    heatmaps = np.load(shared_path(*PARITY_DIR, "refs", f"{stem}_heatmaps.npz"))
    model = load_pose_model(stem, checkpoint=parity_checkpoints(REFERENCE_MODELS[stem]))
    return stem, refs, heatmaps, model


def _image(relpath):
    return cv2.imread(str(shared_path(*PARITY_DIR, "images", relpath)))


@pytest.mark.parametrize("flip_test", [True, False], ids=["flip", "noflip"])
def test_keypoints_match_mmpose(reference, flip_test):
    stem, refs, _, model = reference
    suffix = "flip" if flip_test else "noflip"
    by_image = {}
    for person in refs["persons"]:
        by_image.setdefault(person["image"], []).append(person)
    checked = 0
    for relpath, persons in by_image.items():  # all boxes of an image in one call, as mmpose
        poses = model.predict(_image(relpath), [p["bbox_xywh"] for p in persons],
                              flip_test=flip_test)
        for i, person in enumerate(persons):
            expected = np.asarray(person[f"keypoints_{suffix}"], np.float32)
            solid = ~np.asarray(person[f"diag_{suffix}"]["fragile"])
            np.testing.assert_allclose(poses.keypoints[i][solid], expected[solid, :2], rtol=0,
                                       atol=XY_ATOL, err_msg=f"{stem} {relpath} person {i}")
            np.testing.assert_allclose(poses.keypoint_scores[i][solid], expected[solid, 2],
                                       rtol=0, atol=SCORE_ATOL)
            checked += int(solid.sum())
    assert checked > 0.8 * sum(len(p[f"keypoints_{suffix}"]) for p in refs["persons"])


@pytest.mark.parametrize("flip_test", [True, False], ids=["flip", "noflip"])
def test_heatmaps_match_mmpose(reference, flip_test):
    stem, refs, heatmaps, model = reference
    expected = heatmaps["heatmaps_flip" if flip_test else "heatmaps_noflip"]
    for row, index in enumerate(heatmaps["person_index"]):
        person = refs["persons"][int(index)]
        out = model.heatmaps(_image(person["image"]), [person["bbox_xywh"]], flip_test=flip_test)
        assert out.heatmaps.shape[1:] == expected.shape[1:]
        np.testing.assert_allclose(out.heatmaps[0], expected[row], rtol=0, atol=HEATMAP_ATOL)
        np.testing.assert_allclose(out.centers[0], person["center"], rtol=0, atol=0)
        np.testing.assert_allclose(out.sizes[0] / 200.0, person["scale"], rtol=1e-7, atol=0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_keypoints_match_mmpose_on_cuda(parity_checkpoints):
    refs = json.loads(shared_path(*PARITY_DIR, "refs", "res50_coco_256x192.json").read_text())
    model = load_pose_model("res50_coco_256x192", device="cuda",
                            checkpoint=parity_checkpoints(REFERENCE_MODELS["res50_coco_256x192"]))
    for person in refs["persons"]:
        poses = model.predict(_image(person["image"]), [person["bbox_xywh"]])
        expected = np.asarray(person["keypoints_flip"], np.float32)
        solid = ~np.asarray(person["diag_flip"]["fragile"])
        # GPU convolutions (TF32 off by default for conv? not guaranteed) round differently:
        # use the fixture README's looser bound for non-bit-exact arithmetic.
        np.testing.assert_allclose(poses.keypoints[0][solid], expected[solid, :2], atol=5e-3)
        np.testing.assert_allclose(poses.keypoint_scores[0][solid], expected[solid, 2], atol=1e-3)
