"""``zlog.integrations.celery`` against a real Celery prefork worker on the real brokers (Redis, RabbitMQ):
each task's life counted exactly, retries apart from final failures, the publisher's context in the
task's own events, a chain's root, an expired task revoked, children recycled after every task, and every
line valid against ``zlog signals --json-schema zlog.jobs``."""

from __future__ import annotations

import datetime
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import keys_made_are_deleted, require_service
from json_helpers import signals_by_job, valid

pytest.importorskip("celery", reason="needs Celery: pip install 'zlog[celery]'")

from zlog.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
REDIS = "redis://127.0.0.1:6379/14"  # this module's own Redis database (shared with test_examples_workers)
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
#: JOB_* signals per task of the run, in order.
DONE = ["JOB_QUEUED", "JOB_STARTED", "JOB_COMPLETED"]
RETRIED = ["JOB_STARTED", "JOB_FAILED", "JOB_RETRYING"]


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "redis":
        require_service("Redis", "127.0.0.1", 6379)
        with keys_made_are_deleted(REDIS):
            yield REDIS
    else:
        require_service("RabbitMQ", "127.0.0.1", 5672)
        yield RABBITMQ


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def _run(broker: str, tmp_path: Path, *worker_args: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Publish the run's tasks, let a prefork worker run them, stop it; every line, and the task ids."""
    log = tmp_path / "jobs.log"
    queue = f"zlog-{uuid.uuid4().hex}"
    env = {**os.environ, "BROKER_URL": broker, "CELERY_QUEUE": queue, "ZLOG_FILE": str(log)}
    command = [sys.executable, "-m", "celery", "-A", "celery_jobs", "worker", "-c", "2", "-Q", queue]
    worker = subprocess.Popen(
        [*command, "--without-mingle", "--without-gossip", "--without-heartbeat", *worker_args],
        cwd=EXAMPLES,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    expired = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=30)).isoformat()
    publish = (
        "import datetime, json, celery_jobs, zlog\n"
        "ids = {}\n"
        "with zlog.bind(request_id='r-7', tenant='acme'):\n"
        "    ids['email'] = [celery_jobs.send_email.delay(f'u{n}@example.org').id for n in range(3)]\n"
        "    ids['flaky'] = celery_jobs.flaky.delay().id\n"
        "    ids['broken'] = celery_jobs.broken.delay().id\n"
        "    ids['chain'] = celery_jobs.chain.delay(2).id\n"
        "    ids['lost'] = celery_jobs.lost.delay().id\n"
        f"    late = datetime.datetime.fromisoformat({expired!r})\n"
        "    ids['expired'] = celery_jobs.send_email.apply_async(('late@example.org',), expires=late).id\n"
        "print(json.dumps(ids))\n"
    )
    try:
        done = subprocess.run([sys.executable, "-c", publish], cwd=EXAMPLES, env=env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()
        ids: dict[str, Any] = json.loads(done.stdout)
        revoked = 1 if broker.startswith("redis") else 0  # RabbitMQ drops an expired message itself
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # 7 tasks end with JOB_COMPLETED, two with JOB_ABANDONED
            ends = Counter(x["signal"] for x in _lines(log))
            if ends["JOB_COMPLETED"] >= 7 and ends["JOB_ABANDONED"] >= 2 and ends["JOB_REVOKED"] >= revoked:
                break
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)  # a warm shutdown
        _, errors = worker.communicate(timeout=60)
        if broker == RABBITMQ:
            _delete_rabbitmq_queue(queue)
    assert worker.returncode == 0, errors.decode()
    return _lines(log), ids


def _delete_rabbitmq_queue(queue: str) -> None:
    """The queue and the exchange of its name that the run made on RabbitMQ (nothing else)."""
    from kombu.connection import Connection

    with Connection(RABBITMQ) as connection:  # type: ignore[no-untyped-call]
        channel = connection.default_channel
        channel.queue_delete(queue)
        channel.exchange_delete(queue)


