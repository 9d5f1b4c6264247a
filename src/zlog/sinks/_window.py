"""Sliding-window event counts in bounded memory, for alert rules."""

from __future__ import annotations

from collections import deque

#: A window keeps at most this many buckets (plus one), whatever the event rate.
SLOTS = 100


class Window:
    """Counts (all, bad) of the events of the last ``span`` seconds.

    Events are grouped in buckets ``span / SLOTS`` seconds wide, so adding is O(1) and memory is bounded
    at any rate; an event may leave the window up to one bucket width (1% of the span) early. Events
    further apart than a bucket width are counted exactly.
    """

    __slots__ = ("bad", "buckets", "span", "total", "width")

    def __init__(self, span: float) -> None:
        self.span = span
        self.width = span / SLOTS
        self.buckets: deque[list[float]] = deque()  # [first event's time, events, bad events]
        self.total = 0
        self.bad = 0

    def push(self, now: float, bad: bool = False) -> int:
        """Count an event at ``now`` and drop what left the window; the number of events in it."""
        buckets = self.buckets
        if buckets and now - buckets[-1][0] < self.width:
            last = buckets[-1]
            last[1] += 1
            if bad:
                last[2] += 1
        else:
            buckets.append([now, 1, 1 if bad else 0])
        self.total += 1
        if bad:
            self.bad += 1
        if buckets[0][0] <= now - self.span:
            return self.expire(now)
        return self.total

    def expire(self, now: float) -> int:
        """Drop what left the window; the number of events still in it."""
        edge = now - self.span
        buckets = self.buckets
        while buckets and buckets[0][0] <= edge:
            _, total, bad = buckets.popleft()
            self.total -= int(total)
            self.bad -= int(bad)
        return self.total
