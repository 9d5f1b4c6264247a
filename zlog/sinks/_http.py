"""A small HTTP endpoint for ``/health`` and ``/metrics`` on a daemon thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from zlog.sinks.health import HealthSink
    from zlog.sinks.metrics import MetricsSink


def serve(port: int, addr: str, *, health: HealthSink | None, metrics: MetricsSink | None) -> ThreadingHTTPServer:
    """Start serving; ``server.shutdown()`` stops it."""
    exposition: Callable[[], tuple[bytes, str]] | None = None
    if metrics is not None:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        from zlog.sinks._prometheus import registry_for

        registry = registry_for(metrics)

        def expose() -> tuple[bytes, str]:
            return generate_latest(registry), CONTENT_TYPE_LATEST

        exposition = expose

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/health" and health is not None:
                report = health.status()
                code = 503 if report["status"] == "UNHEALTHY" else 200
                self._send(code, orjson.dumps(report), "application/json")
            elif path == "/metrics" and exposition is not None:
                body, kind = exposition()
                self._send(200, body, kind)
            else:
                self._send(404, b"not found\n", "text/plain")

        def _send(self, code: int, body: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet: no access log on stderr
            pass

    server = ThreadingHTTPServer((addr, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="zlog-http", daemon=True).start()
    return server
