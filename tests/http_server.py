"""A local HTTP file server for download tests (127.0.0.1 only, in a thread of the test).

    with FileServer({"/a/model.pth": data}) as server:
        monkeypatch.setenv("POSETRACK_MIRROR", server.url + "/")   # zoo URLs -> this server
        ...
        server.requests                  # [(path, Range header or None), ...]

``files`` maps URL paths to bytes; ``mirror_path(zoo_url)`` is the path a zoo URL gets under
``$POSETRACK_MIRROR``. ``cut_after[path] = n`` sends only the first n bytes of that file (the
Content-Length still announces all of it: an interrupted transfer); ``corrupt[path] = data``
serves other bytes under the same name once; ``honour_range = False`` ignores Range headers
(a 200 with the whole file). The server stops when the ``with`` block ends,
or by itself after ``lifetime_s``.
"""
from __future__ import annotations

import http.server
import io
import threading
import zipfile
from typing import Optional

from tracker.weights import MIRRORED_PREFIX

LIFETIME_S = 300.0


def mirror_path(url: str) -> str:
    """The URL path of a zoo address under ``$POSETRACK_MIRROR`` ("/mmpose/v1/...")."""
    if not url.startswith(MIRRORED_PREFIX):
        raise ValueError(f"{url} does not start with {MIRRORED_PREFIX}")
    return "/" + url[len(MIRRORED_PREFIX):]


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A zip archive (deflated) holding ``members`` (name in the zip -> content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


class FileServer:
    """Serves ``files`` over HTTP on 127.0.0.1 (a free port), with Range requests."""

    def __init__(self, files: dict[str, bytes], lifetime_s: float = LIFETIME_S) -> None:
        self.files = dict(files)
        self.requests: list[tuple[str, Optional[str]]] = []
        self.cut_after: dict[str, int] = {}
        self.corrupt: dict[str, bytes] = {}
        self.honour_range = True
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._timer = threading.Timer(lifetime_s, self._httpd.shutdown)
        self._timer.daemon = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> "FileServer":
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        self._httpd.shutdown()
        self._httpd.server_close()

    def paths_requested(self) -> list[str]:
        return [path for path, _ in self.requests]

    def body(self, path: str) -> Optional[bytes]:
        """What a GET of ``path`` returns now (a corrupt copy is served once)."""
        if path in self.corrupt:
            return self.corrupt.pop(path)
        return self.files.get(path)


def _handler_for(server: FileServer) -> type:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server naming)
            byte_range = self.headers.get("Range")
            server.requests.append((self.path, byte_range))
            data = server.body(self.path)
            if data is None:
                self.send_error(404, "Not Found")
                return
            start = 0
            if byte_range and server.honour_range:
                start = int(byte_range.split("=")[1].rstrip("-"))
            if start >= len(data) > 0:
                self.send_error(416, "Range Not Satisfiable")
                return
            self.send_response(206 if start else 200)
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            self.wfile.write(data[start:start + server.cut_after.get(self.path, len(data))])

        def log_message(self, *args):
            pass
    return Handler
