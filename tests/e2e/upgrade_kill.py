"""``profit-booking db upgrade`` that sends itself SIGKILL at a named point of the upgrade.

Run as ``python upgrade_kill.py POINT CLI_ARGS...``: the hooks are installed from outside the
package, then the real CLI runs with CLI_ARGS. POINT is one of

``revision:ID``
    right after revision ID ran (inside the transaction, before the next one): Alembic's
    ``on_version_apply`` callback, added where the upgrade configures Alembic's environment;
``statement:N``
    just before the N-th SQL statement the upgrade's engine runs (1 is its ``BEGIN IMMEDIATE``);
``commit``
    just before COMMIT.

Before dying it says where on stderr (``upgrade killed ...``). No timer is involved.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any


def _die(where: str) -> None:
    print(f"upgrade killed {where}", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def kill_after_revision(revision: str) -> None:
    """Die once revision ``revision`` has run."""
    from alembic.runtime.environment import EnvironmentContext

    real_configure = EnvironmentContext.configure

    def after(*, step: Any, **_: Any) -> None:
        if step.up_revision_id == revision:
            _die(f"after revision {revision}")

    def configure(self: EnvironmentContext, *args: Any, **kwargs: Any) -> None:
        real_configure(self, *args, **{**kwargs, "on_version_apply": after})

    EnvironmentContext.configure = configure  # type: ignore[method-assign]


def kill_before_statement(target: int) -> None:
    """Die before the ``target``-th statement any engine of this process runs (the upgrade's is
    the only one: the file is read and backed up through sqlite3 directly)."""
    from sqlalchemy import Engine, event

    seen = [0]

    def count(*_: object) -> None:
        seen[0] += 1
        if seen[0] == target:
            _die(f"before statement {target}")

    event.listen(Engine, "before_cursor_execute", count)


def kill_before_commit() -> None:
    from sqlalchemy import Engine, event

    event.listen(Engine, "commit", lambda conn: _die("before commit"))


def install(point: str) -> None:
    """The hook ``point`` names."""
    kind, _, value = point.partition(":")
    if kind == "revision":
        kill_after_revision(value)
    elif kind == "statement":
        kill_before_statement(int(value))
    elif point == "commit":
        kill_before_commit()
    else:
        raise SystemExit(f"unknown kill point {point!r}")


def main(argv: list[str]) -> None:
    point, *cli_args = argv
    install(point)
    from profit_booking.cli.app import main as cli_main

    sys.argv = ["profit-booking", *cli_args]
    cli_main()


if __name__ == "__main__":
    main(sys.argv[1:])
