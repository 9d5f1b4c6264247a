"""Per-sink filtering and sampling: ``processors.Filter`` and ``processors.Sample`` for one sink only.

A processor acts on every event of a router; these wrappers apply the same rules in front of one
sink, so that, say, the console shows one heartbeat in ten while the JSON file keeps them all. For a
level threshold per sink, route with ``level=`` (``zlog.route("*", sink, level="warn")``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from zlog._sinkcalls import sink_name
from zlog.event import Event
from zlog.processors import Filter, Sample
from zlog.sinks.base import Wrapper
from zlog.typing import SinkLike

__all__ = ["Filtered", "Sampled"]


class Filtered(Wrapper):
    """Hand ``sink`` only the events for which ``predicate(event)`` is true; ``filtered`` counts the others."""

    def __init__(self, sink: SinkLike, predicate: Callable[[Event], object], *, name: str | None = None) -> None:
        self.filter = Filter(predicate)
        super().__init__(sink, name=name or f"filtered({sink_name(sink)})")
        self._handle = self._handlers[0]

    @property
    def filtered(self) -> int:
        """Events the predicate kept from the sink."""
        return self.filter.dropped

    def handle(self, event: Event) -> None:
        if self._closed:
            self._refuse()
        if self.filter(event) is not None:
            self._handle(event)

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "filtered": self.filter.dropped}


class Sampled(Wrapper):
    """Hand ``sink`` a share of the events, per signal, as ``processors.Sample`` does for a router.

    ``Sampled(sink, 0.1)`` keeps about one event in ten at random; ``every=10`` keeps exactly the 1st,
    11th, 21st ... of each signal; a mapping samples only the signals it names (globs allowed).
    """

    def __init__(
        self,
        sink: SinkLike,
        rate: float | Mapping[str, float] | None = None,
        *,
        every: int | Mapping[str, int] | None = None,
        seed: int | None = None,
        name: str | None = None,
    ) -> None:
        self.sample = Sample(rate, every=every, seed=seed)
        super().__init__(sink, name=name or f"sampled({sink_name(sink)})")
        self._handle = self._handlers[0]

    @property
    def sampled_out(self) -> dict[str, int]:
        """Per signal, the events sampling kept from the sink."""
        return dict(self.sample.dropped)

    def handle(self, event: Event) -> None:
        if self._closed:
            self._refuse()
        if self.sample(event) is not None:
            self._handle(event)

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "sampled_out": sum(self.sample.dropped.values())}
