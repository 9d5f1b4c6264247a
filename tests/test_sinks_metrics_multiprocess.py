"""MetricsSink in prometheus_client's multiprocess mode: one scrape sums every process of a job system.

Real processes (fork pools that recycle children, fork-per-job children ended by ``os._exit``, spawn and
forkserver pools set up by their initializer) write real per-pid files that a real scrape reads.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.multiprocess import mark_process_dead
from prometheus_client.parser import text_string_to_metric_families

import zlog
from zlog import MetricsSink
from zlog.testing import isolated

JOB_TYPES = ("email", "report", "sync")
DURATIONS = (0.05, 0.3, 0.7, 2.0)  # one per bucket of BUCKETS, and one above them
BUCKETS = (0.1, 0.5, 1.0)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty PROMETHEUS_MULTIPROC_DIR of the test's own, and an empty default router."""
    path = tmp_path / "prometheus"
    path.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(path))
    with isolated():
        yield path


def declared(sink: MetricsSink) -> MetricsSink:
    """The metrics of the job system, declared the same way in the parent and in every worker."""
    sink.counter("zlog_jobs_total", "JOB_COMPLETED", labels=["job_type"], help="Jobs done by type.")
    sink.histogram("zlog_job_duration_seconds", "JOB_COMPLETED", field="duration_seconds", buckets=BUCKETS)
    return sink


def job(n: int) -> int:
    """One job of a worker: it emits its completion, and says which process ran it."""
    zlog.emit("JOB_COMPLETED", "done", job_id=f"j{n}", job_type=JOB_TYPES[n % 3], duration_seconds=DURATIONS[n % 4])
    return os.getpid()


def set_up_worker(path: str) -> None:
    """A spawn or forkserver worker's initializer: the user's set-up code, in a fresh interpreter."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path  # as the deployment's environment would have it
    zlog.route_all(declared(MetricsSink()))


def parse(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(sink: MetricsSink) -> Samples:
    status, body, _ = sink.exposition()
    assert status == 200
    return parse(body.decode())


def expected_jobs(jobs: range, before: int) -> Samples:
    """What one scrape must read after ``before`` completions in the parent (n = 0..) and ``jobs``."""
    ns = [*range(before), *jobs]
    want: Samples = {("zlog_events_total", (("signal", "JOB_COMPLETED"),)): len(ns)}
    for kind in JOB_TYPES:
        want["zlog_jobs_total", (("job_type", kind),)] = sum(JOB_TYPES[n % 3] == kind for n in ns)
    for bound in (*BUCKETS, float("inf")):
        le = "+Inf" if bound == float("inf") else str(bound)
        want["zlog_job_duration_seconds_bucket", (("le", le),)] = sum(DURATIONS[n % 4] <= bound for n in ns)
    want["zlog_job_duration_seconds_count", ()] = len(ns)
    return want


def assert_read(found: Samples, want: Samples) -> None:
    assert {key: found.get(key) for key in want} == want


def wait(pid: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail(f"child {pid} did not end")
        time.sleep(0.005)


def in_child(work: Callable[[], object]) -> int:
    """Fork a child that runs ``work`` and ends with ``os._exit`` (no exit hook runs); wait for it."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            work()
        except BaseException:
            code = 1
        os._exit(code)
    wait(pid)
    return pid


