"""Built-in processors and how the router runs them."""

from __future__ import annotations

import re
from typing import Any

import pytest

import zlog
from zlog import Event, Router
from zlog.processors import Enrich, Filter, RateLimit, Redact, Sample


def pipeline(*processors: Any) -> tuple[Router, list[Event]]:
    router = Router()
    for p in processors:
        router.add_processor(p)
    got: list[Event] = []
    router.route_all(got.append)
    return router, got


def test_processors_run_in_the_order_added_before_sinks() -> None:
    order: list[str] = []

    def first(e: Event) -> Event:
        order.append("first")
        return e.replace(message=e.message + "+1")

    def second(e: Event) -> Event:
        order.append("second")
        return e.replace(message=e.message + "+2")

    router, got = pipeline(first, second)
    router.emit("A", "m")
    assert order == ["first", "second"]
    assert got[0].message == "m+1+2"


def test_a_processor_returning_none_drops_the_event_and_remove_processor_works() -> None:
    drop = Filter(lambda e: False)
    router, got = pipeline(drop)
    router.emit("A", "x")
    assert got == [] and drop.dropped == 1
    router.remove_processor(drop)
    router.emit("A", "y")
    assert [e.message for e in got] == ["y"]


def test_filter_keeps_events_where_the_predicate_is_true() -> None:
    router, got = pipeline(Filter(lambda e: e.fields.get("keep", False)))
    router.emit("A", "1", keep=True)
    router.emit("A", "2", keep=False)
    assert [e.message for e in got] == ["1"]
    with pytest.raises(TypeError):
        Filter(42)  # type: ignore[arg-type]


def test_enrich_adds_defaults_and_the_events_fields_win() -> None:
    router, got = pipeline(Enrich({"service": "worker", "env": "prod"}, region="eu",
                                  dynamic=lambda e: {"signal_len": len(e.signal)}))
    router.emit("JOB", "x", env="staging")
    assert got[0].fields == {"service": "worker", "env": "staging", "region": "eu", "signal_len": 3}


@pytest.mark.parametrize(
    "key",
    ["password", "db_password", "PASSWD", "client_secret", "access_token", "api_key", "X-Api-Key", "apikey",
     "Authorization", "cookie", "Set-Cookie"],
)
def test_redact_masks_sensitive_keys_case_insensitively(key: str) -> None:
    router, got = pipeline(Redact())
    router.emit("LOGIN", "x", **{key: "s3cr3t", "user": "ada"})
    assert got[0].fields[key] == "[REDACTED]"
    assert got[0].fields["user"] == "ada"


def test_redact_walks_nested_dicts_and_lists_without_mutating_the_callers_data() -> None:
    payload = {"headers": {"Authorization": "Bearer t"}, "items": [{"token": "a"}, ("x", {"secret": 1})]}
    router, got = pipeline(Redact())
    router.emit("HTTP", "x", request=payload)
    request = got[0].fields["request"]
    assert request["headers"]["Authorization"] == "[REDACTED]"
    assert request["items"][0]["token"] == "[REDACTED]"
    assert request["items"][1][1]["secret"] == "[REDACTED]"
    assert payload["headers"] == {"Authorization": "Bearer t"}  # the caller's dict is untouched


def test_redact_takes_extra_words_regexes_and_a_mask() -> None:
    router, got = pipeline(Redact(["ssn", re.compile(r"^card_")], mask="***", defaults=False))
    router.emit("PAY", "x", user_ssn="1", card_number="4111", password="kept", discard_reason="ok")
    fields = got[0].fields
    assert fields["user_ssn"] == "***" and fields["card_number"] == "***"
    assert fields["password"] == "kept" and fields["discard_reason"] == "ok"
    with pytest.raises(TypeError):
        Redact([42])  # type: ignore[list-item]


def test_redact_masks_bound_context_too() -> None:
    router, got = pipeline(Redact())
    with zlog.bind(api_token="abc"):
        router.emit("A", "x")
    assert got[0].fields["api_token"] == "[REDACTED]"


def test_sample_rate_keeps_about_that_share() -> None:
    sample = Sample(0.7, seed=42)
    router, got = pipeline(sample)
    for _ in range(10_000):
        router.emit("HEARTBEAT", "x")
    assert 6_700 <= len(got) <= 7_300
    assert sample.dropped["HEARTBEAT"] == 10_000 - len(got)


def test_sample_mapping_samples_only_matching_signals_with_globs() -> None:
    router, got = pipeline(Sample({"WORKER_*": 0.0, "JOB_DONE": 1.0}, seed=1))
    for name in ("WORKER_HEARTBEAT", "WORKER_IDLE", "JOB_DONE", "OTHER"):
        router.emit(name, "x")
    assert [e.signal for e in got] == ["JOB_DONE", "OTHER"]


def test_sample_every_n_keeps_exactly_one_in_n_per_signal() -> None:
    router, got = pipeline(Sample(every=3))
    for i in range(7):
        router.emit("A", str(i))
        router.emit("B", str(i))
    assert [e.message for e in got if e.signal == "A"] == ["0", "3", "6"]
    assert [e.message for e in got if e.signal == "B"] == ["0", "3", "6"]


@pytest.mark.parametrize(
    ("args", "error"),
    [((), TypeError), ((0.5,), None), ((1.5,), ValueError), ((-0.1,), ValueError)],
)
def test_sample_validates_its_arguments(args: tuple[float, ...], error: type[Exception] | None) -> None:
    if error is None:
        Sample(*args)
    else:
        with pytest.raises(error):
            Sample(*args)
    with pytest.raises(ValueError):
        Sample(every=0)
    with pytest.raises(TypeError):
        Sample(0.5, every=2)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_allows_the_limit_per_period_per_signal_and_counts_drops() -> None:
    clock = FakeClock()
    limit = RateLimit(2, period=1.0, clock=clock)
    router, got = pipeline(limit)
    for _ in range(5):
        router.emit("A", "a")
    router.emit("B", "b")
    assert [e.signal for e in got] == ["A", "A", "B"]
    assert limit.dropped == {"A": 3}
    clock.now = 1.0
    router.emit("A", "later")
    assert got[-1].fields["zlog_rate_limited"] == 3
    router.emit("A", "again")
    assert "zlog_rate_limited" not in got[-1].fields


def test_rate_limit_mapping_limits_only_matching_signals() -> None:
    router, got = pipeline(RateLimit({"NOISY_*": 1}, clock=FakeClock()))
    for _ in range(3):
        router.emit("NOISY_X", "n")
        router.emit("QUIET", "q")
    assert [e.signal for e in got].count("NOISY_X") == 1
    assert [e.signal for e in got].count("QUIET") == 3
    with pytest.raises(ValueError):
        RateLimit(1, period=0)


def test_a_raising_processor_is_reported_and_the_event_goes_on() -> None:
    def broken(e: Event) -> Event:
        raise RuntimeError("processor bug")

    router, got = pipeline(broken)
    router.emit("A", "still delivered")
    signals = [e.signal for e in got]
    assert "A" in signals
    report = next(e for e in got if e.signal == "ZLOG_PROCESSOR_ERROR")
    assert report.fields["processor"] == "broken"
    assert isinstance(report.fields["error"], RuntimeError)


def test_a_processor_returning_something_else_is_reported() -> None:
    router, got = pipeline(lambda e: {"not": "an event"})
    router.emit("A", "x")
    assert [e.signal for e in got].count("A") == 1
    report = next(e for e in got if e.signal == "ZLOG_PROCESSOR_ERROR")
    assert "expected Event or None" in str(report.fields["error"])
