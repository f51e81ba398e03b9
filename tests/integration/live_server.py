"""Real sockets for tests that drive the service from another process.

`serve(app)` runs the app under uvicorn on a loopback port; `RecordingProxy` sits in front of
a server, records every request and can misbehave on cue (drop an answer, answer for the
server, delay, corrupt a body) to stage the network failures a client must survive; `Stack`
is what a client process gets to see of it all.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

import uvicorn
from litestar import Litestar

from backend.settings import Settings

# Per-connection headers: a proxy answers them itself instead of passing them on.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade"}
)


@contextlib.contextmanager
def serve(app: Litestar) -> Iterator[str]:
    """Run the app under uvicorn in a background thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # the kernel picks a free port; nothing can take it meanwhile
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        host, port = sock.getsockname()
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@dataclass(frozen=True)
class Stack:
    """The service as a client process reaches it, and what each proxy saw on the way."""

    url: str  # the API's base URL
    key: str  # an API key
    settings: Settings  # the app's; its S3 endpoint is the S3 proxy's URL when proxied
    api: RecordingProxy
    s3: RecordingProxy


@dataclass(frozen=True)
class Seen:
    """One request as it reached the proxy."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body_size: int


@dataclass
class Rule:
    """Misbehave on the next `times` requests whose method matches and path contains `path`."""

    method: str
    path: str
    action: Literal["drop_answer", "answer", "delay", "corrupt"]
    times: int = 1
    status: int = 503
    body: bytes = b""
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and method == self.method and self.path in path


@dataclass
class RecordingProxy:
    """A loopback HTTP/1.1 proxy in front of `upstream` (Host headers are passed unchanged)."""

    upstream: str
    seen: list[Seen] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, rule: Rule) -> None:
        """Misbehave as `rule` says."""
        with self._lock:
            self.rules.append(rule)

    def requests(self, method: str, path: str = "") -> list[Seen]:
        """The requests seen with this method whose path contains `path`."""
        with self._lock:
            return [s for s in self.seen if s.method == method and path in s.path]

    def _rule_for(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.times -= 1
                    return rule
            return None

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        """Listen on a free loopback port; yield the proxy's base URL."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        try:
            host, port = server.server_address[:2]
            yield f"http://{host!s}:{port}"
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()


def _handler_for(proxy: RecordingProxy) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(proxy.upstream)
    host = target.hostname or "127.0.0.1"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30  # idle keep-alive connections end on their own

        def _relay(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            if "content-length" not in headers and "chunked" in headers.get(
                "transfer-encoding", ""
            ):
                # AWS refuses bodies without a declared length; so does this proxy.
                self._record(headers, -1)
                self._answer(411, {}, b"Length Required: send Content-Length")
                return
            body = self.rfile.read(int(headers.get("content-length", 0)))
            self._record(headers, len(body))
            rule = proxy._rule_for(self.command, self.path)
            if rule and rule.action == "answer":
                self._answer(rule.status, {"content-type": "application/xml"}, rule.body)
                return
            if rule and rule.action == "delay":
                time.sleep(rule.seconds)
            status, reply_headers, reply = self._forward(headers, body)
            if rule and rule.action == "drop_answer":
                self.close_connection = True  # the server acted; the client never hears of it
                return
            if rule and rule.action == "corrupt" and reply:
                reply = bytes([reply[0] ^ 0xFF]) + reply[1:]
            self._answer(status, reply_headers, reply)

        def _record(self, headers: dict[str, str], body_size: int) -> None:
            proxy._record(Seen(self.command, self.path, headers, body_size))

        def _forward(
            self, headers: dict[str, str], body: bytes
        ) -> tuple[int, dict[str, str], bytes]:
            upstream = http.client.HTTPConnection(host, target.port, timeout=60)
            try:
                passed = {k: v for k, v in headers.items() if k not in HOP_BY_HOP}
                upstream.request(self.command, self.path, body=body or None, headers=passed)
                response = upstream.getresponse()
                reply = response.read()
                reply_headers = {
                    k.lower(): v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP
                }
                return response.status, reply_headers, reply
            finally:
                upstream.close()

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response_only(status)
            for name, value in headers.items():
                if name not in {"content-length", "date", "server"}:
                    self.send_header(name, value)
            if self.command == "HEAD":
                self.send_header("content-length", headers.get("content-length", "0"))
            elif status not in {204, 304}:
                self.send_header("content-length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        # http.server dispatches on these names.
        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _relay  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the test reads `seen` instead

    return Handler
