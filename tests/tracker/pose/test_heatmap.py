"""The heatmap codec: exact against mmpose's decoder on hand-made edge cases, round trips."""
import numpy as np
import pytest
import torch

from tests.shared_data import PARITY_DIR, shared_path
from tracker.pose.heatmap import decode, encode, flip_back, fuse_flip, heatmap_to_image


@pytest.fixture(scope="module")
def cases():
    return np.load(shared_path(*PARITY_DIR, "refs", "decode_cases.npz"))


def test_decode_equals_mmpose_exactly(cases):
    heatmaps = cases["heatmaps"]
    coords, scores = decode(heatmaps)
    keypoints = heatmap_to_image(coords, cases["center"], cases["scale"] * np.float32(200),
                                 (heatmaps.shape[3], heatmaps.shape[2]))
    np.testing.assert_array_equal(scores, cases["maxvals"][..., 0])
    for k, name in enumerate(cases["case_names"]):
        np.testing.assert_array_equal(keypoints[:, k], cases["preds"][:, k], err_msg=str(name))


def test_flip_fusion_equals_mmpose_exactly(cases):
    pairs = [tuple(int(i) for i in p) for p in cases["fusion_flip_pairs"]]
    fused = fuse_flip(torch.from_numpy(cases["fusion_hm"]),
                      torch.from_numpy(cases["fusion_hm_flipped_input"]), pairs)
    np.testing.assert_array_equal(fused.numpy(), cases["fusion_out"])


@pytest.mark.parametrize("x,y,expected", [
    (10, 10, (10.25, 9.75)),  # right neighbour higher -> +0.25; upper higher -> -0.25
    (1, 10, (1.0, 10.0)),     # column 1 gets no shift in x nor y (mmpose quirk: 1 < px)
    (0, 10, (0.0, 10.0)),     # border: no shift at all
    (47, 63, (47.0, 63.0)),
])
def test_quarter_pixel_shift(x, y, expected):
    heatmap = np.zeros((1, 1, 64, 48), np.float32)
    heatmap[0, 0, y, x] = 1.0
    if 0 < x < 47:
        heatmap[0, 0, y, x + 1] = 0.5
    if 0 < y < 63:
        heatmap[0, 0, y - 1, x] = 0.5
    coords, scores = decode(heatmap)
    assert tuple(coords[0, 0]) == expected and scores[0, 0] == 1.0


def test_non_positive_maximum_gives_minus_one():
    coords, scores = decode(np.full((2, 3, 8, 8), -0.5, np.float32))
    assert (coords == -1).all() and (scores == -0.5).all()


def test_encode_decode_round_trip():
    rng = np.random.default_rng(0)
    points = rng.uniform([2, 2], [45, 61], size=(5, 17, 2))
    coords, scores = decode(encode(points, (48, 64)))
    assert np.abs(coords - points).max() <= 0.75  # integer peak + quarter shift
    assert np.all(scores > 0.5)


def test_heatmap_to_image_maps_the_crop_onto_the_box():
    # heatmap x = 0 is the crop's left edge, x = W its right edge
    coords = np.array([[[0.0, 0.0], [48.0, 64.0]]], np.float32)
    out = heatmap_to_image(coords, np.array([[100.0, 200.0]]), np.array([[96.0, 128.0]]),
                           (48, 64))
    np.testing.assert_array_equal(out, [[[52.0, 136.0], [148.0, 264.0]]])


def test_flip_back_swaps_pairs_and_mirrors():
    heatmaps = torch.arange(3 * 2 * 4, dtype=torch.float32).view(1, 3, 2, 4)
    out = flip_back(heatmaps, [(0, 2)])
    assert torch.equal(out[0, 0], heatmaps[0, 2].flip(1))
    assert torch.equal(out[0, 1], heatmaps[0, 1].flip(1))


def test_decode_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"\(N, K, H, W\)"):
        decode(np.zeros((17, 64, 48), np.float32))
