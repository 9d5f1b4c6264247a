"""zlog in real worker processes: pools that recycle children, fork-per-job workers, every start method.

Every sink is checked: JSON files (shared, rotating per process, behind ``Background``), a Redis stream,
NATS JetStream, and Prometheus multiprocess metrics read by one scrape. Each run is a fresh worker
program (``worker_app.run`` in a new interpreter, as a user's worker is): the parent sets zlog up and
emits before it forks, children run the jobs and are recycled (ended with ``os._exit`` by
``multiprocessing``, or by the fork-per-job loop after ``zlog.shutdown()``). Every sink then holds exactly
the parent's events and one per job: none lost, none written twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import glob
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import worker_app
from conftest import require_service

JOBS = 400
TESTS = Path(__file__).parent
REDIS_URL = "redis://127.0.0.1:6379/13"  # this module's own Redis database


def _job_ids(lines: list[bytes]) -> Counter[str]:
    return Counter(json.loads(line)["job_id"] for line in lines if b'"JOB_COMPLETED"' in line)


def _expected() -> Counter[str]:
    ids = [f"parent{n}" for n in range(worker_app.PARENT_EVENTS)] + [f"j{n}" for n in range(JOBS)]
    return Counter(ids)


def _file_lines(pattern: str) -> list[bytes]:
    return [line for name in sorted(glob.glob(pattern)) for line in Path(name).read_bytes().splitlines()]


def _json(config: worker_app.Config) -> str:
    return json.dumps(dataclasses.asdict(config))


def _run(kind: str, method: str, config: worker_app.Config) -> int:
    """Run the worker program; how many processes ran jobs."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", "import worker_app; worker_app.main()", kind, method, str(JOBS), _json(config)],
        env=env,
        capture_output=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"Traceback" not in done.stderr, done.stderr.decode()
    return int(done.stdout.split()[-1])


@pytest.fixture
def stream() -> Iterator[str]:
    require_service("Redis", "127.0.0.1", 6379)
    import redis

    name = f"zlog:workers:{uuid.uuid4().hex}"
    yield name
    redis.Redis.from_url(REDIS_URL).delete(name)


def _redis_job_ids(stream: str) -> Counter[str]:
    import redis

    entries: Any = redis.Redis.from_url(REDIS_URL).xrange(stream)
    return _job_ids([fields[b"event"] for _, fields in entries])


def _scrape(metrics_dir: Path) -> str:
    """What any process's ``/metrics`` serves: a multiprocess ``MetricsSink``'s exposition of the directory."""
    code = "import zlog\nprint(zlog.MetricsSink(multiprocess=True).exposition()[1].decode())\n"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


def _check_metrics(metrics_dir: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    text = _scrape(metrics_dir)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }
    total = JOBS + worker_app.PARENT_EVENTS
    assert samples[("zlog_events_total", (("signal", "JOB_COMPLETED"),))] == total
    assert samples[("job_duration_seconds_count", ())] == total
    assert samples[("job_duration_seconds_bucket", (("le", "0.5"),))] == total
    assert samples[("job_duration_seconds_sum", ())] == pytest.approx(total * 0.25)
    promtool = shutil.which("promtool")
    if promtool is not None:  # the Prometheus project's own checker, where installed (apt-get install prometheus)
        checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def _check_files(workdir: Path) -> None:
    expected = _expected()
    assert _job_ids(_file_lines(str(workdir / "shared.log"))) == expected
    assert _job_ids(_file_lines(str(workdir / "background.log"))) == expected
    assert _job_ids(_file_lines(str(workdir / "rotating.*.log"))) == expected


CASES = [
    pytest.param("pool", "fork", id="pool-fork"),
    pytest.param("pool", "forkserver", id="pool-forkserver"),
    pytest.param("pool", "spawn", id="pool-spawn"),
    pytest.param("executor", "forkserver", id="executor-forkserver-one-task-per-child"),
    pytest.param("fork-per-job", "fork", id="fork-per-job"),
]


@pytest.mark.parametrize(("kind", "method"), CASES)
def test_recycled_children_lose_no_event_and_write_none_twice(
    kind: str, method: str, tmp_path: Path, stream: str
) -> None:
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    config = worker_app.Config(str(tmp_path), redis_stream=stream, redis_url=REDIS_URL, metrics_dir=str(metrics))
    processes = _run(kind, method, config)
    assert processes > (2 if method == "spawn" else 100)  # the children really were recycled
    _check_files(tmp_path)
    assert _redis_job_ids(stream) == _expected()
    _check_metrics(metrics)


