"""Fixtures shared by the test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import zlog


@pytest.fixture
def router() -> Iterator[zlog.Router]:
    r = zlog.Router()
    yield r
    r.reset()
