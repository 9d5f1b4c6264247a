"""Resilience wrappers: retry, timeout, fallback, circuit breaker and rate limit, composed."""

from __future__ import annotations

import threading

import pytest

from zlog import Event, Router
from zlog.sinks import CircuitBreaker, CircuitOpenError, Fallback, RateLimited, Retry, Timeout


class Flaky:
    """Fails the first ``fail`` calls, then works."""

    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.calls = 0
        self.got: list[Event] = []

    def handle(self, event: Event) -> None:
        self.calls += 1
        if self.calls <= self.fail:
            raise OSError(f"failure {self.calls}")
        self.got.append(event)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def observed() -> tuple[Router, list[Event]]:
    router = Router()
    states: list[Event] = []
    router.route("ZLOG_*", states.append)
    return router, states


E = Event("JOB_DONE", "x")


def test_retry_backs_off_exponentially_and_succeeds() -> None:
    sleeps: list[float] = []
    sink = Flaky(fail=2)
    retry = Retry(sink, attempts=3, base=0.1, jitter=False, sleep=sleeps.append)
    retry.handle(E)
    assert sink.got == [E] and retry.retries == 2
    assert sleeps == [0.1, 0.2]


def test_retry_raises_the_last_failure_and_jitter_stays_under_the_cap() -> None:
    retry = Retry(Flaky(fail=10), attempts=3, base=1.0, max_delay=1.5, sleep=lambda s: None)
    with pytest.raises(OSError, match="failure 3"):
        retry.handle(E)
    assert all(0 <= retry.delay(n) <= 1.5 for n in range(1, 10) for _ in range(20))


def test_timeout_raises_when_the_sink_hangs_and_refuses_to_pile_up() -> None:
    router, states = observed()
    release = threading.Event()

    def hanging(event: Event) -> None:
        release.wait(10)

    timeout = Timeout(hanging, 0.05, router=router)
    with pytest.raises(TimeoutError, match="no answer"):
        timeout.handle(E)
    with pytest.raises(TimeoutError, match="still running"):
        timeout.handle(E)
    release.set()
    assert [s.fields["state"] for s in states] == ["slow"]


def test_timeout_passes_fast_calls_and_their_errors() -> None:
    sink = Flaky(fail=1)
    timeout = Timeout(sink, 5)
    with pytest.raises(OSError):
        timeout.handle(E)
    timeout.handle(E)
    assert sink.got == [E]


def test_fallback_takes_events_while_the_primary_fails_and_reports_switches() -> None:
    router, states = observed()
    primary, spare = Flaky(fail=2), Flaky(fail=0)
    fallback = Fallback(primary, spare, router=router)
    for _ in range(4):
        fallback.handle(E)
    assert len(spare.got) == 2 and len(primary.got) == 2 and fallback.fallbacks == 2
    assert [(s.fields["previous"], s.fields["state"]) for s in states] == [("ok", "fallback"), ("fallback", "ok")]


def test_circuit_breaker_opens_rejects_then_half_opens_and_closes() -> None:
    router, states = observed()
    clock = Clock()
    sink = Flaky(fail=3)
    breaker = CircuitBreaker(sink, failures=3, reset_after=10, clock=clock, router=router)
    for _ in range(3):
        with pytest.raises(OSError):
            breaker.handle(E)
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError):
        breaker.handle(E)
    assert sink.calls == 3 and breaker.rejected == 1
    clock.now = 11
    breaker.handle(E)  # half-open trial succeeds
    assert breaker.state == "closed"
    assert [s.fields["state"] for s in states] == ["open", "half-open", "closed"]


def test_a_failed_half_open_trial_opens_the_circuit_again() -> None:
    clock = Clock()
    breaker = CircuitBreaker(Flaky(fail=100), failures=1, reset_after=5, clock=clock, router=Router())
    with pytest.raises(OSError):
        breaker.handle(E)
    clock.now = 6
    with pytest.raises(OSError):
        breaker.handle(E)
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError):
        breaker.handle(E)


def test_rate_limited_passes_the_rate_and_reports_drops() -> None:
    router, states = observed()
    clock = Clock()
    sink = Flaky(fail=0)
    limited = RateLimited(sink, rate=2, burst=2, clock=clock, router=router)
    for _ in range(5):
        limited.handle(E)
    assert len(sink.got) == 2 and limited.dropped == 3
    clock.now = 1.0
    limited.handle(E)
    assert len(sink.got) == 3
    [report] = [s for s in states if s.signal == "ZLOG_EVENTS_DROPPED"]
    assert report.fields["policy"] == "rate_limit" and report.fields["dropped"] == 1


def test_wrappers_compose_and_failures_still_reach_the_routers_error_report() -> None:
    router, _states = observed()
    clock = Clock()
    spare = Flaky(fail=0)
    sink = Fallback(CircuitBreaker(Retry(Flaky(fail=100), attempts=2, sleep=lambda s: None), failures=2,
                                   clock=clock, router=router), spare, router=router)
    router.route("JOB_*", sink)
    for _ in range(5):
        router.emit("JOB_DONE", "x")
    assert len(spare.got) == 5  # nothing lost: every event reached the spare sink
    assert router.sink_errors()[sink.name] == 0


@pytest.mark.parametrize(
    "make",
    [lambda: Retry(print, attempts=0), lambda: Timeout(print, 0), lambda: CircuitBreaker(print, failures=0),
     lambda: RateLimited(print, rate=0)],
)
def test_invalid_settings_are_clear_errors(make: object) -> None:
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]
