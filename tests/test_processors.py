"""Built-in processors and how the router runs them."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
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
    router, got = pipeline(
        Enrich({"service": "worker", "env": "prod"}, region="eu", dynamic=lambda e: {"signal_len": len(e.signal)})
    )
    router.emit("JOB", "x", env="staging")
    assert got[0].fields == {"service": "worker", "env": "staging", "region": "eu", "signal_len": 3}


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "db_password",
        "PASSWD",
        "client_secret",
        "access_token",
        "api_key",
        "X-Api-Key",
        "apikey",
        "Authorization",
        "cookie",
        "Set-Cookie",
    ],
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
    with pytest.raises(TypeError, match="str patterns"):
        Redact(re.compile(b"pin"))  # type: ignore[arg-type]  # searched against str keys, it could only raise
    with pytest.raises(TypeError, match="mask"):
        Redact(mask=None)  # type: ignore[arg-type]


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


def nested(depth: int, leaf: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = leaf
    for _ in range(depth):
        value = {"inner": value}
    return value


def test_redact_masks_secrets_nested_deeper_than_any_small_limit() -> None:
    router, got = pipeline(Redact())
    router.emit("A", "x", payload=nested(40, {"password": "hunter2", "user": "ada"}))
    out = io.StringIO()
    zlog.JSONSink(out).handle(got[0])
    assert "hunter2" not in out.getvalue()
    assert "ada" in out.getvalue()


def test_redact_masks_a_container_too_deep_to_look_into_instead_of_passing_it_through() -> None:
    router, got = pipeline(Redact())
    router.emit("A", "x", payload=nested(200, {"token": "t0ken"}))
    out = io.StringIO()
    zlog.JSONSink(out).handle(got[0])
    assert "t0ken" not in out.getvalue()


def test_redact_handles_self_referencing_data_without_hanging_or_leaking() -> None:
    data: dict[str, Any] = {"secret": "s3cr3t", "name": "n"}
    data["self"] = data
    data["again"] = data
    items: list[Any] = [{"api_key": "k3y"}]
    items.append(items)
    router, got = pipeline(Redact())
    router.emit("A", "x", data=data, items=items)
    fields = got[0].fields
    assert fields["data"]["secret"] == "[REDACTED]" and fields["data"]["name"] == "n"
    assert fields["data"]["self"] == "[REDACTED]"  # the back-reference is masked, not the original
    assert fields["items"][0]["api_key"] == "[REDACTED]"
    out = io.StringIO()
    zlog.JSONSink(out).handle(got[0])
    assert "s3cr3t" not in out.getvalue() and "k3y" not in out.getvalue()


def test_redact_fails_closed_when_it_cannot_look_inside_a_value() -> None:
    class Broken(Mapping[str, Any]):
        def __getitem__(self, key: str) -> Any:
            return "hidden"

        def __iter__(self) -> Iterator[str]:
            raise RuntimeError("cannot iterate")

        def __len__(self) -> int:
            return 1

    router, got = pipeline(Redact())
    router.emit("A", "x", broken=Broken(), headers={"Authorization": "Bearer b"}, user="ada", password="p")
    fields = got[0].fields
    assert fields["broken"] == "[REDACTED]" and fields["headers"] == {"Authorization": "[REDACTED]"}
    assert fields["user"] == "ada" and fields["password"] == "[REDACTED]"
    assert [e.signal for e in got] == ["A"]  # nothing to report: redaction did its job


def test_redact_with_a_single_word_treats_it_as_one_word() -> None:
    router, got = pipeline(Redact("ssn", defaults=False))
    router.emit("A", "x", user_ssn="123", session="kept", name="kept")
    assert got[0].fields == {"user_ssn": "[REDACTED]", "session": "kept", "name": "kept"}
    router, got = pipeline(Redact(re.compile(r"^pin$"), defaults=False))
    router.emit("A", "x", pin="1234", spin="kept")
    assert got[0].fields == {"pin": "[REDACTED]", "spin": "kept"}


def test_redact_leaves_an_event_without_secrets_untouched() -> None:
    redact = Redact()
    event = Event("A", "m", {"user": "ada", "items": [{"n": 1}], "pair": (1, 2)})
    assert redact(event) is event


def test_redact_masks_a_whole_nested_value_under_a_sensitive_key() -> None:
    router, got = pipeline(Redact())
    router.emit("A", "x", credentials={"user": "ada"}, secrets=["a", "b"])
    assert got[0].fields == {"credentials": {"user": "ada"}, "secrets": "[REDACTED]"}


def test_filter_sees_the_event_after_earlier_processors() -> None:
    router, got = pipeline(Enrich(env="prod"), Filter(lambda e: e.fields["env"] == "prod"))
    router.emit("A", "kept")
    assert [e.message for e in got] == ["kept"]


def test_enrich_dynamic_runs_per_event_and_static_fields_cannot_override_the_event() -> None:
    counter = iter(range(100))
    router, got = pipeline(Enrich({"host": "h1"}, dynamic=lambda e: {"seq": next(counter)}))
    router.emit("A", "x")
    router.emit("A", "y", host="mine")
    assert [(e.fields["seq"], e.fields["host"]) for e in got] == [(0, "h1"), (1, "mine")]


def test_sample_with_a_seed_is_reproducible_and_rate_one_keeps_all() -> None:
    def kept(seed: int) -> list[str]:
        router, got = pipeline(Sample(0.5, seed=seed))
        for i in range(200):
            router.emit("A", str(i))
        return [e.message for e in got]

    assert kept(7) == kept(7)
    router, got = pipeline(Sample(1.0))
    for i in range(50):
        router.emit("A", str(i))
    assert len(got) == 50


def test_sample_every_n_counts_each_signal_separately_and_with_a_mapping() -> None:
    sample = Sample(every={"HEARTBEAT_*": 10})
    router, got = pipeline(sample)
    for _ in range(30):
        router.emit("HEARTBEAT_A", "a")
        router.emit("HEARTBEAT_B", "b")
        router.emit("OTHER", "o")
    signals = [e.signal for e in got]
    assert signals.count("HEARTBEAT_A") == 3 and signals.count("HEARTBEAT_B") == 3
    assert signals.count("OTHER") == 30
    assert sample.dropped == {"HEARTBEAT_A": 27, "HEARTBEAT_B": 27}


def test_sample_rate_is_per_signal_with_an_exact_name_winning_over_a_glob() -> None:
    router, got = pipeline(Sample({"JOB_*": 0.0, "JOB_FAILED": 1.0}))
    for _ in range(20):
        router.emit("JOB_FAILED", "f")
        router.emit("JOB_DONE", "d")
    assert [e.signal for e in got] == ["JOB_FAILED"] * 20


def test_rate_limit_refills_gradually_and_never_above_the_limit() -> None:
    clock = FakeClock()
    limit = RateLimit(10, period=1.0, clock=clock)
    router, got = pipeline(limit)
    for _ in range(12):
        router.emit("A", "burst")
    assert len(got) == 10
    clock.now = 0.2  # two tokens back
    for _ in range(3):
        router.emit("A", "after 0.2s")
    assert len(got) == 12
    assert got[10].fields["zlog_rate_limited"] == 2
    clock.now = 100.0  # a long pause refills to the limit, not beyond
    for _ in range(15):
        router.emit("A", "after a pause")
    assert len(got) == 22


def test_rate_limit_lets_an_event_through_exactly_when_its_token_is_due() -> None:
    clock = FakeClock()
    router, got = pipeline(RateLimit(10, period=1.0, clock=clock))
    for _ in range(10):
        router.emit("A", "burst")
    passed = []
    for step in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7):  # float steps such as 0.3 - 0.2 == 0.0999...
        clock.now = step
        before = len(got)
        router.emit("A", f"at {step}")
        passed.append(len(got) - before)
    assert passed == [1] * 7


def test_rate_limit_survives_a_clock_that_steps_back() -> None:
    clock = FakeClock()
    clock.now = 100.0
    router, got = pipeline(RateLimit(1, period=1.0, clock=clock))
    router.emit("A", "first")
    clock.now = 50.0  # the clock stepped back 50 s
    router.emit("A", "dropped: no token yet")
    clock.now = 51.0  # one period after the step back
    router.emit("A", "a token has refilled")
    assert [e.message for e in got] == ["first", "a token has refilled"]


def test_rate_limit_of_zero_drops_everything_of_that_signal() -> None:
    limit = RateLimit({"NOISY": 0}, clock=FakeClock())
    router, got = pipeline(limit)
    for _ in range(3):
        router.emit("NOISY", "x")
    assert got == [] and limit.dropped == {"NOISY": 3}


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((-1,), {}),
        ((float("nan"),), {}),
        ((1,), {"period": float("nan")}),
        ((1,), {"period": -1.0}),
        ((float("inf"),), {}),
    ],
)
def test_rate_limit_rejects_nonsense_limits_and_periods(args: tuple[float, ...], kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RateLimit(*args, **kwargs)  # type: ignore[arg-type]


def test_rate_limit_and_sample_reject_non_numbers() -> None:
    with pytest.raises(TypeError):
        RateLimit({"A": "many"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        Sample(True)


def test_a_raising_processor_does_not_stop_later_processors_and_sinks() -> None:
    def broken(e: Event) -> Event:
        raise RuntimeError("processor bug")

    router, got = pipeline(broken, Enrich(after="yes"))
    router.emit("A", "x")
    event = next(e for e in got if e.signal == "A")
    assert event.fields["after"] == "yes"


def test_a_processor_error_report_is_rate_limited() -> None:
    def broken(e: Event) -> Event:
        if e.signal == "A":
            raise RuntimeError("bug")
        return e

    router = Router(report_interval=3600)
    router.add_processor(broken)
    reports: list[Event] = []
    router.route("A", lambda e: None)
    router.route("ZLOG_PROCESSOR_ERROR", reports.append)
    for _ in range(5):
        router.emit("A", "x")
    assert len(reports) == 1
    assert reports[0].level == "error" and reports[0].fields["failed_signal"] == "A"


def test_processors_named_explicitly_appear_in_reports_and_list_in_order() -> None:
    def broken(e: Event) -> Event:
        raise ZeroDivisionError("division by zero")

    router = Router()
    first = router.add_processor(broken, name="divider")
    second = router.add_processor(Redact())
    reports: list[Event] = []
    router.route_all(reports.append)
    router.emit("A", "x")
    assert router.processors() == (first, second)
    assert next(e for e in reports if e.signal == "ZLOG_PROCESSOR_ERROR").fields["processor"] == "divider"
    with pytest.raises(TypeError):
        router.add_processor("not callable")  # type: ignore[arg-type]
