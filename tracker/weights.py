"""Weights resolution: a local file, or a zoo entry fetched into the cache folder.

The cache folder is ``$POSETRACK_CACHE`` if set, else ``$XDG_CACHE_HOME/posetrack/checkpoints``
(``~/.cache/posetrack/checkpoints``). Downloads stream into ``<file>.part`` (resumed with an HTTP
Range request after an interruption), are checked against the zoo's sha256 and are renamed into
place only when complete, so a cached file is always whole.

A zoo entry with an ``archive_member`` is published inside a zip: the zip is downloaded into
the cache folder under its own name (the last part of its URL), the member is extracted into a
temporary file, checked against the zoo's sha256 (the sha256 is the member's), renamed onto
``filename`` and the zip deleted. A zip put into the cache folder by hand is used the same way.

``$POSETRACK_MIRROR`` (e.g. ``http://mirror.local/openmmlab/``) replaces the
``https://download.openmmlab.com/`` prefix of every download address, for machines behind a
mirror and for tests; the zoo's addresses and checksums stay as they are.

``resolve_all`` resolves every file a run needs and reports all missing ones in one
``WeightsUnavailableError`` (address, cache path and the flag that passes a local file).
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from tqdm import tqdm

from tracker.errors import ConfigError, PoseTrackError
from tracker.files import atomic_path

CACHE_ENV = "POSETRACK_CACHE"
MIRROR_ENV = "POSETRACK_MIRROR"
#: The address prefix ``$POSETRACK_MIRROR`` replaces (every zoo address starts with it).
MIRRORED_PREFIX = "https://download.openmmlab.com/"
CHUNK_BYTES = 1 << 20


class WeightsUnavailableError(PoseTrackError, FileNotFoundError):
    """The weights are not on disk and could not be downloaded.

    Attributes:
        reason: why, in a few words ("connection refused", "no public download address").
    """

    def __init__(self, message: str, *, reason: Optional[str] = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class ChecksumError(PoseTrackError, ValueError):
    """A file's sha256 differs from the model zoo's."""


class ArchiveError(PoseTrackError, ValueError):
    """A downloaded zip is corrupt, truncated or lacks the zoo's member (it is deleted)."""


@dataclass(frozen=True)
class WeightsSource:
    """Where a model's weights come from (the zoo's ``filename``, ``url`` and ``sha256``).

    Args:
        filename: the file name in the cache folder, or None when the zoo has none (the
            user must then pass a checkpoint).
        url: download address, or None when no public one exists.
        sha256: full digest or its first 8+ hex digits (lowercase), checked on cached and
            downloaded files (for an archive: on the extracted member); None: not checked.
        archive_member: the url is a zip and the weights are this member of it (a path in
            the zip, or the last part of one: "end2end.onnx" matches "a/b/end2end.onnx");
            None: the url is the weights file itself.
    """

    filename: Optional[str]
    url: Optional[str] = None
    sha256: Optional[str] = None
    archive_member: Optional[str] = None

    def __post_init__(self) -> None:
        check_sha256(self.sha256)
        if self.archive_member is not None and not self.url:
            raise ConfigError(f"archive_member {self.archive_member!r} needs the url of the "
                              "archive")


@dataclass(frozen=True)
class NeededWeights:
    """One model file a run needs, and how the user can supply it instead (``resolve_all``).

    Args:
        what: the model, for messages ("detector rtmdet-nano", "pose model res50_...").
        source: the zoo's weights.
        flag: the command-line flag that passes a local file ("--detector-checkpoint").
        checkpoint: the local file that was passed, or None for the zoo's file.
    """

    what: str
    source: WeightsSource
    flag: str
    checkpoint: Optional[str | Path] = None


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


def cached_path(source: WeightsSource) -> Optional[Path]:
    """Where the weights file is (or must be put) in the cache folder; None without a
    file name."""
    return cache_dir() / source.filename if source.filename else None


def download_path(source: WeightsSource) -> Optional[Path]:
    """Where the file at ``source.url`` goes in the cache folder, under the name the URL
    gives it: the weights file itself, or the zip holding it; None without a file name."""
    if source.archive_member:
        return cache_dir() / source.url.rsplit("/", 1)[-1]
    return cached_path(source)


def mirrored_url(url: str) -> str:
    """``url`` with ``MIRRORED_PREFIX`` replaced by ``$POSETRACK_MIRROR`` when that is set."""
    mirror = os.environ.get(MIRROR_ENV)
    if mirror and url.startswith(MIRRORED_PREFIX):
        return mirror.rstrip("/") + "/" + url[len(MIRRORED_PREFIX):]
    return url


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
                            "and download it again (a different export of the model is used "
                            "when its path is passed as the checkpoint).")


def _offline_error(url: str, target: Path, reason: str) -> WeightsUnavailableError:
    return WeightsUnavailableError(
        f"could not download {url} ({reason}). Download it on a machine with internet access "
        f"and put it at {target}, or pass the file's path as the checkpoint.", reason=reason)


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


def _find_member(archive: zipfile.ZipFile, member: str, where: str) -> zipfile.ZipInfo:
    """The zip entry named ``member``, or the one entry whose path ends in ``/member``."""
    names = [info for info in archive.infolist() if not info.is_dir()]
    found = [info for info in names if info.filename == member]
    found = found or [info for info in names if info.filename.endswith("/" + member)]
    if len(found) != 1:
        listed = ", ".join(info.filename for info in names) or "none"
        raise ArchiveError(f"{where}: expected one member {member!r}, found {len(found)}; "
                           f"its members are: {listed}. It was deleted: run again to download "
                           "it again.")
    return found[0]


