"""What ``import zlog`` costs over a bare interpreter, next to structlog, in one run.

Each sample starts a fresh interpreter (``python -c "import zlog"``, and ``python -c "pass"`` for the
bare interpreter) and times it from start to exit; samples of all commands are interleaved in a
seeded shuffled order, so a slow stretch of the machine hits all of them. Bytecode caches are written
by a first run of each command (as an installed package has them), then used. Reported: median and
min wall time per command and the cost over the bare interpreter (target: at most 50 ms for zlog).

    python bench/bench_import.py                # about 20 s; --runs, --json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "bare": "pass",
    "zlog": "import zlog",
    "zlog + JSONSink": "import zlog; zlog.JSONSink",
    "structlog": "import structlog",
}
TARGET_MS = 50.0


#: The interpreter's environment, with bytecode caches allowed (an installed package has them).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def sample(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=ENV)
    return (time.perf_counter() - start) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=40, help="samples per command")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--json", dest="json_out", help="write raw results here")
    args = parser.parse_args(argv)
    commands = dict(COMMANDS)
    try:
        import structlog  # noqa: F401 - only to know whether to time it
    except ImportError:
        del commands["structlog"]
    for code in commands.values():
        sample(code)  # writes the bytecode caches
    rng = random.Random(args.seed)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    order = [name for name in commands for _ in range(args.runs)]
    rng.shuffle(order)
    for name in order:
        samples[name].append(sample(commands[name]))
    med = {name: statistics.median(v) for name, v in samples.items()}
    print(f"python {sys.version.split()[0]}, {args.runs} runs per command, seed {args.seed}\n")
    print("| command | median ms | min ms | over bare (median) |")
    print("|---|---:|---:|---:|")
    for name in commands:
        print(f"| {name} | {med[name]:.1f} | {min(samples[name]):.1f} | {med[name] - med['bare']:.1f} |")
    over = med["zlog"] - med["bare"]
    ok = over <= TARGET_MS
    print(f"\nimport zlog over a bare interpreter: {over:.1f} ms (limit {TARGET_MS:g} ms): {'met' if ok else 'MISSED'}")
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump({"args": vars(args), "samples": samples, "medians": med}, fh, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
