"""Session fixtures for the mmdet detectors: the parity folder's synthetic checkpoints (written
once per session with its own recipe) and one detector of each model."""
import pytest

from tests.detectors.mmdet_parity import mmdet_recipe


@pytest.fixture(scope="session")
def mmdet_checkpoints(tmp_path_factory):
    """``make("cascade" | "yolov3") -> Path``: the synthetic checkpoint, written once."""
    folder = tmp_path_factory.mktemp("mmdet_checkpoints")
    made = {}

    def make(model: str):
        if model not in made:       # (a skip for missing shared data must not be remembered)
            path = folder / f"{model}.pth"
            mmdet_recipe().make_checkpoint(model, str(path))
            made[model] = path
        return made[model]

    return make


@pytest.fixture(scope="session")
def cascade_detector(mmdet_checkpoints):
    from detectors import load_detector
    return load_detector("cascade_rcnn_x101_64x4d_fpn_20e_coco",
                         checkpoint=mmdet_checkpoints("cascade"))


@pytest.fixture(scope="session")
def yolov3_detector(mmdet_checkpoints):
    from detectors import load_detector
    return load_detector("yolov3_d53_mstrain-608_273e_coco",
                         checkpoint=mmdet_checkpoints("yolov3"))
