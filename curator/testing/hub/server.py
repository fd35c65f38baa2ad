"""The Hub stand-in's servers: the API and the LFS object origin, on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from curator.testing.hub.routes import CDN_ROUTES, HUB_ROUTES, Reply, Request, error_reply
from curator.testing.hub.store import INVALID_TOKEN, MAX_BODY, HttpError, HubStub


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the client expects; every reply sets Content-Length
    timeout = 30  # idle keep-alive connections end on their own
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # silent: the stub keeps its own (method, path) log, with no header values

    def _handle(self) -> None:
        hub = self.server.hub
        split = urlsplit(self.path)
        try:
            body = self._body()
            with hub._lock:
                hub.requests.append((self.command, split.path))
                if len(hub.requests) > hub.max_requests:
                    raise HttpError(400, f"Hub stand-in request budget exhausted ({hub.max_requests})")
                status, payload, headers = self._dispatch(hub, split.path, split.query, body)
        except HttpError as exc:
            status, payload, headers = error_reply(exc)
        except (KeyError, TypeError, ValueError) as exc:  # malformed request: a 400 fails fast, a 5xx is retried
            status, payload, headers = error_reply(HttpError(400, f"the Hub stand-in cannot parse this: {exc!r}"))
        self._reply(status, payload, headers)

    def _dispatch(self, hub: HubStub, path: str, query: str, body: bytes) -> Reply:
        auth = "valid" if self.server.is_cdn else hub._auth(self.headers.get("Authorization"))
        if auth == "invalid":  # the Hub refuses a wrong token everywhere, even on public reads
            raise HttpError(401, INVALID_TOKEN)
        routes = CDN_ROUTES if self.server.is_cdn else HUB_ROUTES
        for method, pattern, handler in routes:
            match = pattern.fullmatch(path)
            if match and (method == "*" or self.command in method.split("|")):
                params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
                flat_query = {k: v[-1] for k, v in parse_qs(query).items()}
                return handler(hub, Request(params, flat_query, body, auth, self.headers))
        raise HttpError(404, f"no such endpoint: {self.command} {path}")

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._chunked_body()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise HttpError(413, "request body too large for the Hub stand-in")
        return self.rfile.read(length) if length else b""

    def _chunked_body(self) -> bytes:
        chunks, total = [], 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise HttpError(413, "request body too large for the Hub stand-in")
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _reply(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        if not isinstance(payload, bytes):
            headers = {"Content-Type": "application/json", **headers}
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, hub: HubStub, *, is_cdn: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hub, self.is_cdn = hub, is_cdn


@contextmanager
def serve_hub(root: Path | None = None, *, token: str | None = "hf_test_token",
              max_requests: int = 2000) -> Iterator[HubStub]:
    """Serve a stand-in Hub on 127.0.0.1 (random ports) for the duration of the block.

    `root/<owner>/<name>/` folders become public dataset repos. `token=None` accepts any caller.
    Past `max_requests` every request gets a 400, so a runaway client cannot loop forever.
    """
    hub = HubStub(token, max_requests)
    if root is not None:
        hub.seed(Path(root))
    servers = [_Server(hub, is_cdn=False), _Server(hub, is_cdn=True)]
    hub.url, hub.cdn_url = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, name="hubstub", daemon=True)
               for s in servers]
    for t in threads:
        t.start()
    try:
        yield hub
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


