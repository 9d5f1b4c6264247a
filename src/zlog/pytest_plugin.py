"""pytest plugin (registered through the ``pytest11`` entry point): the ``zlog_events`` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zlog.testing import CapturedEvents, capture, isolated


@pytest.fixture
def zlog_events() -> Iterator[CapturedEvents]:
    """Every event emitted during the test, with the default router emptied for the test and restored after."""
    with isolated(), capture() as events:
        yield events
