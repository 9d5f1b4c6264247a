"""Local HTTP servers for tests: ``Capture`` records the JSON bodies POSTed to it (webhook and Alertmanager
tests); ``Receiver`` records every request and answers as a test scripts it (HTTPSink tests)."""

from __future__ import annotations

import gzip
import json
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Capture:
    """Records ``paths`` and JSON ``bodies`` of POST requests to ``url`` (``http://127.0.0.1:PORT``)."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.paths: list[str] = []
        self.arrived = threading.Condition()
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with capture.arrived:
                    capture.paths.append(self.path)
                    capture.bodies.append(body)
                    capture.arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def wait_for(self, status: str, timeout: float = 30.0) -> dict[str, Any]:
        """The first webhook body holding an alert with ``status``; AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for body in self.bodies:
                    if any(a["status"] == status for a in body["alerts"]):
                        return dict(body)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {status} notification within {timeout}s: {self.bodies}")
                self.arrived.wait(left)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Answer:
    """How the receiver answers one request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds before answering
    gate: threading.Event | None = None  # answer once it is set
    drop_connection: bool = False  # close the connection after answering, without saying so


@dataclass
class Request:
    """One request the receiver got, and what it answered."""

    path: str
    headers: dict[str, str]  # by lower-case name
    names: list[str]  # every header name as sent, in lower case, repeats included
    raw: bytes  # the body as sent
    body: bytes  # gunzipped when it came with Content-Encoding: gzip
    peer: int  # the client's port: one per connection
    at: float  # time.monotonic() when it arrived
    status: int  # what the receiver answered

    def lines(self) -> list[dict[str, Any]]:
        if self.headers.get("content-type") == "application/json":
            return list(json.loads(self.body))
        return [json.loads(line) for line in self.body.splitlines()]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # a client that went away: no traceback
        pass


class Receiver:
    """An HTTP/1.1 receiver (keep-alive) on 127.0.0.1 that records every POST and answers 200, or what
    ``answer()`` queued first; ``http10=True`` makes it answer HTTP/1.0 and close every connection."""

    def __init__(self, port: int = 0, *, http10: bool = False, tls: tuple[Path, Path] | None = None) -> None:
        self.requests: list[Request] = []
        self.answers: deque[Answer] = deque()
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0" if http10 else "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                gzipped = self.headers.get("Content-Encoding") == "gzip"
                with receiver.arrived:
                    answer = receiver.answers.popleft() if receiver.answers else Answer()
                headers, names = {k.lower(): v for k, v in self.headers.items()}, [k.lower() for k in self.headers]
                body = gzip.decompress(raw) if gzipped else raw
                request = Request(
                    self.path, headers, names, raw, body, self.client_address[1], time.monotonic(), answer.status
                )
                with receiver.arrived:
                    receiver.requests.append(request)
                    receiver.arrived.notify_all()
                time.sleep(answer.delay)
                if answer.gate is not None:
                    answer.gate.wait(30)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
                if answer.drop_connection:
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", port), Handler)
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.server_port}/ingest"

    def answer(self, *answers: Answer) -> None:
        with self.arrived:
            self.answers.extend(answers)

    def accepted(self) -> list[Request]:
        with self.arrived:
            return [r for r in self.requests if 200 <= r.status < 300]

    def delivered(self) -> list[dict[str, Any]]:
        """Every event line of every accepted request, in the order they arrived."""
        return [line for r in self.accepted() for line in r.lines()]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
