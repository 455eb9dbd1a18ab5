"""A webhook receiver for tests and benchmarks: a real HTTP server on a loopback port, in a thread,
that records what it is sent and answers as the test says."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    at: float  # time.time() when it arrived

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """`answer(received) -> status` decides each response (200 by default); `delay` holds each one."""

    port: int = 0
    answer: Callable[[Received], int] = lambda _received: 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    in_flight: Counter = field(default_factory=Counter)  # per webhook-id
    overlapped: list[str] = field(default_factory=list)  # ids sent again while still in flight
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                got = Received(
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length).decode(),
                    time.time(),
                )
                id_ = got.headers.get("webhook-id", "")
                with receiver._lock:
                    if receiver.in_flight[id_]:
                        receiver.overlapped.append(id_)
                    receiver.in_flight[id_] += 1
                try:
                    if receiver.delay:
                        time.sleep(receiver.delay)
                    status = receiver.answer(got)
                    with receiver._lock:
                        receiver.received.append(got)
                finally:
                    with receiver._lock:
                        receiver.in_flight[id_] -= 1
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until `start` again (on the same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def of_type(self, type_: str) -> list[Received]:
        return [r for r in self.received if r.json["type"] == type_]
