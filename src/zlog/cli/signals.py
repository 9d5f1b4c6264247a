"""``zlog signals MODULE``: the signals a module declares, with their fields; or their JSON Schema."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from typing import Any

import orjson

from zlog.cli._read import InputError
from zlog.cli._schema_json import NO_DEFAULT, default_of, document, has_default, json_default, json_type, type_name
from zlog.signals import Signal

EXAMPLES = """examples:
  zlog signals zlog.demo                       the demo's signals, their levels and fields
  zlog signals myapp.jobs --json               the same, for machines
  zlog signals myapp/jobs.py --json-schema > zlog-lines.schema.json

MODULE is an importable dotted name (the current directory is on the path) or a path to a .py file.
exit codes: 0 ok (a note on stderr when the module declares no signal), 2 the module cannot be imported"""


def register(commands: Any) -> None:
    cmd = commands.add_parser(
        "signals",
        help="list the signals a module declares",
        epilog=EXAMPLES,
        description="List the zlog signals declared in a module: level, fields and their types, docstring.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("module", metavar="MODULE", help="dotted module name or path to a .py file")
    output = cmd.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON object per signal")
    output.add_argument("--json-schema", action="store_true", help="a JSON Schema of the lines zlog writes")
    cmd.set_defaults(run=run)


def load(target: str) -> Any:
    """Import ``target`` (a dotted name or a .py path); InputError with the reason when it fails."""
    if target.endswith(".py") or os.sep in target or (os.altsep and os.altsep in target):
        if not os.path.isfile(target):
            raise InputError(f"{target}: no such file")
        name = os.path.splitext(os.path.basename(target))[0]
        spec = importlib.util.spec_from_file_location(name, target)
        if spec is None or spec.loader is None:
            raise InputError(f"{target}: cannot be imported as a module")
        module = importlib.util.module_from_spec(spec)
        folder = os.path.dirname(os.path.abspath(target))
        if folder not in sys.path:  # as `python path/to/file.py` does: its siblings are importable
            sys.path.insert(0, folder)
        ours = sys.modules.setdefault(name, module) is module
        try:
            spec.loader.exec_module(module)
        except (Exception, SystemExit) as exc:
            if ours:
                del sys.modules[name]
            raise InputError(f"{target}: importing it failed: {_reason(exc)}") from None
        return module
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(target)
    except (Exception, SystemExit) as exc:
        raise InputError(f"{target}: cannot import: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def declared(module: Any) -> list[Signal[...]]:
    """The signals bound to names in ``module``, in declaration order, each once."""
    seen: dict[str, Signal[...]] = {}
    for value in vars(module).values():
        if isinstance(value, Signal) and value.name not in seen:
            seen[value.name] = value
    return list(seen.values())


def describe(sig: Signal[...]) -> dict[str, Any]:
    """What ``--json`` writes for one signal."""
    fields = []
    for name, spec in (sig.fields or {}).items():
        field = {"name": name, "type": type_name(spec.type), "required": spec.required, "json": json_type(spec.type)}
        default = json_default(spec)
        if not spec.required and default is not NO_DEFAULT:
            field["default"] = default
        fields.append(field)
    doc = (sig.doc or "").strip()
    return {
        "signal": sig.name,
        "level": sig.level,
        "doc": doc.splitlines()[0] if doc else "",
        "typed": sig.fields is not None,
        "fields": fields,
    }


def text(signals: list[Signal[...]]) -> str:
    """Aligned text: a line per signal (name, level, first doc line), then a line per field."""
    width = max(len(sig.name) for sig in signals)
    lines = []
    for sig in signals:
        info = describe(sig)
        head = f"{sig.name:<{width}}  {sig.level or '-':<5}"
        lines.append(f"{head}  {info['doc']}" if info["doc"] else head.rstrip())
        specs = list((sig.fields or {}).values())
        name_width = max((len(spec.name) for spec in specs), default=0) + 1
        for spec in specs:
            line = f"    {spec.name + ':':<{name_width}} {type_name(spec.type)}"
            if not spec.required:
                line += f" = {default_of(spec)!r}" if has_default(spec) else "  (optional)"
            lines.append(line)
    return "".join(line + "\n" for line in lines)


def run(args: argparse.Namespace) -> int:
    signals = declared(load(args.module))
    if not signals:
        print(f"zlog: {args.module} declares no signals", file=sys.stderr)
    out = sys.stdout
    if args.json_schema:
        out.write(orjson.dumps(document(signals), option=orjson.OPT_INDENT_2).decode() + "\n")
    elif args.json:
        for sig in signals:
            out.write(orjson.dumps(describe(sig)).decode() + "\n")
    elif signals:
        out.write(text(signals))
    return 0
