"""``zlog tail --signal JOB_FAILED --format json`` against ``jq -c 'select(.signal=="JOB_FAILED")'``.

Writes a file of realistic zlog lines (mixed job and worker signals, about 10% JOB_FAILED) of the
requested size, then times both commands over it in the same run (best of ``--rounds``), checking that
they select the same number of lines. Needs Debian's jq (``apt-get install jq``); exits 0 with a note
when jq is missing.

    python bench/bench_tail.py --mb 100
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import zlog

SIGNALS = [
    ("JOB_QUEUED", "info", 0.25),
    ("JOB_STARTED", "info", 0.25),
    ("JOB_COMPLETED", "info", 0.2),
    ("JOB_FAILED", "error", 0.1),
    ("WORKER_HEARTBEAT", "debug", 0.15),
    ("QUEUE_HEALTH_CHECK", "info", 0.05),
]


def make_file(path: Path, megabytes: int, seed: int) -> int:
    rng = random.Random(seed)
    names = [s for s, _, _ in SIGNALS]
    weights = [w for _, _, w in SIGNALS]
    signals = {name: zlog.Signal(name, level=level) for name, level, _ in SIGNALS}
    target = megabytes * 1_000_000
    failed = 0
    with open(path, "wb") as fh:
        router = zlog.Router()
        router.route_all(zlog.JSONSink(fh, buffered=True))
        while fh.tell() < target:
            for _ in range(1000):
                name = rng.choices(names, weights)[0]
                failed += name == "JOB_FAILED"
                router.emit(
                    signals[name],
                    f"{name.lower().replace('_', ' ')}",
                    job_id=f"job-{rng.randrange(10**6)}",
                    worker_id=f"worker-{rng.randrange(16)}",
                    job_type=rng.choice(["email", "report", "data"]),
                    attempt=rng.randint(1, 3),
                    duration_seconds=round(rng.expovariate(2.0), 6),
                    queue="default",
                    hostname="worker-host-1",
                )
            fh.flush()
    return failed


def timed(cmd: list[str], path: Path) -> tuple[float, int]:
    with open(path, "rb") as src:
        start = time.perf_counter()
        done = subprocess.run(cmd, stdin=src, stdout=subprocess.PIPE, check=True)
        elapsed = time.perf_counter() - start
    return elapsed, done.stdout.count(b"\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=100, help="file size in MB")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    jq = shutil.which("jq")
    if jq is None:
        print("jq is not installed (apt-get install jq): nothing to compare against; skipped")
        return 0
    zlog_cmd = [str(Path(sys.executable).with_name("zlog")), "tail", "-", "--signal", "JOB_FAILED", "--format", "json"]
    jq_cmd = [jq, "-c", 'select(.signal=="JOB_FAILED")']
    with tempfile.TemporaryDirectory(prefix="zlog-bench-tail-") as tmp:
        path = Path(tmp) / "events.jsonl"
        failed = make_file(path, args.mb, args.seed)
        size = os.path.getsize(path)
        best: dict[str, float] = {}
        counts: dict[str, int] = {}
        for _ in range(args.rounds):
            for label, cmd in (("zlog tail", zlog_cmd), ("jq", jq_cmd)):
                elapsed, lines = timed(cmd, path)
                best[label] = min(best.get(label, float("inf")), elapsed)
                counts[label] = lines
    if not counts["zlog tail"] == counts["jq"] == failed:
        print(f"different selections: {counts} (expected {failed})")
        return 1
    ratio = best["zlog tail"] / best["jq"]
    print(f"python {sys.version.split()[0]}, {size / 1e6:.0f} MB, {failed:,} JOB_FAILED lines, best of {args.rounds}\n")
    print("| command | seconds | MB/s |\n|---|---:|---:|")
    for label in ("zlog tail", "jq"):
        print(f"| {label} | {best[label]:.2f} | {size / 1e6 / best[label]:.0f} |")
    print(f"\nzlog tail / jq = {ratio:.2f} (target <= 1.0: {'MET' if ratio <= 1.0 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
