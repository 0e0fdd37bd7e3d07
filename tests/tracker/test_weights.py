"""Weights download: cache folder, resume, sha256 check, atomic rename, offline errors."""
import hashlib
import http.server
import threading

import pytest

from tracker import weights
from tracker.errors import ConfigError
from tracker.weights import (ChecksumError, WeightsSource, WeightsUnavailableError, download,
                             resolve_weights)

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    requests: list = []
    honour_range = True
    cut_after = None  # bytes sent before the connection drops (simulated interruption)

    def do_GET(self):  # noqa: N802 (http.server naming)
        type(self).requests.append(self.headers.get("Range"))
        if self.path != "/model.pth":
            self.send_error(404, "Not Found")
            return
        start = 0
        if self.headers.get("Range") and self.honour_range:
            start = int(self.headers["Range"].split("=")[1].rstrip("-"))
            if start >= len(PAYLOAD):
                self.send_error(416, "Range Not Satisfiable")
                return
            self.send_response(206)
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.cut_after is not None:
            body = body[:self.cut_after]
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    handler = type("Handler", (_Handler,), {"requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("POSETRACK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_download_verifies_and_renames(server, cache):
    _, url = server
    source = WeightsSource("model.pth", f"{url}/model.pth", DIGEST[:8])
    path = resolve_weights(source, progress=False)
    assert path == cache / "model.pth" and path.read_bytes() == PAYLOAD
    assert not (cache / "model.pth.part").exists()


def test_cached_file_is_not_downloaded_again(server, cache):
    handler, url = server
    resolve_weights(WeightsSource("model.pth", f"{url}/model.pth", DIGEST), progress=False)
    resolve_weights(WeightsSource("model.pth", f"{url}/model.pth", DIGEST), progress=False)
    assert len(handler.requests) == 1


def test_resume_sends_range_and_completes(server, cache):
    handler, url = server
    cache.mkdir(parents=True)
    (cache / "model.pth.part").write_bytes(PAYLOAD[:300_000])
    path = download(f"{url}/model.pth", cache / "model.pth", sha256=DIGEST, progress=False)
    assert handler.requests == ["bytes=300000-"] and path.read_bytes() == PAYLOAD


def test_server_without_range_support_restarts(server, cache):
    handler, url = server
    handler.honour_range = False
    cache.mkdir(parents=True)
    (cache / "model.pth.part").write_bytes(b"garbage" * 1000)
    path = download(f"{url}/model.pth", cache / "model.pth", sha256=DIGEST, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_complete_part_file_is_finished_without_data(server, cache):
    _, url = server
    cache.mkdir(parents=True)
    (cache / "model.pth.part").write_bytes(PAYLOAD)
    path = download(f"{url}/model.pth", cache / "model.pth", sha256=DIGEST, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_interrupted_download_keeps_part_and_resumes(server, cache):
    handler, url = server
    handler.cut_after = 100_000
    with pytest.raises(WeightsUnavailableError, match="run again to resume"):
        download(f"{url}/model.pth", cache / "model.pth", sha256=DIGEST, progress=False)
    assert not (cache / "model.pth").exists()
    assert (cache / "model.pth.part").read_bytes() == PAYLOAD[:100_000]
    handler.cut_after = None
    path = download(f"{url}/model.pth", cache / "model.pth", sha256=DIGEST, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_checksum_mismatch_deletes_download(server, cache):
    _, url = server
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
    _, url = server
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
