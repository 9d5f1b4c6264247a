"""A local HTTP server that records the JSON bodies POSTed to it (webhook and Alertmanager tests)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