def extract_member(archive_path: Path, member: str, target: Path,
                   sha256: Optional[str] = None) -> Path:
    """Extract ``member`` of the zip ``archive_path`` onto ``target`` atomically (temporary
    file, sha256 check, rename), then delete the zip. A corrupt zip, a missing member or a
    wrong checksum deletes the zip too, so that the next attempt downloads it again.

    Raises:
        ArchiveError: not a zip, truncated, a CRC error, or no such member.
        ChecksumError: the extracted member's sha256 is not ``sha256``.
    """
    archive_path, target = Path(archive_path), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive_path) as archive, atomic_path(target, ".unzip") as temp:
            info = _find_member(archive, member, str(archive_path))
            with archive.open(info) as source, open(temp, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK_BYTES)
            _verify_member(temp, sha256, f"{info.filename} of {archive_path}")
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        archive_path.unlink(missing_ok=True)
        raise ArchiveError(f"{archive_path} is not a whole zip archive ({e}). It was deleted: "
                           "run again to download it again.") from e
    except (ArchiveError, ChecksumError):
        archive_path.unlink(missing_ok=True)
        raise
    archive_path.unlink()
    return target


def _verify_member(path: Path, sha256: Optional[str], what: str) -> None:
    actual = sha256_of(path) if sha256 else None
    if actual is not None and not actual.startswith(sha256):
        raise ChecksumError(f"{what}: sha256 is {actual}, expected one starting with {sha256}. "
                            "The archive is corrupt or holds a different model; it was "
                            "deleted: run again to download it again.")


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
        ChecksumError: the cached, downloaded or extracted file has the wrong sha256.
        ArchiveError: the downloaded zip is damaged or lacks the member.
    """
    if checkpoint is not None:
        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint file {path} does not exist")
        return path
    if not source.filename:
        raise WeightsUnavailableError("this model has no zoo file name: pass a checkpoint path",
                                      reason="the zoo has no file for it")
    target = cached_path(source)
    if target.is_file():
        verify_sha256(target, source.sha256)
        return target
    if not source.url:
        raise WeightsUnavailableError(
            f"{source.filename} has no public download address. Put the file at {target} "
            f"(or set ${CACHE_ENV} to its folder), or pass its path as the checkpoint.",
            reason="no public download address")
    if not source.archive_member:
        return download(mirrored_url(source.url), target, sha256=source.sha256,
                        progress=progress)
    archive = download_path(source)
    if not archive.is_file():
        download(mirrored_url(source.url), archive, progress=progress)
    return extract_member(archive, source.archive_member, target, source.sha256)


def missing_weights(needed: Sequence[NeededWeights]) -> list[NeededWeights]:
    """The entries of ``needed`` whose file is not on disk (no checkpoint passed and nothing in
    the cache folder); nothing is downloaded or checked."""
    def present(item: NeededWeights) -> bool:
        if item.checkpoint is not None:
            return Path(item.checkpoint).expanduser().is_file()
        target = cached_path(item.source)
        return target is not None and target.is_file()
    return [item for item in needed if not present(item)]


def resolve_all(needed: Sequence[NeededWeights], *, progress: bool = True) -> list[Path]:
    """``resolve_weights`` of every entry (downloading what is missing), in order.

    Every entry is tried; the ones that cannot be had (offline, no address, a passed
    checkpoint that does not exist) are reported together in one ``WeightsUnavailableError``
    naming, for each, the URL, the exact cache path and the flag that passes a local file.
    A cached file with a wrong sha256 or a damaged download raises at once
    (``ChecksumError``, ``ArchiveError``).
    """
    paths, failed = [], []
    for item in needed:
        if item.checkpoint is not None and not Path(item.checkpoint).expanduser().is_file():
            failed.append((item, f"{item.flag} {item.checkpoint}: no such file"))
            continue
        try:
            paths.append(resolve_weights(item.source, item.checkpoint, progress=progress))
        except WeightsUnavailableError as error:
            failed.append((item, error.reason))
    if failed:
        raise WeightsUnavailableError(missing_files_message(failed),
                                      reason=f"{len(failed)} model file(s) missing")
    return paths


def missing_files_message(failed: Sequence[tuple[NeededWeights, str]]) -> str:
    """The text of ``resolve_all``'s error: one block per (entry, reason)."""
    lines = [f"{len(failed)} model file(s) are missing from the cache folder {cache_dir()} "
             "and could not be downloaded:"]
    for item, reason in failed:
        lines.append(f"  - {item.what}: {reason}")
        lines.extend(f"      {line}" for line in _how_to_supply(item))
    lines.append(f"Fetch them on a machine with internet access (posetrack-weights download "
                 f"NAME... or --preset NAME, then copy its cache folder), set ${MIRROR_ENV} "
                 f"to a mirror of {MIRRORED_PREFIX}, or pass local files with the flags above.")
    return "\n".join(lines)


def _how_to_supply(item: NeededWeights) -> list[str]:
    """Where the user puts the file of one entry, or which flag passes it."""
    source, flag = item.source, f"or pass a local file with {item.flag} FILE"
    if not source.filename:
        return [f"the zoo has no file for it: pass it with {item.flag} FILE"]
    if not source.url:
        return [f"no public download address: put the file at {cached_path(source)}", flag]
    tried = mirrored_url(source.url)
    lines = [f"download {source.url}" + (f" (tried {tried})" if tried != source.url else "")]
    target = download_path(source)
    unchanged = ", name unchanged," if target.name == source.url.rsplit("/", 1)[-1] else ""
    lines.append(f"put it{unchanged} at {target}")
    if source.archive_member:
        lines.append(f"(its member {source.archive_member} is unpacked to "
                     f"{cached_path(source)} on first use)")
    return lines + [flag]
