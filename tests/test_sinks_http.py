"""HTTPSink against real HTTP receivers on 127.0.0.1 (``http_capture.Receiver``: http.server in a thread of the
test process): delivery, body formats, retries, refusals, a receiver that is down or hangs, exit, fork, TLS and
the url rules."""

from __future__ import annotations

import base64
import email.utils
import io
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from http_capture import Answer, Receiver

import zlog
from zlog import JSONSink, Router
from zlog.sinks import http as http_module
from zlog.sinks.http import HTTPSink
from zlog.testing import CapturedEvents

now = time.monotonic


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    """Makes receivers (``Receiver``'s arguments) and closes them after the test."""
    made: list[Receiver] = []

    def make(*args: Any, **kwargs: Any) -> Receiver:
        made.append(Receiver(*args, **kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def receiver(receivers: Callable[..., Receiver]) -> Receiver:
    return receivers()


def wired(url: str, **kwargs: Any) -> tuple[Router, HTTPSink, CapturedEvents]:
    """A router sending JOB_* to a new HTTPSink and every ZLOG_* report to a capture."""
    router = Router(report_interval=0)
    reports = CapturedEvents(name="reports")
    router.route("ZLOG_*", reports)
    sink = HTTPSink(url, **kwargs)
    router.route("JOB_*", sink)
    return router, sink, reports


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = now() + timeout
    while not condition():
        assert now() < deadline, "timed out"
        time.sleep(0.005)


def ns(lines: list[dict[str, Any]]) -> list[int]:
    return [line["n"] for line in lines]


# -- delivery and body formats --------------------------------------------------------------------


def test_every_event_arrives_once_in_order_in_batches_no_bigger_than_batch_size(receiver: Receiver) -> None:
    router, sink, _ = wired(receiver.url, batch_size=64)
    for n in range(2000):
        router.emit("JOB_DONE", "done", n=n)
    assert sink.close(timeout=30)
    assert ns(receiver.delivered()) == list(range(2000))
    assert max(len(r.lines()) for r in receiver.requests) <= 64
    assert sink.sent == 2000 and sink.dropped == 0 and sink.errors == 0
    assert {r.path for r in receiver.requests} == {"/ingest"}


def test_the_ndjson_body_is_exactly_the_lines_jsonsink_writes(receiver: Receiver) -> None:
    router, sink, _ = wired(receiver.url)
    written = io.BytesIO()
    router.route("JOB_*", JSONSink(written))
    for n in range(300):
        router.emit("JOB_DONE", "done", n=n, job_id=f"j{n}", when=1.5, tags=["a", "é"])
    assert sink.close(timeout=10)
    assert b"".join(r.body for r in receiver.requests) == written.getvalue()
    assert {r.headers["content-type"] for r in receiver.requests} == {"application/x-ndjson"}


def test_json_array_format_posts_one_array_of_the_same_objects(receiver: Receiver) -> None:
    router, sink, _ = wired(receiver.url, format="json-array")
    written = io.BytesIO()
    router.route("JOB_*", JSONSink(written))
    for n in range(100):
        router.emit("JOB_DONE", "done", n=n)
    assert sink.close(timeout=10)
    arrays = [json.loads(r.body) for r in receiver.requests]
    assert all(isinstance(a, list) for a in arrays)
    assert [obj for a in arrays for obj in a] == [json.loads(line) for line in written.getvalue().splitlines()]
    assert {r.headers["content-type"] for r in receiver.requests} == {"application/json"}


def test_gzip_sends_a_gzipped_body_that_says_so(receiver: Receiver) -> None:
    router, sink, _ = wired(receiver.url, gzip=True)
    for n in range(500):
        router.emit("JOB_DONE", "done", n=n, note="the same words again and again")
    assert sink.close(timeout=10)
    assert {r.headers["content-encoding"] for r in receiver.requests} == {"gzip"}
    assert ns(receiver.delivered()) == list(range(500))
    assert sum(len(r.raw) for r in receiver.requests) < sum(len(r.body) for r in receiver.requests) / 3


def test_headers_are_sent_and_replace_the_defaults_whatever_their_case(receiver: Receiver) -> None:
    router, sink, _ = wired(receiver.url, headers={"X-Api-Key": "k-123", "content-type": "text/plain"})
    router.emit("JOB_DONE", "done")
    assert sink.close(timeout=10)
    [request] = receiver.requests
    assert request.headers["x-api-key"] == "k-123"
    assert request.headers["content-type"] == "text/plain" and request.names.count("content-type") == 1
    assert request.headers["user-agent"] == f"zlog/{zlog.__version__}"


def test_a_profile_shapes_each_line(receiver: Receiver) -> None:
    router, sink, _ = wired(receiver.url, profile="ecs")
    router.emit("JOB_DONE", "done")
    assert sink.close(timeout=10)
    [line] = receiver.delivered()
    assert "@timestamp" in line


@pytest.mark.parametrize("http10", [False, True], ids=["keep-alive", "http-1.0"])
def test_one_connection_carries_every_batch_unless_the_receiver_closes_each(
    receivers: Callable[..., Receiver], http10: bool
) -> None:
    receiver = receivers(http10=http10)
    router, sink, _ = wired(receiver.url)
    for n in range(5):
        router.emit("JOB_DONE", "done", n=n)
        assert sink.flush(timeout=10)
    assert sink.close(timeout=10)
    assert ns(receiver.delivered()) == list(range(5)) and sink.reconnects == 0
    assert len({r.peer for r in receiver.requests}) == (5 if http10 else 1)


def test_a_kept_alive_connection_the_receiver_dropped_is_replaced_without_a_retry(receiver: Receiver) -> None:
    receiver.answer(Answer(drop_connection=True))
    router, sink, _ = wired(receiver.url)
    router.emit("JOB_DONE", "done", n=0)
    assert sink.flush(timeout=10)
    time.sleep(0.2)  # the receiver has closed its side by now
    router.emit("JOB_DONE", "done", n=1)
    assert sink.close(timeout=10)
    assert ns(receiver.delivered()) == [0, 1]
    assert sink.reconnects == 0 and sink.errors == 0
    assert len({r.peer for r in receiver.requests}) == 2


def test_a_batch_over_max_body_bytes_is_split_and_a_retry_resends_only_the_unanswered_part(
    receiver: Receiver,
) -> None:
    gate = threading.Event()
    receiver.answer(Answer(gate=gate), Answer(), Answer(503))  # the 2nd body of the 2nd batch: 503 once
    router, sink, _ = wired(receiver.url, max_body_bytes=2048)
    router.emit("JOB_DONE", "done", n=0, payload="x" * 300)
    wait_for(lambda: len(receiver.requests) == 1)  # the first batch, [0], is held at the receiver
    for n in range(1, 40):
        router.emit("JOB_DONE", "done", n=n, payload="x" * 300)  # the second batch: 1 to 39
    gate.set()
    assert sink.close(timeout=10)
    assert all(len(r.raw) <= 2048 for r in receiver.requests)
    assert len(receiver.requests[1].lines()) < 39  # the second batch was split
    assert receiver.requests[2].status == 503 and receiver.requests[2].body == receiver.requests[3].body
    assert ns(receiver.delivered()) == list(range(40))  # each once: the batch's first body was not sent again


# -- retries and refusals -------------------------------------------------------------------------


def test_a_receiver_answering_503_twice_then_200_gets_the_batch_once(receiver: Receiver) -> None:
    receiver.answer(Answer(503), Answer(503))
    router, sink, _ = wired(receiver.url)
    for n in range(100):
        router.emit("JOB_DONE", "done", n=n)
    assert sink.close(timeout=10)
    first, second, third = receiver.requests[:3]
    assert (first.status, second.status, third.status) == (503, 503, 200)
    assert first.body == second.body == third.body  # the same batch, sent again
    assert ns(receiver.delivered()) == list(range(100))  # exactly once
    assert sink.reconnects == 2 and sink.errors == 0 and sink.sent == 100


@pytest.mark.parametrize(("status", "retry_after"), [(429, "1"), (503, "1"), (503, "an HTTP date 2 s ahead")])
def test_retry_after_is_waited_before_the_next_attempt(receiver: Receiver, status: int, retry_after: str) -> None:
    if not retry_after.isdigit():  # whole seconds: at least 1 s of the 2 is left when the sink reads it
        retry_after = email.utils.formatdate(time.time() + 2, usegmt=True)
    receiver.answer(Answer(status, {"Retry-After": retry_after}))
    router, sink, _ = wired(receiver.url)
    router.emit("JOB_DONE", "done", n=0)
    assert sink.close(timeout=10)
    first, second = receiver.requests
    assert second.at - first.at >= 0.9
    assert ns(receiver.delivered()) == [0]


def test_a_long_retry_after_is_capped(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_module, "MAX_RETRY_AFTER", 0.2)
    receiver.answer(Answer(503, {"Retry-After": "3600"}))
    router, sink, _ = wired(receiver.url)
    router.emit("JOB_DONE", "done", n=0)
    assert sink.flush(timeout=10)  # not an hour
    assert ns(receiver.delivered()) == [0]
    sink.close(timeout=5)


def test_close_while_waiting_out_a_retry_after_returns_by_its_deadline_and_counts_the_batch(
    receiver: Receiver,
) -> None:
    receiver.answer(Answer(503, {"Retry-After": "3600"}))
    router, sink, reports = wired(receiver.url)
    for n in range(10):
        router.emit("JOB_DONE", "done", n=n)
    wait_for(lambda: bool(receiver.requests))
    closing = now()
    assert sink.close(timeout=1) is False
    assert now() - closing < 5
    assert sink.sent == 0 and sink.dropped == 10
    assert sum(r.fields["dropped"] for r in reports.of("ZLOG_EVENTS_DROPPED")) == 10


def test_a_request_that_times_out_is_retried(receiver: Receiver) -> None:
    receiver.answer(Answer(delay=1.0))  # answers after the sink stopped waiting
    router, sink, _ = wired(receiver.url, timeout=0.3)
    router.emit("JOB_DONE", "done", n=0)
    assert sink.close(timeout=10)
    assert sink.reconnects >= 1 and sink.sent == 1
    assert len(receiver.requests) >= 2  # at least once: the late answer did not count


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (Answer(400, body=b'{"error": "bad line 3"}'), ["400 Bad Request", "bad line 3"]),
        (Answer(302, {"Location": "http://127.0.0.1:1/elsewhere"}), ["302 Found", "redirects are not followed"]),
    ],
    ids=["400", "302"],
)
def test_a_4xx_or_3xx_is_not_retried_but_counted_and_reported(
    receiver: Receiver, answer: Answer, said: list[str]
) -> None:
    receiver.answer(answer)
    router, sink, reports = wired(receiver.url)
    for n in range(50):
        router.emit("JOB_DONE", "done", n=n)
    assert sink.flush(timeout=10)
    router.emit("JOB_DONE", "done", n=50)
    assert sink.close(timeout=10)
    refused = receiver.requests[0]
    assert refused.status == answer.status and len(receiver.requests) == len(receiver.accepted()) + 1  # sent once
    lost = ns(refused.lines())
    assert ns(receiver.delivered()) == [n for n in range(51) if n not in lost]  # the sink went on
    assert sink.rejected == len(lost) and sink.errors == 1 and sink.reconnects == 0
    [error] = reports.of("ZLOG_SINK_ERROR")
    assert error.fields["sink"] == "http" and f"rejected {len(lost)} of {len(lost)} events" in error.message
    assert all(words in error.message for words in said)


