"""Task events as immutable records, sent to several sinks at once, one of them a live subscriber.

Task and worker events (task_enqueued, task_started, task_completed, task_failed, task_reenqueued,
task_cancelled; worker_online, worker_heartbeat, worker_offline) are routed to three sinks: JSON lines
on stdout, an in-memory history per task, and a live subscriber on its own thread that prints a compact
line on stderr as each event happens. Every sink receives the same ``zlog.Event``: it is immutable, so no
sink can change what another one sees; ``event.replace(...)`` makes a changed copy.

    python examples/task_events.py --tasks 20 --seed 3
"""

from __future__ import annotations

import argparse
import queue
import random
import sys
import threading
from collections import defaultdict

import zlog


@zlog.signal(level="info")
def task_enqueued(*, task_id: str, name: str) -> None:
    """A task entered the queue."""


@zlog.signal(level="info")
def task_started(*, task_id: str, worker: str) -> None:
    """A worker began a task."""


@zlog.signal(level="info")
def task_completed(*, task_id: str, worker: str, runtime_seconds: float) -> None:
    """A task finished."""


@zlog.signal(level="warn")
def task_failed(*, task_id: str, worker: str, error: str) -> None:
    """A task raised."""


@zlog.signal(level="info")
def task_reenqueued(*, task_id: str, attempt: int) -> None:
    """A failed task goes back to the queue."""


@zlog.signal(level="info")
def task_cancelled(*, task_id: str, reason: str) -> None:
    """A task was cancelled before it ran."""


@zlog.signal(level="info")
def worker_online(*, worker: str) -> None:
    """A worker joined."""


@zlog.signal(level="debug")
def worker_heartbeat(*, worker: str, processed: int) -> None:
    """A worker is alive."""


@zlog.signal(level="info")
def worker_offline(*, worker: str, processed: int) -> None:
    """A worker left."""


class LiveSubscriber:
    """Receives events from any thread and prints them in order on its own thread, as they happen."""

    def __init__(self) -> None:
        self.inbox: queue.Queue[zlog.Event | None] = queue.Queue()
        self.printed = 0
        self.thread = threading.Thread(target=self._run, name="live-subscriber", daemon=True)
        self.thread.start()

    def handle(self, event: zlog.Event) -> None:
        self.inbox.put(event)  # the event itself: immutable, safe to hand to another thread

    def _run(self) -> None:
        while (event := self.inbox.get()) is not None:
            subject = event.fields.get("task_id") or event.fields.get("worker")
            print(f"live: {event.signal:<16} {subject}", file=sys.stderr)
            self.printed += 1

    def close(self, timeout: float | None = None) -> bool:
        self.inbox.put(None)
        self.thread.join(timeout=10 if timeout is None else timeout)
        return not self.thread.is_alive()


class History:
    """The events of each task, in order."""

    def __init__(self) -> None:
        self.by_task: dict[str, list[zlog.Event]] = defaultdict(list)

    def handle(self, event: zlog.Event) -> None:
        task = event.fields.get("task_id")
        if task is not None:
            self.by_task[task].append(event)


def immutability(event: zlog.Event) -> str:
    """What every sink can rely on: nobody changes an event under it; ``replace`` makes a changed copy."""
    try:
        event.fields["reviewed"] = True  # type: ignore[index]  # fields is a read-only mapping
        blocked = False
    except TypeError:
        blocked = True
    tagged = event.replace(fields={**event.fields, "reviewed": True})
    unchanged = "reviewed" not in event.fields and tagged.fields["reviewed"] is True and tagged is not event
    return (
        f"immutable: setting a field raised TypeError={blocked}; replace() made a copy, original unchanged={unchanged}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Task events to several sinks, one of them live.")
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    live, history = LiveSubscriber(), History()
    router = zlog.Router()
    router.route_all(zlog.JSONSink(sys.stdout, buffered=True), live, history)

    workers = ("w1", "w2")
    processed = dict.fromkeys(workers, 0)
    for w in workers:
        router.emit(worker_online, "worker online", worker=w)
    for n in range(args.tasks):
        task_id = f"t{n:03d}"
        router.emit(task_enqueued, "task enqueued", task_id=task_id, name=rng.choice(["resize", "send", "index"]))
        if rng.random() < 0.1:
            router.emit(task_cancelled, "task cancelled", task_id=task_id, reason="superseded")
            continue
        for attempt in (1, 2):
            worker = rng.choice(workers)
            router.emit(task_started, "task started", task_id=task_id, worker=worker)
            processed[worker] += 1
            if attempt == 1 and rng.random() < 0.25:
                router.emit(task_failed, "task failed", task_id=task_id, worker=worker, error="lock timeout")
                router.emit(task_reenqueued, "task re-enqueued", task_id=task_id, attempt=2)
                continue
            router.emit(
                task_completed,
                "task completed",
                task_id=task_id,
                worker=worker,
                runtime_seconds=round(rng.uniform(0.01, 0.5), 3),
            )
            break
        router.emit(worker_heartbeat, "heartbeat", worker=worker, processed=processed[worker])
    for w in workers:
        router.emit(worker_offline, "worker offline", worker=w, processed=processed[w])
    router.flush()
    live.close()

    print(immutability(next(iter(history.by_task.values()))[0]), file=sys.stderr)
    outcomes = {task: events[-1].signal for task, events in history.by_task.items()}
    counts = {s: list(outcomes.values()).count(s) for s in sorted(set(outcomes.values()))}
    print(
        f"{len(outcomes)} tasks, final states {counts}; live subscriber printed {live.printed} events", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
