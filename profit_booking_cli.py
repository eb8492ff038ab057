"""The ``profit-booking`` console script.

Importing the package takes most of a second; a Ctrl-C meanwhile would end in a
``KeyboardInterrupt`` traceback. This module imports nothing of the package until SIGINT is
answered: during the import it ends the command at once with one line and the shell's exit code
130 (nothing is open yet: the import opens no file), and once the CLI is loaded its own handling
of Ctrl-C takes over.
"""

from __future__ import annotations

import os
import signal
from types import FrameType

SIGINT_EXIT = 130  # the shell's 128 + SIGINT; the package's own exit_code_of, unimported here
INTERRUPTED = b"stopped by SIGINT while starting; nothing was opened\n"
INTERRUPTED_EARLY = b"stopped by SIGINT\n"


def _interrupted_while_loading(signum: int, frame: FrameType | None) -> None:
    os.write(2, INTERRUPTED)
    os._exit(SIGINT_EXIT)  # no exception: none can surface half-way through an import as a traceback


def main() -> None:
    """Load the CLI with Ctrl-C ending it quietly, then run it with Python's own Ctrl-C handling."""
    answered = signal.getsignal(signal.SIGINT) is signal.default_int_handler  # not when SIGINT is ignored
    if answered:
        signal.signal(signal.SIGINT, _interrupted_while_loading)
    from profit_booking.cli.app import main as run_cli

    if answered:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run_cli()
    except KeyboardInterrupt:  # a command that does not answer Ctrl-C itself, or one not started yet
        os.write(2, INTERRUPTED_EARLY)
        raise SystemExit(SIGINT_EXIT) from None


if __name__ == "__main__":
    main()
