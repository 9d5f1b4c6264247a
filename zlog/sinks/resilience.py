"""Composable wrappers that make a failing or slow sink harmless: retry, timeout, fallback, circuit
breaker and rate limit. Each is itself a sink; state changes are emitted as ``ZLOG_SINK_STATE``."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from zlog import _fork
from zlog.event import Event
from zlog.signals import ZLOG_EVENTS_DROPPED, ZLOG_SINK_STATE
from zlog.sinks.base import SinkLike, handler_of, sink_name

__all__ = ["CircuitBreaker", "CircuitOpenError", "Fallback", "RateLimited", "Retry", "Timeout"]


class CircuitOpenError(RuntimeError):
    """The circuit is open: the sink is not called until ``reset_after`` has passed."""


class _Wrapper:
    """Delegates flush/close to the wrapped sink and reports state changes through a router."""

    kind = "wrapper"

    def __init__(self, sink: SinkLike, router: Any, name: str | None) -> None:
        self.sink = sink
        self._handle = handler_of(sink)
        self._router = router
        self.name = name or f"{self.kind}({sink_name(sink)})"
        self.state = "ok"

    def _emitter(self) -> Any:
        if self._router is None:
            from zlog._api import default_router

            return default_router
        return self._router

    def _change(self, state: str, reason: str) -> None:
        previous, self.state = self.state, state
        if previous == state:
            return
        self._emitter().emit(ZLOG_SINK_STATE, f"{self.name}: {previous} -> {state}: {reason}",
                    sink=self.name, state=state, previous=previous, reason=reason)

    def flush(self) -> None:
        flush = getattr(self.sink, "flush", None)
        if callable(flush):
            flush()

    def close(self) -> None:
        close = getattr(self.sink, "close", None)
        if callable(close):
            close()


class Retry(_Wrapper):
    """Call the sink again after a failure, up to ``attempts`` times in all, with exponential backoff
    (``base`` seconds, doubling, at most ``max_delay``) and full jitter. The last failure is raised."""

    kind = "retry"

    def __init__(self, sink: SinkLike, *, attempts: int = 3, base: float = 0.05, max_delay: float = 2.0,
                 jitter: bool = True, sleep: Callable[[float], object] = time.sleep, router: Any = None,
                 name: str | None = None) -> None:
        if attempts < 1 or base < 0 or max_delay < 0:
            raise ValueError("attempts must be >= 1, base and max_delay >= 0")
        super().__init__(sink, router, name)
        self.attempts, self.base, self.max_delay, self.jitter, self._sleep = attempts, base, max_delay, jitter, sleep
        self.retries = 0
        self._random = random.Random()

    def delay(self, attempt: int) -> float:
        """The wait before retry number ``attempt`` (1 for the first retry)."""
        cap = min(self.max_delay, self.base * 2 ** (attempt - 1))
        return self._random.uniform(0, cap) if self.jitter else cap

    def handle(self, event: Event) -> None:
        for attempt in range(1, self.attempts + 1):
            try:
                self._handle(event)
                return
            except Exception:
                if attempt == self.attempts:
                    raise
                self.retries += 1
                self._sleep(self.delay(attempt))


class Timeout(_Wrapper):
    """Give each call ``seconds`` to finish on a helper thread; past that, raise ``TimeoutError``.

    A call that hangs keeps the helper busy; while it is busy, later events fail at once instead of
    piling up threads (wrap in ``Fallback`` to send them elsewhere).
    """

    kind = "timeout"

    def __init__(self, sink: SinkLike, seconds: float, *, router: Any = None, name: str | None = None) -> None:
        if seconds <= 0:
            raise ValueError("seconds must be > 0")
        super().__init__(sink, router, name)
        self.seconds = seconds
        self.timeouts = 0
        self._busy = _fork.owned_lock(self, "_busy")

    def handle(self, event: Event) -> None:
        if not self._busy.acquire(blocking=False):
            raise TimeoutError(f"{self.name}: an earlier call is still running")
        done = threading.Event()
        box: list[BaseException] = []

        def call() -> None:
            try:
                self._handle(event)
            except BaseException as exc:
                box.append(exc)
            finally:
                done.set()
                self._busy.release()

        threading.Thread(target=call, name=f"zlog-{self.name}", daemon=True).start()
        if not done.wait(self.seconds):
            self.timeouts += 1
            self._change("slow", f"a call took longer than {self.seconds:g}s")
            raise TimeoutError(f"{self.name}: no answer within {self.seconds:g}s")
        self._change("ok", "calls finish in time again")
        if box:
            raise box[0]


class Fallback(_Wrapper):
    """Send an event to ``fallback`` when ``primary`` raises; go back to the primary when it works."""

    kind = "fallback"

    def __init__(self, primary: SinkLike, fallback: SinkLike, *, router: Any = None, name: str | None = None) -> None:
        super().__init__(primary, router, name)
        self.fallback = fallback
        self._fallback = handler_of(fallback)
        self.fallbacks = 0

    def handle(self, event: Event) -> None:
        try:
            self._handle(event)
        except Exception as exc:
            self.fallbacks += 1
            self._change("fallback", f"{type(exc).__name__}: {exc}")
            self._fallback(event)
            return
        self._change("ok", "the primary sink works again")

    def flush(self) -> None:
        super().flush()
        flush = getattr(self.fallback, "flush", None)
        if callable(flush):
            flush()


class CircuitBreaker(_Wrapper):
    """After ``failures`` consecutive failures, stop calling the sink (raise ``CircuitOpenError`` at once)
    for ``reset_after`` seconds; then let one call through (half-open): success closes the circuit."""

    kind = "breaker"

    def __init__(self, sink: SinkLike, *, failures: int = 5, reset_after: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, router: Any = None, name: str | None = None) -> None:
        if failures < 1 or reset_after <= 0:
            raise ValueError("failures must be >= 1 and reset_after > 0")
        super().__init__(sink, router, name)
        self.failures, self.reset_after, self._clock = failures, reset_after, clock
        self.state = "closed"
        self._consecutive = 0
        self._opened_at = 0.0
        self.rejected = 0
        self._lock = _fork.owned_lock(self)

    def handle(self, event: Event) -> None:
        with self._lock:
            if self.state == "open":
                if self._clock() - self._opened_at < self.reset_after:
                    self.rejected += 1
                    raise CircuitOpenError(f"{self.name} is open")
                self._change("half-open", f"trying one call after {self.reset_after:g}s")
        try:
            self._handle(event)
        except Exception as exc:
            with self._lock:
                self._consecutive += 1
                if self.state == "half-open" or self._consecutive >= self.failures:
                    self._opened_at = self._clock()
                    self._change("open", f"{self._consecutive} consecutive failures, last {type(exc).__name__}")
            raise
        with self._lock:
            self._consecutive = 0
            if self.state != "closed":
                self._change("closed", "a call succeeded")


class RateLimited(_Wrapper):
    """Pass at most ``rate`` events per second to the sink (bursts up to ``burst``); the rest are
    dropped, counted in ``dropped`` and reported as ``ZLOG_EVENTS_DROPPED`` at most once per second."""

    kind = "rate_limit"

    def __init__(self, sink: SinkLike, rate: float, *, burst: int | None = None,
                 clock: Callable[[], float] = time.monotonic, router: Any = None, name: str | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0 events per second")
        super().__init__(sink, router, name)
        self.rate = rate
        self.burst = float(burst if burst is not None else max(1, int(rate)))
        self._tokens = self.burst
        self._clock = clock
        self._last = clock()
        self._last_report = -float("inf")
        self._unreported = 0
        self.dropped = 0
        self._lock = _fork.owned_lock(self)

    def handle(self, event: Event) -> None:
        report = 0
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens < 1:
                self.dropped += 1
                self._unreported += 1
                if now - self._last_report >= 1.0:
                    self._last_report, report, self._unreported = now, self._unreported, 0
                passed = False
            else:
                self._tokens -= 1
                passed = True
        if passed:
            self._handle(event)
        elif report:
            self._emitter().emit(ZLOG_EVENTS_DROPPED, f"{self.name} dropped {report} events over {self.rate:g}/s",
                        sink=self.name, dropped=report, total_dropped=self.dropped, policy="rate_limit")
