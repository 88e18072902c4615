"""Entry point and dispatch of the `resad-station` command line.

Each subcommand is a module exposing NAME, HELP, configure(parser) and run(args) -> int.
The GUI command lives in the ui package and is passed in through `extra_commands`, so that
this package never imports ui (dependency rule: ui -> resad_station -> engine).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from types import ModuleType
from typing import Sequence

from resad_station.paths import DataDirError

# Modules under resad_station.cli, in the order --help lists them.
COMMAND_MODULES = [
    "inspect_cmd",
    "enroll_cmd",
    "evaluate_cmd",
    "train_cmd",
    "export_cmd",
    "bench_cmd",
    "benchmark_cmd",
    "profiles_cmd",
    "db_cmd",
    "defects_cmd",
    "outputs_cmd",
    "report_cmd",
]

NOT_YET_AVAILABLE = 2


class PlainFormatter(logging.Formatter):
    """Log lines read like every other message ("warning: ..."): no timestamps, tracebacks only at -vv."""

    def __init__(self, tracebacks: bool = False) -> None:
        super().__init__()
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        line = f"{record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            if self.tracebacks:
                return line + "\n" + self.formatException(record.exc_info)
            exc = record.exc_info[1]
            return f"{line}: {type(exc).__name__}: {exc} (-vv shows the traceback)"
        return line


def _load_commands(extra_commands: Sequence[ModuleType]) -> list[ModuleType]:
    commands = list(extra_commands)
    for name in COMMAND_MODULES:
        commands.append(importlib.import_module(f"resad_station.cli.{name}"))
    return commands


def build_parser(commands: Sequence[ModuleType]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resad-station",
        description="Few-shot visual inspection for production lines (ResAD).",
    )
    parser.add_argument("--data-dir", help="data directory (default: the platform's user data directory)")
    parser.add_argument("--db-url", help="SQLAlchemy database URL (default: SQLite file in the data directory)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in commands:
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.configure(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None, extra_commands: Sequence[ModuleType] = ()) -> int:
    commands = _load_commands(extra_commands)
    parser = build_parser(commands)
    argv = list(sys.argv[1:] if argv is None else argv)
    names = {m.NAME for m in commands}
    if not any(a in names for a in argv) and not any(a in ("-h", "--help") for a in argv):
        # No subcommand: the GUI when it is available, else help.
        if "gui" in names:
            argv.append("gui")
        else:
            parser.print_help()
            return NOT_YET_AVAILABLE
    args = parser.parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(PlainFormatter(tracebacks=args.verbose >= 2))
    logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose, 2), handlers=[handler])
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except DataDirError as exc:  # --data-dir cannot be created or is read-only: one line, any command
        print(f"error: {exc}", file=sys.stderr)
        return 1
