"""``zlog audit verify PATH...``: check audit logs written by ``zlog.AuditSink``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from zlog.audit import verify

EXAMPLES = """examples:
  zlog audit verify /var/log/app/audit.log
  ZLOG_AUDIT_KEY=secret zlog audit verify --key-env ZLOG_AUDIT_KEY audit.log
  zlog audit verify --key-file /etc/app/audit.key audit.log other.log

Rotated segments (PATH.00001, PATH.00002, ...) are found and verified with PATH; when PATH itself is
missing but its segments exist (a crash during rotation), the segments are verified and that is said.
exit codes: 0 every log intact (a torn tail or a live file missing after a crash during rotation is
reported but allowed), 1 a log was tampered with, 2 usage error, or neither PATH nor a segment of it
exists, or a file cannot be read"""


def register(commands: Any) -> None:
    audit = commands.add_parser("audit", help="audit log tools", description="Audit log tools.")
    sub = audit.add_subparsers(dest="audit_command", metavar="COMMAND")
    cmd = sub.add_parser(
        "verify",
        help="verify hash-chained audit logs",
        description="Verify hash-chained audit logs written by zlog.AuditSink.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("paths", nargs="+", metavar="PATH", help="audit log file (its rotated segments are included)")
    key = cmd.add_mutually_exclusive_group()
    key.add_argument("--key-file", help="file holding the HMAC key the log was written with")
    key.add_argument("--key-env", metavar="VAR", help="environment variable holding the HMAC key")
    cmd.set_defaults(run=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    key: bytes | None = None
    if args.key_file:
        try:
            with open(args.key_file, "rb") as fh:
                key = fh.read().strip()
        except OSError as exc:
            print(f"zlog audit verify: cannot read key file: {exc.strerror}: {args.key_file}", file=sys.stderr)
            return 2
        if not key:
            print(f"zlog audit verify: the key file is empty: {args.key_file}", file=sys.stderr)
            return 2
    elif args.key_env:
        value = os.environ.get(args.key_env)
        if not value:
            print(f"zlog audit verify: environment variable {args.key_env} is not set or empty", file=sys.stderr)
            return 2
        key = value.encode("utf-8")
    worst = 0
    for path in args.paths:
        try:
            result = verify(path, key=key)
        except OSError as exc:  # "no audit log at PATH" (neither the file nor a segment of it) has no errno
            message = str(exc) if exc.errno is None else f"cannot read {exc.filename or path}: {exc.strerror}"
            print(f"zlog audit verify: {message}", file=sys.stderr)
            worst = max(worst, 2)
            continue
        print(result.summary())
        if not result.ok:
            worst = max(worst, 1)
    return worst
