"""Module-level functions act on the default router; importing zlog is silent."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

import pytest

import zlog
from zlog import Event
from zlog.testing import CapturedEvents


def test_importing_zlog_prints_nothing_and_emitting_unrouted_writes_nothing() -> None:
    code = "import zlog\nzlog.emit('JOB_QUEUED', 'x', job_id='j1')\nzlog.info('hello')\nzlog.fatal('bye')\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "" and done.stderr == ""


def test_module_functions_route_and_emit_on_the_default_router(zlog_events: CapturedEvents) -> None:
    got: list[Event] = []
    route = zlog.route("JOB_*", got.append)
    assert route in zlog.routes()
    assert zlog.default_router.routes() == zlog.routes()
    zlog.emit("JOB_QUEUED", "queued", job_id="j1")
    assert [e.signal for e in got] == ["JOB_QUEUED"]
    assert zlog_events.signals() == ["JOB_QUEUED"]


@pytest.mark.parametrize(
    ("helper", "signal", "level"),
    [
        (zlog.debug, zlog.DEBUG, "debug"),
        (zlog.info, zlog.INFO, "info"),
        (zlog.warn, zlog.WARN, "warn"),
        (zlog.error, zlog.ERROR, "error"),
        (zlog.fatal, zlog.FATAL, "fatal"),
    ],
)
def test_level_helpers_emit_their_level_signal(
    zlog_events: CapturedEvents, helper: Callable[..., None], signal: zlog.Signal[...], level: str
) -> None:
    helper("message", key="value")
    assert zlog_events[0].signal == signal
    assert zlog_events[0].level == level
    assert zlog_events[0].fields == {"key": "value"}


def test_fatal_flushes_a_buffered_sink_and_does_not_exit(zlog_events: CapturedEvents) -> None:
    flushed: list[bool] = []

    class FlushCounting(io.BytesIO):
        def flush(self) -> None:
            flushed.append(True)
            super().flush()

    out = FlushCounting()
    sink = zlog.JSONSink(out, buffered=True)
    zlog.route_all(sink)
    zlog.fatal("cannot continue", reason="disk")
    assert flushed
    assert json.loads(out.getvalue())["level"] == "fatal"


def test_flush_close_and_processors_on_the_default_router(zlog_events: CapturedEvents) -> None:
    out = io.StringIO()
    zlog.route("A", zlog.JSONSink(out))
    zlog.add_processor(lambda e: e.replace(message=e.message.upper()))
    zlog.emit("A", "shout")
    assert zlog.flush() is True
    assert json.loads(out.getvalue())["message"] == "SHOUT"
    zlog.close()
    assert zlog.routes() == ()
    zlog.emit("A", "after close")
    assert out.getvalue().count("\n") == 1


def _isort_order(name: str) -> tuple[int, str]:
    """CONSTANTS, then Classes, then functions and modules, each alphabetical."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


#: Submodules that are part of the public face (every other submodule the package binds as a side
#: effect of importing it is not).
_PUBLIC_MODULES = {"zlog.processors", "zlog.testing", "zlog.typing"}


def _public_names(module: ModuleType, lazy: Iterable[str]) -> set[str]:
    """What ``module`` offers: its names that are not private, not imported helpers and not submodules
    bound by importing them, plus the names it imports on first use."""
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_") or not name.isidentifier() or name in ("annotations", "TYPE_CHECKING"):
            continue
        if isinstance(value, ModuleType):
            if value.__name__ in _PUBLIC_MODULES:
                names.add(name)
            continue
        if getattr(value, "__module__", "zlog").startswith("zlog"):
            names.add(name)
    return names | set(lazy)


def test_zlog_all_is_sorted_and_exactly_the_public_names() -> None:
    assert zlog.__all__ == sorted(zlog.__all__, key=_isort_order)
    extras = {"RedisSink", "NATSSink"}  # need an extra: importable by name, not in ``import *``
    assert set(zlog.__all__) == _public_names(zlog, [*zlog._LAZY, *zlog._MODULES]) - extras
    for name in zlog.__all__:
        assert getattr(zlog, name) is not None, name


def test_zlog_sinks_all_is_sorted_and_exactly_the_public_names() -> None:
    sinks = zlog.sinks
    assert sinks.__all__ == sorted(sinks.__all__, key=_isort_order)
    assert set(sinks.__all__) == _public_names(sinks, sinks._LAZY) - {"RedisSink", "NATSSink"}
    for name in sinks.__all__:
        assert getattr(sinks, name) is not None, name


def test_import_zlog_loads_no_sink_module_and_no_optional_dependency() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import zlog\n"
        "heavy = ('zlog.sinks.', 'orjson', 'urllib', 'inspect', 'typing_extensions', 'datetime', 'decimal',"
        " 'dataclasses', 'prometheus_client', 'redis', 'nats', 'opentelemetry', 'http')\n"
        "print(' '.join(sorted(m for m in set(sys.modules) - before if m.startswith(heavy))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["zlog.sinks.base"]


