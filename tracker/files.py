"""Reading JSON and YAML inputs, and writing outputs atomically: the one reader and writer
every stage uses.

Readers raise ``MissingFileError`` for a path that does not exist and ``FileFormatError`` for a
file that does not parse, both naming the path. Writers put the bytes in a hidden temporary
file next to the target (unique per process) and rename it into place only when it is complete
(``os.replace``), so a failed run never leaves a partial file and never destroys an earlier one.
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import yaml

import configs
from tracker.errors import ConfigError, FileFormatError, MissingFileError, OutputError

#: The YAML data installed with the package (model zoo, keypoint sets, run defaults).
CONFIG_DIR = Path(configs.__file__).resolve().parent


def read_json(path: str | os.PathLike, what: str = "file") -> object:
    """The parsed JSON document of ``path``; ``what`` names the file in errors
    ("detections file", "annotation file", ...)."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{what} {path} does not exist")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FileFormatError(f"{path}: not valid JSON ({e})") from e
    except OSError as e:
        raise FileFormatError(f"{path}: cannot read ({e.strerror})") from e


def read_yaml(path: str | os.PathLike) -> dict:
    """The top-level mapping of a YAML config file; ``ConfigError`` naming the file otherwise
    (one line: also for a file that is not UTF-8 text, e.g. a binary file)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path} is not valid YAML: not UTF-8 text (byte "
                          f"0x{e.object[e.start]:02x} at offset {e.start}); expected a YAML "
                          "text file") from e
    except yaml.YAMLError as e:     # one line: the problem and where it is
        mark = getattr(e, "problem_mark", None)
        if isinstance(e, yaml.reader.ReaderError) and isinstance(e.character, int):
            problem = (f"unacceptable character #x{e.character:04x} at character "
                       f"{e.position}: {e.reason}")
        elif isinstance(e, yaml.MarkedYAMLError) and e.problem:
            problem = e.problem + (f" at line {mark.line + 1}, column {mark.column + 1}"
                                   if mark else "") + (f" ({e.context})" if e.context else "")
        else:
            problem = " ".join(str(e).split())
        raise ConfigError(f"{path} is not valid YAML: {problem}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def check_output_folder(path: str | os.PathLike) -> Path:
    """``path`` as a ``Path`` that can be written: its folder exists and is writable, and it is
    not itself a folder; ``OutputError`` naming it otherwise."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: folder {folder} does not exist")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give the path of a file")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path}: folder {folder} is not writable")
    return path


def temporary_file_next_to(path: Path, suffix: str = ".tmp") -> tuple[int, str]:
    """(os handle, path) of a new hidden file in ``path``'s folder, for an atomic rename.

    ``mkstemp`` makes the file private (0600) and its name unique per process; it gets the
    permissions a plain ``open`` would give (0666 less the umask), since it becomes the
    user's output file.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix,
                                         dir=path.parent if str(path.parent) else ".")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    return handle, temporary


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path next to ``path`` to write to; renamed onto ``path`` when the block
    ends without an exception, removed otherwise. ``suffix`` lets writers that choose a
    format by extension (OpenCV) see the right one."""
    path = check_output_folder(path)
    handle, temporary = temporary_file_next_to(path, suffix=suffix)
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def write_atomically(path: str | os.PathLike, write: Callable[[Path], None],
                     suffix: str = ".tmp") -> None:
    """Call ``write(temporary_path)``, then rename it onto ``path``."""
    with atomic_path(path, suffix) as temporary:
        write(temporary)


def write_json_atomically(path: str | os.PathLike, document: object) -> None:
    """``json.dump`` into a temporary file next to ``path``, then rename it into place."""
    def dump(temporary: Path) -> None:
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(document, f, allow_nan=False)
    write_atomically(path, dump)
