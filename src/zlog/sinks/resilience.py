"""Composable wrappers that make a failing or slow sink harmless: retry, timeout, fallback, circuit
breaker and throttle. Each is itself a sink; state changes are reported as ``ZLOG_SINK_STATE``."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from zlog import _fork
from zlog._sinkcalls import sink_name
from zlog.event import Event
from zlog.sinks.base import Wrapper
from zlog.typing import SinkLike

__all__ = ["CircuitBreaker", "CircuitOpenError", "Fallback", "Retry", "Throttle", "Timeout"]


class CircuitOpenError(RuntimeError):
    """The circuit is open: the sink is not called until ``reset_after`` has passed."""


class _Stateful(Wrapper):
    """A wrapper with a ``state`` whose changes are reported (outside any lock)."""

    kind = "wrapper"

    def __init__(self, *inner: SinkLike, name: str | None, state: str) -> None:
        super().__init__(*inner, name=name or f"{self.kind}({sink_name(inner[0])})")
        self._handle = self._handlers[0]
        self.state = state

    def _change(self, state: str, reason: str) -> None:
        previous, self.state = self.state, state
        if previous != state:
            self._reporter.state(state, previous, reason, sink=self.name)

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "state": self.state}


class Retry(_Stateful):
    """Call the sink again after a failure, up to ``attempts`` times in all, with exponential backoff
    (``base`` seconds, doubling, at most ``max_delay``) and full jitter. The last failure is raised."""

    kind = "retry"

    def __init__(
        self,
        sink: SinkLike,
        *,
        attempts: int = 3,
        base: float = 0.05,
        max_delay: float = 2.0,
        jitter: bool = True,
        sleep: Callable[[float], object] = time.sleep,
        name: str | None = None,
    ) -> None:
        if attempts < 1 or base < 0 or max_delay < 0:
            raise ValueError("attempts must be >= 1, base and max_delay >= 0")
        super().__init__(sink, name=name, state="ok")
        self.attempts, self.base, self.max_delay, self.jitter, self._sleep = attempts, base, max_delay, jitter, sleep
        self.retries = 0
        self._random = random.Random()

    def delay(self, attempt: int) -> float:
        """The wait before retry number ``attempt`` (1 for the first retry)."""
        cap = min(self.max_delay, self.base * 2 ** (attempt - 1))
        return self._random.uniform(0, cap) if self.jitter else cap

    def handle(self, event: Event) -> None:
        if self._closed:
            self._refuse()
        for attempt in range(1, self.attempts + 1):
            try:
                self._handle(event)
                return
            except Exception:
                if attempt == self.attempts:
                    raise
                self.retries += 1
                self._sleep(self.delay(attempt))

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "retries": self.retries}


class Timeout(_Stateful):
    """Give each call ``seconds`` to finish on a helper thread; past that, raise ``TimeoutError``.

    A call that hangs keeps the helper busy; while it is busy, later events fail at once instead of
    piling up threads (wrap in ``Fallback`` to send them elsewhere). ``flush()`` and ``close()``
    without a timeout are bounded by ``seconds`` too.
    """

    kind = "timeout"

    def __init__(self, sink: SinkLike, seconds: float, *, name: str | None = None) -> None:
        if not seconds > 0:
            raise ValueError(f"seconds must be > 0, got {seconds!r}")
        super().__init__(sink, name=name, state="ok")
        self.seconds = seconds
        self.timeouts = 0
        self._busy = _fork.owned_lock(self, "_busy")

    def handle(self, event: Event) -> None:
        if self._closed:
            self._refuse()
        if not self._busy.acquire(blocking=False):
            raise TimeoutError(f"{self.name}: an earlier call is still running")
        done = threading.Event()
        box: list[BaseException] = []
        busy = self._busy

        def call() -> None:
            try:
                self._handle(event)
            except BaseException as exc:
                box.append(exc)
            finally:
                done.set()
                busy.release()

        threading.Thread(target=call, name=f"zlog-{self.name}", daemon=True).start()
        if not done.wait(self.seconds):
            self.timeouts += 1
            self._change("slow", f"a call took longer than {self.seconds:g}s")
            raise TimeoutError(f"{self.name}: no answer within {self.seconds:g}s")
        self._change("ok", "calls finish in time again")
        if box:
            raise box[0]

    def flush(self, timeout: float | None = None) -> bool:
        return super().flush(self.seconds if timeout is None else timeout)

    def close(self, timeout: float | None = None) -> bool:
        return super().close(self.seconds if timeout is None else timeout)

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "timeouts": self.timeouts}


class Fallback(_Stateful):
    """Send an event to ``fallback`` when ``primary`` raises; go back to the primary when it works.

    When the fallback raises too, its error is raised (the primary's is its ``__context__``).
    Flush and close reach both sinks.
    """

    kind = "fallback"

    def __init__(self, primary: SinkLike, fallback: SinkLike, *, name: str | None = None) -> None:
        super().__init__(primary, fallback, name=name, state="ok")
        self.primary, self.fallback = primary, fallback
        self._fallback = self._handlers[1]
        self.fallbacks = 0

    def handle(self, event: Event) -> None:
        if self._closed:
            self._refuse()
        try:
            self._handle(event)
        except Exception as exc:
            self.fallbacks += 1
            self._change("fallback", f"{type(exc).__name__}: {exc}")
            self._fallback(event)
            return
        self._change("ok", "the primary sink works again")

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "fallbacks": self.fallbacks}


class CircuitBreaker(_Stateful):
    """After ``failures`` consecutive failures, stop calling the sink (raise ``CircuitOpenError`` at once)
    for ``reset_after`` seconds; then let trial calls through one at a time (half-open): ``successes``
    successful trials in a row close the circuit, a failed one opens it again. While a trial call is
    running, every other call is rejected."""

    kind = "breaker"

    def __init__(
        self,
        sink: SinkLike,
        *,
        failures: int = 5,
        reset_after: float = 30.0,
        successes: int = 1,
        clock: Callable[[], float] = time.monotonic,
        name: str | None = None,
    ) -> None:
        if failures < 1 or successes < 1 or not reset_after > 0:
            raise ValueError("failures and successes must be >= 1 and reset_after > 0")
        super().__init__(sink, name=name, state="closed")
        self.failures, self.reset_after, self.successes, self._clock = failures, reset_after, successes, clock
        self._consecutive = 0
        self._trial_successes = 0
        self._trial_running = False
        self._opened_at = 0.0
        self.rejected = 0

    def _after_fork(self) -> None:
        self._trial_running = False  # a trial running in the parent is not running here

    def handle(self, event: Event) -> None:
        if self._closed:
            self._refuse()
        change: tuple[str, str] | None = None
        with self._lock:
            if self.state == "closed":
                trial = False
            elif self.state == "open" and self._clock() - self._opened_at < self.reset_after:
                self.rejected += 1
                raise CircuitOpenError(f"{self.name} is open")
            elif self._trial_running:
                self.rejected += 1
                raise CircuitOpenError(f"{self.name} is half-open and a trial call is running")
            else:
                if self.state == "open":
                    self.state, change = "half-open", ("open", f"trying a call after {self.reset_after:g}s")
                self._trial_running = trial = True
        if change is not None:
            self._reporter.state("half-open", change[0], change[1], sink=self.name)
        try:
            self._handle(event)
        except BaseException as exc:
            self._settle(trial, exc)
            raise
        self._settle(trial, None)

    def _settle(self, trial: bool, error: BaseException | None) -> None:
        change: tuple[str, str, str] | None = None
        with self._lock:
            if trial:
                self._trial_running = False
            if error is not None:
                self._consecutive += 1
                self._trial_successes = 0
                if trial or self._consecutive >= self.failures:
                    self._opened_at = self._clock()
                    if self.state != "open":
                        reason = f"{self._consecutive} consecutive failures, last {type(error).__name__}"
                        change = ("open", self.state, reason)
                        self.state = "open"
            else:
                self._consecutive = 0
                if trial:
                    self._trial_successes += 1
                    if self._trial_successes >= self.successes and self.state != "closed":
                        change = ("closed", self.state, f"{self._trial_successes} trial calls succeeded")
                        self.state, self._trial_successes = "closed", 0
        if change is not None:
            self._reporter.state(change[0], change[1], change[2], sink=self.name)

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "rejected": self.rejected}


class Throttle(_Stateful):
    """Pass at most ``rate`` events per second to the sink, in bursts of up to ``burst`` (a token bucket).

    An event over the rate waits up to ``wait`` seconds for its turn (0, the default: not at all) and is
    dropped past that: counted in ``dropped`` and reported as ``ZLOG_EVENTS_DROPPED``.
    """

    kind = "throttle"

    def __init__(
        self,
        sink: SinkLike,
        rate: float,
        *,
        burst: int | None = None,
        wait: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
        name: str | None = None,
    ) -> None:
        if not rate > 0 or rate == float("inf"):
            raise ValueError(f"rate must be a finite number of events per second > 0, got {rate!r}")
        if not wait >= 0:
            raise ValueError(f"wait must be >= 0 seconds, got {wait!r}")
        super().__init__(sink, name=name, state="ok")
        self.rate = rate
        self.burst = float(burst if burst is not None else max(1, int(rate)))
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst!r}")
        self.wait = wait
        self._tokens = self.burst
        self._clock, self._sleep = clock, sleep
        self._last = clock()
        self.dropped = 0

    def _take(self) -> float:
        """Take a token if there is one (0.0), else the seconds until the next one; under the lock."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + max(0.0, now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1 - 1e-9:  # a token due at 0.3 s is not missed because 0.3 - 0.2 == 0.0999...
            self._tokens = max(0.0, self._tokens - 1)
            return 0.0
        return (1 - self._tokens) / self.rate

    def handle(self, event: Event) -> None:
        if self._closed:
            self._refuse()
        waited = 0.0
        while True:
            with self._lock:
                delay = self._take()
                if delay and waited + delay > self.wait:
                    self.dropped += 1
                    break
            if not delay:
                self._handle(event)
                return
            self._sleep(delay)
            waited += delay
        self._reporter.dropped(1, f"over {self.rate:g} events/s", sink=self.name, policy="throttle")

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "dropped": self.dropped}
