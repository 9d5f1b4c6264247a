"""The worker-process examples run as a user runs them: a recycling ``multiprocessing`` pool, a real Celery
prefork worker and a real RQ worker on the real Redis broker, each with "N jobs in, N events out";
docs/workers.md shows them verbatim."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import keys_made_are_deleted, require_service

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BROKER = "redis://127.0.0.1:6379/14"  # this module's own Redis database
TASKS = 20
CELERY = [sys.executable, "-m", "celery", "-A", "celery_worker", "worker"]


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_the_pool_example_writes_one_line_per_job_with_a_new_child_for_each(method: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "process_pool.py"), "12", method], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "12 completion lines (12 distinct) from 12 processes"


@pytest.mark.parametrize("example", ["process_pool.py", "celery_worker.py", "rq_worker.py"])
def test_the_workers_page_shows_the_example_as_it_is(example: str) -> None:
    page = (ROOT / "docs" / "workers.md").read_text(encoding="utf-8")
    body = (EXAMPLES / example).read_text(encoding="utf-8").split('"""\n', 1)[1]  # without the docstring
    assert body.strip() in page


@pytest.fixture
def broker() -> Iterator[str]:
    require_service("Redis", "127.0.0.1", 6379)
    with keys_made_are_deleted(BROKER):
        yield BROKER


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def test_a_celery_prefork_worker_recycling_children_after_every_task_loses_no_event(
    broker: str, tmp_path: Path
) -> None:
    celery = pytest.importorskip("celery", reason="needs Celery: pip install 'celery[redis]'")
    del celery
    log = tmp_path / "jobs.log"
    (tmp_path / "metrics").mkdir()
    port = _free_port()
    env = {**os.environ, "BROKER_URL": broker, "CELERY_QUEUE": f"zlog-{uuid.uuid4().hex}", "ZLOG_FILE": str(log)}
    env.update(PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"), METRICS_PORT=str(port))
    worker = subprocess.Popen(
        [*CELERY, "--max-tasks-per-child=1", "-c", "2", "--without-mingle", "--without-gossip", "--without-heartbeat"],
        cwd=EXAMPLES,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        client = {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}  # the publisher's own metrics
        client["ZLOG_FILE"] = str(tmp_path / "client.log")
        code = f"import celery_worker\nfor n in range({TASKS}): celery_worker.send_email.delay(f'j{{n}}')\n"
        subprocess.run([sys.executable, "-c", code], cwd=EXAMPLES, env=client, check=True, timeout=60)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if sum(line["signal"] == "JOB_COMPLETED" for line in _lines(log)) >= TASKS:
                break
            time.sleep(0.2)
        scraped = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    finally:
        worker.send_signal(signal.SIGTERM)  # a warm shutdown
        _, errors = worker.communicate(timeout=60)
    lines = _lines(log)
    completed = Counter(str(line["job_id"]) for line in lines if line["signal"] == "JOB_COMPLETED")
    assert completed == Counter(f"j{n}" for n in range(TASKS)), errors.decode()
    logged = Counter(str(line["job_id"]) for line in lines if line.get("logger") == "jobs.email")
    assert logged == completed  # the task's stdlib logging still reaches zlog: Celery left the capture alone
    traced = [line for line in lines if line.get("logger") == "celery.app.trace"]
    assert len(traced) == TASKS and all(re.search(r"succeeded in", str(t["message"])) for t in traced)
    # the parent's endpoint counts what every recycled child did
    assert f'zlog_events_total{{signal="JOB_COMPLETED"}} {float(TASKS)}' in scraped.splitlines()


def test_an_rq_worker_forking_a_work_horse_per_job_loses_no_event(broker: str, tmp_path: Path) -> None:
    pytest.importorskip("rq", reason="needs RQ: pip install rq")
    log = tmp_path / "jobs.log"
    queue = f"zlog-{uuid.uuid4().hex}"
    env = {**os.environ, "ZLOG_FILE": str(log)}
    enqueue = (
        "import redis, rq, rq_worker\n"
        f"queue = rq.Queue({queue!r}, connection=redis.Redis.from_url({broker!r}))\n"
        f"for n in range({TASKS}): queue.enqueue(rq_worker.send_email, f'j{{n}}')\n"
    )
    subprocess.run([sys.executable, "-c", enqueue], cwd=EXAMPLES, env=env, check=True, timeout=60)
    worker = [sys.executable, "-m", "rq.cli", "worker", "--burst", "-u", broker, "-w", "rq_worker.ZlogWorker", queue]
    done = subprocess.run(worker, cwd=EXAMPLES, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    completed = Counter(str(line["job_id"]) for line in _lines(log) if line["signal"] == "JOB_COMPLETED")
    assert completed == Counter(f"j{n}" for n in range(TASKS))
