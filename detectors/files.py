"""Reading box files: ``bbox`` validation and matching frames to image names.

Shared by ``precomputed.py`` (detection results) and ``posetrack_gt.py`` (annotations); the
JSON itself is read by ``tracker.files.read_json`` (PoseTrack18 files by
``tracker.io.posetrack18.read_posetrack18``). Every error is a ``DetectionsFileError`` (a
``FileFormatError``) naming the file, the entry index and the field.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Optional

from tracker.errors import FileFormatError


class DetectionsFileError(FileFormatError):
    """A detections or annotation file is malformed (names the file, entry and field)."""


def is_number(value) -> bool:
    """True for int/float values (JSON numbers), False for bools, strings, None."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_bbox_xywh(value, where: str) -> tuple[float, float, float, float]:
    """A COCO ``bbox`` [x, y, width, height] checked to be 4 finite numbers with sides >= 0.

    Args:
        value: the JSON value of the ``bbox`` field.
        where: prefix of error messages, e.g. "dets.json: entry 3".
    """
    if not (isinstance(value, (list, tuple)) and len(value) == 4
            and all(is_number(v) for v in value)):
        raise DetectionsFileError(f"{where}: 'bbox' must be [x, y, width, height] (4 numbers), "
                                  f"got {value!r}")
    if not all(math.isfinite(v) for v in value):
        raise DetectionsFileError(f"{where}: 'bbox' has a non-finite value: {value!r}")
    x, y, w, h = (float(v) for v in value)
    if w < 0 or h < 0:
        raise DetectionsFileError(f"{where}: 'bbox' has a negative width or height: {value!r}")
    return x, y, w, h


def image_file_names(data, where: str) -> dict[int, str]:
    """``{image id: file_name}`` of a COCO-style mapping with an ``images`` list."""
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, list):
        raise DetectionsFileError(f"{where}: expected a mapping with an 'images' list "
                                  "(COCO style: [{'id', 'file_name'}, ...])")
    names = {}
    for index, image in enumerate(images):
        if not isinstance(image, dict):
            raise DetectionsFileError(f"{where}: images[{index}] must be a mapping, "
                                      f"got {type(image).__name__}")
        image_id, file_name = image.get("id"), image.get("file_name")
        if not isinstance(image_id, (int, str)) or isinstance(image_id, bool):
            raise DetectionsFileError(f"{where}: images[{index}]: 'id' must be an integer or "
                                      f"a string, got {image_id!r}")
        if not isinstance(file_name, str) or not file_name:
            raise DetectionsFileError(f"{where}: images[{index}]: 'file_name' must be a "
                                      f"non-empty string, got {file_name!r}")
        names[image_id] = file_name
    return names


def _parts(name: str) -> tuple[str, ...]:
    return tuple(p for p in str(name).replace("\\", "/").split("/") if p not in ("", "."))


class FileNameIndex:
    """Finds which of a file's image names a frame is, by trailing path components.

    A frame named "000012.jpg" matches "images/val/003418_mpii_test/000012.jpg"; a frame
    named "003418_mpii_test/000012.jpg" matches it too, and only it. A frame name that fits
    several images is an error (the file covers several sequences: select one with a
    longer frame name, or with ``sequence=`` where offered).

    Args:
        file_names: the image names of the file.
        source: the file, for error messages.
    """

    def __init__(self, file_names: Iterable[str], source: Path):
        self.source = source
        self._by_basename: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for name in dict.fromkeys(file_names):
            parts = _parts(name)
            if parts:
                self._by_basename.setdefault(parts[-1], []).append((name, parts))

    def lookup(self, frame_name: str) -> Optional[str]:
        """The one image name matching ``frame_name``, or None when none does."""
        parts = _parts(frame_name)
        if not parts:
            return None
        found = [name for name, candidate in self._by_basename.get(parts[-1], [])
                 if len(parts) <= len(candidate) and candidate[-len(parts):] == parts]
        if len(found) > 1:
            shown = ", ".join(found[:3]) + (f", ... ({len(found)} in all)" if len(found) > 3
                                             else "")
            raise DetectionsFileError(
                f"{self.source}: frame name {frame_name!r} matches several images ({shown}); "
                "name frames with their sequence folder (e.g. 'seq/000000.jpg') or select "
                "one sequence")
        return found[0] if found else None


def in_sequence(file_name: str, sequence: str) -> bool:
    """True when ``sequence`` (one or more folder names) appears in ``file_name``'s folders."""
    folders, wanted = _parts(file_name)[:-1], _parts(sequence)
    return bool(wanted) and any(folders[i:i + len(wanted)] == wanted
                                for i in range(len(folders) - len(wanted) + 1))
