"""Bound context: fields added inside ``with zlog.bind``, per thread and per asyncio task."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

import zlog
from zlog import Event, Router


def capture() -> tuple[Router, list[Event]]:
    router = Router()
    got: list[Event] = []
    router.route_all(got.append)
    return router, got


def test_bound_fields_come_first_and_end_with_the_block() -> None:
    router, got = capture()
    with zlog.bind(request_id="r1") as view:
        assert view["request_id"] == "r1"
        router.emit("A", "inside", job_id="j1")
    router.emit("A", "outside")
    assert list(got[0].fields.items()) == [("request_id", "r1"), ("job_id", "j1")]
    assert got[1].fields == {}


def test_nested_binds_merge_and_unwind() -> None:
    with zlog.bind(a=1, b=1):
        with zlog.bind(b=2, c=3):
            assert dict(zlog.bound()) == {"a": 1, "b": 2, "c": 3}
        assert dict(zlog.bound()) == {"a": 1, "b": 1}
    assert dict(zlog.bound()) == {}


def test_the_same_binding_can_be_entered_twice() -> None:
    binding = zlog.bind(x=1)
    with binding, binding:
        assert zlog.bound()["x"] == 1
    assert "x" not in zlog.bound()


def test_bound_is_read_only() -> None:
    with zlog.bind(a=1):
        view = zlog.bound()
        with pytest.raises(TypeError):
            view["a"] = 2  # type: ignore[index]


def test_emit_fields_override_bound_fields() -> None:
    router, got = capture()
    with zlog.bind(worker_id="w-1"):
        router.emit("A", "x", worker_id="w-2")
    assert got[0].fields["worker_id"] == "w-2"


def test_a_new_thread_does_not_see_the_parents_binding_unless_copied() -> None:
    seen: dict[str, object] = {}
    with zlog.bind(request_id="r1"):
        plain = threading.Thread(target=lambda: seen.update(plain=dict(zlog.bound())))
        ctx = contextvars.copy_context()
        copied = threading.Thread(target=lambda: ctx.run(lambda: seen.update(copied=dict(zlog.bound()))))
        plain.start(), copied.start()
        plain.join(), copied.join()
    assert seen == {"plain": {}, "copied": {"request_id": "r1"}}


def test_threads_binding_concurrently_keep_their_own_fields() -> None:
    router, got = capture()

    def work(n: int) -> None:
        with zlog.bind(worker=n):
            for _ in range(200):
                router.emit("A", "x", n=n)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 800
    assert all(e.fields["worker"] == e.fields["n"] for e in got)


def test_asyncio_tasks_each_see_their_own_binding() -> None:
    router, got = capture()

    async def job(job_id: str) -> None:
        with zlog.bind(job_id=job_id):
            await asyncio.sleep(0)
            router.emit("A", "step", seen=zlog.bound()["job_id"])
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(job(f"j{i}") for i in range(5)))

    asyncio.run(main())
    assert sorted(e.fields["job_id"] for e in got) == [f"j{i}" for i in range(5)]
    assert all(e.fields["job_id"] == e.fields["seen"] for e in got)
