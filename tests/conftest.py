"""Fixtures shared by the test modules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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


@contextmanager
def keys_made_are_deleted(url: str) -> Iterator[Any]:
    """A Redis client on ``url`` (a test module's own database); the keys made meanwhile are deleted after."""
    import redis

    client = redis.Redis.from_url(url)
    before = set(client.keys("*"))
    try:
        yield client
    finally:
        made = set(client.keys("*")) - before
        if made:
            client.delete(*made)


def modules_the_writer_imports(make_sink: str) -> list[str]:
    """In a fresh interpreter: the modules a stream sink's writer thread imports while it sends its first
    event (``make_sink`` is the code that makes ``sink``). A fork while a thread imports leaves that
    module's lock held in the child, whose writer then hangs, so the answer must be none."""
    import json
    import subprocess
    import sys

    code = (
        f"import json, sys, zlog\n{make_sink}\n"
        "router = zlog.Router()\n"
        "router.route_all(sink)\n"
        "before = set(sys.modules)\n"
        "router.emit('JOB_DONE', 'done')\n"
        "assert sink.flush(timeout=10)\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    imported: list[str] = json.loads(done.stdout)
    return imported