def test_a_prefork_worker_emits_each_tasks_life_exactly_with_retries_apart_from_final_failures(
    broker: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines, ids = _run(broker, tmp_path)
    assert main(["signals", "zlog.jobs", "--json-schema"]) == 0
    schemas = json.loads(capsys.readouterr().out)["$defs"]
    for line in lines:
        if line["signal"] in schemas:
            assert valid(line, schemas[line["signal"]]), line
    by_job = signals_by_job(lines)
    for job_id in ids["email"]:
        assert by_job[job_id] == DONE
    assert by_job[ids["flaky"]] == ["JOB_QUEUED", *RETRIED, *RETRIED, "JOB_STARTED", "JOB_COMPLETED"]
    assert by_job[ids["broken"]] == ["JOB_QUEUED", *RETRIED, "JOB_STARTED", "JOB_FAILED", "JOB_ABANDONED"]
    # Redis hands an expired task to the worker, which revokes it; RabbitMQ drops it when it expires
    # (Celery gives the message an AMQP expiration), so no worker sees it
    expired = ["JOB_QUEUED", "JOB_REVOKED"] if broker == REDIS else ["JOB_QUEUED"]
    assert by_job[ids["expired"]] == expired
    # a child that died under its task: Celery reports it in the parent, the events carry the job themselves
    assert by_job[ids["lost"]] == ["JOB_QUEUED", "JOB_STARTED", "JOB_FAILED", "JOB_ABANDONED"]
    lost = [x for x in lines if x["signal"] == "JOB_ABANDONED" and x["job_id"] == ids["lost"]]
    assert lost[0]["error"]["type"] == "billiard.exceptions.WorkerLostError"
    assert lost[0]["job_type"] == "celery_jobs.lost"
    started = [x for x in lines if x["signal"] == "JOB_STARTED" and x["job_id"] == ids["flaky"]]
    assert [(x["attempt"], x["max_attempts"]) for x in started] == [(1, 3), (2, 3), (3, 3)]
    failed = [x["error"]["type"] for x in lines if x["signal"] == "JOB_FAILED" and x["job_id"] == ids["broken"]]
    assert failed == ["ValueError", "ValueError"]
    workers = Counter(x["signal"] for x in lines if x["signal"].startswith("WORKER_"))
    assert workers == Counter({"WORKER_STARTED": 1, "WORKER_STOPPED": 1})


def test_the_publishers_context_reaches_the_tasks_own_events_and_a_chain_keeps_its_root(
    broker: str, tmp_path: Path
) -> None:
    lines, ids = _run(broker, tmp_path)
    sent = [x for x in lines if x["signal"] == "EMAIL_SENT"]
    assert len(sent) == 3 and all(x["request_id"] == "r-7" and x["tenant"] == "acme" for x in sent)
    assert {x["job_id"] for x in sent} == set(ids["email"])
    chain = [x for x in lines if x["signal"] == "JOB_STARTED" and x["job_type"] == "celery_jobs.chain"]
    chain.sort(key=lambda x: 0 if x["job_id"] == ids["chain"] else 1 + bool(x.get("parent_job_id") != ids["chain"]))
    assert [x.get("parent_job_id") for x in chain] == [None, chain[0]["job_id"], chain[1]["job_id"]]
    assert [x.get("root_job_id") for x in chain] == [None, ids["chain"], ids["chain"]]
    retried = [x for x in lines if x["signal"] == "JOB_STARTED" and x["job_id"] == ids["flaky"]]
    assert all("parent_job_id" not in x and "root_job_id" not in x for x in retried)  # a retry is not its own child


def test_children_recycled_after_every_task_lose_no_event(tmp_path: Path) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    lines, ids = _run(REDIS, tmp_path, "--max-tasks-per-child=1")
    by_job = signals_by_job(lines)
    assert all(by_job[job_id] == DONE for job_id in ids["email"])
    assert by_job[ids["flaky"]][-1] == "JOB_COMPLETED" and by_job[ids["broken"]][-1] == "JOB_ABANDONED"
    assert sum(x["signal"] == "EMAIL_SENT" for x in lines) == 3


@pytest.mark.parametrize("pool", ["threads", "solo"])
def test_an_embedded_worker_of_the_threads_and_solo_pools_gives_the_same_events(pool: str) -> None:
    # Celery's own test harness (celery.contrib.testing): the worker runs in this process, on the real Redis
    require_service("Redis", "127.0.0.1", 6379)
    from celery import Celery
    from celery.contrib.testing.worker import start_worker

    import zlog
    from zlog.integrations.celery import instrument

    app = Celery(f"embedded-{pool}", broker=REDIS, backend=REDIS)
    app.conf.task_default_queue = f"zlog-{uuid.uuid4().hex}"
    got: list[zlog.Event] = []

    @app.task(bind=True, max_retries=1, name=f"shaky-{pool}")
    def shaky(self: Any, n: int) -> int:
        if self.request.retries == 0:
            raise self.retry(exc=TimeoutError("slow upstream"), countdown=0)
        zlog.emit("STEP_DONE", "step done", n=n)
        return n

    @app.task(name=f"failing-{pool}")
    def failing() -> None:
        raise KeyError("missing")

    root = logging.getLogger()
    logging_before = (root.level, list(root.handlers), logging.root.manager.disable)
    with zlog.testing.isolated(), keys_made_are_deleted(REDIS):
        zlog.route_all(got.append)
        instrument(app, capture_logging=False)
        instrument(app, capture_logging=False)  # twice: the events are never doubled
        try:
            with start_worker(app, pool=pool, concurrency=2, perform_ping_check=False, shutdown_timeout=30):
                with zlog.bind(request_id="r-3"):
                    ok, bad = shaky.delay(7), failing.delay()
                assert ok.get(timeout=30) == 7
                with pytest.raises(KeyError):
                    bad.get(timeout=30)
        finally:
            root.setLevel(logging_before[0])  # the embedded worker set logging up for this process
            root.handlers[:] = logging_before[1]
            logging.disable(logging_before[2])
    mine = [e for e in got if e.fields.get("job_id") == ok.id and e.signal.startswith("JOB_")]
    mine.sort(key=lambda e: e.fields.get("attempt", 0))  # attempt after attempt (see _by_job)
    assert [e.signal for e in mine] == ["JOB_QUEUED", *RETRIED, "JOB_STARTED", "JOB_COMPLETED"]
    assert [e.fields["error"].__class__ for e in mine if e.signal == "JOB_FAILED"] == [TimeoutError]
    [step] = [e for e in got if e.signal == "STEP_DONE"]
    assert (step.fields["request_id"], step.fields["job_id"]) == ("r-3", ok.id)
    failed = [e.signal for e in got if e.fields.get("job_id") == bad.id and e.signal.startswith("JOB_")]
    assert failed == ["JOB_QUEUED", "JOB_STARTED", "JOB_FAILED", "JOB_ABANDONED"]
    assert zlog.bound() == {}  # nothing of the tasks' context left behind
