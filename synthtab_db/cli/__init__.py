"""``synthtab-db``: the command line.  Each sub-command lives in its own module and
registers itself in COMMANDS (name -> (help, add_arguments, run))."""

from __future__ import annotations

import argparse
import logging
import sys

from synthtab_db.cli import dbt, demo, evaluate, generate, pg, run_sql, serve
from synthtab_db.cli import export as export_command
from synthtab_db.errors import SynthError

COMMANDS = {module.NAME: module for module in (demo, generate, evaluate, run_sql, serve, dbt, pg)}
COMMANDS[export_command.NAME] = export_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="synthtab-db",
        description="Synthetic tabular data generated inside DuckDB, with SQL.",
        epilog="Run 'synthtab-db COMMAND --help' for the options of a command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        command = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        module.add_arguments(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # progress and stop reasons reach a log when stderr is not a terminal (synthtab_db.progress)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    try:
        return COMMANDS[args.command].run(args) or 0
    except SynthError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
