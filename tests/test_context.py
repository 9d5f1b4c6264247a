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
        for thread in (plain, copied):
            thread.start()
        for thread in (plain, copied):
            thread.join()
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


def test_one_binding_entered_by_several_threads_at_once_restores_each_threads_context() -> None:
    shared = zlog.bind(service="api")
    entered = threading.Barrier(2)
    errors: list[BaseException] = []
    after: dict[str, dict[str, object]] = {}

    def worker(name: str, first_out: bool) -> None:
        try:
            with zlog.bind(worker=name):
                with shared:
                    entered.wait(timeout=10)
                    if not first_out:
                        left.wait(timeout=10)
                if first_out:
                    left.set()
                after[name] = dict(zlog.bound())
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    left = threading.Event()
    threads = [threading.Thread(target=worker, args=("a", True)), threading.Thread(target=worker, args=("b", False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert after == {"a": {"worker": "a"}, "b": {"worker": "b"}}


def test_one_binding_used_by_interleaved_asyncio_tasks() -> None:
    shared = zlog.bind(component="poller")
    router, got = capture()

    async def task(name: str, delay_steps: int) -> dict[str, object]:
        with zlog.bind(task=name):
            with shared:
                for _ in range(delay_steps):
                    await asyncio.sleep(0)
                router.emit("A", "inside", task_seen=name)
            return dict(zlog.bound())

    async def main() -> list[dict[str, object]]:
        return list(await asyncio.gather(task("first", 1), task("second", 3), task("third", 2)))

    results = asyncio.run(main())
    assert results == [{"task": "first"}, {"task": "second"}, {"task": "third"}]
    assert all(e.fields["component"] == "poller" and e.fields["task"] == e.fields["task_seen"] for e in got)


def test_a_task_created_inside_a_binding_sees_it_and_its_own_bindings_do_not_leak_out() -> None:
    async def child() -> dict[str, object]:
        with zlog.bind(child=True):
            pass
        seen = dict(zlog.bound())
        zlog.bind(leak=True).__enter__()  # never exited: stays in the task's own context copy
        return seen

    async def main() -> tuple[dict[str, object], dict[str, object]]:
        with zlog.bind(parent=1):
            seen = await asyncio.create_task(child())
            return seen, dict(zlog.bound())

    seen, parent_after = asyncio.run(main())
    assert seen == {"parent": 1}
    assert parent_after == {"parent": 1}


def test_an_out_of_order_exit_restores_the_context_from_before_that_bindings_latest_entry_and_a_second_raises() -> None:
    outer, inner = zlog.bind(a=1), zlog.bind(b=2)
    outer.__enter__()
    inner.__enter__()
    outer.__exit__(None, None, None)  # current context is inner's: the latest entry of `outer` is undone
    assert dict(zlog.bound()) == {}
    with pytest.raises(RuntimeError):
        outer.__exit__(None, None, None)


def test_binding_is_undone_when_the_block_raises() -> None:
    with pytest.raises(KeyError), zlog.bind(request_id="r1"):
        raise KeyError("x")
    assert dict(zlog.bound()) == {}


def test_module_level_emit_carries_bound_fields(zlog_events: list[Event]) -> None:
    with zlog.bind(request_id="r1"):
        zlog.info("handled", status=200)
    zlog.info("outside")
    assert dict(zlog_events[0].fields) == {"request_id": "r1", "status": 200}
    assert dict(zlog_events[1].fields) == {}
