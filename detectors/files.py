"""Reading box files: ``bbox`` validation and matching frames to image names.

Shared by ``precomputed.py`` (detection results) and ``posetrack_gt.py`` (annotations); the
JSON itself is read by ``tracker.files.read_json`` (PoseTrack18 files by
``tracker.io.posetrack18.read_posetrack18``). Every error is a ``DetectionsFileError`` (a
``FileFormatError``) naming the file, the entry index and the field.

Value ranges checked at load (so that no value fails later, e.g. when the output JSON is
written): box coordinates ``x``, ``y``, ``x + width``, ``y + height`` have magnitude below
``MAX_COORDINATE`` (1e6 px), scores are finite numbers in [0, 1], a ``category_id`` is an
integer (1 = person; a string such as "1" is an error, not "some other category").
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Iterable, Optional

from tracker.errors import FileFormatError

#: COCO's category id of "person" (PoseTrack18 uses the same).
PERSON_CATEGORY_ID = 1
#: Box corners (x, y, x + width, y + height) must have magnitude below this many pixels: far
#: beyond any frame, small enough for float32 and for every later computation to stay finite.
MAX_COORDINATE = 1e6


class DetectionsFileError(FileFormatError):
    """A detections or annotation file is malformed (names the file, entry and field)."""


def is_number(value) -> bool:
    """True for int/float values (JSON numbers), False for bools, strings, None."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_bbox_xywh(value, where: str) -> tuple[float, float, float, float]:
    """A COCO ``bbox`` [x, y, width, height] checked to be 4 finite numbers with sides >= 0
    and corners of magnitude below ``MAX_COORDINATE``.

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
    if any(abs(v) >= MAX_COORDINATE for v in (x, y, x + w, y + h)):
        raise DetectionsFileError(
            f"{where}: 'bbox' is out of range: {value!r} (x, y, x + width and y + height must "
            f"have magnitude below {MAX_COORDINATE:,.0f} px)")
    return x, y, w, h


def parse_score(value, where: str) -> float:
    """A detection ``score`` checked to be a finite number in [0, 1]."""
    if not is_number(value) or not math.isfinite(value) or not 0 <= value <= 1:
        raise DetectionsFileError(f"{where}: 'score' must be a finite number in [0, 1], "
                                  f"got {value!r}")
    return float(value)


def is_person(entry: dict, where: str) -> bool:
    """True when ``entry`` has no ``category_id`` or ``PERSON_CATEGORY_ID``; a category id
    that is not an integer (a string "1", null, 1.5) is an error."""
    if "category_id" not in entry:
        return True
    value = entry["category_id"]
    if not is_number(value) or not float(value).is_integer():
        raise DetectionsFileError(f"{where}: 'category_id' must be an integer category id "
                                  f"({PERSON_CATEGORY_ID} = person), got {value!r}")
    return value == PERSON_CATEGORY_ID


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


_DIGIT_RUNS = re.compile(r"(\d+)")


def name_form(name: str) -> tuple:
    """The form of the last component of a file or frame name, to tell naming schemes apart:
    the text between its digit runs, and each digit run as (width, zero-padded).

    "000012.jpg" -> (("", ".jpg"), ((6, True),)); "12.jpg" -> (("", ".jpg"), ((2, False),)).
    """
    parts = _parts(name)
    pieces = _DIGIT_RUNS.split(parts[-1] if parts else "")
    runs = tuple((len(run), len(run) > 1 and run[0] == "0") for run in pieces[1::2])
    return tuple(pieces[0::2]), runs


def same_naming(form_a: tuple, form_b: tuple) -> bool:
    """True when names of these ``name_form``s can come from one naming scheme: the same text,
    and digit runs of equal width or both unpadded ("000012.jpg" and "000345.jpg", "9.jpg"
    and "10.jpg"; not "000012.jpg" and "000000000012.jpg", "000012" and "000012.jpg")."""
    (text_a, runs_a), (text_b, runs_b) = form_a, form_b
    return text_a == text_b and all(
        width_a == width_b or not (padded_a or padded_b)
        for (width_a, padded_a), (width_b, padded_b) in zip(runs_a, runs_b))


def in_sequence(file_name: str, sequence: str) -> bool:
    """True when ``sequence`` (one or more folder names) appears in ``file_name``'s folders."""
    folders, wanted = _parts(file_name)[:-1], _parts(sequence)
    return bool(wanted) and any(folders[i:i + len(wanted)] == wanted
                                for i in range(len(folders) - len(wanted) + 1))
