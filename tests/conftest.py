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


def require_service(name: str, host: str, port: int) -> None:
    """Skip when a server the test talks to is unreachable; fail instead under ZLOG_REQUIRE_SERVICES=1 (CI)."""
    import os
    import socket

    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        message = f"{name} not reachable at {host}:{port} ({exc})"
        if os.environ.get("ZLOG_REQUIRE_SERVICES") == "1":
            pytest.fail(message + "; ZLOG_REQUIRE_SERVICES=1 makes that a failure")
        pytest.skip(message)


@pytest.fixture
def redis_server() -> None:
    require_service("Redis", "127.0.0.1", 6379)


@pytest.fixture
def nats_server() -> None:
    require_service("NATS", "127.0.0.1", 4222)
