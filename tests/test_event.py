"""Event: immutable, with a UTC time, read-only fields and validation of hand-built events."""

from __future__ import annotations

import pickle
from datetime import datetime, timezone

import pytest

import zlog
from zlog import Event

T0 = 1_795_357_815_123_456_789  # 2026-11-22T14:30:15.123456789Z


def test_attributes_of_an_event() -> None:
    event = Event("JOB_QUEUED", "queued", {"job_id": "j1"}, level="info", time_ns=T0)
    assert event.signal == "JOB_QUEUED"
    assert event.message == "queued"
    assert event.level == "info"
    assert event.time_ns == T0
    assert event.time == datetime(2026, 11, 22, 14, 30, 15, 123456, tzinfo=timezone.utc)
    assert dict(event.fields) == {"job_id": "j1"}


def test_events_are_immutable_and_fields_read_only() -> None:
    event = Event("A", "m", {"k": 1})
    with pytest.raises(AttributeError):
        event.message = "changed"
    with pytest.raises(TypeError):
        event.fields["k"] = 2  # type: ignore[index]


def test_event_copies_the_fields_it_is_given() -> None:
    fields = {"k": 1}
    event = Event("A", "m", fields)
    fields["k"] = 2
    assert event.fields["k"] == 1


def test_event_from_a_declared_signal_takes_its_level() -> None:
    sig = zlog.Signal("JOB_FAILED", level="error")
    assert Event(sig, "failed").level == "error"
    assert Event(sig, "failed").signal == "JOB_FAILED"
    assert Event("PLAIN", "x").level is None


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"signal": ""}, TypeError),
        ({"signal": 42}, TypeError),
        ({"level": "loud"}, ValueError),
        ({"time_ns": -1}, ValueError),
        ({"time_ns": 10**30}, ValueError),
        ({"time_ns": 1.5}, ValueError),
    ],
)
def test_invalid_hand_built_events_are_rejected(kwargs: dict[str, object], error: type[Exception]) -> None:
    args: dict[str, object] = {"signal": "A", **kwargs}
    signal = args.pop("signal")
    with pytest.raises(error):
        Event(signal, "m", **args)  # type: ignore[arg-type]


def test_replace_returns_a_new_event_keeping_signal_time_and_level() -> None:
    event = Event("A", "m", {"k": 1}, level="warn", time_ns=T0)
    changed = event.replace(message="n", fields={"k": 2})
    assert (changed.signal, changed.message, changed.level, changed.time_ns) == ("A", "n", "warn", T0)
    assert changed.fields["k"] == 2 and event.fields["k"] == 1


def test_repr_and_pickle_round_trip() -> None:
    event = Event("A", "m", {"k": [1]}, level="info", time_ns=T0)
    assert "Event('A', 'm'" in repr(event) and "2026-11-22T14:30:15.123456+00:00" in repr(event)
    copy = pickle.loads(pickle.dumps(event))
    assert copy == event and isinstance(copy, Event)


def test_time_is_an_aware_utc_datetime_for_emitted_events() -> None:
    router = zlog.Router()
    got: list[Event] = []
    router.route_all(got.append)
    router.emit("A", "x")
    assert got[0].time.tzinfo is timezone.utc
    offset = got[0].time.utcoffset()
    assert offset is not None and offset.total_seconds() == 0


def test_a_str_subclass_signal_becomes_its_plain_name() -> None:
    import enum

    class Sig(str, enum.Enum):
        JOB_QUEUED = "JOB_QUEUED"

    event = Event(Sig.JOB_QUEUED, "m")
    assert event.signal == "JOB_QUEUED"
    assert type(event.signal) is str


def test_an_explicit_level_overrides_the_signals_level() -> None:
    sig = zlog.Signal("JOB_FAILED", level="error")
    assert Event(sig, "m", level="WARNING").level == "warn"


def test_events_take_no_new_attributes() -> None:
    event = Event("A", "m")
    with pytest.raises(AttributeError):
        event.extra = 1  # type: ignore[attr-defined]


def test_a_message_that_is_not_a_str_becomes_text() -> None:
    assert Event("A", 42).message == "42"  # type: ignore[arg-type]
    replaced = Event("A", "m").replace(message=7)  # type: ignore[arg-type]
    assert replaced.message == "7" and type(replaced.message) is str


def test_replace_without_arguments_keeps_everything() -> None:
    event = Event("A", "m", {"k": 1}, level="info", time_ns=T0)
    assert event.replace() == event


def test_replace_copies_the_fields_it_is_given() -> None:
    fields = {"k": 1}
    event = Event("A", "m").replace(fields=fields)
    fields["k"] = 2
    assert event.fields["k"] == 1
