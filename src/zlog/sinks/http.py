"""``HTTPSink``: batches of events POSTed as NDJSON (or a JSON array) to an HTTP(S) receiver.

Only the standard library: ``http.client`` is imported when the first request is made, not with
this module. Narrative, retry policy and numbers: docs/sinks/http.md.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from zlog import __version__, _fork
from zlog.event import Event
from zlog.sinks._streams import RejectedError, StreamSink, Writer, line_renderer, masked_url

if TYPE_CHECKING:
    import ssl

__all__ = ["HTTPSink"]

#: Body format -> the Content-Type it is sent with.
FORMATS = {"ndjson": "application/x-ndjson", "json-array": "application/json"}
#: Longest wait a ``Retry-After`` answer can impose before the next attempt, in seconds.
MAX_RETRY_AFTER = 30.0
_RETRIED = frozenset({408, 425, 429})  # and every 5xx: the receiver may take the batch later
_ANSWER_LIMIT = 65536  # bytes of an answer read; the connection of a longer one is not reused
_SNIPPET = 200  # characters of a refusing answer quoted in the report
_SET_BY_SINK = frozenset({"content-length", "content-encoding", "transfer-encoding"})
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_GZIP_LEVEL = 6


class _Address:
    """Where the sink posts: host, port and request target, the Basic credentials, the masked url."""

    def __init__(self, url: str) -> None:
        if not isinstance(url, str):
            raise TypeError(f"HTTPSink url must be a str, got {type(url).__name__}")
        self.shown = masked_url(url)
        if any(c <= " " or c == "\x7f" for c in url):
            raise ValueError(f"HTTPSink url must not contain spaces or control characters, got {self.shown!r}")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:  # its message may quote a part of the password: not shown
            raise ValueError(f"HTTPSink url {self.shown!r} has a bad port or IPv6 address") from None
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"HTTPSink url must start with http:// or https://, got {self.shown!r}")
        if not parts.hostname:
            raise ValueError(f"HTTPSink url has no host: {self.shown!r}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = port or (443 if self.https else 80)
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if not self.target.isascii():
            raise ValueError(f"HTTPSink url path and query must be ASCII (percent-encode the rest): {self.shown!r}")
        given = [s for s in (parts.username, parts.password, parts.query) if s]
        self.secrets = [*given, *(unquote(s) for s in given)]  # never in a report, encoded or not
        self.authorization: str | None = None
        if parts.username is not None:
            import base64

            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self.authorization = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
            self.secrets.append(self.authorization)


def _headers(base: dict[str, str], extra: Mapping[str, str] | None) -> dict[str, str]:
    """``base`` with ``extra`` on top (a name given in both, in any case, takes the value from ``extra``)."""
    if extra is None:
        return base
    if not isinstance(extra, Mapping):
        raise TypeError(f"headers must be a mapping of str to str, got {type(extra).__name__}")
    merged = dict(base)
    for name, value in extra.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"headers must map str to str, got {name!r}: {type(value).__name__}")
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"{name!r} is not a valid HTTP header name")
        if name.lower() in _SET_BY_SINK:
            raise ValueError(f"the {name} header is set by the sink, not by headers=")
        if any(c in value for c in "\r\n\0"):
            raise ValueError(f"the value of header {name!r} must not contain CR, LF or NUL")
        try:
            value.encode("latin-1")  # what http.client sends
        except UnicodeEncodeError:
            raise ValueError(f"the value of header {name!r} must be Latin-1 text (encode it first)") from None
        for known in [k for k in merged if k.lower() == name.lower()]:
            del merged[known]
        merged[name] = value
    return merged


def _retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (a number or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())  # a date without a zone is read as UTC


class _HTTPWriter(Writer):
    """Posts batches on one keep-alive connection (a forked child opens its own)."""

    def __init__(
        self,
        address: _Address,
        headers: dict[str, str],
        secrets: list[str],
        body: str,
        gzip: bool,
        timeout: float,
        max_body_bytes: int,
        profile: str | None,
        ssl_context: ssl.SSLContext | None,
        name: str,
    ) -> None:
        super().__init__()
        self.name = name  # failures of a batch are reported under the sink's name
        self.address, self.headers, self.body, self.gzip = address, headers, body, gzip
        self.timeout, self.max_body_bytes, self.ssl_context = timeout, max_body_bytes, ssl_context
        self.render = line_renderer(profile)
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)
        self.requests = 0
        self.rejected = 0
        self._conn: Any = None
        self._uses = 0  # requests answered on the current connection
        self._in_request = False
        self._guard = threading.Lock()
        self._batch: list[Event] | None = None  # the batch being sent, kept across retries
        self._bodies: list[tuple[int, bytes]] = []  # its request bodies (events, body) not yet answered for good
        self._accepted = 0
        self._refusal: str | None = None
        _fork.after_fork_in_child(self, _HTTPWriter._forked)

    def _forked(self) -> None:
        self._guard = threading.Lock()
        self._conn = None  # the parent's connection: the child neither uses nor shuts it down
        self._in_request = False
        self._batch = None

    # -- building the bodies ---------------------------------------------------------------------
    def _split(self, events: list[Event]) -> list[tuple[int, bytes]]:
        lines = [self.render(e) for e in events]
        limit = self.max_body_bytes
        if sum(map(len, lines)) + len(lines) + 1 <= limit:
            return [(len(lines), self._encode(lines))]
        bodies: list[tuple[int, bytes]] = []
        group: list[bytes] = []
        size = 1
        for line in lines:
            if group and size + len(line) + 1 > limit:
                bodies.append((len(group), self._encode(group)))
                group, size = [], 1
            group.append(line)
            size += len(line) + 1
        bodies.append((len(group), self._encode(group)))
        return bodies

    def _encode(self, lines: list[bytes]) -> bytes:
        data = b"[" + b",".join(lines) + b"]" if self.body == "json-array" else b"\n".join(lines) + b"\n"
        if not self.gzip:
            return data
        import zlib

        packer = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, 31)  # wbits 31: the gzip container
        return packer.compress(data) + packer.flush()

    # -- sending ---------------------------------------------------------------------------------
    def send(self, events: list[Event]) -> int:
        if self._batch is not events:  # a retry goes on with the bodies not yet answered
            self._batch, self._accepted, self._refusal = events, 0, None
            self._bodies = self._split(events)
        while self._bodies:
            count, body = self._bodies[0]
            try:
                status, reason, retry_after, answer = self._post(body)
            except RejectedError as exc:  # no body can be sent: every one left is refused
                self._refuse(sum(n for n, _ in self._bodies), str(exc))
                self._bodies = []
                break
            if 200 <= status < 300:
                self._accepted += count
            elif status in _RETRIED or 500 <= status < 600:
                if retry_after is not None:
                    self.stop.wait(min(retry_after, MAX_RETRY_AFTER))  # at least that long, then the backoff
                raise ConnectionError(f"{self.address.shown} answered {status} {reason}")
            else:
                why = f"{self.address.shown} answered {status} {reason}"
                if 300 <= status < 400:
                    why += " (redirects are not followed: set url to the address it points to)"
                self._refuse(count, why + self._quote(answer))
            self._bodies.pop(0)
        self._batch = None
        if self._refusal is not None:
            self.last_error = RejectedError(self._refusal)  # handle_batch reports it with the count
        return self._accepted

    def _refuse(self, count: int, why: str) -> None:
        self.rejected += count
        self._refusal = why

    def _quote(self, answer: bytes) -> str:
        text = " ".join(answer.decode("utf-8", "replace").split())
        for secret in self.secrets:  # a receiver may echo what it was sent
            text = text.replace(secret, "***")
        return f": {text[:_SNIPPET]}" if text else ""

    def _post(self, body: bytes) -> tuple[int, str, float | None, bytes]:
        """One request (and, on a kept-alive connection the receiver had closed, one more on a new one)."""
        import http.client
        import ssl

        while True:
            conn = self._open()
            fresh = self._uses == 0
            keep = False
            try:
                self.requests += 1
                conn.request("POST", self.address.target, body, self.headers)
                response = conn.getresponse()
                answer = response.read(_ANSWER_LIMIT)
                keep = response.isclosed()  # fully read: the connection can take the next request
                self._uses += 1
                return response.status, response.reason, _retry_after(response.getheader("Retry-After")), answer
            except ssl.SSLCertVerificationError as exc:  # retrying cannot help
                raise RejectedError(f"{self.address.shown}: certificate refused: {exc.verify_message}") from exc
            except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError) as exc:
                if fresh or self.stop.is_set():
                    raise ConnectionError(f"{self.address.shown}: {type(exc).__name__}: {exc}") from exc
                # the receiver closed the idle kept-alive connection: once more, on a new one
            except (OSError, http.client.HTTPException) as exc:
                raise ConnectionError(f"{self.address.shown}: {type(exc).__name__}: {exc}") from exc
            finally:
                self._release(conn, keep)

    def _open(self) -> Any:
        import http.client

        with self._guard:
            if self.stop.is_set():
                raise ConnectionError(f"{self.address.shown}: the sink is closing")
            if self._conn is None:
                a = self.address
                if a.https:
                    self._conn = http.client.HTTPSConnection(
                        a.host, a.port, timeout=self.timeout, context=self.ssl_context
                    )
                else:
                    self._conn = http.client.HTTPConnection(a.host, a.port, timeout=self.timeout)
                self._uses = 0
            elif self._conn.sock is None:  # the receiver ended the connection with its last answer
                self._uses = 0
            self._in_request = True
            return self._conn

    def _release(self, conn: Any, keep: bool) -> None:
        with self._guard:
            self._in_request = False
            if keep and self._conn is conn:
                return
            if self._conn is conn:
                self._conn = None
        with contextlib.suppress(Exception):
            conn.close()

    def disconnect(self) -> None:
        with self._guard:
            conn, self._conn = self._conn, None
            busy = self._in_request
        if conn is None:
            return
        if busy:  # the writer thread is in a request (close): wake it up; it closes the connection itself
            sock = conn.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            return
        with contextlib.suppress(Exception):
            conn.close()


class HTTPSink(StreamSink):
    """POSTs batches of events to ``url``: NDJSON (``application/x-ndjson``, the lines ``JSONSink``
    writes) or, with ``format="json-array"``, one JSON array (``application/json``).

    Runs in the background like ``Background``: one keep-alive connection per process, batches of up to
    ``batch_size`` events (split to keep each body under ``max_body_bytes``), optionally gzipped.
    Connection errors, timeouts, 408, 425, 429 and 5xx answers are retried with exponential backoff and
    jitter (at least ``Retry-After`` when given, at most 30 s of it); any other answer but 2xx refuses
    the batch: counted in ``errors`` and ``rejected`` and reported as ``ZLOG_SINK_ERROR``. Drops are
    counted and reported as ``ZLOG_EVENTS_DROPPED``. ``user:password@`` in the url is sent as Basic
    authentication and never shown; ``url`` is the masked address.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        format: str = "ndjson",
        profile: str | None = None,
        gzip: bool = False,
        timeout: float = 5.0,
        max_body_bytes: int = 4 * 1024 * 1024,
        ssl_context: ssl.SSLContext | None = None,
        maxsize: int = 10_000,
        overflow: str = "drop_newest",
        batch_size: int = 1000,
        exit_timeout: float = 5.0,
        name: str = "http",
    ) -> None:
        address = _Address(url)
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
            raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes < 1024:
            raise ValueError(f"max_body_bytes must be an int >= 1024, got {max_body_bytes!r}")
        if ssl_context is not None and not address.https:
            raise ValueError("ssl_context is for an https:// url")
        base = {"Content-Type": FORMATS[format], "User-Agent": f"zlog/{__version__}"}
        if address.authorization is not None:
            base["Authorization"] = address.authorization
        sent = _headers(base, headers)
        secrets = [*address.secrets, *(headers or {}).values()]  # masked in the receiver's answers we quote
        if gzip:
            sent["Content-Encoding"] = "gzip"
        self.url, self.format, self.gzip, self.timeout = address.shown, format, bool(gzip), float(timeout)
        writer = _HTTPWriter(
            address, sent, secrets, format, bool(gzip), float(timeout), max_body_bytes, profile, ssl_context, name
        )
        super().__init__(
            writer, maxsize=maxsize, overflow=overflow, batch_size=batch_size, exit_timeout=exit_timeout, name=name
        )
        self._http = writer

    @property
    def rejected(self) -> int:
        """Events the receiver refused for good (an answer that is not retried)."""
        return self._http.rejected

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "url": self.url, "requests": self._http.requests, "rejected": self._http.rejected}

    def __repr__(self) -> str:
        return f"<HTTPSink {self.name!r} {self.url} queued={self.pending()} sent={self.sent} dropped={self.dropped}>"
