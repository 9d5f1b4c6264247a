"""The ``zlog`` command line."""

from __future__ import annotations

import argparse
import sys

from zlog.cli import audit

__all__ = ["main"]

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zlog",
        description="Tools for zlog's JSON lines and audit logs.",
        epilog="exit codes: 0 ok, 1 findings (e.g. a failed verification), 2 usage error",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    audit.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "run", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:  # argparse usage errors exit 2 by themselves
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
