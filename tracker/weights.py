"""Weights resolution: a local file, or a zoo entry fetched into the cache folder.

The cache folder is ``$POSETRACK_CACHE`` if set, else ``$XDG_CACHE_HOME/posetrack/checkpoints``
(``~/.cache/posetrack/checkpoints``). Downloads stream into ``<file>.part`` (resumed with an HTTP
Range request after an interruption), are checked against the zoo's sha256 and are renamed into
place only when complete, so a cached file is always whole.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tqdm import tqdm

from tracker.errors import ConfigError, PoseTrackError

CACHE_ENV = "POSETRACK_CACHE"
CHUNK_BYTES = 1 << 20


class WeightsUnavailableError(PoseTrackError, FileNotFoundError):
    """The weights are not on disk and could not be downloaded."""


class ChecksumError(PoseTrackError, ValueError):
    """A file's sha256 differs from the model zoo's."""


@dataclass(frozen=True)
class WeightsSource:
    """Where a model's weights come from (the zoo's ``filename``, ``url`` and ``sha256``).

    Args:
        filename: the file name in the cache folder, or None when the zoo has none (the
            user must then pass a checkpoint).
        url: download address, or None when no public one exists.
        sha256: full digest or its first 8+ hex digits (lowercase), checked on cached and
            downloaded files; None: not checked.
    """

    filename: Optional[str]
    url: Optional[str] = None
    sha256: Optional[str] = None

    def __post_init__(self) -> None:
        check_sha256(self.sha256)


def check_sha256(sha256: Optional[str]) -> Optional[str]:
    """``sha256`` if it is None or a digest / digest prefix: a string of 8 to 64 lowercase hex
    digits (quoted in YAML, where an all-digit prefix would otherwise be read as a number)."""
    if sha256 is not None and not (isinstance(sha256, str)
                                   and re.fullmatch(r"[0-9a-f]{8,64}", sha256)):
        raise ConfigError(f"sha256 must be 8 to 64 lowercase hex digits (a string), "
                          f"got {sha256!r}")
    return sha256


def cache_dir() -> Path:
    """Folder where zoo weights are stored (see the module docstring)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "posetrack" / "checkpoints"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: Optional[str]) -> None:
    """Raise ``ChecksumError`` unless the file's sha256 starts with ``expected`` (if given)."""
    if not expected:
        return
    actual = sha256_of(path)
    if not actual.startswith(expected.lower()):
        raise ChecksumError(f"{path}: sha256 is {actual}, expected one starting with {expected}. "
                            "The file is corrupt, incomplete or a different model: delete it "
                            "and download it again.")


def _offline_error(url: str, target: Path, reason: str) -> WeightsUnavailableError:
    return WeightsUnavailableError(
        f"could not download {url} ({reason}). Download it on a machine with internet access "
        f"and put it at {target}, or pass the file's path as the checkpoint.")


def download(url: str, target: Path, sha256: Optional[str] = None, progress: bool = True,
             timeout_s: float = 30.0) -> Path:
    """Download ``url`` to ``target`` (resuming ``target.part``), verify, rename atomically."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "posetrack"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            if offset and response.status != 206:
                offset = 0  # the server ignored the Range header: start over
            total = response.headers.get("Content-Length")
            total = int(total) + offset if total is not None else None
            with open(part, "ab" if offset else "wb") as out, tqdm(
                    total=total, initial=offset, unit="B", unit_scale=True,
                    desc=target.name, disable=not progress) as bar:
                for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
        received = part.stat().st_size
        if total is not None and received < total:
            raise _offline_error(url, target, f"connection closed after {received} of {total} "
                                 f"bytes; run again to resume from {part}")
    except urllib.error.HTTPError as e:
        if e.code != 416:  # 416: the .part file already holds the whole file
            raise _offline_error(url, target, f"HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        reason = getattr(e, "reason", None) or e
        raise _offline_error(url, target, str(reason)) from e
    try:
        verify_sha256(part, sha256)
    except ChecksumError:
        part.unlink()
        raise
    os.replace(part, target)
    return target


def resolve_weights(source: WeightsSource, checkpoint: Optional[str | Path] = None, *,
                    progress: bool = True) -> Path:
    """The path of a model's weights, downloading them into the cache if needed.

    Args:
        source: the zoo's file name, download address and sha256 (see ``WeightsSource``).
        checkpoint: a local file that overrides the zoo (no checksum: it is the user's file).
        progress: show a tqdm progress bar while downloading.

    Raises:
        FileNotFoundError: ``checkpoint`` does not exist.
        WeightsUnavailableError: not cached and not downloadable; the message names the URL
            and the exact path where to put the file.
        ChecksumError: the cached or downloaded file has the wrong sha256.
    """
    if checkpoint is not None:
        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint file {path} does not exist")
        return path
    if not source.filename:
        raise WeightsUnavailableError("this model has no zoo file name: pass a checkpoint path")
    target = cache_dir() / source.filename
    if target.is_file():
        verify_sha256(target, source.sha256)
        return target
    if not source.url:
        raise WeightsUnavailableError(
            f"{source.filename} has no public download address. Put the file at {target} "
            f"(or set ${CACHE_ENV} to its folder), or pass its path as the checkpoint.")
    return download(source.url, target, sha256=source.sha256, progress=progress)
