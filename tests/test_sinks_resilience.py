"""Resilience wrappers: retry, timeout, fallback, circuit breaker and throttle, composed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from zlog import Event, Router
from zlog.sinks import CircuitBreaker, CircuitOpenError, Fallback, Retry, Throttle, Timeout
from zlog.typing import SinkLike


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


def observed(wrapper: SinkLike) -> tuple[Router, list[Event]]:
    """A router with ``wrapper`` routed (so it reports through it) and the reports it receives."""
    router = Router()
    states: list[Event] = []
    router.route("ZLOG_*", states.append)
    router.route("JOB_*", wrapper)
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
    release = threading.Event()

    def hanging(event: Event) -> None:
        release.wait(10)

    timeout = Timeout(hanging, 0.05)
    _, states = observed(timeout)
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
    primary, spare = Flaky(fail=2), Flaky(fail=0)
    fallback = Fallback(primary, spare)
    _, states = observed(fallback)
    for _ in range(4):
        fallback.handle(E)
    assert len(spare.got) == 2 and len(primary.got) == 2 and fallback.fallbacks == 2
    assert [(s.fields["previous"], s.fields["state"]) for s in states] == [("ok", "fallback"), ("fallback", "ok")]


def test_circuit_breaker_opens_rejects_then_half_opens_and_closes() -> None:
    clock = Clock()
    sink = Flaky(fail=3)
    breaker = CircuitBreaker(sink, failures=3, reset_after=10, clock=clock)
    _, states = observed(breaker)
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
    breaker = CircuitBreaker(Flaky(fail=100), failures=1, reset_after=5, clock=clock)
    with pytest.raises(OSError):
        breaker.handle(E)
    clock.now = 6
    with pytest.raises(OSError):
        breaker.handle(E)
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError):
        breaker.handle(E)


def test_throttle_passes_the_rate_and_reports_drops() -> None:
    clock = Clock()
    sink = Flaky(fail=0)
    throttle = Throttle(sink, rate=2, burst=2, clock=clock)
    _, states = observed(throttle)
    for _ in range(5):
        throttle.handle(E)
    assert len(sink.got) == 2 and throttle.dropped == 3
    clock.now = 1.0
    throttle.handle(E)
    assert len(sink.got) == 3
    [report] = [s for s in states if s.signal == "ZLOG_EVENTS_DROPPED"]  # rate-limited: one per interval
    assert report.fields["policy"] == "throttle" and report.fields["dropped"] == 1
    throttle.close()
    [*_, last] = [s for s in states if s.signal == "ZLOG_EVENTS_DROPPED"]
    assert last.fields["total_dropped"] == 3  # close reports the drops the rate limit held back


def test_throttle_in_wait_mode_blocks_for_a_token_instead_of_dropping() -> None:
    clock = Clock()
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the clock moves on while the caller waits
        slept.append(seconds)
        clock.now += seconds

    sink = Flaky(fail=0)
    throttle = Throttle(sink, rate=10, burst=1, wait=0.5, clock=clock, sleep=sleep)
    for _ in range(6):
        throttle.handle(E)
    assert len(sink.got) == 6 and throttle.dropped == 0
    assert slept == pytest.approx([0.1] * 5)
    patient = Throttle(Flaky(fail=0), rate=1, burst=1, wait=0.5, clock=clock, sleep=sleep)
    patient.handle(E)
    patient.handle(E)  # the next token is 1 s away: more than it may wait
    assert patient.dropped == 1


def test_composed_wrappers_lose_nothing_and_the_inner_breakers_state_reaches_the_router() -> None:
    clock = Clock()
    spare = Flaky(fail=0)
    sink = Fallback(
        CircuitBreaker(Retry(Flaky(fail=100), attempts=2, sleep=lambda s: None), failures=2, clock=clock), spare
    )
    router, states = observed(sink)
    for _ in range(5):
        router.emit("JOB_DONE", "x")
    assert len(spare.got) == 5  # nothing lost: every event reached the spare sink
    assert router.sink_errors()[sink.name] == 0
    assert "open" in [s.fields["state"] for s in states]  # the inner breaker reports through the routed wrapper


def test_circuit_breaker_half_open_lets_exactly_one_trial_through_under_8_threads() -> None:
    clock = Clock()
    entered = threading.Event()
    release = threading.Event()
    calls: list[str] = []

    def slow_sink(event: Event) -> None:
        calls.append(threading.current_thread().name)
        if event.message == "fail":
            raise OSError("down")
        entered.set()
        release.wait(10)

    breaker = CircuitBreaker(slow_sink, failures=1, reset_after=5, clock=clock)
    with pytest.raises(OSError):
        breaker.handle(Event("JOB_DONE", "fail"))
    clock.now = 6  # past reset_after: the next call is the one trial
    outcomes: list[str] = []
    start = threading.Barrier(8)

    def caller() -> None:
        start.wait()
        try:
            breaker.handle(E)
            outcomes.append("passed")
        except CircuitOpenError:
            outcomes.append("rejected")

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for t in threads:
        t.start()
    assert entered.wait(10)
    deadline = time.monotonic() + 10
    while len(outcomes) < 7 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert sorted(outcomes) == ["rejected"] * 7  # the others were turned away while the trial ran
    release.set()
    for t in threads:
        t.join(10)
    assert sorted(outcomes) == ["passed"] + ["rejected"] * 7
    assert len(calls) == 2 and breaker.state == "closed"


def test_circuit_breaker_closes_only_after_the_success_threshold_of_trials() -> None:
    clock = Clock()
    sink = Flaky(fail=1)
    breaker = CircuitBreaker(sink, failures=1, reset_after=5, successes=3, clock=clock)
    _, states = observed(breaker)
    with pytest.raises(OSError):
        breaker.handle(E)
    clock.now = 6
    breaker.handle(E)
    breaker.handle(E)
    assert breaker.state == "half-open"
    breaker.handle(E)
    assert breaker.state == "closed"
    assert [s.fields["state"] for s in states] == ["open", "half-open", "closed"]


def test_fallback_close_closes_the_fallback_sink_too() -> None:
    closed: list[str] = []

    class Closing:
        def __init__(self, name: str) -> None:
            self.name = name

        def handle(self, event: Event) -> None: ...

        def close(self, timeout: float | None = None) -> bool:
            closed.append(self.name)
            return True

    fallback = Fallback(Closing("primary"), Closing("spare"))
    assert fallback.close() is True
    assert sorted(closed) == ["primary", "spare"]
    assert fallback.close() is True and len(closed) == 2  # closing twice is harmless


def test_flush_returns_by_the_deadline_when_a_sink_under_timeout_blocks_in_flush() -> None:
    release = threading.Event()

    class Stuck:
        def handle(self, event: Event) -> None: ...

        def flush(self, timeout: float | None = None) -> bool:
            release.wait(30)  # ignores its timeout
            return True

    router = Router()
    router.route("JOB_*", Timeout(Stuck(), 60))
    start = time.monotonic()
    try:
        assert router.flush(timeout=0.5) is False
        assert time.monotonic() - start < 5
    finally:
        release.set()


@pytest.mark.parametrize(
    "make",
    [
        lambda: Retry(print, attempts=0),
        lambda: Timeout(print, 0),
        lambda: CircuitBreaker(print, failures=0),
        lambda: CircuitBreaker(print, successes=0),
        lambda: Throttle(print, rate=0),
        lambda: Throttle(print, rate=1, wait=-1),
    ],
)
def test_invalid_settings_are_clear_errors(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        make()
