"""The bounded sliding window behind threshold and ratio alert rules."""

from __future__ import annotations

from zlog.sinks._window import SLOTS, Window


def test_events_leave_the_window_after_its_span() -> None:
    window = Window(10.0)
    for t in (0.0, 1.0, 2.0):
        window.push(t)
    assert window.expire(9.9) == 3
    assert window.expire(10.0) == 2  # the event at 0 s is exactly one span old
    assert window.expire(12.5) == 0 and not window.buckets


def test_bad_events_are_counted_beside_all_events() -> None:
    window = Window(60.0)
    for t in range(10):
        window.push(float(t), bad=t % 5 == 0)
    assert (window.total, window.bad) == (10, 2)
    window.expire(60.5)  # drops the events at 0 s (bad)
    assert (window.total, window.bad) == (9, 1)


def test_a_flood_of_events_uses_at_most_one_bucket_per_slot() -> None:
    window = Window(1.0)
    for i in range(100_000):
        assert window.push(i / 100_000) == i + 1
    assert window.total == 100_000
    assert len(window.buckets) <= SLOTS + 1


def test_push_returns_the_count_after_dropping_what_left_the_window() -> None:
    window = Window(10.0)
    assert [window.push(t) for t in (0.0, 5.0, 10.0, 10.5, 21.0)] == [1, 2, 2, 3, 1]
