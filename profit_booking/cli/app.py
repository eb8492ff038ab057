"""The ``profit-booking`` command line: every command registered in one place.

Usage errors (an unknown flag, a value out of range) and package errors end alike: one
``error:`` line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import logging
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer
from typer.exceptions import TyperException

from . import (
    db_commands,
    demo_commands,
    inspect_commands,
    report_command,
    requests_commands,
    steer_commands,
    timeline_commands,
    verify_command,
)
from .common import ERROR_EXIT, guarded

app = typer.Typer(
    help="Profit-booking chains: run the demo, inspect and steer a bot's chains, upgrade its database.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

for name, function in (
    ("demo", demo_commands.demo),
    ("event-demo", demo_commands.event_demo),
    ("chains", inspect_commands.chains),
    ("stats", inspect_commands.stats),
    ("status", inspect_commands.status),
    ("chain", timeline_commands.chain),
    ("events", timeline_commands.events),
    ("export", timeline_commands.export),
    ("verify", verify_command.verify),
    ("report", report_command.report),
    ("stop-chain", steer_commands.stop_chain),
    ("stop-all", steer_commands.stop_all),
    ("profit-booking", steer_commands.profit_booking_switch),
    ("requests", requests_commands.requests),
    ("withdraw", requests_commands.withdraw),
):
    app.command(name=name)(guarded(function))
app.add_typer(db_commands.db_app, name="db")


def _package_version() -> str:
    try:
        return version("profit_booking")
    except PackageNotFoundError:
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        print(f"profit-booking {_package_version()}")
        raise typer.Exit()


@app.callback()
def configure(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Keep library logging to warnings on stderr."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Entry point of the ``profit-booking`` console script."""
    try:
        code = app(standalone_mode=False)
    except TyperException as exc:
        message = " ".join(exc.format_message().split())
        if message:
            print(f"error: {message}", file=sys.stderr)
        code = ERROR_EXIT
    except typer.Abort:
        code = 1
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