# -- a receiver that is down or hangs ---------------------------------------------------------------


def test_a_receiver_that_is_down_at_first_gets_everything_once_it_comes_up(receivers: Callable[..., Receiver]) -> None:
    port = free_port()
    router, sink, _ = wired(f"http://127.0.0.1:{port}/ingest")
    for n in range(100):
        router.emit("JOB_DONE", "done", n=n)
    wait_for(lambda: sink.reconnects >= 2)
    assert sink.sent == 0
    receiver = receivers(port)
    assert sink.close(timeout=15)
    assert ns(receiver.delivered()) == list(range(100))
    assert sink.dropped == 0 and sink.sent == 100


def test_a_hanging_receiver_never_blocks_emit_and_close_returns_by_its_deadline_counting_the_events(
    receiver: Receiver,
) -> None:
    hang = threading.Event()
    receiver.answer(Answer(gate=hang))  # takes the first request and does not answer
    router, sink, reports = wired(receiver.url, maxsize=100, batch_size=10, timeout=30, name="hang")
    try:
        started = now()
        for n in range(1000):
            router.emit("JOB_DONE", "done", n=n)
        assert now() - started < 5  # generous: only shows emit does not wait for the receiver
        assert sink.dropped >= 1000 - 100 - 10
        closing = now()
        assert sink.close(timeout=1) is False
        assert now() - closing < 5
        assert sink.sent == 0 and sink.dropped == 1000  # queued and in flight at close: counted too
        assert sum(r.fields["dropped"] for r in reports.of("ZLOG_EVENTS_DROPPED")) == 1000
        # close woke the writer up: it does not wait out its 30 s timeout
        wait_for(lambda: not any(t.name == "zlog-hang" for t in threading.enumerate()), timeout=5)
    finally:
        hang.set()


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=True
    )


