"""The one way tests reach ``../shared`` (read-only real data, models and parity fixtures).

The folder is ``$POSETRACK_SHARED`` if set, else ``<repo>/../shared``. Tests that need it call
``shared_path(...)``, which skips the test with the missing path in the reason.
"""
from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_ROOT = Path(os.environ.get("POSETRACK_SHARED", REPO_ROOT.parent / "shared")).resolve()
PARITY_DIR = ("fixtures", "mmpose-parity")


def shared_path(*parts: str) -> Path:
    """Path inside the shared folder; skips the calling test when it is absent."""
    path = SHARED_ROOT.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not found: {path} (set POSETRACK_SHARED to the shared "
                    "folder to run this test)")
    return path


@lru_cache(maxsize=None)
def checkpoint_recipe():
    """The fixture's ``make_checkpoint.py`` module (writes synthetic mmpose checkpoints)."""
    script = shared_path(*PARITY_DIR, "make_checkpoint.py")
    spec = importlib.util.spec_from_file_location("make_checkpoint", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
