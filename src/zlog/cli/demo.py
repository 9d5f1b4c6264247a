"""``zlog demo``: run the background-jobs demo with every sink wired."""

from __future__ import annotations

import argparse
from typing import Any

EXAMPLES = """examples:
  zlog demo                                        50 jobs, 4 workers
  zlog demo --jobs 200 --workers 8 --seed 7 --failure-rate 0.3
  zlog demo --jobs 100 | zlog stats -
  zlog demo --jobs 100 2>/dev/null | zlog tail --signal 'JOB_FAILED' --format pretty

JSON lines go to stdout, alerts and the summary to stderr. The same seed gives the same job types and
outcomes. The code is zlog/demo.py, written to be read.
exit codes: 0 ok, 2 bad option, 130 interrupted"""


def register(commands: Any) -> None:
    from zlog.demo import add_arguments

    cmd = commands.add_parser(
        "demo",
        help="run the background-jobs demo",
        epilog=EXAMPLES,
        description="Run a simulated job system (queue, workers, retries) with metrics, alerts, audit and health.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(cmd)
    cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from zlog.demo import run as run_demo

    return run_demo(args)