def test_a_fork_pool_that_recycles_children_is_counted_exactly_once_in_one_scrape(directory: Path) -> None:
    sink = declared(MetricsSink())
    assert sink.multiprocess is True
    zlog.route_all(sink)
    for n in range(3):  # before the fork: a child must not count these again
        job(n)
    for _ in range(7):
        zlog.emit("JOB_QUEUED", "queued")
    with multiprocessing.get_context("fork").Pool(4, maxtasksperchild=1) as pool:
        pids = pool.map(job, range(3, 403), chunksize=1)
    assert len(set(pids)) > 4  # children were replaced (each ran one job)
    found = scrape(sink)
    assert_read(found, expected_jobs(range(3, 403), before=3))
    assert found["zlog_events_total", (("signal", "JOB_QUEUED"),)] == 7
    assert found["zlog_job_duration_seconds_sum", ()] == pytest.approx(sum(DURATIONS[n % 4] for n in range(403)))
    snap = sink.snapshot()  # the same numbers, in the plain shape of one process
    assert snap["events"] == {"JOB_COMPLETED": 403, "JOB_QUEUED": 7}
    [histogram] = snap["metrics"]["zlog_job_duration_seconds"]["series"]
    assert histogram["count"] == 403 and histogram["buckets"]["+Inf"] == 403


def test_children_ended_by_os_exit_right_after_the_event_keep_their_counts(directory: Path) -> None:
    sink = declared(MetricsSink(multiprocess=True))
    zlog.route_all(sink)
    job(0)
    for n in range(1, 21):  # fork per job, as RQ does: the child emits and ends at once
        in_child(functools.partial(job, n))
    assert_read(scrape(sink), expected_jobs(range(1, 21), before=1))


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_spawn_and_forkserver_workers_set_up_by_their_initializer_are_counted_exactly(
    directory: Path, method: str
) -> None:
    sink = declared(MetricsSink())
    zlog.route_all(sink)
    job(0)
    context = multiprocessing.get_context(method)
    with context.Pool(2, initializer=set_up_worker, initargs=(str(directory),)) as pool:
        pids = pool.map(job, range(1, 41), chunksize=5)
    assert os.getpid() not in pids
    assert_read(scrape(sink), expected_jobs(range(1, 41), before=1))


def test_a_gauge_shows_the_most_recent_value_of_any_process_by_default(directory: Path) -> None:
    sink = MetricsSink()
    sink.gauge("zlog_queue_size", "QUEUE_CHECKED", field="size")
    zlog.route_all(sink)
    zlog.emit("QUEUE_CHECKED", "checked", size=5)
    in_child(lambda: zlog.emit("QUEUE_CHECKED", "checked", size=7))
    assert scrape(sink)["zlog_queue_size", ()] == 7
    zlog.emit("QUEUE_CHECKED", "checked", size=2)
    assert scrape(sink)["zlog_queue_size", ()] == 2


def test_a_livesum_gauge_leaves_out_a_child_marked_dead(directory: Path) -> None:
    sink = MetricsSink()
    sink.gauge("zlog_jobs_running", "RUNNING", field="n", multiprocess_mode="livesum")
    zlog.route_all(sink)
    zlog.emit("RUNNING", "running", n=5)
    child = in_child(lambda: zlog.emit("RUNNING", "running", n=3))
    assert scrape(sink)["zlog_jobs_running", ()] == 8  # ended without its exit hook: still counted
    mark_process_dead(child)  # type: ignore[no-untyped-call]  # what a child-exit hook does
    assert scrape(sink)["zlog_jobs_running", ()] == 5


def test_zlog_shutdown_in_a_child_removes_its_live_gauges_and_keeps_its_counts(directory: Path) -> None:
    sink = MetricsSink(declare="RUNNING")
    sink.gauge("zlog_jobs_running", "RUNNING", field="n", multiprocess_mode="livesum")
    zlog.route_all(sink)

    def child() -> None:
        zlog.emit("RUNNING", "running", n=3)
        assert zlog.shutdown(timeout=5) is True

    in_child(child)
    found = scrape(sink)
    assert ("zlog_jobs_running", ()) not in found
    assert found["zlog_events_total", (("signal", "RUNNING"),)] == 1


