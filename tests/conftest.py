import json
from pathlib import Path

import pytest

from tests.shared_data import PARITY_DIR, checkpoint_recipe, shared_path


@pytest.fixture(autouse=True)
def no_internet_downloads(monkeypatch):
    """Zoo downloads go to a closed port on 127.0.0.1 unless a test points ``POSETRACK_MIRROR``
    at its own local server: no test ever fetches weights from the real addresses."""
    monkeypatch.setenv("POSETRACK_MIRROR", "http://127.0.0.1:9/")


@pytest.fixture(scope="session")
def parity_checkpoints(tmp_path_factory):
    """``make(file_name) -> Path``: writes (once per session) the synthetic checkpoint of
    ``checkpoints.json`` with that zoo file name, in mmpose's layout."""
    index = json.loads(shared_path(*PARITY_DIR, "checkpoints.json").read_text())
    folder = tmp_path_factory.mktemp("parity_checkpoints")
    made: dict[str, Path] = {}

    def make(file_name: str, legacy: bool = False) -> Path:
        key = (file_name, legacy)
        if key not in made:
            entry = index[file_name]
            schema = shared_path(*PARITY_DIR, entry["schema"])
            out = folder / ("legacy" if legacy else "zip") / file_name
            checkpoint_recipe().make_checkpoint(str(schema), str(out), salt=entry["salt"],
                                                legacy=legacy)
            made[key] = out
        return made[key]

    make.index = index
    return make
