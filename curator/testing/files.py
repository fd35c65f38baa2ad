"""A loopback static file server with fault injection, for tests and the offline demo.

`serve_directory(root)` serves the files under `root` on 127.0.0.1 from a daemon thread and
yields its base URL. The URL is a `str` that also carries `.requests`, the log of what the
server received, so tests can assert on request counts and Range headers:

    with serve_directory(root, faults={"/a.zip": Fault(fail_times=2)}) as url:
        download(url + "/a.zip", dest)
        assert [r.method for r in url.requests] == ["GET"] * 3
"""

from __future__ import annotations

import base64
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from curator.testing.ranges import Unsatisfiable, byte_range

_CHUNK = 64 * 1024


@dataclass
class Fault:
    """What to do wrong when serving one path. Counters make one-shot faults fire once."""

    status: int | None = None  # always answer this status (e.g. 404, 403)
    fail_times: int = 0  # answer 500 to the first N requests
    drop_after: int | None = None  # close the connection after K body bytes, once
    delay: float = 0.0  # sleep before answering (a stall when longer than the client timeout)
    corrupt: bool = False  # serve the right length of wrong bytes
    ignore_range: bool = False  # answer 200 with the whole file even when asked for a range
    _failed: int = field(default=0, repr=False)
    _dropped: bool = field(default=False, repr=False)


FaultPlan = dict[str, Fault]  # URL path ("/dir/file.zip") -> fault


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    range: str | None


class BaseURL(str):
    """The server's base URL; `.requests` lists the requests received so far."""

    requests: list[RecordedRequest]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # never wait on a handler that is deliberately stalling

    def __init__(self, address: tuple[str, int], root: Path, faults: FaultPlan, authorization: str | None) -> None:
        super().__init__(address, _Handler)
        self.root = root.resolve()
        self.faults = faults
        self.authorization = authorization  # the Authorization header every request must carry, if any
        self.requests: list[RecordedRequest] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up mid-body are expected here; keep test output clean


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def log_message(self, format: str, *args: object) -> None:
        pass  # requests are recorded in server.requests instead

    def _serve(self, body: bool) -> None:
        path = urlsplit(self.path).path
        range_header = self.headers.get("Range")
        with self.server.lock:
            self.server.requests.append(RecordedRequest(self.command, path, range_header))
            fault = self.server.faults.get(path, Fault())
            status = _fault_status(fault)
        if fault.delay and self.server.stopping.wait(fault.delay):
            return
        if self.server.authorization and self.headers.get("Authorization") != self.server.authorization:
            status = 401
        if status is not None:
            self._send_status(status)
            return
        file = self._resolve(path)
        if file is None:
            self._send_status(404)
            return
        data = file.read_bytes()
        if fault.corrupt:
            data = bytes(b ^ 0xFF for b in data)
        self._send_file(data, None if fault.ignore_range else range_header, fault, body)

    def _resolve(self, path: str) -> Path | None:
        file = (self.server.root / unquote(path).lstrip("/")).resolve()
        if not file.is_relative_to(self.server.root) or not file.is_file():
            return None
        return file

    def _send_status(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send_file(self, data: bytes, range_header: str | None, fault: Fault, body: bool) -> None:
        try:
            wanted = byte_range(range_header, len(data))
        except Unsatisfiable as exc:
            self.send_response(416)
            self.send_header("Content-Range", str(exc))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end = wanted or (0, len(data))
        if wanted:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if body:
            self._write_body(data[start:end], fault)

    def _write_body(self, payload: bytes, fault: Fault) -> None:
        limit = len(payload)
        with self.server.lock:
            if fault.drop_after is not None and not fault._dropped:
                fault._dropped = True
                limit = min(limit, fault.drop_after)
        for offset in range(0, limit, _CHUNK):
            self.wfile.write(payload[offset : min(offset + _CHUNK, limit)])
        if limit < len(payload):
            self.wfile.flush()
            self.close_connection = True  # the client sees a short body: a dropped connection


def _fault_status(fault: Fault) -> int | None:
    """The status a fault forces for this request, if any (call with the server lock held)."""
    if fault.status is not None:
        return fault.status
    if fault._failed < fault.fail_times:
        fault._failed += 1
        return 500
    return None


@contextlib.contextmanager
def serve_directory(
    root: Path, *, host: str = "127.0.0.1", port: int = 0, faults: FaultPlan | None = None,
    basic_auth: tuple[str, str] | None = None,
) -> Iterator[BaseURL]:
    """Serve `root` over HTTP until the block exits; yields the base URL (no trailing slash).
    `basic_auth` (user, password): every request without those HTTP Basic credentials gets a 401."""
    authorization = f"Basic {base64.b64encode(':'.join(basic_auth).encode()).decode()}" if basic_auth else None
    server = _Server((host, port), Path(root), faults if faults is not None else {}, authorization)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = BaseURL(f"http://{host}:{server.server_address[1]}")
    url.requests = server.requests
    try:
        yield url
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