def test_events_left_for_an_unreachable_receiver_at_exit_are_counted_and_reported() -> None:
    done = _run(f"""
        import sys, zlog
        from zlog.sinks.http import HTTPSink
        zlog.route('JOB_*', HTTPSink('http://127.0.0.1:{free_port()}/ingest', exit_timeout=0.5))
        zlog.route('ZLOG_EVENTS_DROPPED', zlog.JSONSink(sys.stdout))
        for i in range(50):
            zlog.emit('JOB_DONE', 'done', n=i)
    """)
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert sum(r["dropped"] for r in reports) == 50  # every event is accounted for, none silently lost
    assert reports[-1]["total_dropped"] == 50 and reports[-1]["sink"] == "http"


def test_events_queued_at_exit_are_delivered_to_a_receiver_that_is_up(receiver: Receiver) -> None:
    done = _run(f"""
        import zlog
        from zlog.sinks.http import HTTPSink
        zlog.route('JOB_*', HTTPSink({receiver.url!r}, batch_size=50))
        for i in range(500):
            zlog.emit('JOB_DONE', 'done', n=i)
    """)
    assert ns(receiver.delivered()) == list(range(500))
    assert done.stderr == ""  # nothing dropped or failed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_posts_its_own_events_on_its_own_connection(receiver: Receiver) -> None:
    router, sink, _ = wired(receiver.url)
    router.emit("JOB_PARENT", "p", n=0)
    assert sink.flush(timeout=10)
    pid = os.fork()
    if pid == 0:  # the child: its own connection and writer thread, none of the parent's queue
        try:
            router.emit("JOB_CHILD", "c", n=1)
            os._exit(0 if sink.flush(timeout=10) else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    router.emit("JOB_PARENT", "p", n=2)
    assert sink.close(timeout=10)
    expected = [("JOB_PARENT", 0), ("JOB_CHILD", 1), ("JOB_PARENT", 2)]
    assert [(line["signal"], line["n"]) for line in receiver.delivered()] == expected
    parent, child, parent_again = (r.peer for r in receiver.requests)
    assert parent == parent_again != child  # the child left the parent's connection alone


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = (
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
    )
    subprocess.run([*command.split(), "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture
def tls_receiver(receivers: Callable[..., Receiver], certificate: tuple[Path, Path]) -> Receiver:
    return receivers(tls=certificate)


def test_https_with_an_ssl_context_that_trusts_the_receiver_delivers(
    tls_receiver: Receiver, certificate: tuple[Path, Path]
) -> None:
    context = ssl.create_default_context(cafile=str(certificate[0]))
    router, sink, _ = wired(tls_receiver.url, ssl_context=context)
    for n in range(20):
        router.emit("JOB_DONE", "done", n=n)
    assert sink.close(timeout=10)
    assert ns(tls_receiver.delivered()) == list(range(20))


def test_a_certificate_that_does_not_verify_is_refused_without_retrying_and_reported(tls_receiver: Receiver) -> None:
    router, sink, reports = wired(tls_receiver.url)  # the system's CAs do not know this certificate
    router.emit("JOB_DONE", "done", n=0)
    assert sink.close(timeout=10)
    assert sink.rejected == 1 and sink.sent == 0 and sink.reconnects == 0 and not tls_receiver.requests
    [error] = reports.of("ZLOG_SINK_ERROR")
    assert "certificate refused" in error.message


# -- the url, credentials and options -------------------------------------------------------------


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_shown(receiver: Receiver) -> None:
    receiver.answer(Answer(401, body=b"who is alice:s3cret/pw? token=qwerty123 is unknown"))  # echoes them
    url = receiver.url.replace("http://", "http://alice:s3cret%2Fpw@") + "?token=qwerty123"
    router, sink, reports = wired(url)
    router.emit("JOB_DONE", "done")
    assert sink.close(timeout=10)
    [request] = receiver.requests
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"alice:s3cret/pw").decode()
    assert request.path == "/ingest?token=qwerty123"
    [error] = reports.of("ZLOG_SINK_ERROR")
    assert "401" in error.message
    shown = " ".join([error.message, repr(error.fields["error"]), sink.url, repr(sink), json.dumps(sink.stats())])
    assert "s3cret" not in shown and "qwerty123" not in shown and "alice" not in shown
    assert sink.url == f"http://***@127.0.0.1:{receiver.server.server_port}/ingest?***"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://bob:hunter22@example.com/x",
        "bob:hunter22@example.com:8080",
        "http:///no-host",
        "http://bob:hunter22@example.com:port/",
        "http://bob:hunter22@example.com/a b",
        "http://bob:hunt/er22@example.com/",
        "http://bob:hunter22@example.com/journal/été",
    ],
)
def test_a_url_that_is_not_a_valid_http_url_is_a_clear_error_that_never_shows_the_password(url: str) -> None:
    with pytest.raises(ValueError, match="HTTPSink url") as caught:
        HTTPSink(url)
    assert "hunt" not in str(caught.value) and "er22" not in str(caught.value)


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"format": "xml"}, "format must be one of ndjson, json-array"),
        ({"timeout": 0}, "timeout must be a number of seconds > 0"),
        ({"timeout": True}, "timeout must be a number of seconds > 0"),
        ({"max_body_bytes": 100}, "max_body_bytes must be an int >= 1024"),
        ({"headers": {"Content-Length": "5"}}, "set by the sink"),
        ({"headers": {"X-Bad": "a\r\nInjected: yes"}}, "must not contain CR, LF or NUL"),
        ({"headers": {"bad name": "x"}}, "not a valid HTTP header name"),
        ({"headers": {"X-Who": "Zoë ✓"}}, "must be Latin-1 text"),
        ({"overflow": "spill"}, "overflow must be one of"),
        ({"profile": "nope"}, "nope"),
        ({"ssl_context": ssl.create_default_context()}, "ssl_context is for an https:// url"),
        ({"url": b"http://127.0.0.1/"}, "url must be a str"),
        ({"headers": [("X-Api-Key", "k")]}, "headers must be a mapping"),
    ],
)
def test_bad_options_are_clear_errors(options: dict[str, Any], error: str) -> None:
    with pytest.raises((ValueError, TypeError), match=error):
        HTTPSink(**{"url": "http://127.0.0.1:9/ingest", **options})


def test_importing_and_making_the_sink_does_not_import_http_client() -> None:
    done = _run("""
        import sys
        from zlog.sinks.http import HTTPSink
        sink = HTTPSink('https://example.com/ingest', gzip=True)
        print('http.client' in sys.modules, 'ssl' in sys.modules)
        sink.close(timeout=0)
    """)
    assert done.stdout.split() == ["False", "False"]
