"""``zlog tail``: read, follow, filter and render zlog JSON lines."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from zlog import _pretty
from zlog.cli._filters import Query, parse_condition, parse_when
from zlog.cli._follow import follow
from zlog.cli._read import InputError, Record, iter_lines, open_inputs, parse, signal_of
from zlog.sinks.console import use_color

EXAMPLES = """examples:
  zlog tail app.log                                   pretty on a terminal, JSON lines in a pipe
  zlog tail -f app.log --signal 'JOB_*' --where job_type=email
  zlog tail app.log --signal JOB_FAILED --since '1 hour ago' --format json | jq .error
  zlog tail app.log --where 'duration_seconds>2.5' --worker-id w-3 --limit 20
  my-worker | zlog tail -                             read stdin
  zlog tail --from redis://127.0.0.1:6379/zlog:events -f     every worker's events, live
  zlog tail --from 'nats://127.0.0.1:4222/zlog.events.>' -f --signal JOB_FAILED

Filters combine: an event must match every option given, and any one of several --signal patterns.
Lines that are not zlog JSON are shown marked ("?? " in pretty and logfmt, {"zlog_unparsed": ...} in
json) when no filter is given, and skipped otherwise.
exit codes: 0 ok (also when nothing matched), 2 usage error or missing file, 130 interrupted"""

_FLUSH_EVERY = 512


def register(commands: Any) -> None:
    cmd = commands.add_parser(
        "tail",
        help="follow, filter and pretty-print JSON lines",
        description="Read zlog JSON lines (files or -).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("files", nargs="*", metavar="FILE", help="files to read; - or nothing reads stdin")
    cmd.add_argument("-f", "--follow", action="store_true", help="keep reading as files grow, rotate or truncate")
    cmd.add_argument(
        "--from",
        dest="source",
        metavar="URL",
        help="read a stream instead of files: redis://HOST:PORT[/DB]/STREAM or nats://HOST:PORT/SUBJECT",
    )
    cmd.add_argument(
        "--signal",
        action="append",
        default=[],
        metavar="PATTERN",
        help="signal name or glob (JOB_*); repeatable: any of them",
    )
    cmd.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COND",
        help="KEY=VALUE, KEY>NUMBER or KEY<NUMBER on a field; repeatable: all of them",
    )
    cmd.add_argument("--job-id", help="the same as --where job_id=ID")
    cmd.add_argument("--worker-id", help="the same as --where worker_id=ID")
    cmd.add_argument("--since", help="RFC 3339, 'now' or '10 minutes ago'")
    cmd.add_argument("--until", help="RFC 3339, 'now' or '1 hour ago'")
    cmd.add_argument("--limit", type=_positive, metavar="N", help="stop after N matching events")
    cmd.add_argument(
        "--format",
        choices=("pretty", "json", "logfmt"),
        help="output format (default: pretty on a terminal, json otherwise)",
    )
    cmd.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="color pretty output (auto: on a terminal without NO_COLOR)",
    )
    cmd.add_argument("--interval", type=float, default=0.25, help=argparse.SUPPRESS)  # follow poll period
    cmd.set_defaults(run=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def build_query(args: argparse.Namespace) -> Query:
    conditions = [parse_condition(text) for text in args.where]
    if args.job_id is not None:
        conditions.append(parse_condition(f"job_id={args.job_id}"))
    if args.worker_id is not None:
        conditions.append(parse_condition(f"worker_id={args.worker_id}"))
    since = parse_when(args.since, "--since") if args.since else None
    until = parse_when(args.until, "--until") if args.until else None
    return Query(args.signal, conditions, since, until)


def _renderer(fmt: str, color: bool) -> Callable[[Record], bytes]:
    if fmt == "json":
        return lambda r: r.raw
    if fmt == "logfmt":
        return lambda r: _pretty.logfmt(r.time, r.level, r.signal, r.message, r.fields).encode("utf-8", "replace")
    return lambda r: _pretty.render(r.time, r.level, r.signal, r.message, r.fields, color=color).encode(
        "utf-8", "replace"
    )


def _unparsed(fmt: str, raw: bytes) -> bytes:
    text = raw.decode("utf-8", "replace")
    if fmt == "json":
        return orjson.dumps({"zlog_unparsed": text})
    return ("?? " + _pretty.escape(text)).encode("utf-8", "replace")


def _stream_lines(args: argparse.Namespace) -> Iterator[bytes]:
    if args.files:
        raise InputError("--from reads a stream: give no FILE with it")
    try:
        from zlog.streams import subscribe

        # without --follow: what is stored now (a Redis Stream, a JetStream stream), then stop
        return subscribe(args.source, follow=args.follow, start="new" if args.follow else "all")
    except ImportError as exc:
        raise InputError(f"--from {args.source}: {exc}") from None
    except (ValueError, ConnectionError) as exc:
        raise InputError(f"--from: {exc}") from None


def _lines(args: argparse.Namespace, contains: bytes | None) -> Iterator[bytes]:
    """Every input line, or with ``contains`` at least every line holding those bytes."""
    if args.source:
        yield from _stream_lines(args)
        return
    paths = [p for p in args.files if p != "-"]
    if args.follow and paths:
        if len(paths) != len(args.files):
            raise InputError("--follow reads files, not stdin (stdin is followed anyway until it ends)")
        for path in paths:
            if os.path.isdir(path):
                raise InputError(f"{path}: is a directory")
            if not os.path.exists(path):  # as tail -F: say so once, then wait for it to appear
                print(f"zlog: {path}: no such file yet, waiting for it", file=sys.stderr, flush=True)
        yield from follow(paths, interval=args.interval)
        return
    for _, stream in open_inputs(args.files):
        try:
            yield from iter_lines(stream, contains=contains)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()


def run(args: argparse.Namespace) -> int:
    query = build_query(args)
    out = sys.stdout.buffer
    fmt = args.format or ("pretty" if out.isatty() else "json")
    color = fmt == "pretty" and (args.color == "always" or (args.color == "auto" and use_color(out)))
    render = _renderer(fmt, color)
    lines = _lines(args, query.literal_signal())
    emit_lines(
        lines,
        query,
        render,
        lambda raw: _unparsed(fmt, raw),
        out.write,
        out.flush,
        args.limit,
        flush_each=args.follow or out.isatty(),
        raw=fmt == "json",
    )
    return 0


def emit_lines(
    lines: Iterable[bytes],
    query: Query,
    render: Callable[[Record], bytes],
    unparsed: Callable[[bytes], bytes],
    write: Callable[[bytes], object],
    flush: Callable[[], object],
    limit: int | None,
    *,
    flush_each: bool,
    raw: bool = False,
) -> int:
    """Filter and write; returns how many events matched. Writes in batches unless ``flush_each``.

    ``raw`` says that ``render`` gives the line itself back (``--format json``): a query on signals alone
    then only reads each line's signal instead of building the whole record."""
    literal = query.literal_signal()
    filtering = query.filters
    signal_only = raw and query.signal_only
    pending: list[bytes] = []
    matched = 0
    for line in lines:
        if literal is not None and literal not in line:
            continue  # cannot be that signal: skip the parse
        if signal_only:
            name = signal_of(line)
            if name is None or not query.signal_matches(name):
                continue  # not zlog JSON (skipped, as a filter is given) or another signal
            pending.append(line)
            matched += 1
        else:
            record = parse(line)
            if record is None:
                if filtering:
                    continue
                pending.append(unparsed(line))
            elif filtering and not query.matches(record):
                continue
            else:
                pending.append(render(record))
                matched += 1
        if flush_each or len(pending) >= _FLUSH_EVERY:
            write(b"\n".join(pending) + b"\n")
            pending.clear()
            flush()
        if limit is not None and matched >= limit:
            break
    if pending:
        write(b"\n".join(pending) + b"\n")
    flush()
    return matched