async def _jetstream(action: str, name: str, prefix: str) -> int:
    import nats

    nc = await nats.connect("nats://127.0.0.1:4222")
    try:
        js = nc.jetstream()
        if action == "add":
            await js.add_stream(name=name, subjects=[f"{prefix}.>"])
            return 0
        if action == "count":
            return int((await js.stream_info(name)).state.messages)
        await js.delete_stream(name)
        return 0
    finally:
        await nc.close()


def _jetstream_job_ids(name: str) -> Counter[str]:
    import nats

    async def read() -> list[bytes]:
        nc = await nats.connect("nats://127.0.0.1:4222")
        try:
            sub = await nc.jetstream().pull_subscribe(">", durable=None, stream=name)
            lines: list[bytes] = []
            while True:
                try:
                    batch = await sub.fetch(500, timeout=1)
                except nats.errors.TimeoutError:
                    return lines
                lines += [m.data for m in batch]
        finally:
            await nc.close()

    return _job_ids(asyncio.run(read()))


def test_fork_per_job_children_ended_by_os_exit_deliver_to_nats_too(tmp_path: Path, stream: str) -> None:
    require_service("NATS", "127.0.0.1", 4222)
    prefix = f"zlogworkers.{uuid.uuid4().hex[:12]}"
    name = "ZLOGWORKERS_" + prefix.rsplit(".", 1)[1].upper()
    asyncio.run(_jetstream("add", name, prefix))
    try:
        config = worker_app.Config(str(tmp_path), redis_stream=stream, redis_url=REDIS_URL, nats_prefix=prefix)
        _run("fork-per-job", "fork", config)
        assert asyncio.run(_jetstream("count", name, prefix)) == JOBS + worker_app.PARENT_EVENTS
        assert _jetstream_job_ids(name) == _expected()
    finally:
        asyncio.run(_jetstream("delete", name, prefix))
    _check_files(tmp_path)
    assert _redis_job_ids(stream) == _expected()


def _buffering_sink(kind: str, tmp_path: Path, stream: str) -> tuple[Any, Callable[[], Counter[str]]]:
    """A sink that holds events for a while, and how to read back what it wrote."""
    import zlog

    if kind == "json-buffered":
        sink: Any = zlog.JSONSink(open(tmp_path / "out.log", "ab"), buffered=True)  # noqa: SIM115
        return sink, lambda: _job_ids(_file_lines(str(tmp_path / "out.log")))
    if kind == "background":
        sink = zlog.Background(zlog.JSONSink(open(tmp_path / "out.log", "ab"), buffered=True))  # noqa: SIM115
        return sink, lambda: _job_ids(_file_lines(str(tmp_path / "out.log")))
    if kind == "rotating":
        sink = zlog.RotatingFileSink(tmp_path / "out.{pid}.log", buffered=True)
        return sink, lambda: _job_ids(_file_lines(str(tmp_path / "out.*.log")))
    if kind == "http":
        from http_capture import Receiver

        receiver = Receiver()
        return zlog.HTTPSink(receiver.url), lambda: Counter(str(line["job_id"]) for line in receiver.delivered())
    from zlog.sinks.redis import RedisSink

    return RedisSink(REDIS_URL, stream=stream), lambda: _redis_job_ids(stream)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("kind", ["json-buffered", "background", "rotating", "http", "redis"])
def test_a_forked_child_never_writes_the_parents_unwritten_events_again(kind: str, tmp_path: Path, stream: str) -> None:
    import zlog

    router = zlog.Router()
    sink, written = _buffering_sink(kind, tmp_path, stream)
    router.route("JOB_COMPLETED", sink)
    for n in range(3):  # held by the sink (a buffer, a queue) when the parent forks
        router.emit("JOB_COMPLETED", "done", job_id=f"parent{n}")
    pid = os.fork()
    if pid == 0:
        try:
            router.emit("JOB_COMPLETED", "done", job_id="child")
            os._exit(0 if router.flush(timeout=10) else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert router.close(timeout=10)
    assert written() == Counter(["parent0", "parent1", "parent2", "child"])