def test_gauge_modes_min_max_sum_and_all_combine_the_processes_values(directory: Path) -> None:
    sink = MetricsSink()
    for mode in ("min", "max", "sum", "all"):
        sink.gauge(f"zlog_load_{mode}", "LOAD", field="load", multiprocess_mode=mode)
    zlog.route_all(sink)
    zlog.emit("LOAD", "load", load=4)
    child = in_child(lambda: zlog.emit("LOAD", "load", load=1))
    found = scrape(sink)
    assert [found[f"zlog_load_{m}", ()] for m in ("min", "max", "sum")] == [1, 4, 5]
    assert found["zlog_load_all", (("pid", str(os.getpid())),)] == 4
    assert found["zlog_load_all", (("pid", str(child)),)] == 1
    series = sink.snapshot()["metrics"]["zlog_load_all"]["series"]
    assert sorted((s["labels"]["pid"], s["value"]) for s in series) == sorted([(str(os.getpid()), 4), (str(child), 1)])


def test_an_unknown_gauge_mode_is_a_value_error_in_either_mode(directory: Path) -> None:
    for multiprocess in (True, False):
        with pytest.raises(ValueError, match=r"multiprocess_mode 'average'.*livesum"):
            MetricsSink(multiprocess=multiprocess).gauge("zlog_x", "X", field="x", multiprocess_mode="average")


def test_the_guard_and_the_skipped_count_hold_per_process_and_add_up(directory: Path) -> None:
    sink = MetricsSink(max_label_sets=2)
    sink.counter("zlog_jobs_total", "JOB_COMPLETED", labels=["job_type"])
    sink.histogram("zlog_job_duration_seconds", "JOB_COMPLETED", field="duration_seconds")
    zlog.route_all(sink)
    for kind in ("a", "b", "c"):
        zlog.emit("JOB_COMPLETED", "done", job_type=kind, duration_seconds=1)

    def child() -> None:
        for kind in ("d", "e"):
            zlog.emit("JOB_COMPLETED", "done", job_type=kind)  # no duration: skipped, counted
        assert sink.stats()["overflow"] == 2 and sink.stats()["skipped"] == 2  # this process's own

    in_child(child)
    found = scrape(sink)
    jobs = {labels: v for (name, labels), v in found.items() if name == "zlog_jobs_total"}
    assert jobs == {(("job_type", "a"),): 1, (("job_type", "b"),): 1, (("job_type", "other"),): 3}
    assert found["zlog_metric_overflow_total", (("metric", "zlog_jobs_total"),)] == 3
    skipped = (("metric", "zlog_job_duration_seconds"), ("reason", "missing"))
    assert found["zlog_metric_skipped_total", skipped] == 2
    assert sink.snapshot()["skipped"] == {"zlog_job_duration_seconds:missing": 2}
    assert sink.stats()["overflow"] == 1 and sink.stats()["skipped"] == 0


def test_the_snapshot_has_the_single_process_shape(directory: Path) -> None:
    one, many = (declared(MetricsSink(multiprocess=m, declare="JOB_FAILED")) for m in (False, True))
    for sink in (one, many):
        sink.gauge("zlog_queue_size", "QUEUE_CHECKED", field="size", labels=["queue"])
        zlog.route_all(sink)
    for n in range(7):
        job(n)
    zlog.emit("QUEUE_CHECKED", "checked", queue="default", size=3)
    zlog.emit("JOB_COMPLETED", "done", job_type="email", duration_seconds="slow")

    def ordered(snap: dict[str, Any]) -> dict[str, Any]:
        for metric in snap["metrics"].values():
            metric["series"].sort(key=lambda s: sorted(s["labels"].items()))
        return snap

    assert ordered(many.snapshot()) == ordered(one.snapshot())


def test_two_sinks_of_one_namespace_in_one_process_add_up(directory: Path) -> None:
    first, second = MetricsSink(), MetricsSink()
    for sink, times in ((first, 2), (second, 3)):
        router = zlog.Router()
        router.route_all(sink)
        for _ in range(times):
            router.emit("JOB_QUEUED", "queued")
    assert scrape(first)["zlog_events_total", (("signal", "JOB_QUEUED"),)] == 5


