"""The inputs of a many-video ``posetrack-run``: what the command line names, one per video.

``expand_inputs`` turns the SOURCE arguments into a list of sources, each a video file, a
folder of frames, a camera index or a URL, in a stable order:

* a folder holding videos: its videos (sorted by name); a folder holding sub-folders of
  frames (PoseTrack's ``images/val/<sequence>``): each of them; a folder of frames (or of
  nothing ``open_source`` can read, which then says so): itself;
* a glob (``clips/*.mp4``, ``images/val/*``): its matches, sorted;
* a ``.txt`` file: one path or URL per line (blank lines and ``#`` comments skipped;
  relative paths are relative to the list file);
* anything else: itself (a video, a frame folder, a camera index, a URL).

``output_names`` gives each input a stable file stem in the output folder: the video's or
folder's name, with parent folder names prefixed where two inputs would clash.
"""
from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from tracker.io.video import IMAGE_EXTENSIONS

#: Files taken as videos when a folder is expanded.
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
GLOB_CHARACTERS = set("*?[")


class InputError(ValueError):
    """An input list that names nothing to run, or a list file that cannot be read."""


@dataclass(frozen=True)
class BatchInput:
    """One video of a batch: the source as ``open_source`` takes it, and its output stem."""

    source: str
    name: str


def _has_frames(folder: Path) -> bool:
    return any(p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() for p in folder.iterdir())


def _expand_folder(folder: Path) -> list[str]:
    if _has_frames(folder):
        return [str(folder)]
    children = sorted(folder.iterdir(), key=lambda p: p.name)
    videos = [str(p) for p in children
              if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS]
    frame_folders = [str(p) for p in children if p.is_dir() and _has_frames(p)]
    return videos + frame_folders


def _read_list(path: Path) -> list[str]:
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read the input list {path}: {error}") from error
    entries = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if "://" in text or text.isdigit() or Path(text).is_absolute():
            entries.append(text)
        else:
            entries.append(str(path.parent / text))
    return entries


def expand_inputs(sources: list[str]) -> list[str]:
    """The sources to run, one per video, in order; duplicates (same resolved path) once.

    Raises:
        InputError: a glob that matches nothing, or an unreadable or empty list file.
    """
    expanded: list[str] = []
    for text in sources:
        path = Path(text)
        if text and path.is_dir():     # no video and no frames in it: itself (open_source says)
            found = _expand_folder(path) or [text]
        elif path.suffix.lower() == ".txt" and path.is_file():
            found = [s for entry in _read_list(path) for s in expand_inputs([entry])]
            if not found:
                raise InputError(f"{text}: the input list names no source")
        elif GLOB_CHARACTERS & set(text) and not path.exists():
            found = [s for match in sorted(glob.glob(text)) for s in expand_inputs([match])]
            if not found:
                raise InputError(f"{text}: the pattern matches no file or folder")
        else:
            found = [text]
        expanded.extend(found)
    unique, seen = [], set()
    for text in expanded:
        key = str(Path(text).resolve()) if Path(text).exists() else text
        if key not in seen:
            seen.add(key)
            unique.append(text)
    return unique


def _stem(source: str, depth: int) -> str:
    """The last ``depth`` path parts of ``source`` (the file's stem last), joined by "_"."""
    if "://" in source:
        parts = [p for p in source.split("://", 1)[1].replace(":", "_").split("/") if p]
    elif source.isdigit():
        parts = [f"camera{source}"]
    else:
        path = Path(source)
        parts = list(path.parent.parts) + [path.name if path.is_dir() else path.stem]
    parts = [p for p in parts if p not in ("", "/", ".", "..")]
    return "_".join(parts[-depth:]) or "input"


def output_names(sources: list[str]) -> list[BatchInput]:
    """Each source with a stem unique in the batch: the name, then as many parent folders
    as it takes to tell clashing inputs apart (a numbered suffix as a last resort)."""
    names = [_stem(s, 1) for s in sources]
    for depth in range(2, 6):
        clashes = {n for n in names if names.count(n) > 1}
        if not clashes:
            break
        names = [_stem(s, depth) if n in clashes else n for s, n in zip(sources, names)]
    counts: dict[str, int] = {}
    unique = []
    for name in names:
        counts[name] = counts.get(name, 0) + 1
        unique.append(name if names.count(name) == 1 else f"{name}_{counts[name]}")
    return [BatchInput(source=s, name=n) for s, n in zip(sources, unique)]
