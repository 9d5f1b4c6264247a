"""The ``zlog`` command line."""

from __future__ import annotations

import argparse
import os
import sys

from zlog import __version__
from zlog.cli import audit, demo, signals, stats, tail
from zlog.cli._read import InputError

__all__ = ["main"]

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zlog",
        description="Read, filter and summarize zlog JSON lines; run the demo; verify audit logs.",
        epilog="exit codes: 0 ok, 1 findings (e.g. a failed verification), 2 usage error",
    )
    parser.add_argument("--version", action="version", version=f"zlog {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in (tail, stats, demo, signals, audit):
        command.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "run", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return int(args.run(args))
    except InputError as exc:  # a missing file, a bad filter: one line, no traceback
        print(f"zlog: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `zlog tail ... | head`: the reader left; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except SystemExit as exc:  # argparse usage errors exit 2 by themselves
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
