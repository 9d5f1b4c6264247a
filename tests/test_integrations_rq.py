"""``zlog.integrations.rq`` against a real RQ worker (``rq worker``, a forked work horse per job) on the real
Redis: every job's events counted exactly, retries apart from final failures, context carried across
Redis, a chain's root, a stopped job, and every line valid against ``zlog signals --json-schema zlog.jobs``.
"""

from __future__ import annotations

import io
import json
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

pytest.importorskip("rq", reason="needs RQ: pip install 'zlog[rq]'")
import rq

import zlog
from zlog.cli import main
from zlog.integrations import _carry
from zlog.integrations.rq import ZlogWorkerMixin, enqueue

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
REDIS_URL = "redis://127.0.0.1:6379/12"  # this module's own Redis database


@pytest.fixture
def queue() -> Iterator[rq.Queue]:
    require_service("Redis", "127.0.0.1", 6379)
    with keys_made_are_deleted(REDIS_URL) as connection:
        yield rq.Queue(f"zlog-{uuid.uuid4().hex}", connection=connection)


def _env(log: Path) -> dict[str, str]:
    return {**os.environ, "ZLOG_FILE": str(log), "REDIS_URL": REDIS_URL}


def _worker(queue: rq.Queue, log: Path, *, burst: bool = True) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "rq.cli", "worker", "-w", "zlog.integrations.rq.Worker", "-c", "rq_jobs"]
    return subprocess.Popen(
        [*command, *(["--burst"] if burst else []), queue.name],
        cwd=EXAMPLES,
        env=_env(log),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_bytes().splitlines()] if log.exists() else []


def _example(tmp_path: Path) -> Any:
    """``examples/rq_jobs.py`` imported here (its JSON lines file in ``tmp_path``, never the repository)."""
    import importlib.util

    previous = os.environ.get("ZLOG_FILE")
    os.environ["ZLOG_FILE"] = str(tmp_path / "imported.log")
    try:
        spec = importlib.util.spec_from_file_location("rq_jobs", EXAMPLES / "rq_jobs.py")
        assert spec is not None and spec.loader is not None
        module = sys.modules.get("rq_jobs") or importlib.util.module_from_spec(spec)
        if "rq_jobs" not in sys.modules:
            sys.modules["rq_jobs"] = module  # RQ finds the jobs by this name
            spec.loader.exec_module(module)
        return module
    finally:
        if previous is None:
            del os.environ["ZLOG_FILE"]
        else:
            os.environ["ZLOG_FILE"] = previous


def _schemas(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["signals", "zlog.jobs", "--json-schema"]) == 0
    defs: dict[str, Any] = json.loads(capsys.readouterr().out)["$defs"]
    return defs