#: A worker program as deployed: the variable set before Python starts, prometheus_client metrics of its own.
PROGRAM = """
import multiprocessing, sys
from prometheus_client import Counter, values
import zlog
assert values.ValueClass._multiprocess  # prometheus_client's own multiprocess values: zlog shares its files
logins = Counter("app_logins_total", "Logins.", ["kind"])
sink = zlog.MetricsSink()
sink.counter("zlog_jobs_total", "JOB_COMPLETED", labels=["job_type"])
zlog.route_all(sink)
def job(n):  # new series of both, one after the other, in each process
    zlog.emit("JOB_COMPLETED", "done", job_type=str(n % 3))
    logins.labels(kind=str(n % 2)).inc()
for n in range(6):
    job(n)
with multiprocessing.get_context("fork").Pool(2, maxtasksperchild=1) as pool:
    pool.map(job, range(6, 66), chunksize=1)
sys.stdout.write(sink.exposition()[1].decode())
"""


def test_the_program_s_own_prometheus_client_metrics_share_the_files_and_the_scrape(directory: Path) -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    found = parse(done.stdout)
    assert [found["app_logins_total", (("kind", k),)] for k in "01"] == [33, 33]
    assert [found["zlog_jobs_total", (("job_type", t),)] for t in "012"] == [22, 22, 22]
    assert found["zlog_events_total", (("signal", "JOB_COMPLETED"),)] == 66


#: A thread updates the metrics while the program forks: no child may inherit a lock held.
FORKS_WHILE_BUSY = """
import faulthandler, os, threading
import zlog
sink = zlog.MetricsSink(declare="JOB_DONE")
zlog.route_all(sink)
stop = threading.Event()
def busy():
    while not stop.is_set():
        zlog.emit("JOB_DONE", "done")
thread = threading.Thread(target=busy)
thread.start()
children = []
for _ in range(5):
    pid = os.fork()
    if pid == 0:
        faulthandler.dump_traceback_later(20, exit=True)  # a deadlocked child ends with its traceback
        zlog.emit("JOB_DONE", "in the child")
        os._exit(0)
    children.append(pid)
stop.set()
thread.join()
assert all(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0 for pid in children)
"""


def test_a_child_forked_while_another_thread_updates_the_metrics_does_not_deadlock(directory: Path) -> None:
    done = subprocess.run([sys.executable, "-c", FORKS_WHILE_BUSY], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_multiprocess_true_without_the_variable_is_a_value_error_saying_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with pytest.raises(ValueError, match=r"set to an empty directory before the workers start.*not set"):
        MetricsSink(multiprocess=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match=r"PROMETHEUS_MULTIPROC_DIR.*not a directory"):
        MetricsSink()


def test_without_the_variable_the_default_is_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    sink = MetricsSink()
    assert sink.multiprocess is False and sink.collector().__class__.__name__ == "MetricsCollector"


def test_multiprocess_mode_without_prometheus_client_is_an_import_error_with_the_install_command(
    directory: Path,
) -> None:
    code = (
        "import sys\n"
        "sys.modules['prometheus_client'] = None\n"  # as if it were not installed
        "import zlog\n"
        "try:\n"
        "    zlog.MetricsSink(multiprocess=True)\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install 'zlog[prometheus]'" in done.stdout, done.stderr


def test_the_multiprocess_scrape_passes_promtool_lint_when_promtool_is_installed(directory: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (apt-get install prometheus) - lint against the real consumer skipped")
    sink = declared(MetricsSink(declare="JOB_FAILED"))
    sink.gauge("zlog_queue_size", "QUEUE_CHECKED", field="size", help="Queue size.", multiprocess_mode="livesum")
    zlog.route_all(sink)
    job(0)

    def child() -> None:
        job(1)
        zlog.emit("QUEUE_CHECKED", "checked", size=3)

    in_child(child)
    done = subprocess.run([promtool, "check", "metrics"], input=sink.exposition()[1], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()
