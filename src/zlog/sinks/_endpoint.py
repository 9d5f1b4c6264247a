"""A small HTTP endpoint (``/health``, ``/metrics``) on a daemon thread, serving what it is given."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Page", "serve"]

#: A page: ``() -> (status, body, content type)``, called for each request.
Page = Callable[[], tuple[int, bytes, str]]


def serve(port: int, addr: str, pages: Mapping[str, Page]) -> ThreadingHTTPServer:
    """Serve ``pages`` by path on ``addr:port``; ``server.shutdown()`` stops it."""
    table = dict(pages)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = table.get(self.path.split("?", 1)[0])
            if page is None:
                self._send(404, b"not found\n", "text/plain")
                return
            try:
                code, body, kind = page()
            except Exception as exc:  # a page that fails answers 500, and the server keeps serving
                self._send(500, f"{type(exc).__name__}: {exc}\n".encode("utf-8", "replace"), "text/plain")
                return
            self._send(code, body, kind)

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