def test_route_all_routes_and_reset_on_the_default_router(zlog_events: CapturedEvents) -> None:
    got: list[Event] = []
    route = zlog.route_all(got.append)
    assert route.pattern == "*" and route in zlog.routes()
    zlog.emit("ANYTHING", "x")
    zlog.add_processor(lambda e: e)
    zlog.reset()
    assert zlog.routes() == () and zlog.default_router.processors() == ()
    zlog.emit("ANYTHING", "after reset")
    assert [e.message for e in got] == ["x"]


def test_route_by_name_and_by_declared_signal_on_the_default_router_are_the_same(
    zlog_events: CapturedEvents,
) -> None:
    @zlog.signal(level="info")
    def JOB_QUEUED(*, job_id: str) -> None: ...

    by_name: list[Event] = []
    by_signal: list[Event] = []
    zlog.route("JOB_QUEUED", by_name.append)
    zlog.route(JOB_QUEUED, by_signal.append)
    zlog.emit(JOB_QUEUED, "typed", job_id="j1")
    zlog.emit("JOB_QUEUED", "by name", job_id="j2")
    assert [e.message for e in by_name] == [e.message for e in by_signal] == ["typed", "by name"]
    assert by_name[0].level == "info" and by_name[1].level is None


def test_level_helpers_never_format_the_message(zlog_events: CapturedEvents) -> None:
    zlog.info("{job_id} done", job_id="j1")
    zlog.error("%s failed %d", job_id="j1")
    assert [e.message for e in zlog_events] == ["{job_id} done", "%s failed %d"]


def test_level_helpers_accept_fields_named_message_or_signal(zlog_events: CapturedEvents) -> None:
    zlog.warn("text", message="a field", signal="another field")
    assert zlog_events[0].message == "text"
    assert dict(zlog_events[0].fields) == {"message": "a field", "signal": "another field"}


def test_emit_never_raises_into_the_caller_when_a_sink_fails(zlog_events: CapturedEvents) -> None:
    zlog.route("A", lambda e: 1 / 0)
    zlog.emit("A", "x")
    zlog.info("still running")
    assert "INFO" in zlog_events.signals()


def test_fatal_flushes_every_sink_and_the_process_goes_on() -> None:
    code = (
        "import zlog\n"
        "class S:\n"
        "    def handle(self, e): pass\n"
        "    def flush(self, timeout=None): print('flushed', flush=True)\n"
        "zlog.route('OTHER', S())\n"
        "zlog.route('FATAL', lambda e: print('fatal:', e.message, e.level, flush=True))\n"
        "zlog.fatal('cannot go on', reason='disk')\n"
        "print('still alive')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.splitlines() == ["fatal: cannot go on fatal", "flushed", "still alive"]


def test_flush_and_close_module_functions_reach_a_routed_sink_and_close_unroutes_it(
    zlog_events: CapturedEvents,
) -> None:
    calls: list[str] = []

    class Sink:
        def handle(self, event: Event) -> None: ...

        def flush(self, timeout: float | None = None) -> bool:
            calls.append("flush")
            return True

        def close(self, timeout: float | None = None) -> bool:
            calls.append("close")
            return True

    zlog.route("A", Sink())
    assert zlog.flush(timeout=5) is True
    assert zlog.close(timeout=5) is True
    assert calls == ["flush", "close"]
    assert zlog.routes() == ()


def test_shutdown_writes_what_background_sinks_hold_before_the_process_ends_with_os_exit(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    code = (
        "import os, time, zlog\n"
        f"stream = open({str(out)!r}, 'a')\n"
        "def slow(event):\n"
        "    time.sleep(0.002)\n"
        "    stream.write(event.fields['job_id'] + '\\n')\n"
        "    stream.flush()\n"
        "zlog.route('JOB_COMPLETED', zlog.Background(slow))\n"
        "for n in range(200):\n"
        "    zlog.emit('JOB_COMPLETED', 'done', job_id=f'j{n}')\n"
        "print(zlog.shutdown(timeout=30), len(zlog.routes()), flush=True)\n"
        "os._exit(0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["True", "1"]  # every event written; the routes stay
    assert out.read_text().split() == [f"j{n}" for n in range(200)]


def test_shutdown_returns_by_its_timeout_and_reports_what_it_could_not_write(zlog_events: CapturedEvents) -> None:
    release = threading.Event()
    stuck = zlog.Background(lambda event: release.wait(30), name="stuck")
    zlog.route("JOB_COMPLETED", stuck)
    try:
        for n in range(5):
            zlog.emit("JOB_COMPLETED", "done", job_id=f"j{n}")
        assert zlog.shutdown(timeout=0.3) is False
        assert stuck.dropped == 5  # the one being written and the four queued: the process ends before them
        drops = zlog_events.of("ZLOG_EVENTS_DROPPED")
        assert sum(e.fields["dropped"] for e in drops) == 5
    finally:
        release.set()
        assert stuck.close(timeout=5)
