"""Per-sink filtering and sampling: Filtered and Sampled in front of one sink, the others unaffected."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

import zlog
from zlog import Event, Router
from zlog.sinks import Filtered, Sampled
from zlog.testing import CapturedEvents


def test_filtered_hands_the_sink_only_what_the_predicate_keeps_and_the_other_sinks_everything() -> None:
    router = Router()
    console, everything = CapturedEvents(name="console"), CapturedEvents(name="all")
    router.route_all(Filtered(console, lambda e: e.fields.get("queue") == "critical"))
    router.route_all(everything)
    for queue in ("default", "critical", "default", "critical"):
        router.emit("JOB_DONE", "done", queue=queue)
    assert [e.fields["queue"] for e in console] == ["critical", "critical"]
    assert len(everything) == 4


def test_filtered_counts_what_it_kept_from_the_sink() -> None:
    filtered = Filtered(CapturedEvents(), lambda e: e.signal != "WORKER_HEARTBEAT")
    for signal in ("WORKER_HEARTBEAT", "JOB_DONE", "WORKER_HEARTBEAT"):
        filtered.handle(Event(signal, "x"))
    assert filtered.filtered == 2 and filtered.stats()["filtered"] == 2


def test_a_predicate_that_raises_is_a_counted_failure_of_the_filtered_sink() -> None:
    router = Router()
    reports = CapturedEvents(name="reports")

    def broken(event: Event) -> bool:
        raise KeyError("queue")

    sink = Filtered(CapturedEvents(), broken, name="only-critical")
    router.route("ZLOG_SINK_ERROR", reports)
    router.route("JOB_*", sink)
    router.emit("JOB_DONE", "x")
    assert router.sink_errors()["only-critical"] == 1 and isinstance(reports[0].fields["error"], KeyError)


def test_sampled_every_n_keeps_exactly_one_in_n_per_signal() -> None:
    sink = CapturedEvents()
    sampled = Sampled(sink, every=10)
    for i in range(100):
        sampled.handle(Event("WORKER_HEARTBEAT", str(i)))
        sampled.handle(Event("JOB_DONE", str(i)))
    assert [e.message for e in sink.of("WORKER_HEARTBEAT")] == [str(i) for i in range(0, 100, 10)]
    assert len(sink.of("JOB_DONE")) == 10
    assert sampled.sampled_out == {"WORKER_HEARTBEAT": 90, "JOB_DONE": 90}


def test_sampled_by_rate_keeps_about_that_share_and_only_of_the_signals_it_names() -> None:
    sink = CapturedEvents()
    sampled = Sampled(sink, {"WORKER_*": 0.1}, seed=7)
    for _ in range(10_000):
        sampled.handle(Event("WORKER_HEARTBEAT", "beat"))
    for _ in range(100):
        sampled.handle(Event("JOB_DONE", "done"))
    assert 800 <= len(sink.of("WORKER_HEARTBEAT")) <= 1200
    assert len(sink.of("JOB_DONE")) == 100  # not named: every event kept


def test_a_per_sink_level_threshold_is_a_route_level() -> None:
    router = Router()
    out = io.StringIO()
    router.route("*", zlog.JSONSink(out), level="warn")
    router.emit(zlog.INFO, "quiet")
    router.emit(zlog.WARN, "loud")
    assert [line for line in out.getvalue().splitlines() if line] == [out.getvalue().splitlines()[0]]
    assert '"message":"loud"' in out.getvalue() and "quiet" not in out.getvalue()


@pytest.mark.parametrize(
    "make",
    [
        lambda: Sampled(print),
        lambda: Sampled(print, 2.0),
        lambda: Filtered(print, 3),  # type: ignore[arg-type]
    ],
)
def test_invalid_settings_are_clear_errors(make: Callable[[], object]) -> None:
    with pytest.raises((TypeError, ValueError)):
        make()
