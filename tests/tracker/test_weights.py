"""Weights download: cache folder, resume, sha256 check, atomic rename, offline errors."""
import hashlib

import pytest

from tests.http_server import FileServer, zip_bytes
from tracker import weights
from tracker.errors import ConfigError
from tracker.weights import (ChecksumError, NeededWeights, WeightsSource,
                             WeightsUnavailableError, download, resolve_weights)

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def server():
    with FileServer({"/model.pth": PAYLOAD}) as files:
        yield files


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("POSETRACK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_download_verifies_and_renames(server, cache):
    url = server.url
    source = WeightsSource("model.pth", f"{url}/model.pth", DIGEST[:8])
    path = resolve_weights(source, progress=False)
    assert path == cache / "model.pth" and path.read_bytes() == PAYLOAD
    assert not (cache / "model.pth.part").exists()


def test_cached_file_is_not_downloaded_again(server, cache):
    url = server.url
    resolve_weights(WeightsSource("model.pth", f"{url}/model.pth", DIGEST), progress=False)
    resolve_weights(WeightsSource("model.pth", f"{url}/model.pth", DIGEST), progress=False)
    assert len(server.requests) == 1


def test_resume_sends_range_and_completes(server, cache):
    url = server.url
    cache.mkdir(parents=True)
    (cache / "model.pth.part").write_bytes(PAYLOAD[:300_000])
    path = download(f"{url}/model.pth", cache / "model.pth", sha256=DIGEST, progress=False)
    assert server.requests == [("/model.pth", "bytes=300000-")]
    assert path.read_bytes() == PAYLOAD


def test_server_without_range_support_restarts(server, cache):
    url = server.url
    server.honour_range = False
    cache.mkdir(parents=True)
    (cache / "model.pth.part").write_bytes(b"garbage" * 1000)
    path = download(f"{url}/model.pth", cache / "model.pth", sha256=DIGEST, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_complete_part_file_is_finished_without_data(server, cache):
    url = server.url
    cache.mkdir(parents=True)
    (cache / "model.pth.part").write_bytes(PAYLOAD)
    path = download(f"{url}/model.pth", cache / "model.pth", sha256=DIGEST, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_interrupted_download_keeps_part_and_resumes(server, cache):
    url = server.url
    server.cut_after["/model.pth"] = 100_000
    with pytest.raises(WeightsUnavailableError, match="run again to resume"):
        download(f"{url}/model.pth", cache / "model.pth", sha256=DIGEST, progress=False)
    assert not (cache / "model.pth").exists()
    assert (cache / "model.pth.part").read_bytes() == PAYLOAD[:100_000]
    del server.cut_after["/model.pth"]
    path = download(f"{url}/model.pth", cache / "model.pth", sha256=DIGEST, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_checksum_mismatch_deletes_download(server, cache):
    url = server.url
    with pytest.raises(ChecksumError, match="expected one starting with deadbeef"):
        resolve_weights(WeightsSource("model.pth", f"{url}/model.pth", "deadbeef"),
                        progress=False)
    assert not (cache / "model.pth").exists() and not (cache / "model.pth.part").exists()


def test_corrupt_cached_file_is_reported(cache):
    cache.mkdir(parents=True)
    (cache / "model.pth").write_bytes(b"not it")
    with pytest.raises(ChecksumError, match="delete it and download it again"):
        resolve_weights(WeightsSource("model.pth", "http://127.0.0.1:9/model.pth", DIGEST),
                        progress=False)


def test_offline_error_names_url_and_target(cache):
    url = "http://127.0.0.1:9/res50.pth"  # port 9 (discard) refuses connections
    with pytest.raises(WeightsUnavailableError) as info:
        resolve_weights(WeightsSource("res50.pth", url), progress=False)
    assert url in str(info.value) and str(cache / "res50.pth") in str(info.value)


def test_http_error_is_reported(server, cache):
    url = server.url
    with pytest.raises(WeightsUnavailableError, match="HTTP 404"):
        resolve_weights(WeightsSource("other.pth", f"{url}/other.pth"), progress=False)


def test_model_without_url_says_where_to_put_file(cache):
    with pytest.raises(WeightsUnavailableError, match="no public download address") as info:
        resolve_weights(WeightsSource("pp.onnx"))
    assert str(cache / "pp.onnx") in str(info.value)


def test_cache_dir_defaults_to_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("POSETRACK_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert weights.cache_dir() == tmp_path / "xdg" / "posetrack" / "checkpoints"


@pytest.mark.parametrize("sha256", ["ABCDEF12", "abc", "0123456789abcdefg", 12345678])
def test_weights_source_rejects_a_malformed_sha256(sha256):
    with pytest.raises(ConfigError, match="sha256 must be 8 to 64 lowercase hex digits"):
        WeightsSource("model.pth", None, sha256)


def test_weights_source_fields():
    source = WeightsSource(filename="m.pth", url="https://x.org/m.pth", sha256=DIGEST[:8])
    assert (source.filename, source.url, source.sha256) == ("m.pth", "https://x.org/m.pth",
                                                            DIGEST[:8])
    assert WeightsSource("m.pth") == WeightsSource("m.pth", None, None)


# ---- archives: a zip holding the weights as one member ----------------------------------

MEMBER = bytes(range(255, -1, -1)) * 512  # 128 KiB
MEMBER_DIGEST = hashlib.sha256(MEMBER).hexdigest()
ARCHIVE = zip_bytes({"sdk-05d8511e/end2end.onnx": MEMBER, "sdk-05d8511e/deploy.json": b"{}"})


@pytest.fixture
def archive_server():
    with FileServer({"/sdk.zip": ARCHIVE}) as files:
        yield files


def _archived(url: str, sha256: str = MEMBER_DIGEST, member: str = "end2end.onnx"):
    return WeightsSource("det.onnx", f"{url}/sdk.zip", sha256, archive_member=member)


def test_archive_member_is_extracted_verified_and_the_zip_deleted(archive_server, cache):
    path = resolve_weights(_archived(archive_server.url), progress=False)
    assert path == cache / "det.onnx" and path.read_bytes() == MEMBER
    assert sorted(p.name for p in cache.iterdir()) == ["det.onnx"]  # no zip, .part, temp
    resolve_weights(_archived(archive_server.url), progress=False)
    assert archive_server.paths_requested() == ["/sdk.zip"]          # once


def test_archive_member_by_its_full_path(archive_server, cache):
    source = _archived(archive_server.url, member="sdk-05d8511e/end2end.onnx")
    assert resolve_weights(source, progress=False).read_bytes() == MEMBER


def test_zip_put_in_the_cache_by_hand_is_unpacked_without_download(archive_server, cache):
    cache.mkdir(parents=True)
    (cache / "sdk.zip").write_bytes(ARCHIVE)
    assert resolve_weights(_archived(archive_server.url), progress=False).read_bytes() == MEMBER
    assert archive_server.requests == [] and not (cache / "sdk.zip").exists()


def _flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


@pytest.mark.parametrize("damaged,match", [
    (ARCHIVE[:len(ARCHIVE) // 2], "is not a whole zip archive"),     # truncated file
    (_flipped(ARCHIVE, 200), "is not a whole zip archive"),          # corrupt compressed data
    (b"<html>proxy login</html>", "is not a whole zip archive"),      # not a zip at all
])
def test_damaged_zip_is_refused_deleted_and_a_retry_downloads_it(archive_server, cache,
                                                                  damaged, match):
    archive_server.corrupt["/sdk.zip"] = damaged  # served once
    with pytest.raises(weights.ArchiveError, match=match + ".*run again to download it again"):
        resolve_weights(_archived(archive_server.url), progress=False)
    assert list(cache.iterdir()) == []
    assert resolve_weights(_archived(archive_server.url), progress=False).read_bytes() == MEMBER
    assert archive_server.paths_requested() == ["/sdk.zip", "/sdk.zip"]


def test_interrupted_zip_download_resumes(archive_server, cache):
    archive_server.cut_after["/sdk.zip"] = 1000
    with pytest.raises(WeightsUnavailableError, match="run again to resume"):
        resolve_weights(_archived(archive_server.url), progress=False)
    assert (cache / "sdk.zip.part").stat().st_size == 1000 and not (cache / "det.onnx").exists()
    del archive_server.cut_after["/sdk.zip"]
    assert resolve_weights(_archived(archive_server.url), progress=False).read_bytes() == MEMBER
    assert archive_server.requests[-1] == ("/sdk.zip", "bytes=1000-")


def test_member_with_the_wrong_sha256_is_refused_and_nothing_kept(archive_server, cache):
    with pytest.raises(ChecksumError, match=r"sdk-05d8511e/end2end.onnx of .*sdk.zip: sha256 is "
                                            rf"{MEMBER_DIGEST}, expected one starting with "
                                            r"deadbeef"):
        resolve_weights(_archived(archive_server.url, sha256="deadbeef"), progress=False)
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("members,found", [
    ({"sdk/pipeline.json": b"{}", "sdk/detail.json": b"{}"}, "found 0"),
    ({"a/end2end.onnx": MEMBER, "b/end2end.onnx": MEMBER}, "found 2"),
])
def test_archive_without_the_member_is_a_clear_error(archive_server, cache, members, found):
    archive_server.files["/sdk.zip"] = zip_bytes(members)
    with pytest.raises(weights.ArchiveError, match=rf"sdk.zip: expected one member "
                                                   rf"'end2end.onnx', {found}; its members "
                                                   rf"are: {', '.join(members)}"):
        resolve_weights(_archived(archive_server.url), progress=False)
    assert list(cache.iterdir()) == []


def test_archive_member_needs_a_url():
    with pytest.raises(ConfigError, match="archive_member 'end2end.onnx' needs the url"):
        WeightsSource("det.onnx", None, None, archive_member="end2end.onnx")


# ---- $POSETRACK_MIRROR ---------------------------------------------------------------------

def test_mirror_replaces_the_openmmlab_prefix_only(monkeypatch):
    url = "https://download.openmmlab.com/mmpose/top_down/resnet/res50.pth"
    monkeypatch.delenv("POSETRACK_MIRROR")      # (tests/conftest.py sets one for every test)
    assert weights.mirrored_url(url) == url
    monkeypatch.setenv("POSETRACK_MIRROR", "http://127.0.0.1:8000/openmmlab")
    assert weights.mirrored_url(url) == ("http://127.0.0.1:8000/openmmlab/mmpose/top_down/"
                                         "resnet/res50.pth")
    assert weights.mirrored_url("https://example.org/x.pth") == "https://example.org/x.pth"


def test_zoo_address_is_fetched_from_the_mirror(server, cache, monkeypatch):
    monkeypatch.setenv("POSETRACK_MIRROR", server.url + "/")
    source = WeightsSource("model.pth", "https://download.openmmlab.com/model.pth", DIGEST)
    assert resolve_weights(source, progress=False).read_bytes() == PAYLOAD
    assert server.paths_requested() == ["/model.pth"]


# ---- resolve_all: every missing file in one error ------------------------------------------

OFFLINE = "https://download.openmmlab.com/mmpose/top_down/resnet/res50.pth"
OFFLINE_ZIP = "https://download.openmmlab.com/mmpose/v1/onnx_sdk/det-05d8511e.zip"


def _needed(cache, tmp_path):
    return [
        NeededWeights(what="detector det", flag="--detector-checkpoint",
                      source=WeightsSource("det.onnx", OFFLINE_ZIP, MEMBER_DIGEST,
                                           archive_member="end2end.onnx")),
        NeededWeights(what="pose model res50", source=WeightsSource("res50.pth", OFFLINE),
                      flag="--pose-checkpoint"),
        NeededWeights(what="pose model tiny", source=WeightsSource("tiny.onnx"),
                      flag="--pose-checkpoint"),
        NeededWeights(what="detector other", source=WeightsSource("other.onnx"),
                      flag="--detector-checkpoint", checkpoint=tmp_path / "nope.onnx"),
    ]


def test_offline_lists_every_missing_file_with_url_cache_path_and_flag(cache, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setenv("POSETRACK_MIRROR", "http://127.0.0.1:9/")  # port 9 refuses
    with pytest.raises(WeightsUnavailableError) as info:
        weights.resolve_all(_needed(cache, tmp_path), progress=False)
    refused = str(info.value).splitlines()[1].split(": ", 1)[1]  # "[Errno 111] Connection ..."
    assert "refused" in refused
    lines = str(info.value).replace(refused, "REFUSED").splitlines()
    assert lines[0] == (f"4 model file(s) are missing from the cache folder {cache} and could "
                        "not be downloaded:")
    assert lines[1:5] == [
        "  - detector det: REFUSED",
        f"      download {OFFLINE_ZIP} (tried http://127.0.0.1:9/mmpose/v1/onnx_sdk/"
        "det-05d8511e.zip)",
        f"      put it, name unchanged, at {cache / 'det-05d8511e.zip'}",
        f"      (its member end2end.onnx is unpacked to {cache / 'det.onnx'} on first use)"]
    assert lines[5:12] == [
        "      or pass a local file with --detector-checkpoint FILE",
        "  - pose model res50: REFUSED",
        f"      download {OFFLINE} (tried http://127.0.0.1:9/mmpose/top_down/resnet/res50.pth)",
        f"      put it, name unchanged, at {cache / 'res50.pth'}",
        "      or pass a local file with --pose-checkpoint FILE",
        "  - pose model tiny: no public download address",
        f"      no public download address: put the file at {cache / 'tiny.onnx'}"]
    assert lines[12:15] == [
        "      or pass a local file with --pose-checkpoint FILE",
        f"  - detector other: --detector-checkpoint {tmp_path / 'nope.onnx'}: no such file",
        f"      no public download address: put the file at {cache / 'other.onnx'}"]
    assert "POSETRACK_MIRROR" in lines[-1] and len(lines) == 17


def test_resolve_all_downloads_what_it_can_and_reports_the_rest(server, cache, tmp_path,
                                                                monkeypatch):
    monkeypatch.setenv("POSETRACK_MIRROR", server.url + "/")
    good = NeededWeights(what="pose model m", flag="--pose-checkpoint",
                         source=WeightsSource("model.pth",
                                              "https://download.openmmlab.com/model.pth",
                                              DIGEST))
    missing = NeededWeights(what="detector d", flag="--detector-checkpoint",
                            source=WeightsSource("d.pth", "https://download.openmmlab.com/d.pth"))
    with pytest.raises(WeightsUnavailableError, match=r"^1 model file\(s\).*\n  - detector d: "
                                                      r"HTTP 404"):
        weights.resolve_all([good, missing], progress=False)
    assert (cache / "model.pth").read_bytes() == PAYLOAD
    assert weights.resolve_all([good], progress=False) == [cache / "model.pth"]
    local = tmp_path / "mine.pth"
    local.write_bytes(b"x")
    assert weights.resolve_all([NeededWeights(what="d", source=missing.source, flag="--x",
                                              checkpoint=local)]) == [local]


def test_missing_weights_looks_at_the_disk_only(cache, tmp_path):
    needed = _needed(cache, tmp_path)
    assert weights.missing_weights(needed) == needed
    cache.mkdir(parents=True)
    (cache / "det.onnx").write_bytes(b"any")
    (tmp_path / "nope.onnx").write_bytes(b"any")
    assert weights.missing_weights(needed) == needed[1:3]