def _enqueue_the_run(queue: rq.Queue, log: Path) -> dict[str, str]:
    """Enqueue, from a client process, the jobs of one run; their ids by name."""
    code = (
        "import json, redis, rq, rq_jobs, zlog\n"
        "from zlog.integrations.rq import enqueue\n"
        f"queue = rq.Queue({queue.name!r}, connection=redis.Redis.from_url({REDIS_URL!r}))\n"
        "ids = {}\n"
        "with zlog.bind(request_id='r-7', tenant='acme'):\n"
        "    ids['email'] = [enqueue(queue, rq_jobs.send_email, f'u{n}@example.org').id for n in range(3)]\n"
        "    ids['flaky'] = enqueue(queue, rq_jobs.flaky, retry=rq.Retry(max=2)).id\n"
        "    ids['broken'] = enqueue(queue, rq_jobs.broken, retry=rq.Retry(max=1)).id\n"
        "    ids['chain'] = enqueue(queue, rq_jobs.chain, 2).id\n"
        "    ids['lost'] = enqueue(queue, rq_jobs.lost).id\n"
        "print(json.dumps(ids))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=EXAMPLES, env=_env(log), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    ids: dict[str, Any] = json.loads(done.stdout)
    return ids


def _run(queue: rq.Queue, tmp_path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Enqueue the run's jobs and let a forking worker run them all (``--burst``); every line, and the ids."""
    log = tmp_path / "jobs.log"
    ids = _enqueue_the_run(queue, log)
    worker = _worker(queue, log)
    _, errors = worker.communicate(timeout=120)
    assert worker.returncode == 0, errors.decode()
    return _lines(log), ids


def test_a_forking_rq_worker_emits_each_jobs_life_exactly_with_retries_apart_from_final_failures(
    queue: rq.Queue, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines, ids = _run(queue, tmp_path)
    schemas = _schemas(capsys)
    for line in lines:
        if line["signal"] in schemas:
            assert valid(line, schemas[line["signal"]]), line
    by_job = signals_by_job(lines)
    done = ["JOB_QUEUED", "JOB_STARTED", "JOB_COMPLETED"]
    for job_id in ids["email"]:
        assert by_job[job_id] == done
    retried = ["JOB_STARTED", "JOB_FAILED", "JOB_RETRYING"]
    assert by_job[ids["flaky"]] == ["JOB_QUEUED", *retried, *retried, "JOB_STARTED", "JOB_COMPLETED"]
    assert by_job[ids["broken"]] == ["JOB_QUEUED", *retried, "JOB_STARTED", "JOB_FAILED", "JOB_ABANDONED"]
    # a work horse that died under its job: the worker reports it
    assert by_job[ids["lost"]] == ["JOB_QUEUED", "JOB_STARTED", "JOB_FAILED", "JOB_ABANDONED"]
    [lost] = [x for x in lines if x["signal"] == "JOB_ABANDONED" and x["job_id"] == ids["lost"]]
    assert lost["error"]["type"] == "zlog.integrations.rq.WorkHorseLostError"
    attempts = [(x["attempt"], x["max_attempts"]) for x in lines if x["signal"] == "JOB_STARTED"]
    assert Counter(attempts) == Counter({(1, 1): 7, (1, 3): 1, (2, 3): 1, (3, 3): 1, (1, 2): 1, (2, 2): 1})
    abandoned = [x for x in lines if x["signal"] == "JOB_ABANDONED" and x["job_id"] == ids["broken"]]
    assert [x["error"]["type"] for x in abandoned] == ["ValueError"]
    assert Counter(x["signal"] for x in lines if x["signal"].startswith("WORKER_")) >= Counter(
        {"WORKER_STARTED": 1, "WORKER_STOPPED": 1, "WORKER_HEARTBEAT": 1}
    )


def test_what_the_enqueuing_code_bound_reaches_the_jobs_own_events_and_a_chain_keeps_its_root(
    queue: rq.Queue, tmp_path: Path
) -> None:
    lines, ids = _run(queue, tmp_path)
    sent = [x for x in lines if x["signal"] == "EMAIL_SENT"]
    assert len(sent) == 3 and all(x["request_id"] == "r-7" and x["tenant"] == "acme" for x in sent)
    assert {x["job_id"] for x in sent} == set(ids["email"])  # the job's own id is bound for its run too
    chain = [x for x in lines if x["signal"] == "JOB_STARTED" and x["job_type"] == "rq_jobs.chain"]
    assert len(chain) == 3
    assert [x.get("parent_job_id") for x in chain] == [None, chain[0]["job_id"], chain[1]["job_id"]]
    assert [x.get("root_job_id") for x in chain] == [None, ids["chain"], ids["chain"]]


def test_a_job_stopped_while_it_runs_is_revoked_not_failed(queue: rq.Queue, tmp_path: Path) -> None:
    from rq.command import send_stop_job_command

    log = tmp_path / "jobs.log"
    rq_jobs = _example(tmp_path)
    job = queue.enqueue(rq_jobs.slow)
    worker = _worker(queue, log)
    try:
        deadline = time.monotonic() + 60
        while not any(x["signal"] == "JOB_STARTED" for x in _lines(log)) and time.monotonic() < deadline:
            time.sleep(0.1)
        send_stop_job_command(queue.connection, job.id)
        _, errors = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    signals = [x["signal"] for x in _lines(log) if x.get("job_id") == job.id]
    assert signals == ["JOB_STARTED", "JOB_REVOKED"], errors.decode()
    zlog.reset()


def test_the_same_events_come_from_a_custom_worker_that_does_not_fork(queue: rq.Queue, tmp_path: Path) -> None:
    class Simple(ZlogWorkerMixin, rq.SimpleWorker):
        pass

    rq_jobs = _example(tmp_path)
    got: list[zlog.Event] = []
    zlog.reset()  # rq_jobs routed everything to its file at import; here events are collected
    zlog.route_all(got.append)
    try:
        with zlog.bind(request_id="r-9"):
            flaky = enqueue(queue, rq_jobs.flaky, retry=rq.Retry(max=2))
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            Simple([queue], connection=queue.connection).work(burst=True)
        finally:  # RQ installs its own: children forked by later tests would ignore SIGTERM
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
    finally:
        zlog.reset()
    mine = [e for e in got if e.fields.get("job_id") == flaky.id and e.signal.startswith("JOB_")]
    assert Counter(e.signal for e in mine) == Counter(
        {"JOB_QUEUED": 1, "JOB_STARTED": 3, "JOB_FAILED": 2, "JOB_RETRYING": 2, "JOB_COMPLETED": 1}
    )
    assert all(e.fields["request_id"] == "r-9" for e in mine if e.signal != "JOB_QUEUED")


def test_the_carried_context_is_json_and_bounded_naming_what_was_left_out() -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<opaque>"

    with zlog.bind(request_id="r-1", big="x" * 10_000, thing=Opaque(), job_id="j-1", worker_id="w"):
        carried = _carry.outgoing(max_bytes=200)
    assert carried["context"]["request_id"] == "r-1"
    assert isinstance(carried["context"]["thing"], str) and "opaque" in carried["context"]["thing"]
    assert carried["left_out"] == ["big"]
    assert "job_id" not in carried["context"] and "worker_id" not in carried["context"]
    assert (carried["parent_job_id"], carried["root_job_id"]) == ("j-1", "j-1")
    assert len(json.dumps(carried["context"])) <= 200
    fields, lineage = _carry.incoming(json.loads(json.dumps(carried)))
    assert fields == carried["context"] and lineage == {"parent_job_id": "j-1", "root_job_id": "j-1"}
    assert _carry.incoming("not a mapping") == ({}, {})


def test_enqueue_passes_the_users_meta_and_options_through(queue: rq.Queue) -> None:
    out = io.StringIO()
    router_before = zlog.routes()
    zlog.route("JOB_QUEUED", zlog.JSONSink(out))
    try:
        job = enqueue(queue, print, "hello", meta={"owner": "billing"}, job_timeout=30)
    finally:
        zlog.reset()
    assert router_before == ()
    assert job.meta["owner"] == "billing" and job.timeout == 30 and "zlog" in job.meta
    [line] = [json.loads(x) for x in out.getvalue().splitlines()]
    assert (line["job_id"], line["job_type"], line["queue"], line["max_attempts"]) == (
        job.id,
        "builtins.print",
        queue.name,
        1,
    )
