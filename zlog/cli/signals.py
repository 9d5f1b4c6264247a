"""``zlog signals``: being built in this session (placeholder until its module lands)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(commands: Any) -> None:
    cmd = commands.add_parser("signals", help="(not built yet)")
    cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print("zlog signals: not built yet", file=sys.stderr)
    return 2
