"""Running the tracking pipeline over a PoseTrack18 dataset split, one sequence at a time.

Layout read (the official one)::

    ROOT/annotations/<split>/<sequence>.json      PoseTrack18 ground truth
    ROOT/images/<split>/<sequence>/000000.jpg ... the frames the file's ``images`` list names

Prediction files get the ground truth's ``images`` in the same order with the same
``file_name``s, because poseval pairs prediction and ground-truth frames by position.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2

from tracker.errors import FileFormatError
from tracker.io.posetrack18 import read_posetrack18
from tracker.types import Frame


class DatasetError(FileFormatError):
    """The dataset folder is not in the PoseTrack18 layout (names the path)."""


@dataclass(frozen=True)
class Sequence:
    """One sequence: its name, ground-truth file and the frame files in the file's order."""

    name: str
    annotation_file: Path
    image_files: tuple[str, ...]        # file_name entries of the annotation file

    @property
    def sequence_folder(self) -> str:
        """The ``file_name`` folder, e.g. "images/val/012834_mpii_test"."""
        return self.image_files[0].rsplit("/", 1)[0] if self.image_files else self.name


def find_sequences(root: str | Path, split: str = "val",
                   names: tuple[str, ...] | None = None) -> list[Sequence]:
    """The sequences of ``ROOT/annotations/<split>``, sorted by name (or only ``names``)."""
    root = Path(root)
    folder = root / "annotations" / split
    if not folder.is_dir():
        raise DatasetError(f"{root} is not a PoseTrack18 root: {folder} does not exist "
                           f"(expected annotations/{split}/<sequence>.json)")
    files = sorted(folder.glob("*.json"))
    if names:
        by_name = {f.stem: f for f in files}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise DatasetError(f"{folder}: no annotation file for sequence(s) {missing}")
        files = [by_name[n] for n in names]
    if not files:
        raise DatasetError(f"{folder} holds no .json annotation files")
    return [_read_sequence(f) for f in files]


def _read_sequence(path: Path) -> Sequence:
    video = read_posetrack18(path, "annotation file")
    return Sequence(name=path.stem, annotation_file=path, image_files=tuple(video.file_names))


def sequence_frames(root: str | Path, sequence: Sequence, fps: float = 30.0) -> Iterator[Frame]:
    """The frames of ``sequence`` in the annotation file's order, read one at a time."""
    for index, file_name in enumerate(sequence.image_files):
        path = Path(root) / file_name
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetError(f"{path}: frame {index} of {sequence.annotation_file.name} is "
                               "missing or not a readable image")
        yield Frame(index=index, image=image, name=path.name, timestamp_s=index / fps)
